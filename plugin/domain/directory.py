"""A self-service program's directory: the mentors a mentee may ask, and their request.

The mentee's message to the mentor is never stored: it travels only in the outbox row that
tells the mentor, whose text goes once sent. Answering a request (accept, decline, expiry)
is plugin/domain/requests.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.domain import links
from plugin.domain.expertise import expertise_line, expertise_of
from plugin.domain.messages import phrase
from plugin.domain.pairs import (
    PAIRABLE,
    active_count,
    blocked_member_pairs,
    check_pairable,
    mention_of,
    paired_before,
    waiting,
)
from plugin.domain.reader import member_language
from plugin.domain.requests import answer_link_refs
from plugin.domain.signups import send_directory_link, text_error
from plugin.forums.connections import InputError
from plugin.i18n import N_
from plugin.storage.db import upsert_ignore
from plugin.storage.models import Member, Program, Signup
from plugin.storage.requests import MentorRequest
from plugin.storage.states import ProgramState, RequestState, Role, SignupState

REQUEST_DAYS = 7  # an unanswered request expires after this long
MAX_MESSAGE = 1000
MAX_TOPIC = 100  # a longer filter word matches nothing anyway


@dataclass(frozen=True)
class MentorCard:
    """One mentor as a mentee's directory shows them."""

    username: str  # what the request form's `mentor` field takes (a Zulip email there)
    name: str
    about: str
    topics: str
    timezone: str
    room: int  # places left: capacity minus running pairs
    # What the forum itself knows of their help ("23 posts in Algebra, 7 accepted
    # answers"); None where the forum offers nothing. Filled by the expertise feature.
    expertise: str | None = None


class RequestRefused(Exception):
    """Why a request cannot be opened; `status` is the page's HTTP status."""

    def __init__(self, reason: str, status: int, message: str) -> None:
        super().__init__(message)
        self.reason, self.status, self.message = reason, status, message


def accepts_requests(program: Program) -> bool:
    """Whether mentees may ask mentors in this program now (self-service and open)."""
    return program.self_service and program.state == ProgramState.OPEN


def _excluded(
    session: Session, mentee: Signup, mentor: Signup, blocked: set[tuple[int, int]]
) -> bool:
    """Never listed: themselves, a block either way, or an earlier pairing in the program."""
    me, them = mentee.member_id, mentor.member_id
    return (
        me == them
        or (them, me) in blocked
        or (me, them) in blocked  # the same two once paired the other way round
        or paired_before(session, mentee.program, mentor, mentee)
    )


def _card(signup: Signup, member: Member, room: int, expertise: str | None) -> MentorCard:
    return MentorCard(
        username=member.username or "",
        name=member.name or member.username or "",
        about=signup.about or "",
        topics=signup.topics or "",
        timezone=signup.timezone or "",
        room=room,
        expertise=expertise,
    )


def matches_topic(topics: str, word: str) -> bool:
    """Whether `topics` contain `word`, case-insensitively (an empty word matches all)."""
    word = word.strip().casefold()
    return not word or (len(word) <= MAX_TOPIC and word in topics.casefold())


def mentors_for(session: Session, mentee: Signup, topic: str = "") -> list[MentorCard]:
    """The mentors `mentee` may ask, with room left, whose topics contain `topic`."""
    if not accepts_requests(mentee.program):
        return []
    blocked = blocked_member_pairs(session, mentee.program.forum_id)
    found = []
    for signup, member in waiting(session, mentee.program, by_username=True):
        if signup.role != Role.MENTOR or not matches_topic(signup.topics or "", topic):
            continue
        room = signup.capacity - active_count(session, signup)
        if room > 0 and not _excluded(session, mentee, signup, blocked):
            found.append((signup, member, room))
    # What the forum knows of each (read weekly at most by expertise.refresh_expertise), in
    # the mentee's language; nothing when the forum offers nothing.
    known = expertise_of(session, [member.id for _, member, _ in found])
    language = member_language(mentee.member, mentee.program)
    return [
        _card(signup, member, room, expertise_line(known.get(member.id), language))
        for signup, member, room in found
    ]


def open_request_of(session: Session, mentee: Signup) -> MentorRequest | None:
    """The mentee's open request, if any."""
    return session.execute(
        select(MentorRequest).where(
            MentorRequest.mentee_id == mentee.id, MentorRequest.state == RequestState.OPEN
        )
    ).scalar_one_or_none()


