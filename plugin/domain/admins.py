"""Who administers what, and the one-time sign-in links the `!admin` command hands out.

No web here: the admin pages (plugin/web/admin/auth.py) and the chat command both use it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.config import Config
from plugin.domain.programs import service
from plugin.storage.models import Forum, Program

LINK_TTL = timedelta(minutes=10)


LINK_SALT = "mentorship.admin-link"  # a distinct salt: no other signed token works here


@dataclass(frozen=True)
class Admin:
    """The signed-in person: who, through which forum, and whether they are its staff."""

    forum_id: int
    forum_name: str
    username: str
    is_forum_admin: bool  # the forum's admins and moderators administer all its programs


def _same_user(a: str, b: str) -> bool:
    # Discourse usernames (and emails) are case-insensitive.
    return a.casefold() == b.casefold()


def administers(admin: Admin, program: Program) -> bool:
    """Forum staff administer every program of their forum; `--admins` their program."""
    if program.forum_id != admin.forum_id:
        return False
    return admin.is_forum_admin or any(
        _same_user(u, admin.username) for u in service.admins(program)
    )


def programs_of(db: Session, admin: Admin) -> list[Program]:
    """The programs this person administers, by title."""
    programs = db.execute(
        select(Program).where(Program.forum_id == admin.forum_id).order_by(Program.title)
    ).scalars()
    return [p for p in programs if administers(admin, p)]


def may_enter(db: Session, forum_id: int, username: str, is_forum_admin: bool) -> bool:
    """Forum staff, or someone named in `--admins` of at least one of the forum's programs."""
    probe = Admin(forum_id, "", username, is_forum_admin)
    return is_forum_admin or bool(programs_of(db, probe))


@dataclass(frozen=True)
class LinkClaim:
    """What a valid sign-in link says."""

    forum_id: int
    username: str
    is_forum_admin: bool
    jti: str
    expires_at: datetime


def _links(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=LINK_SALT)


def mint_admin_link(config: Config, forum: Forum, username: str, *, is_forum_admin: bool) -> str:
    """A sign-in link for this person, valid once and for 10 minutes.

    For the `!admin` command: the caller decides `is_forum_admin` from the forum (Zulip:
    organisation owners and administrators). Whoever holds the link signs in as `username`,
    so send it only in a direct message to that person.
    """
    token = _links(config.secret_key).dumps(
        {"f": forum.id, "u": username, "a": bool(is_forum_admin), "j": secrets.token_hex(16)}
    )
    return f"{config.base_url}/admin/link/{token}"


def read_link(config: Config, token: str) -> LinkClaim | None:
    """The link's claim if its signature is ours and it is not expired, else None."""
    try:
        data, issued = _links(config.secret_key).loads(
            token, max_age=int(LINK_TTL.total_seconds()), return_timestamp=True
        )
        claim = LinkClaim(
            forum_id=int(data["f"]),
            username=str(data["u"]),
            is_forum_admin=bool(data["a"]),
            jti=str(data["j"]),
            expires_at=issued.astimezone(UTC) + LINK_TTL,
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    return claim
