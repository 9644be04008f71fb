"""Pairs: pairing two ready members, their thread, the step schedule, their activity."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from plugin.domain.messages import Message, cadence_text, render, render_step
from plugin.domain.programs.service import steps
from plugin.engine.adapter import SentPost, Undeliverable
from plugin.engine.outbox import Kind, SendContext, enqueue
from plugin.forums.connections import InputError
from plugin.forums.registry import PRIVACY, mention
from plugin.storage.db import reading, upsert_ignore
from plugin.storage.models import Activity, Forum, Member, OutboxMessage, Pair, Program, Signup

ACTIVE = ("active", "paused")


# -- outbox kinds: a pair's thread and the posts in it ---------------------------------


def _pair_thread(ctx: SendContext, payload: dict) -> str:
    with reading(ctx.factory) as session:
        thread = session.get_one(Pair, payload["pair_id"]).thread
    if thread is None:  # the ordering key sends the opener first; it must have been given up
        raise Undeliverable(f"pair {payload['pair_id']} has no thread")
    return thread


def _opened(session: Session, row: OutboxMessage, payload: dict, sent: SentPost) -> None:
    pair = session.get_one(Pair, payload["pair_id"])
    pair.thread = sent.thread
    pair.step_posted = max(pair.step_posted, payload.get("step", 0))


def _posted(session: Session, row: OutboxMessage, payload: dict, sent: SentPost) -> None:
    pair = session.get_one(Pair, payload["pair_id"])
    pair.step_posted = max(pair.step_posted, payload.get("step", 0))


# The pairs' own outbox kinds: they record where the pair's thread and steps landed.
PAIR_KINDS: dict[str, Kind] = {
    "pair_open": Kind(
        send=lambda ctx, p, m: ctx.adapter.open_thread(p["title"], p["text"], p["usernames"], m),
        find=lambda ctx, p, m: ctx.adapter.find_thread(m),
        on_sent=_opened,
    ),
    "pair_post": Kind(
        send=lambda ctx, p, m: ctx.adapter.post(_pair_thread(ctx, p), p["text"], m),
        find=lambda ctx, p, m: ctx.adapter.find_post(_pair_thread(ctx, p), m),
        on_sent=_posted,
    ),
}


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


# -- pairing ---------------------------------------------------------------------------


def _signup_of(session: Session, program: Program, username: str, role: str) -> Signup:
    signup = session.execute(
        select(Signup)
        .join(Member, Signup.member_id == Member.id)
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


def paired_before(session: Session, program: Program, mentor: Signup, mentee: Signup) -> bool:
    """True if these two members were ever paired in this program (any outcome)."""
    mentor_s, mentee_s = aliased(Signup), aliased(Signup)
    found = session.execute(
        select(Pair.id)
        .join(mentor_s, Pair.mentor_id == mentor_s.id)
        .join(mentee_s, Pair.mentee_id == mentee_s.id)
        .where(
            Pair.program_id == program.id,
            mentor_s.member_id == mentor.member_id,
            mentee_s.member_id == mentee.member_id,
        )
    ).first()
    return found is not None


def check_pairable(session: Session, program: Program, mentor: Signup, mentee: Signup) -> None:
    """Raise InputError naming the rule a proposed pair breaks."""
    if program.state == "closed":
        raise InputError(f"program {program.id} is closed: no new pairs")
    if mentor.member_id == mentee.member_id:
        raise InputError("a member cannot mentor themselves")
    for signup, who in ((mentor, "mentor"), (mentee, "mentee")):
        ok = signup.state == "ready" or (who == "mentor" and signup.state == "paired")
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
    kind = session.get_one(Forum, member.forum_id).kind
    return mention(kind, member.username, member.name, member.forum_user_id)


def _who(session: Session, signup: Signup) -> tuple[Member, Signup]:
    """The sign-up's member, and the sign-up."""
    return session.get_one(Member, signup.member_id), signup


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
    mentor.state = mentee.state = "paired"
    mentee.priority = False
    session.flush()
    pair.next_due_at = step_due(pair, program, 2)
    return pair


