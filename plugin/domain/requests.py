"""A self-service program's requests after they are made: the mentor's answer, and expiry.

A mentee's request (plugin/storage/requests.py) is answered by its mentor with `!accept USER`
/ `!decline USER` in a private message to the bot, or with a signed link from the message
that asked them. Acceptance pairs the two exactly as `mentorship pair` does, re-checking
the mentor's room, blocks and earlier pairings under a lock on the mentor's sign-up, so two
acceptances for a last place cannot both pair. A request not answered in 7 days expires.
The mentee is told kindly of a decline or an expiry, and may ask someone else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import literal_column, select
from sqlalchemy.orm import Session, aliased, selectinload, sessionmaker

from plugin.config import Config
from plugin.domain.journey import tell_member
from plugin.domain.messages import Message, render
from plugin.domain.pairs import active_count, check_pairable, create_pair
from plugin.domain.reader import member_language
from plugin.engine.adapter import ForumAdapter
from plugin.engine.clock import Clock
from plugin.forums.connections import InputError
from plugin.storage.db import transaction
from plugin.storage.models import Member, Program, Signup
from plugin.storage.requests import MentorRequest
from plugin.storage.secretbox import signing_keys
from plugin.storage.states import RequestState, SignupState

REQUEST_DAYS = 7
ANSWER_SALT = "mentorship.request-answer"  # its own salt: no other signed token opens it
ACTIONS = ("accept", "decline")
MAX_TOKEN = 512


class Outcome(StrEnum):
    """What answering a request did."""

    ACCEPTED = "accepted"  # the two are paired
    DECLINED = "declined"  # the mentee was told kindly
    FULL = "full"  # the mentor's places filled meanwhile: the request stays open
    NOT_WAITING = "not_waiting"  # the mentee was paired or left meanwhile: closed
    NOT_ALLOWED = "not_allowed"  # a block, an earlier pairing or a closed program: closed
    ANSWERED = "answered"  # it was no longer open (answered before, or expired)


def expires_at(created_at: datetime) -> datetime:
    """When a request made at `created_at` expires."""
    return created_at + timedelta(days=REQUEST_DAYS)


def _name(member: Member) -> str:
    """How a message names a member without mentioning (pinging) them."""
    return member.name or member.username or ""


# -- answering ----------------------------------------------------------------------------


def _lock(session: Session, req: MentorRequest) -> tuple[Signup, MentorRequest]:
    """The mentor's sign-up and the request, locked and read afresh.

    On PostgreSQL the row lock on the mentor's sign-up makes acceptances for one mentor
    take turns, and each counts the pairs the one before it committed; SQLite's write lock
    (BEGIN IMMEDIATE) does the same for the whole database.
    """
    mentor = session.execute(
        select(Signup)
        .where(Signup.id == req.mentor_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    fresh = session.execute(
        select(MentorRequest)
        .where(MentorRequest.id == req.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    return mentor, fresh


def accept(session: Session, req: MentorRequest, now: datetime) -> Outcome:
    """Pair the two as `pair` does, if the rules allow it now; what happened."""
    mentor, req = _lock(session, req)
    if not _still_open(session, req, now):
        return Outcome.ANSWERED
    mentee = session.get_one(Signup, req.mentee_id)
    if mentee.state != SignupState.READY:
        _close(req, RequestState.DECLINED, now)
        return Outcome.NOT_WAITING
    if active_count(session, mentor) >= mentor.capacity:
        return Outcome.FULL  # open requests hold no place; this one may be accepted later
    program = session.get_one(Program, req.program_id)
    try:
        check_pairable(session, program, mentor, mentee)
    except InputError:
        # A block or an earlier pairing: never these two. The mentee hears it as a decline.
        _close(req, RequestState.DECLINED, now)
        _tell_mentee(session, req, "request_declined", "declined")
        return Outcome.NOT_ALLOWED
    create_pair(session, program, mentor, mentee, now)
    _close(req, RequestState.ACCEPTED, now)
    return Outcome.ACCEPTED


def decline(session: Session, req: MentorRequest, now: datetime) -> Outcome:
    """The mentor says no: the request closes and the mentee is told kindly."""
    _, req = _lock(session, req)
    if not _still_open(session, req, now):
        return Outcome.ANSWERED
    _close(req, RequestState.DECLINED, now)
    _tell_mentee(session, req, "request_declined", "declined")
    return Outcome.DECLINED


def answer(session: Session, req: MentorRequest, action: str, now: datetime) -> Outcome:
    """`accept` or `decline` the request."""
    return accept(session, req, now) if action == "accept" else decline(session, req, now)


def _still_open(session: Session, req: MentorRequest, now: datetime) -> bool:
    """Whether the request may still be answered; one past its time expires now."""
    if req.state == RequestState.OPEN and now >= req.expires_at:
        expire(session, req, now)  # the periodic job had not come to it yet
    return req.state == RequestState.OPEN


def _close(req: MentorRequest, state: RequestState, now: datetime) -> None:
    req.state, req.answered_at = state, now


def _tell_mentee(session: Session, req: MentorRequest, template: str, why: str) -> None:
    """A kind private message to the mentee about their request (never to an erased one)."""
    mentee, mentor = req.mentee.member, req.mentor.member
    if mentee.erased:
        return
    program = req.program
    message = render(
        template,
        member_language(mentee, program),
        name=_name(mentee),
        mentor=_name(mentor),
        program=program.title,
    )
    tell_member(session, program.forum_id, mentee, f"request:{req.id}:{why}", message)


# -- the mentor's command -------------------------------------------------------------------


def open_requests_to(session: Session, mentor: Member, user: str) -> list[MentorRequest]:
    """The open requests to this member from the mentee named `user` (username or email)."""
    wanted = user.strip().lstrip("@").casefold()
    mentor_s, mentee_s, mentee_m = aliased(Signup), aliased(Signup), aliased(Member)
    rows = session.execute(
        select(MentorRequest, mentee_m.username)
        .join(mentor_s, mentor_s.id == MentorRequest.mentor_id)
        .join(mentee_s, mentee_s.id == MentorRequest.mentee_id)
        .join(mentee_m, mentee_m.id == mentee_s.member_id)
        .where(mentor_s.member_id == mentor.id, MentorRequest.state == RequestState.OPEN)
        .order_by(MentorRequest.id)
    ).all()
    return [req for req, username in rows if (username or "").casefold() == wanted]


def answer_command(
    session: Session, mentor: Member, action: str, user: str, now: datetime, language: str
) -> Message:
    """`!accept USER` / `!decline USER` from a mentor; the reply to them."""
    if not user.strip():
        return render("request_usage", language, command=f"!{action}")
    found = open_requests_to(session, mentor, user.split()[0])
    if not found:
        return render("request_none", language, user=user.split()[0])
    req = found[0]  # one open request per mentee and program: the oldest program's first
    outcome = answer(session, req, action, now)
    return outcome_message(req, outcome)


def outcome_message(req: MentorRequest, outcome: Outcome) -> Message:
    """What the mentor is told after answering, in their own language."""
    mentor = req.mentor
    return render(
        f"request_{outcome.value}_mentor",
        member_language(mentor.member, req.program),
        mentee=_name(req.mentee.member),
        program=req.program.title,
        capacity=mentor.capacity,
    )


# -- signed links ---------------------------------------------------------------------------


def _signer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_keys(secret), salt=ANSWER_SALT)


def answer_token(secret: str, request_id: int, mentor_id: int, action: str) -> str:
    """A token naming the request, its mentor's sign-up and the answer it gives."""
    return _signer(secret).dumps({"r": request_id, "m": mentor_id, "a": action})


