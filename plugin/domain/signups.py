"""Sign-ups: joining a program's mentor or mentee group, the personal link, the profile."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, object_session

from plugin.domain import hook_events, links
from plugin.domain.messages import phrase
from plugin.domain.pairs import end_pairs_of
from plugin.domain.reader import member_language
from plugin.engine.adapter import ForumUser
from plugin.i18n import N_, language_of
from plugin.storage.models import Member, Program, Signup
from plugin.storage.secretbox import signing_keys
from plugin.storage.states import ProgramState, Role, SignupState

LINK_SALT = "mentorship.signup-link"
# A self-service mentee's directory link: signed like the sign-up link, with its own salt
# (one cannot stand for the other), and valid exactly as long as that sign-up link is.
DIRECTORY_SALT = "mentorship.directory-link"
LINK_DAYS = 14
ROLES = tuple(Role)
MAX_ABOUT = 2000
MAX_TOPICS = 500
MAX_TIMEZONE = 64  # the longest IANA name is 32 characters
MAX_CAPACITY = 10
MAX_TOKEN = 512  # a real link's token is under 100 characters


class ProfileError(ValueError):
    """A sign-up form that cannot be accepted; maps field name to message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _links(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_keys(secret), salt=LINK_SALT)


def signup_token(secret: str, signup: Signup) -> str:
    """A personal token naming the sign-up and its link version."""
    return _token(secret, signup.id, signup.link_version)


def _token(secret: str, signup_id: int, version: int) -> str:
    return _links(secret).dumps({"s": signup_id, "v": version})


def signup_link(config: Any, ref: dict) -> str:
    """The sign-up link a queued message refers to, minted as it is sent (plugin.domain.links)."""
    token = _token(config.secret_key, ref["signup_id"], ref["version"])
    return f"{config.base_url}/signup/{token}"


def _directory(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_keys(secret), salt=DIRECTORY_SALT)


def directory_token(secret: str, signup: Signup) -> str:
    """A mentee's personal directory token, valid while their sign-up link's version is."""
    return _directory(secret).dumps({"s": signup.id, "v": signup.link_version})


def directory_link(config: Any, ref: dict) -> str:
    """The directory link a queued message refers to, minted as it is sent."""
    token = _directory(config.secret_key).dumps({"s": ref["signup_id"], "v": ref["version"]})
    return f"{config.base_url}/directory/{token}"


def signup_from_token(session: Session, secret: str, token: str) -> Signup | None:
    """The sign-up a token opens, or None if it is forged, expired or superseded."""
    return _opened(session, _links(secret), token)


def signup_from_directory_token(session: Session, secret: str, token: str) -> Signup | None:
    """The mentee's sign-up a directory token opens, or None (forged, expired, superseded)."""
    signup = _opened(session, _directory(secret), token)
    return signup if signup is not None and signup.role == Role.MENTEE else None


def _opened(session: Session, links: URLSafeTimedSerializer, token: str) -> Signup | None:
    if len(token) > MAX_TOKEN or not token.isascii():
        return None  # not one of ours, whatever it is: no need to check a signature
    try:
        data = links.loads(token, max_age=LINK_DAYS * 86400)
    except BadSignature:  # includes SignatureExpired
        return None
    signup = session.get(Signup, data.get("s")) if isinstance(data, dict) else None
    if (
        signup is None
        or signup.link_version != data.get("v")
        or signup.state == SignupState.WITHDRAWN
    ):
        return None
    return signup


def upsert_member(session: Session, forum_id: int, user: ForumUser) -> Member:
    """The member row for a forum user, created or refreshed."""
    member = session.execute(
        select(Member).where(Member.forum_id == forum_id, Member.forum_user_id == user.id)
    ).scalar_one_or_none()
    if member is None:
        member = Member(forum_id=forum_id, forum_user_id=user.id)
        session.add(member)
    if not member.erased:
        member.username, member.name = user.username, user.name
        if user.locale_known:  # a group listing does not say: keep what we know
            member.locale = language_of(user.locale)  # only a supported language is kept
    session.flush()
    return member


