"""Pairs: pairing two ready members, their thread, the step schedule, their activity."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from plugin.domain.messages import cadence_text, render, render_step
from plugin.domain.programs.service import steps
from plugin.engine.adapter import SentPost, Undeliverable
from plugin.engine.outbox import Kind, SendContext, enqueue, register_kind
from plugin.forums.connections import PRIVACY, InputError
from plugin.storage.db import reading, transaction, upsert_ignore
from plugin.storage.models import Activity, Forum, Member, Pair, Program, Signup

ACTIVE = ("active", "paused")


# -- outbox kinds: a pair's thread and the posts in it ---------------------------------


def _pair_thread(ctx: SendContext, payload: dict) -> str:
    with reading(ctx.factory) as session:
        thread = session.get(Pair, payload["pair_id"]).thread
    if thread is None:  # the ordering key sends the opener first; it must have been given up
        raise Undeliverable(f"pair {payload['pair_id']} has no thread")
    return thread


def _opened(session: Session, row, payload: dict, sent: SentPost) -> None:
    pair = session.get(Pair, payload["pair_id"])
    pair.thread = sent.thread
    pair.step_posted = max(pair.step_posted, payload.get("step", 0))


def _posted(session: Session, row, payload: dict, sent: SentPost) -> None:
    pair = session.get(Pair, payload["pair_id"])
    pair.step_posted = max(pair.step_posted, payload.get("step", 0))


register_kind(
    "pair_open",
    Kind(
        send=lambda ctx, p, m: ctx.adapter.open_thread(p["title"], p["text"], p["usernames"], m),
        find=lambda ctx, p, m: ctx.adapter.find_thread(m),
        on_sent=_opened,
    ),
)
register_kind(
    "pair_post",
    Kind(
        send=lambda ctx, p, m: ctx.adapter.post(_pair_thread(ctx, p), p["text"], m),
        find=lambda ctx, p, m: ctx.adapter.find_post(_pair_thread(ctx, p), m),
        on_sent=_posted,
    ),
)


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
    from plugin.domain.journey import blocked_member_pairs

    if (mentor.member_id, mentee.member_id) in blocked_member_pairs(session, program.forum_id):
        raise InputError("one of these two blocked the other: they are never paired again")


def mention_of(session: Session, member: Member) -> str:
    """How to name a member in a post on their forum."""
    from plugin.forums.connections import mention

    kind = session.get(Forum, member.forum_id).kind
    return mention(kind, member.username, member.name, member.forum_user_id)


def _who(session: Session, signup: Signup) -> tuple[Member, Signup]:
    return session.get(Member, signup.member_id), signup


def create_pair(
    session: Session, program: Program, mentor: Signup, mentee: Signup, now: datetime
) -> Pair:
    """Pair two ready members and queue their thread, introduction and step 1."""
    check_pairable(session, program, mentor, mentee)
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
    m_member, m = _who(session, mentor)
    e_member, e = _who(session, mentee)
    program_steps = steps(program)
    intro = render(
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
    enqueue(
        session,
        forum_id=program.forum_id,
        key=f"pair:{pair.id}:open",
        kind="pair_open",
        payload={
            "pair_id": pair.id,
            "title": intro.title[:200],
            "text": intro.text,
            "usernames": [m_member.username, e_member.username],
            "step": 1,
        },
        ordering_key=f"pair:{pair.id}",
    )
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
        partner = session.get(
            Signup, pair.mentee_id if pair.mentor_id == signup.id else pair.mentor_id
        )
        back_to_waiting(session, partner, priority=True)
        partner_name = mention_of(session, session.get(Member, partner.member_id))
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


def advance(session: Session, pair: Pair, program: Program, now: datetime, config) -> bool:
    """Move a due pair along: end of a pause, the current step, a nudge, a check-in, the end."""
    from plugin.domain import journey

    if pair.state == "paused":
        if pair.pause_until is not None and now >= pair.pause_until:
            journey.resume(
                session,
                pair,
                program,
                now,
                f"pause-end:{pair.pause_until.isoformat()}",
                by_itself=True,
            )
            return True
        pair.next_due_at = pair.pause_until
        return False
    program_steps = steps(program)
    total = len(program_steps)
    if now >= step_due(pair, program, total + 1):
        journey.complete(
            session, pair, program, now, secret=config.secret_key, base_url=config.base_url
        )
        return True
    mentee = session.get(Signup, pair.mentee_id)
    quiet = quiet_until(now, mentee.timezone, program.quiet_start, program.quiet_end)
    did = False
    due = max(k for k in range(1, total + 1) if step_due(pair, program, k) <= now)
    if due > pair.step_scheduled and quiet is None:
        # Only the current step: a service that was down does not post a burst.
        post_to_pair(session, pair, f"step:{due}", render_step(program_steps, due), step=due)
        pair.step_scheduled = due
        did = True
    elif quiet is None and now >= journey.nudge_due_at(pair, program):
        journey.nudge(session, pair, now)
        did = True
    checkin = journey.checkin_due_at(pair, program)
    if checkin is not None and now >= checkin:
        journey.alert_checkin(session, pair, program, now)
        did = True
    candidates = [step_due(pair, program, total + 1), journey.nudge_due_at(pair, program)]
    if pair.step_scheduled < total:
        candidates.append(step_due(pair, program, pair.step_scheduled + 1))
    checkin = journey.checkin_due_at(pair, program)
    if checkin is not None:
        candidates.append(checkin)
    next_due = min(candidates)
    if quiet is not None and next_due <= quiet:
        next_due = quiet
    pair.next_due_at = max(next_due, now + timedelta(microseconds=1)) if not did else now
    return did


def schedule_due(factory, adapter_for, clock, config, limit: int = 200) -> int:
    """Periodic job: move every due pair along."""
    now = clock.now()
    with transaction(factory) as session:
        due = (
            session.execute(
                select(Pair)
                .where(Pair.state.in_(ACTIVE), Pair.next_due_at <= now)
                .order_by(Pair.next_due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        return sum(
            advance(session, p, session.get(Program, p.program_id), now, config) for p in due
        )


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
    mentor = session.get(Member, session.get(Signup, pair.mentor_id).member_id)
    mentee = session.get(Member, session.get(Signup, pair.mentee_id).member_id)
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


def _register_schedule() -> None:
    from plugin.worker import PERIODIC

    if schedule_due not in PERIODIC:
        PERIODIC.append(schedule_due)


_register_schedule()
