"""`!graduate`: the mentee of a completed pairing joins the program's mentor group.

The bot adds them through the forum's API (an outbox row of kind "graduate"); the mentor
sign-up then follows from the forum's own membership event, as for anyone who joins. Where
the forum refuses the bot (Zulip before 12.0, a group whose settings leave the bot out) the
program's admins are asked to add the member, and the member is told so.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.domain import journey
from plugin.domain.messages import render
from plugin.domain.pairs import mention_of
from plugin.domain.reader import admin_language, member_language
from plugin.engine.adapter import AlreadyInGroup, BotRefused, ForumUser, SentPost
from plugin.engine.outbox import Kind, SendContext, enqueue
from plugin.storage.models import Member, OutboxMessage, Pair, Program, Signup
from plugin.storage.states import PairState, Role, SignupState

# What the forum answered, kept as the sent row's post id: on_sent acts on it.
ADDED, ALREADY, REFUSED = "added", "already", "refused"


def graduated_pairs(session: Session, member: Member) -> list[Pair]:
    """The member's completed pairings as the mentee, the latest first."""
    query = (
        select(Pair)
        .join(Signup, Pair.mentee_id == Signup.id)
        .where(Signup.member_id == member.id, Pair.state == PairState.COMPLETED)
        .order_by(Pair.id.desc())
    )
    return list(session.execute(query).scalars())


def is_mentor(session: Session, member: Member, program: Program) -> bool:
    """Whether the member already signed up as a mentor of the program (so is in its group)."""
    return (
        session.execute(
            select(Signup.id).where(
                Signup.program_id == program.id,
                Signup.member_id == member.id,
                Signup.role == Role.MENTOR,
                Signup.state != SignupState.WITHDRAWN,
            )
        ).first()
        is not None
    )


def graduate(session: Session, member: Member, pair: Pair | None, key: str, language: str) -> str:
    """Start adding the mentee of the completed `pair` to its mentor group; the answer.

    `pair` is None when the member has no completed pairing as a mentee where they asked;
    `language` is that of the thread the answer goes to.
    """
    if pair is None or pair.state != PairState.COMPLETED or _mentee_of(session, pair) != member.id:
        return render("graduate_not_allowed", language).text
    program = session.get_one(Program, pair.program_id)
    group = program.mentor_group_name
    if is_mentor(session, member, program):
        return render("graduate_already", language, group=group, program=program.title).text
    enqueue(
        session,
        forum_id=program.forum_id,
        key=f"graduate:{program.id}:{member.id}:{key}",
        kind="graduate",
        payload={
            "program_id": program.id,
            "member_id": member.id,
            "group_id": program.mentor_group_id,
            "user_id": member.forum_user_id,
            "username": member.username,
        },
        ordering_key=f"member:{member.id}",
    )
    return render("graduate_started", language, group=group, program=program.title).text


def _mentee_of(session: Session, pair: Pair) -> int:
    return session.get_one(Signup, pair.mentee_id).member_id


def _send(ctx: SendContext, payload: dict, marker: str) -> SentPost:
    """Ask the forum to add the member; what it answered is the sent row's post id."""
    user = ForumUser(id=int(payload["user_id"]), username=str(payload["username"]))
    try:
        ctx.adapter.add_to_group(int(payload["group_id"]), user)
    except AlreadyInGroup:
        return SentPost(thread="", post_id=ALREADY)
    except BotRefused:
        return SentPost(thread="", post_id=REFUSED)
    return SentPost(thread="", post_id=ADDED)


def _outcome(session: Session, row: OutboxMessage, payload: dict, sent: SentPost) -> None:
    """Tell the member (and, if the forum refused the bot, the admins) what came of it."""
    outcome = sent.post_id
    if outcome == ALREADY and row.uncertain:
        return  # our own earlier attempt, whose answer was lost, added them
    if outcome == ALREADY:
        member, program = _who(session, payload)
        if member is None or program is None:
            return
        language = member_language(member, program)
        message = render(
            "graduate_already", language, group=program.mentor_group_name, program=program.title
        )
        journey.tell_member(
            session, program.forum_id, member, f"graduate-already:{row.id}", message
        )
    elif outcome == REFUSED:
        _ask_admins(session, row, payload)


def _given_up(session: Session, row: OutboxMessage, payload: dict, error: str) -> None:
    """The forum never took the call: a person has to add the member."""
    _ask_admins(session, row, payload)


def _ask_admins(session: Session, row: OutboxMessage, payload: dict) -> None:
    """The admins are asked to add the member to the group; the member is told so."""
    member, program = _who(session, payload)
    if member is None or program is None:
        return  # erased or deleted meanwhile: nobody to add
    group = program.mentor_group_name
    journey.tell_admins(
        session,
        program,
        f"graduate:{row.id}",
        render(
            "graduate_admins",
            admin_language(program),
            program=program.title,
            group=group,
            member=mention_of(session, member),
        ),
    )
    message = render(
        "graduate_asked", member_language(member, program), group=group, program=program.title
    )
    journey.tell_member(session, program.forum_id, member, f"graduate-asked:{row.id}", message)


def _who(session: Session, payload: dict) -> tuple[Member | None, Program | None]:
    member = session.get(Member, int(payload["member_id"]))
    program = session.get(Program, int(payload["program_id"]))
    if member is None or member.username is None:
        return None, program
    return member, program


GRADUATION_KINDS: dict[str, Kind] = {
    # Adding a member twice is answered "already a member": nothing to look for first.
    "graduate": Kind(send=_send, find=lambda ctx, p, m: None, on_sent=_outcome, on_dead=_given_up),
}