def member_by_user_id(session: Session, forum_id: int, user_id: int) -> Member | None:
    """A known member by forum user id."""
    return session.execute(
        select(Member).where(Member.forum_id == forum_id, Member.forum_user_id == user_id)
    ).scalar_one_or_none()


def programs_for_group(
    session: Session, forum_id: int, group_id: int
) -> list[tuple[Program, Role]]:
    """(program, role) for every program whose mentor or mentee group this is."""
    programs = session.execute(
        select(Program).where(
            Program.forum_id == forum_id,
            or_(Program.mentor_group_id == group_id, Program.mentee_group_id == group_id),
        )
    ).scalars()
    return [(p, Role.MENTOR if p.mentor_group_id == group_id else Role.MENTEE) for p in programs]


def is_complete(signup: Signup) -> bool:
    """Every required answer is there, including the 18+ confirmation."""
    return bool(signup.about and signup.topics and signup.timezone and signup.age_confirmed)


def send_link(
    session: Session,
    signup: Signup,
    program: Program,
    member: Member,
    *,
    template: str = "signup_link",
    thread: str | None = None,
) -> None:
    """Send the member a fresh personal link (a new version invalidates older links)."""
    signup.link_version += 1
    session.flush()
    language = member_language(member, program)
    role = Role(signup.role).value
    # The link itself is minted when the message is sent: it is never stored.
    links.queue(
        session,
        forum_id=program.forum_id,
        key=f"signup:{signup.id}:link:{signup.link_version}",
        ordering_key=f"member:{member.id}",
        template=template,
        language=language,
        args={
            "name": member.name or member.username,
            "program": program.title,
            "role": phrase(f"role_{role}", language),
            "offer_or_seek": phrase(f"seek_{role}", language),
            "days": LINK_DAYS,
        },
        link={"type": "signup", "signup_id": signup.id, "version": signup.link_version},
        thread=thread,
        usernames=None if thread else [member.username],
    )


def sign_up(
    session: Session,
    program: Program,
    member: Member,
    role: str,
    *,
    now: datetime,
) -> Signup | None:
    """Register a sign-up (idempotent) and send the link; only open programs take them."""
    if program.state != ProgramState.OPEN or member.erased:
        return None
    signup = session.execute(
        select(Signup).where(
            Signup.program_id == program.id, Signup.member_id == member.id, Signup.role == role
        )
    ).scalar_one_or_none()
    if signup is not None and signup.state != SignupState.WITHDRAWN:
        return signup  # already signed up: a repeated event changes nothing
    if signup is None:
        signup = Signup(
            program_id=program.id,
            member_id=member.id,
            role=role,
            state=SignupState.PENDING,
            link_version=0,
            capacity=1,
        )
        session.add(signup)
    signup.state = SignupState.READY if is_complete(signup) else SignupState.PENDING
    session.flush()
    if signup.state == SignupState.READY:  # back with a complete profile: ready at once
        _became_ready(signup, now)
    if signup.state == SignupState.PENDING:
        send_link(session, signup, program, member)
    return signup


def withdraw(session: Session, signup: Signup, now: datetime) -> None:
    """The member left the group: no longer waiting, and any running pairing ends."""
    if signup.state == SignupState.WITHDRAWN:
        return
    signup.state = SignupState.WITHDRAWN
    end_pairs_of(session, signup, reason="left", now=now)


def valid_timezone(name: str) -> bool:
    """An IANA time zone name."""
    # Cheap checks first: the name comes from a form and may be anything, of any length.
    if not name or len(name) > MAX_TIMEZONE or not name.isascii() or name not in _zones():
        return False
    try:
        ZoneInfo(name)
    except Exception:  # noqa: BLE001
        return False
    return True


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def parse_capacity(raw: str) -> int | None:
    """A mentor's capacity from the form: a whole number from 1 to 10, else None."""
    raw = raw.strip()
    # str.isdigit() is True for '²' (int() refuses it) and for other scripts' digits, and
    # int() refuses more than 4300 digits: plain ASCII digits of sane length only.
    if not raw.isascii() or not raw.isdigit() or len(raw) > 3:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_CAPACITY else None