def answer_links(config: Config, req: MentorRequest) -> tuple[str, str]:
    """(accept URL, decline URL) for the message that asks the mentor."""
    accept_url, decline_url = (
        f"{config.base_url}/answer/{answer_token(config.secret_key, req.id, req.mentor_id, a)}"
        for a in ACTIONS
    )
    return accept_url, decline_url


def answer_link(config: Any, ref: dict) -> str:
    """One answer link a queued message refers to, minted as it is sent (plugin.domain.links)."""
    token = answer_token(config.secret_key, ref["request_id"], ref["mentor_id"], ref["action"])
    return f"{config.base_url}/answer/{token}"


def answer_link_refs(req: MentorRequest) -> dict[str, dict[str, Any]]:
    """`links.queue(more_links=...)` for the message asking the mentor: $accept_link, $decline_link.

    The links are minted as that message is sent, like every personal link; the request
    must be flushed (it needs its id).
    """
    return {
        f"{action}_link": {
            "type": "answer",
            "request_id": req.id,
            "mentor_id": req.mentor_id,
            "action": action,
        }
        for action in ACTIONS
    }


def request_of_token(session: Session, secret: str, token: str) -> tuple[MentorRequest, str] | None:
    """(request, action) a link names, or None if forged, expired or not this mentor's."""
    if len(token) > MAX_TOKEN or not token.isascii():
        return None  # not one of ours: no need to check a signature
    try:
        data = _signer(secret).loads(token, max_age=REQUEST_DAYS * 86400 + 86400)
    except BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("a") not in ACTIONS:
        return None
    req = session.get(MentorRequest, data.get("r"))
    if req is None or req.mentor_id != data.get("m") or req.mentor.member.erased:
        return None
    return req, data["a"]


