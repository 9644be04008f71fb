"""Pairs: pairing two ready members, their thread, the step schedule, their activity."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from plugin.domain import hook_events
from plugin.domain.messages import Message, cadence_text, render, render_step
from plugin.domain.programs.service import steps
from plugin.domain.reader import pair_language
from plugin.engine.outbox import enqueue
from plugin.forums.connections import InputError
from plugin.forums.registry import mention, privacy
from plugin.i18n import DEFAULT
from plugin.storage.db import upsert_ignore
from plugin.storage.models import (
    Activity,
    Forum,
    Member,
    Pair,
    Program,
    Signup,
)
from plugin.storage.requests import close_open_requests
from plugin.storage.states import PairState, ProgramState, Role, SignupState

ACTIVE = (PairState.ACTIVE, PairState.PAUSED)
# Sign-ups that may be paired: ready ones, and mentors already paired who may have room.
PAIRABLE = (SignupState.READY, SignupState.PAIRED)


def post_to_pair(session: Session, pair: Pair, key: str, text: str, step: int = 0) -> None:
    """Queue a post in the pair's thread, after everything queued for it before."""
    enqueue(
        session,
        forum_id=pair.forum_id,
        key=f"pair:{pair.id}:{key}",
        kind="pair_post",
        payload={"pair_id": pair.id, "text": text, "step": step},
        ordering_key=f"pair:{pair.id}",
    )


def _signup_of(session: Session, program: Program, username: str, role: Role) -> Signup:
    signup = session.execute(
        select(Signup)
        .join(Signup.member)
        .where(
            Signup.program_id == program.id,
            Signup.role == role,
            Member.username == username,
            Member.erased.is_(False),
        )
    ).scalar_one_or_none()
    if signup is None:
        raise InputError(f"{username} has not signed up as a {role} in program {program.id}")
    return signup


def active_count(session: Session, mentor: Signup) -> int:
    """How many running pairs a mentor has."""
    return session.execute(
        select(func.count())
        .select_from(Pair)
        .where(Pair.mentor_id == mentor.id, Pair.state.in_(ACTIVE))
    ).scalar_one()


def waiting(
    session: Session, program: Program, *, by_username: bool = False
) -> list[tuple[Signup, Member]]:
    """Who is waiting to be paired in `program`, by sign-up (or username), with their member.

    Ready sign-ups and paired mentors (who may have room), adults, not erased: what matching
    proposes from and what an admin may pair by hand.
    """
    return list(
        session.execute(
            select(Signup, Member)
            .join(Signup.member)
            .where(
                Signup.program_id == program.id,
                Signup.state.in_(PAIRABLE),
                Signup.age_confirmed.is_(True),
                Member.erased.is_(False),
            )
            .order_by(Member.username if by_username else Signup.id)
        ).all()
    )


def is_waiting_mentee(signup: Signup) -> bool:
    """A mentee among `waiting` who has no mentor yet."""
    return signup.role == Role.MENTEE and signup.state == SignupState.READY


def paired_before(session: Session, program: Program, mentor: Signup, mentee: Signup) -> bool:
    """True if these two members were ever paired in this program (any outcome)."""
    mentor_s, mentee_s = aliased(Signup), aliased(Signup)
    found = session.execute(
        select(Pair.id)
        .join(Pair.mentor.of_type(mentor_s))
        .join(Pair.mentee.of_type(mentee_s))
        .where(
            Pair.program_id == program.id,
            mentor_s.member_id == mentor.member_id,
            mentee_s.member_id == mentee.member_id,
        )
    ).first()
    return found is not None


def check_pairable(session: Session, program: Program, mentor: Signup, mentee: Signup) -> None:
    """Raise InputError naming the rule a proposed pair breaks."""
    if program.state == ProgramState.CLOSED:
        raise InputError(f"program {program.id} is closed: no new pairs")
    if mentor.member_id == mentee.member_id:
        raise InputError("a member cannot mentor themselves")
    for signup, who in ((mentor, Role.MENTOR), (mentee, Role.MENTEE)):
        ok = signup.state == SignupState.READY or (
            who == Role.MENTOR and signup.state == SignupState.PAIRED
        )
        if not ok or not signup.age_confirmed:
            raise InputError(f"the {who} is not ready (their sign-up is {signup.state})")
    if active_count(session, mentor) >= mentor.capacity:
        raise InputError(f"the mentor is full ({mentor.capacity} mentee(s) already)")
    if paired_before(session, program, mentor, mentee):
        raise InputError("these two have been paired before in this program")
    if (mentor.member_id, mentee.member_id) in blocked_member_pairs(session, program.forum_id):
        raise InputError("one of these two blocked the other: they are never paired again")


