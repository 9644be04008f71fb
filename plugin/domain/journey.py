"""A pair's journey after pairing: pause and resume, ending, blocking, nudges, completion."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from plugin.domain import hook_events, links
from plugin.domain.messages import Message, days_text, moment_text, phrase, render
from plugin.domain.pairs import (
    ACTIVE,
    back_to_waiting,
    cadence,
    mark_ended,
    members_of,
    mention_of,
    post_to_pair,
    step_due,
)
from plugin.domain.programs.service import admins, steps
from plugin.domain.reader import (
    admin_language,
    member_language,
    pair_language,
    pair_zone,
)
from plugin.engine.outbox import enqueue
from plugin.storage.models import Member, Pair, Program
from plugin.storage.secretbox import signing_keys
from plugin.storage.states import PairState, SignupState

FEEDBACK_SALT = "mentorship.feedback"
FEEDBACK_DAYS = 30
DEFAULT_PAUSE_WEEKS = 2
MAX_PAUSE_WEEKS = 12
NUDGE_VARIANTS = 4
SILENT_CADENCES = 3


def next_step_text(pair: Pair, program: Program, language: str, zone: str | None = None) -> str:
    """What comes next, in one sentence; its date in `zone` (default: the pair thread's)."""
    zone = zone or pair_zone(pair)
    total = len(steps(program, language))
    if pair.step_scheduled >= total:
        closes = moment_text(step_due(pair, program, total + 1), language, zone)
        return phrase("last_step", language, when=closes)
    upcoming = pair.step_scheduled + 1
    due = moment_text(step_due(pair, program, upcoming), language, zone)
    return phrase("next_step", language, number=upcoming, when=due)


def tell_member(
    session: Session, forum_id: int, member: Member, key: str, message: Message
) -> None:
    """A private message to one member (a new thread with the bot)."""
    enqueue(
        session,
        forum_id=forum_id,
        key=f"member:{member.id}:{key}",
        kind="open_thread",
        payload={"title": message.title, "text": message.text, "usernames": [member.username]},
        ordering_key=f"member:{member.id}",
    )


def tell_admins(session: Session, program: Program, key: str, message: Message) -> None:
    """A private message to the program's admins (reports, blocks, check-ins)."""
    usernames = admins(program)
    if not usernames:
        return
    enqueue(
        session,
        forum_id=program.forum_id,
        key=f"admins:{program.id}:{key}",
        kind="open_thread",
        payload={"title": message.title[:200], "text": message.text, "usernames": usernames},
        ordering_key=f"admins:{program.id}",
    )


def pair_label(session: Session, pair: Pair, language: str) -> str:
    """How admins see a pair named: its id, mentor and mentee."""
    mentor, mentee = members_of(session, pair)
    return phrase(
        "pair_label",
        language,
        id=pair.id,
        mentor=mention_of(session, mentor),
        mentee=mention_of(session, mentee),
    )


# -- pause and resume --------------------------------------------------------------------


def pause(
    session: Session, pair: Pair, program: Program, now: datetime, weeks: float, key: str
) -> None:
    """No steps or nudges until `weeks` from now (or !resume)."""
    if pair.state == PairState.PAUSED:
        pair.pause_until = now + timedelta(weeks=weeks)
    else:
        pair.state, pair.paused_at = PairState.PAUSED, now
        pair.pause_until = now + timedelta(weeks=weeks)
    pair.next_due_at = pair.pause_until
    language = pair_language(pair, program)
    until = moment_text(pair.pause_until, language, pair_zone(pair))
    post_to_pair(session, pair, key, render("pause", language, until=until).text)
    hook_events.emit_pair(session, "pair.paused", pair, now)


def resume(
    session: Session,
    pair: Pair,
    program: Program,
    now: datetime,
    key: str,
    *,
    by_itself: bool = False,
) -> None:
    """Back to active; the schedule shifts by the time spent paused."""
    if pair.state != PairState.PAUSED:
        return
    assert pair.paused_at is not None  # every pause sets it
    pair.paused_seconds += max(0.0, (now - pair.paused_at).total_seconds())
    pair.state, pair.paused_at, pair.pause_until = PairState.ACTIVE, None, None
    pair.next_due_at = now
    # Silence during a pause is not silence: nudges count from the resume.
    pair.last_nudge_at = now
    template = "pause_ended" if by_itself else "resume"
    language = pair_language(pair, program)
    text = render(template, language, next=next_step_text(pair, program, language)).text
    post_to_pair(session, pair, key, text)
    hook_events.emit_pair(session, "pair.resumed", pair, now)


# -- ending ---------------------------------------------------------------------------------


def end(session: Session, pair: Pair, now: datetime, *, by: Member, reason: str, key: str) -> None:
    """End the pairing for both; both go back to waiting, the partner first."""
    if pair.state not in ACTIVE:
        return
    mark_ended(session, pair, now, reason)
    for signup in (pair.mentor, pair.mentee):
        back_to_waiting(session, signup, priority=signup.member_id != by.id)
    language = pair_language(pair, pair.program)
    text = (
        render("blocked", language).text
        if reason == "blocked"
        else render("ended", language, who=mention_of(session, by)).text
    )
    post_to_pair(session, pair, key, text)


# -- nudges, check-ins and completion -------------------------------------------------------


def silent_since(pair: Pair) -> datetime:
    """The pair's last post, or the pairing itself (steps are not the pair's activity)."""
    return max(pair.last_activity_at or pair.paired_at, pair.paired_at)


def nudge_due_at(pair: Pair, program: Program) -> datetime:
    """When the next nudge may fall due, if the pair stays silent (never soon after a step)."""
    base = silent_since(pair) + cadence(program)
    if pair.last_nudge_at is not None:
        base = max(base, pair.last_nudge_at + cadence(program))
    # A step is a prompt of its own: no nudge within half a cadence after it.
    after_step = step_due(pair, program, pair.step_scheduled) + cadence(program) / 2
    return max(base + timedelta(microseconds=1), after_step)


def nudge(session: Session, pair: Pair, now: datetime) -> None:
    """One short, friendly nudge, varied from templates/messages/nudge_*.md."""
    mentor, mentee = members_of(session, pair)
    variant = pair.nudges % NUDGE_VARIANTS + 1
    text = render(
        f"nudge_{variant}",
        pair_language(pair, pair.program),
        mentor=mention_of(session, mentor),
        mentee=mention_of(session, mentee),
    ).text
    post_to_pair(session, pair, f"nudge:{pair.nudges + 1}", text)
    pair.nudges += 1
    pair.last_nudge_at = now


def checkin_due_at(pair: Pair, program: Program) -> datetime | None:
    """When the admins should hear of a silent pair (once per silence)."""
    since = silent_since(pair)
    if pair.checkin_alerted_at is not None and pair.checkin_alerted_at >= since:
        return None
    return since + SILENT_CADENCES * cadence(program) + timedelta(microseconds=1)


def alert_checkin(session: Session, pair: Pair, program: Program, now: datetime) -> None:
    """Tell the program's admins that a pair has been silent for a while."""
    days = (now - silent_since(pair)).total_seconds() / 86400
    language = admin_language(program)
    message = render(
        "checkin_admins",
        language,
        program=program.title,
        pair=pair_label(session, pair, language),
        days=days_text(days, language),
    )
    tell_admins(session, program, f"checkin:{pair.id}:{silent_since(pair).isoformat()}", message)
    pair.checkin_alerted_at = now


def _feedback(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_keys(secret), salt=FEEDBACK_SALT)


def feedback_token(secret: str, pair: Pair, member: Member) -> str:
    """The signed token of a member's feedback link for this pair."""
    return _feedback(secret).dumps({"p": pair.id, "m": member.id})


def rating_link(config: Any, ref: dict) -> str:
    """The rating link a queued message refers to, minted as it is sent (plugin.domain.links)."""
    token = _feedback(config.secret_key).dumps({"p": ref["pair_id"], "m": ref["member_id"]})
    return f"{config.base_url}/feedback/{token}"


def read_feedback_token(secret: str, token: str) -> tuple[int, int] | None:
    """(pair id, member id) from a feedback link, or None."""
    try:
        data = _feedback(secret).loads(token, max_age=FEEDBACK_DAYS * 86400)
    except BadSignature:
        return None
    return (data["p"], data["m"]) if isinstance(data, dict) else None


def complete(session: Session, pair: Pair, program: Program, now: datetime) -> None:
    """One cadence after the last step: thank both, ask each for a rating, invite the mentee on."""
    pair.state, pair.ended_at, pair.next_due_at = PairState.COMPLETED, now, None
    hook_events.emit_pair(session, "pair.completed", pair, now)
    back_to_waiting(session, pair.mentor, priority=False)
    if pair.mentee.state != SignupState.WITHDRAWN:
        pair.mentee.state = SignupState.COMPLETED
    mentor, mentee = members_of(session, pair)
    text = render(
        "closing",
        pair_language(pair, program),
        program=program.title,
        mentor=mention_of(session, mentor),
        mentee=mention_of(session, mentee),
        mentor_group=program.mentor_group_name,
    ).text
    post_to_pair(session, pair, "closing", text)
    for member, partner in ((mentor, mentee), (mentee, mentor)):
        # The link is minted when the message is sent (plugin.domain.links): never stored.
        links.queue(
            session,
            forum_id=program.forum_id,
            key=f"member:{member.id}:rating:{pair.id}",
            ordering_key=f"member:{member.id}",
            template="rating_link",
            language=member_language(member, program),
            args={
                "name": member.name or member.username,
                "partner": partner.name or partner.username,
                "program": program.title,
                "days": FEEDBACK_DAYS,
            },
            link={"type": "rating", "pair_id": pair.id, "member_id": member.id},
            usernames=[member.username],
        )