# -- expiry ---------------------------------------------------------------------------------


def due_requests(session: Session, now: datetime, limit: int) -> list[MentorRequest]:
    """The next `limit` open requests past their expiry, oldest first."""
    return list(
        session.execute(
            select(MentorRequest)
            # The literal repeats the WHERE of ix_mentor_requests_open_expiry, so the batch
            # is read from that partial index in order.
            .where(MentorRequest.state == literal_column("'open'"))
            .where(MentorRequest.expires_at <= now)
            .order_by(MentorRequest.expires_at, MentorRequest.id)
            .limit(limit)
            .options(
                selectinload(MentorRequest.mentee).selectinload(Signup.member),
                selectinload(MentorRequest.mentor).selectinload(Signup.member),
                selectinload(MentorRequest.program),
            )
            .with_for_update(skip_locked=True)
        ).scalars()
    )


def expire(session: Session, req: MentorRequest, now: datetime) -> None:
    """The mentor did not answer in time: closed, and a mentee still waiting is told."""
    _close(req, RequestState.EXPIRED, now)
    if req.mentee.state == SignupState.READY:
        _tell_mentee(session, req, "request_expired", "expired")


def expire_due(
    factory: sessionmaker[Session],
    adapter_for: Callable[[int], ForumAdapter],
    clock: Clock,
    config: Config,
    limit: int = 100,
) -> int:
    """Periodic job: expire every open request past its 7 days; how many."""
    now, done = clock.now(), 0
    while True:
        # One short transaction per batch; expired rows leave the index, so each batch
        # starts at its front.
        with transaction(factory) as session:
            due = due_requests(session, now, limit)
            for req in due:
                expire(session, req, now)
        done += len(due)
        if len(due) < limit:
            return done


# -- erasure, status and the admin pages ----------------------------------------------------


def close_for_erased(session: Session, signup_ids: list[int], now: datetime) -> None:
    """Close the open requests of an erased member's sign-ups, either side.

    The erased member is told nothing; a mentee whose mentor was erased is told kindly,
    without the mentor's name (erasure cancels any message naming them).
    """
    if not signup_ids:
        return
    reqs = session.execute(
        select(MentorRequest).where(
            MentorRequest.state == RequestState.OPEN,
            (MentorRequest.mentee_id.in_(signup_ids)) | (MentorRequest.mentor_id.in_(signup_ids)),
        )
    ).scalars()
    for req in reqs:
        _close(req, RequestState.DECLINED, now)
        if req.mentee_id not in signup_ids and req.mentee.state == SignupState.READY:
            _tell_mentee(session, req, "request_withdrawn", "withdrawn")


def listed(session: Session, program: Program, *, open_only: bool = False) -> list[dict]:
    """The program's requests as `status` shows them: mentor, mentee and state, oldest first."""
    if not program.self_service:
        return []
    mentor_s, mentee_s = aliased(Signup), aliased(Signup)
    mentor_m, mentee_m = aliased(Member), aliased(Member)
    stmt = (
        select(MentorRequest, mentor_m.username, mentee_m.username)
        .join(mentor_s, mentor_s.id == MentorRequest.mentor_id)
        .join(mentor_m, mentor_m.id == mentor_s.member_id)
        .join(mentee_s, mentee_s.id == MentorRequest.mentee_id)
        .join(mentee_m, mentee_m.id == mentee_s.member_id)
        .where(MentorRequest.program_id == program.id)
        .order_by(MentorRequest.id)
    )
    if open_only:
        stmt = stmt.where(MentorRequest.state == RequestState.OPEN)
    return [
        {
            "mentor": mentor,
            "mentee": mentee,
            "state": RequestState(req.state).value,
            "created_at": req.created_at,
            "expires_at": req.expires_at,
        }
        for req, mentor, mentee in session.execute(stmt).all()
    ]