def mention_of(session: Session, member: Member) -> str:
    """How to name a member in a post on their forum."""
    return mention(member.forum.kind, member.username, member.name, member.forum_user_id)


def _who(session: Session, signup: Signup) -> tuple[Member, Signup]:
    """The sign-up's member, and the sign-up."""
    return signup.member, signup


def _new_pair(
    session: Session, program: Program, mentor: Signup, mentee: Signup, now: datetime
) -> Pair:
    """The pair's row, flushed for its id; both sign-ups become paired."""
    pair = Pair(
        program_id=program.id,
        forum_id=program.forum_id,
        mentor_id=mentor.id,
        mentee_id=mentee.id,
        state="active",
        paired_at=now,
        step_scheduled=1,
        step_posted=0,
        nudges=0,
        paused_seconds=0.0,
    )
    session.add(pair)
    mentor.state = mentee.state = SignupState.PAIRED
    mentee.priority = False
    # Paired by any road (an acceptance, by hand, matching): no request of theirs stays open.
    close_open_requests(session, mentee.id, mentor.id, now)
    session.flush()
    pair.next_due_at = step_due(pair, program, 2)
    return pair


def _introduction(
    session: Session,
    program: Program,
    pair: Pair,
    mentor: tuple[Member, Signup],
    mentee: tuple[Member, Signup],
) -> Message:
    """The thread's opening post: who the two are, how the program goes, and step 1."""
    (m_member, m), (e_member, e) = mentor, mentee
    language = pair_language(pair, program)
    program_steps = steps(program, language)
    said = privacy(session.get_one(Forum, program.forum_id).kind, program.space)
    return render(
        "intro",
        language,
        program=program.title,
        cadence=cadence_text(program.cadence_days, language),
        steps=len(program_steps),
        mentor=mention_of(session, m_member),
        mentee=mention_of(session, e_member),
        privacy=said.get(language, said[DEFAULT]),
        mentor_name=m_member.name or m_member.username,
        mentee_name=e_member.name or e_member.username,
        mentor_about=m.about,
        mentor_topics=m.topics,
        mentor_timezone=m.timezone,
        mentee_about=e.about,
        mentee_topics=e.topics,
        mentee_timezone=e.timezone,
        step=render_step(program_steps, 1, language),
    )


def _queue_opening(
    session: Session, program: Program, pair: Pair, intro: Message, usernames: list[str | None]
) -> None:
    """Queue the pair's thread, opened with the introduction (and step 1)."""
    enqueue(
        session,
        forum_id=program.forum_id,
        key=f"pair:{pair.id}:open",
        kind="pair_open",
        payload={
            "pair_id": pair.id,
            "title": intro.title[:200],
            "text": intro.text,
            "usernames": usernames,
            "step": 1,
            "space": program.space,
        },
        ordering_key=f"pair:{pair.id}",
    )


def create_pair(
    session: Session, program: Program, mentor: Signup, mentee: Signup, now: datetime
) -> Pair:
    """Pair two ready members and queue their thread, introduction and step 1."""
    check_pairable(session, program, mentor, mentee)
    pair = _new_pair(session, program, mentor, mentee, now)
    m_member, m = _who(session, mentor)
    e_member, e = _who(session, mentee)
    intro = _introduction(session, program, pair, (m_member, m), (e_member, e))
    _queue_opening(session, program, pair, intro, [m_member.username, e_member.username])
    hook_events.emit_pair(session, "pair.created", pair, now, step=1)
    return pair


def pair_by_usernames(
    session: Session, program: Program, mentor: str, mentee: str, now: datetime
) -> Pair:
    """`mentorship pair`: by usernames."""
    return create_pair(
        session,
        program,
        _signup_of(session, program, mentor, Role.MENTOR),
        _signup_of(session, program, mentee, Role.MENTEE),
        now,
    )


