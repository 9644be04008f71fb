"""Who may use the admin pages, and how they sign in: DiscourseConnect or a one-time link.

The browser holds a Flask session cookie (signed, HttpOnly, SameSite=Lax, Secure over https)
carrying a random token; the token's hash names an `AdminSession` row, so signing out (or
an expired row) really ends the session even if someone kept a copy of the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app, g, session
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from plugin.config import Config
from plugin.db import reading, transaction, upsert_ignore
from plugin.models import AdminLinkUse, AdminNonce, AdminSession, Forum, Program, utcnow
from plugin.programs import service
from plugin.secretbox import signing_keys

NONCE_TTL = timedelta(minutes=10)  # a sign-in round trip through the forum
SESSION_TTL = timedelta(hours=8)  # absolute, whatever the activity
IDLE_TTL = timedelta(hours=1)  # the cookie's lifetime, renewed by each request
LINK_TTL = timedelta(minutes=10)
LINK_SALT = "mentorship.admin-link"  # a distinct salt: no other signed token works here


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Person:
    """Who the forum says someone is: its stable user id, a name to show, their role there."""

    user_id: int  # the forum's own id: a username can be given up and taken by someone else
    username: str
    is_forum_admin: bool = False  # Discourse admin; Zulip owner or administrator: settings
    is_forum_staff: bool = False  # forum admins and moderators: every program of the forum


@dataclass(frozen=True)
class Admin:
    """The signed-in person, and through which forum."""

    forum_id: int
    forum_name: str
    user_id: int
    username: str
    is_forum_admin: bool  # may see and change the forum's connection settings
    is_forum_staff: bool  # administers all the forum's programs


# -- who may administer what ----------------------------------------------------------------


def administers(admin: Admin, program: Program) -> bool:
    """Forum staff administer every program of their forum; `--admins` (by id) their program."""
    if program.forum_id != admin.forum_id:
        return False
    return admin.is_forum_staff or admin.user_id in service.admin_ids(program)


def programs_of(db: Session, admin: Admin) -> list[Program]:
    """The programs this person administers, by title."""
    programs = db.execute(
        select(Program).where(Program.forum_id == admin.forum_id).order_by(Program.title)
    ).scalars()
    return [p for p in programs if administers(admin, p)]


def may_enter(db: Session, forum_id: int, person: Person) -> bool:
    """Forum staff, or someone named in `--admins` of at least one of the forum's programs."""
    probe = Admin(forum_id, "", person.user_id, person.username, False, person.is_forum_staff)
    return person.is_forum_staff or bool(programs_of(db, probe))


# -- DiscourseConnect nonces ----------------------------------------------------------------


# Every anonymous GET /admin/login writes a row: bound what one client, and everyone
# together, may leave open within NONCE_TTL (a finished sign-in deletes its nonce).
NONCES_PER_CLIENT = 10
NONCES_PER_FORUM = 500


class TooManySignIns(Exception):
    """Too many sign-ins under way for this client or forum; retry after `retry_after`."""

    def __init__(self, retry_after: timedelta):
        super().__init__(f"too many sign-ins under way; retry after {retry_after}")
        self.retry_after = retry_after