def _mentor_signup(session: Session, program: Program, who: str) -> Signup | None:
    """The program's mentor sign-up whose username (Zulip: email) is `who`, any case."""
    return session.execute(
        select(Signup)
        .join(Signup.member)
        .where(
            Signup.program_id == program.id,
            Signup.role == Role.MENTOR,
            func.lower(Member.username) == who.strip().lower(),
        )
    ).scalar_one_or_none()


def _listable(session: Session, mentee: Signup, mentor: Signup) -> bool:
    """Whether the mentee's directory lists `mentor` when they have room."""
    return (
        mentor.state in PAIRABLE
        and mentor.age_confirmed
        and not mentor.member.erased
        and not _excluded(
            session, mentee, mentor, blocked_member_pairs(session, mentor.program.forum_id)
        )
    )


def _check(session: Session, mentee: Signup, mentor: Signup | None, message: str) -> Signup:
    """The mentor asked, if the request may be opened; else RequestRefused."""
    unlisted = RequestRefused("unlisted", 404, N_("This mentor is not in your directory."))
    if problem := text_error(message, MAX_MESSAGE, N_("your message")):
        raise RequestRefused("message", 400, problem)
    if not accepts_requests(mentee.program) or mentee.state != SignupState.READY:
        raise RequestRefused("closed", 409, N_("You cannot ask for a mentor here now."))
    if mentor is None or not _listable(session, mentee, mentor):
        raise unlisted
    if active_count(session, mentor) >= mentor.capacity:
        raise RequestRefused("full", 409, N_("This mentor has no place left."))
    try:  # every rule `pair` keeps, asked once more
        check_pairable(session, mentee.program, mentor, mentee)
    except InputError:
        raise unlisted from None
    return mentor


def open_request(
    session: Session, mentee: Signup, who: str, message: str, now: datetime
) -> MentorRequest:
    """Open the mentee's request to the mentor `who` and tell the mentor privately."""
    message = message.replace("\r\n", "\n").strip()
    mentor = _check(session, mentee, _mentor_signup(session, mentee.program, who), message)
    values = {
        "program_id": mentee.program_id,
        "mentee_id": mentee.id,
        "mentor_id": mentor.id,
        "state": RequestState.OPEN,
        "created_at": now,
        "expires_at": now + timedelta(days=REQUEST_DAYS),
    }
    # The partial unique index holds one open request per mentee, even for two tabs at once.
    if not upsert_ignore(session, MentorRequest.__table__, values):
        raise RequestRefused("open", 409, N_("You already have an open request."))
    request = open_request_of(session, mentee)
    assert request is not None  # just written in this transaction
    _tell_mentor(session, request, message)
    return request


def _quoted(text: str) -> str:
    return "> " + "\n> ".join(text.splitlines())


def _tell_mentor(session: Session, request: MentorRequest, message: str) -> None:
    """The mentor's private message: who asks, their answers, their words, how to answer.

    It carries signed accept and decline links too (for members who never type commands),
    minted as it is sent like every personal link, so no bearer link is stored.
    """
    mentor, mentee, program = request.mentor, request.mentee, request.program
    language = member_language(mentor.member, program)
    note = _quoted(message) if message else phrase("request_no_message", language)
    links.queue(
        session,
        forum_id=program.forum_id,
        key=f"member:{mentor.member.id}:request:{request.id}",
        ordering_key=f"member:{mentor.member.id}",
        template="mentor_request",
        language=language,
        args={
            "name": mentor.member.name or mentor.member.username,
            "program": program.title,
            "mentee": mention_of(session, mentee.member),
            "about": _quoted(mentee.about or ""),
            "topics": mentee.topics or "",
            "timezone": mentee.timezone or "UTC",
            "message": note,
            "user": mentee.member.username,
            "days": REQUEST_DAYS,
        },
        link=None,
        usernames=[mentor.member.username],
        more_links=answer_link_refs(request),
    )


def send_fresh_links(session: Session, member: Member, thread: str | None, key: str) -> bool:
    """`!directory`: a fresh directory link for each self-service program awaiting the mentee.

    `thread` must be a one-to-one conversation with the member; None opens a new one.
    """
    signups = session.execute(
        select(Signup)
        .join(Signup.program)
        .where(
            Signup.member_id == member.id,
            Signup.role == Role.MENTEE,
            Signup.state == SignupState.READY,
            Program.self_service.is_(True),
            Program.state == ProgramState.OPEN,
        )
        .order_by(Signup.id)
    ).scalars()
    sent = False
    for signup in signups:
        send_directory_link(
            session,
            signup,
            signup.program,
            member,
            key=f"{key}:{signup.id}",
            template="directory_fresh",
            thread=thread,
        )
        sent = True
    return sent
