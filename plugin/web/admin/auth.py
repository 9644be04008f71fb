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
from datetime import datetime, timedelta

from flask import current_app, g, session
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from plugin.domain.admins import (  # noqa: F401 - the admin pages' names for them
    LINK_SALT,
    LINK_TTL,
    Admin,
    LinkClaim,
    Person,
    administers,
    may_enter,
    mint_admin_link,
    programs_of,
    read_link,
)
from plugin.storage.db import reading, transaction, upsert_ignore
from plugin.storage.models import AdminLinkUse, AdminNonce, AdminSession, Forum, utcnow

NONCE_TTL = timedelta(minutes=10)  # a sign-in round trip through the forum
SESSION_TTL = timedelta(hours=8)  # absolute, whatever the activity
IDLE_TTL = timedelta(hours=1)  # the cookie's lifetime, renewed by each request


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# -- who may administer what ----------------------------------------------------------------


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