def client_hash(secret: str, address: str | None) -> str:
    """A keyed hash naming a client's network: enough to count it, useless to read back."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        network = "unknown"
    else:
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        # One IPv6 host usually holds a whole /64: count the /64, or rotating is free.
        network = str(ipaddress.ip_network(f"{ip}/64", strict=False) if ip.version == 6 else ip)
    return hmac.new(secret.encode(), network.encode(), hashlib.sha256).hexdigest()


def _open_nonces(
    db: Session, forum_id: int, now: datetime, client: str | None = None
) -> tuple[int, datetime | None]:
    """How many unexpired nonces (of this client, or all), and when the first one expires."""
    query = select(func.count(), func.min(AdminNonce.expires_at)).where(
        AdminNonce.forum_id == forum_id, AdminNonce.expires_at > now
    )
    if client is not None:
        query = query.where(AdminNonce.client_hash == client)
    count, soonest = db.execute(query).one()
    return int(count), soonest


def _check_limits(db: Session, forum_id: int, now: datetime, client: str | None) -> None:
    """Raise TooManySignIns past either bound (a race may pass it by a request or two)."""
    bounds = [(None, NONCES_PER_FORUM)]
    if client is not None:
        bounds.insert(0, (client, NONCES_PER_CLIENT))
    for who, limit in bounds:
        count, soonest = _open_nonces(db, forum_id, now, who)
        if count >= limit:
            wait = (soonest - now) if soonest is not None else NONCE_TTL
            raise TooManySignIns(max(wait, timedelta(seconds=1)))


def new_nonce(db: Session, forum_id: int, now: datetime, client: str | None = None) -> str:
    """A fresh single-use nonce for one sign-in; expired ones are swept on the way.

    `client` (see `client_hash`) is counted against NONCES_PER_CLIENT; every nonce counts
    against NONCES_PER_FORUM. Past either, TooManySignIns and nothing is written.
    """
    db.execute(delete(AdminNonce).where(AdminNonce.expires_at <= now))  # indexed: cheap
    _check_limits(db, forum_id, now, client)
    nonce = secrets.token_hex(20)
    db.add(
        AdminNonce(
            nonce_hash=_hash(nonce),
            forum_id=forum_id,
            expires_at=now + NONCE_TTL,
            client_hash=client,
        )
    )
    return nonce


def consume_nonce(db: Session, forum_id: int, nonce: str, now: datetime) -> bool:
    """True exactly once per nonce we issued for this forum, and only before it expires."""
    result = db.execute(
        delete(AdminNonce).where(
            AdminNonce.nonce_hash == _hash(nonce),
            AdminNonce.forum_id == forum_id,
            AdminNonce.expires_at > now,
        )
    )
    return result.rowcount == 1


# -- sessions -------------------------------------------------------------------------------


def sign_in(db: Session, forum_id: int, person: Person, now: datetime) -> None:
    """Start a session for this person (reusable by any sign-in route, e.g. Zulip links).

    The caller has decided that they may enter (see `may_enter`). Call inside a request.
    """
    db.execute(delete(AdminSession).where(AdminSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    db.add(
        AdminSession(
            token_hash=_hash(token),
            forum_id=forum_id,
            user_id=person.user_id,
            username=person.username,
            is_forum_admin=person.is_forum_admin,
            is_forum_staff=person.is_forum_staff,
            expires_at=now + SESSION_TTL,
        )
    )
    # A new session from scratch: nothing planted before sign-in (a CSRF token, a half-done
    # sign-in) carries over, the classic session-fixation defence.
    session.clear()
    session.permanent = True
    session["sid"] = token
    g.pop("admin", None)


def current_admin() -> Admin | None:
    """The signed-in person for this request, or None."""
    if "admin" in g:
        return g.admin
    token = session.get("sid")
    admin = None
    if isinstance(token, str):
        with reading(current_app.extensions["mentorship"].sessions) as db:
            row = db.execute(
                select(AdminSession, Forum.name)
                .join(Forum, Forum.id == AdminSession.forum_id)
                .where(AdminSession.token_hash == _hash(token), AdminSession.expires_at > utcnow())
            ).first()
        if row is not None:
            s, forum_name = row
            admin = Admin(
                s.forum_id, forum_name, s.user_id, s.username, s.is_forum_admin, s.is_forum_staff
            )
    g.admin = admin
    return admin


def sign_out() -> None:
    """End the session here and in the database."""
    token = session.get("sid")
    if isinstance(token, str):
        with transaction(current_app.extensions["mentorship"].sessions) as db:
            db.execute(delete(AdminSession).where(AdminSession.token_hash == _hash(token)))
    session.clear()
    g.pop("admin", None)


# -- single-use sign-in links (Zulip `!admin`) ----------------------------------------------


@dataclass(frozen=True)
class LinkClaim:
    """What a valid sign-in link says."""

    forum_id: int
    person: Person
    jti: str
    expires_at: datetime


def _links(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_keys(secret), salt=LINK_SALT)


def mint_admin_link(config: Config, forum: Forum, person: Person) -> str:
    """A sign-in link for this person, valid once and for 10 minutes.

    For the `!admin` command: the caller takes the person's role from the forum (Zulip:
    organisation owners and administrators). Whoever holds the link signs in as that person,
    so send it only in a one-to-one direct message with them.
    """
    claim = {
        "f": forum.id,
        "i": person.user_id,
        "u": person.username,
        "a": bool(person.is_forum_admin),
        "s": bool(person.is_forum_staff),
        "j": secrets.token_hex(16),
    }
    token = _links(config.secret_key).dumps(claim)
    return f"{config.base_url}/admin/link/{token}"


def read_link(config: Config, token: str) -> LinkClaim | None:
    """The link's claim if its signature is ours and it is not expired, else None."""
    try:
        data, issued = _links(config.secret_key).loads(
            token, max_age=int(LINK_TTL.total_seconds()), return_timestamp=True
        )
        person = Person(int(data["i"]), str(data["u"]), bool(data["a"]), bool(data["s"]))
        claim = LinkClaim(
            forum_id=int(data["f"]),
            person=person,
            jti=str(data["j"]),
            expires_at=issued.astimezone(UTC) + LINK_TTL,
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    return claim


def link_used(db: Session, claim: LinkClaim) -> bool:
    """True if this link has signed someone in already."""
    return (
        db.execute(select(AdminLinkUse.id).where(AdminLinkUse.jti == claim.jti)).first() is not None
    )


def use_link(db: Session, claim: LinkClaim, now: datetime) -> bool:
    """Mark the link used; True only for the first use (safe against two racing clicks)."""
    db.execute(delete(AdminLinkUse).where(AdminLinkUse.expires_at <= now))
    return upsert_ignore(
        db, AdminLinkUse.__table__, {"jti": claim.jti, "expires_at": claim.expires_at}
    )