def _introduction(
    session: Session, program: Program, mentor: tuple[Member, Signup], mentee: tuple[Member, Signup]
) -> Message:
    """The thread's opening post: who the two are, how the program goes, and step 1."""
    (m_member, m), (e_member, e) = mentor, mentee
    program_steps = steps(program)
    return render(
        "intro",
        program=program.title,
        cadence=cadence_text(program.cadence_days),
        steps=len(program_steps),
        mentor=mention_of(session, m_member),
        mentee=mention_of(session, e_member),
        privacy=PRIVACY[session.get(Forum, program.forum_id).kind],
        mentor_name=m_member.name or m_member.username,
        mentee_name=e_member.name or e_member.username,
        mentor_about=m.about,
        mentor_topics=m.topics,
        mentor_timezone=m.timezone,
        mentee_about=e.about,
        mentee_topics=e.topics,
        mentee_timezone=e.timezone,
        step=render_step(program_steps, 1),
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
    intro = _introduction(session, program, (m_member, m), (e_member, e))
    _queue_opening(session, program, pair, intro, [m_member.username, e_member.username])
    return pair


def pair_by_usernames(
    session: Session, program: Program, mentor: str, mentee: str, now: datetime
) -> Pair:
    """`mentorship pair`: by usernames."""
    return create_pair(
        session,
        program,
        _signup_of(session, program, mentor, "mentor"),
        _signup_of(session, program, mentee, "mentee"),
        now,
    )


def end_pairs_of(session: Session, signup: Signup, *, reason: str, now: datetime) -> None:
    """End every running pair this sign-up is in; the partner goes back to waiting first."""
    pairs = session.execute(
        select(Pair).where(
            or_(Pair.mentor_id == signup.id, Pair.mentee_id == signup.id), Pair.state.in_(ACTIVE)
        )
    ).scalars()
    for pair in pairs:
        pair.state, pair.ended_at, pair.end_reason, pair.next_due_at = "ended", now, reason, None
        partner = session.get_one(
            Signup, pair.mentee_id if pair.mentor_id == signup.id else pair.mentor_id
        )
        back_to_waiting(session, partner, priority=True)
        partner_name = mention_of(session, session.get_one(Member, partner.member_id))
        post_to_pair(
            session,
            pair,
            f"ended:{reason}",
            render("ended_partner_left", partner=partner_name).text,
        )


def back_to_waiting(session: Session, signup: Signup, *, priority: bool) -> None:
    """Ready to be matched again (a mentor only once no pair of theirs runs)."""
    if signup.state == "withdrawn":
        return
    if signup.role == "mentor" and active_count(session, signup) > 0:
        return
    signup.state = "ready"
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
    mentor = session.get_one(Member, session.get_one(Signup, pair.mentor_id).member_id)
    mentee = session.get_one(Member, session.get_one(Signup, pair.mentee_id).member_id)
    return mentor, mentee


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


def describe(session: Session, pair: Pair) -> dict:
    """A pair as `mentorship status` shows it."""
    mentor, mentee = members_of(session, pair)
    return {
        "id": pair.id,
        "mentor": mentor.username,
        "mentee": mentee.username,
        "state": pair.state,
        "thread": pair.thread,
        "step": pair.step_posted,
        "last_activity_at": pair.last_activity_at.isoformat() if pair.last_activity_at else None,
        "nudges": pair.nudges,
        "paired_at": pair.paired_at.isoformat(),
        "end_reason": pair.end_reason,
    }


def blocked_member_pairs(session: Session, forum_id: int) -> set[tuple[int, int]]:
    """(mentor member id, mentee member id) of every blocked pairing in the forum."""
    rows = session.execute(
        select(Signup.member_id, Pair.mentee_id)
        .join(Pair, Pair.mentor_id == Signup.id)
        .where(Pair.forum_id == forum_id, Pair.end_reason == "blocked")
    ).all()
    return {
        (mentor, session.get_one(Signup, mentee_signup).member_id) for mentor, mentee_signup in rows
    }