def mark_ended(session: Session, pair: Pair, now: datetime, reason: str) -> None:
    """The pair is ended for `reason`, no step is due any more, and hooks hear `pair.ended`."""
    pair.state, pair.ended_at, pair.end_reason = PairState.ENDED, now, reason
    pair.next_due_at = None
    hook_events.emit_pair(session, "pair.ended", pair, now, reason=reason)


def end_pairs_of(session: Session, signup: Signup, *, reason: str, now: datetime) -> None:
    """End every running pair this sign-up is in; the partner goes back to waiting first."""
    pairs = session.execute(
        select(Pair).where(
            or_(Pair.mentor_id == signup.id, Pair.mentee_id == signup.id), Pair.state.in_(ACTIVE)
        )
    ).scalars()
    for pair in pairs:
        mark_ended(session, pair, now, reason)
        partner = pair.mentee if pair.mentor_id == signup.id else pair.mentor
        back_to_waiting(session, partner, priority=True)
        partner_name = mention_of(session, partner.member)
        post_to_pair(
            session,
            pair,
            f"ended:{reason}",
            render(
                "ended_partner_left", pair_language(pair, pair.program), partner=partner_name
            ).text,
        )


def back_to_waiting(session: Session, signup: Signup, *, priority: bool) -> None:
    """Ready to be matched again (a mentor only once no pair of theirs runs)."""
    if signup.state == SignupState.WITHDRAWN:
        return
    if signup.role == Role.MENTOR and active_count(session, signup) > 0:
        return
    signup.state = SignupState.READY
    signup.priority = priority


# -- the schedule --------------------------------------------------------------------------


def cadence(program: Program) -> timedelta:
    """The time between two steps of the program."""
    return timedelta(days=program.cadence_days)


def step_due(pair: Pair, program: Program, number: int) -> datetime:
    """Step k is due (k - 1) x cadence after pairing, plus the time spent paused."""
    return pair.paired_at + (number - 1) * cadence(program) + timedelta(seconds=pair.paused_seconds)


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(now: datetime, tz_name: str | None, start: str, end: str) -> datetime | None:
    """If `now` falls in quiet hours in that time zone, when they end; else None."""
    zone = ZoneInfo(tz_name or "UTC")
    local = now.astimezone(zone)
    q_start, q_end = _clock(start), _clock(end)
    t = local.time()
    in_quiet = (q_start <= t or t < q_end) if q_start > q_end else (q_start <= t < q_end)
    if not in_quiet:
        return None
    day = local.date() if t < q_end else local.date() + timedelta(days=1)
    return datetime.combine(day, q_end, tzinfo=zone)


# -- activity ---------------------------------------------------------------------------


def pair_for_thread(session: Session, forum_id: int, thread: str) -> Pair | None:
    """The pair whose thread this is."""
    return session.execute(
        select(Pair)
        .where(Pair.forum_id == forum_id, Pair.thread == thread)
        .order_by(Pair.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def members_of(session: Session, pair: Pair) -> tuple[Member, Member]:
    """(mentor member, mentee member)."""
    return pair.mentor.member, pair.mentee.member


def record_activity(
    session: Session, pair: Pair, member: Member, post_id: str, posted_at: datetime
) -> None:
    """Who posted and when; never what."""
    upsert_ignore(
        session,
        Activity.__table__,
        {"pair_id": pair.id, "member_id": member.id, "post_id": post_id, "posted_at": posted_at},
    )
    if pair.last_activity_at is None or posted_at > pair.last_activity_at:
        pair.last_activity_at = posted_at


def blocked_member_pairs(session: Session, forum_id: int) -> set[tuple[int, int]]:
    """(mentor member id, mentee member id) of every blocked pairing in the forum."""
    mentor_s, mentee_s = aliased(Signup), aliased(Signup)
    rows = session.execute(
        select(mentor_s.member_id, mentee_s.member_id)
        .select_from(Pair)
        .join(Pair.mentor.of_type(mentor_s))
        .join(Pair.mentee.of_type(mentee_s))
        .where(Pair.forum_id == forum_id, Pair.end_reason == "blocked")
    ).all()
    return {(mentor, mentee) for mentor, mentee in rows}