def typeable(text: str) -> bool:
    """No control characters but tab and line breaks (PostgreSQL refuses NUL in text)."""
    return not any(unicodedata.category(c) in {"Cc", "Cs"} and c not in "\t\n\r" for c in text)


def text_error(value: str, limit: int, what: str) -> str | None:
    """Why a free-text answer cannot be kept, or None."""
    if len(value) > limit:
        return N_("Please keep %(what)s under %(limit)d characters.", what=what, limit=limit)
    if not typeable(value):
        return N_("Please remove the control characters from %(what)s.", what=what)
    return None


def _form_errors(
    role: str, about: str, topics: str, timezone: str, form: Mapping[str, str]
) -> dict[str, str]:
    """Field name to message for every answer that cannot be kept."""
    errors: dict[str, str] = {}
    if not about:
        errors["about"] = N_("Please say a few words about yourself.")
    elif problem := text_error(about, MAX_ABOUT, N_("this")):
        errors["about"] = problem
    if not topics:
        errors["topics"] = N_("Please name at least one topic.")
    elif problem := text_error(topics, MAX_TOPICS, N_("topics")):
        errors["topics"] = problem
    if not valid_timezone(timezone):
        errors["timezone"] = N_("Please choose a time zone from the list (e.g. Europe/Berlin).")
    if form.get("age_confirmed") != "on":
        errors["age_confirmed"] = N_(
            "Mentorship here is for adults: please confirm you are 18 or older."
        )
    if role == Role.MENTOR and parse_capacity(form.get("capacity") or "1") is None:
        errors["capacity"] = N_("Please choose how many mentees you can take (1 to 10).")
    return errors


def save_profile(signup: Signup, form: Mapping[str, str], now: datetime) -> None:
    """Validate and store the sign-up form; the member becomes `ready`."""
    # Browsers send a textarea's line breaks as CRLF but count them as one toward maxlength.
    about = (form.get("about") or "").replace("\r\n", "\n").strip()
    topics = ", ".join(t.strip() for t in (form.get("topics") or "").split(",") if t.strip())
    timezone = (form.get("timezone") or "").strip()
    errors = _form_errors(signup.role, about, topics, timezone, form)
    if errors:
        raise ProfileError(errors)
    signup.about, signup.topics, signup.timezone = about, topics, timezone
    signup.age_confirmed = True
    if signup.role == Role.MENTOR:
        signup.capacity = parse_capacity(form.get("capacity") or "1") or 1
    if signup.state == SignupState.PENDING:
        signup.state = SignupState.READY
        signup.ready_at = now
        _became_ready(signup, now)


def _became_ready(signup: Signup, now: datetime) -> None:
    """Tell the outgoing webhooks; a self-service mentee gets their directory link."""
    hook_events.emit_signup_ready(signup, now)
    session = object_session(signup)
    assert session is not None  # a sign-up made ready was loaded or added in a session
    if signup.role == Role.MENTEE and signup.program.self_service:
        key = f"signup:{signup.id}:directory:ready:{now.isoformat()}"  # once per readiness
        send_directory_link(session, signup, signup.program, signup.member, key=key)


def send_directory_link(
    session: Session,
    signup: Signup,
    program: Program,
    member: Member,
    *,
    key: str,
    template: str = "directory_link",
    thread: str | None = None,
) -> None:
    """Send a self-service mentee a personal link to the program's directory of mentors."""
    language = member_language(member, program)
    # The link itself is minted when the message is sent: it is never stored.
    links.queue(
        session,
        forum_id=program.forum_id,
        key=key,
        ordering_key=f"member:{member.id}",
        template=template,
        language=language,
        args={"name": member.name or member.username, "program": program.title, "days": LINK_DAYS},
        link={"type": "directory", "signup_id": signup.id, "version": signup.link_version},
        thread=thread,
        usernames=None if thread else [member.username],
    )
