"""Who administers what, and the one-time sign-in links the `!admin` command hands out.

No web here: the admin pages (plugin/web/admin/auth.py) and the chat command both use it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.config import Config
from plugin.domain.programs import service
from plugin.storage.models import Forum, Program
from plugin.storage.secretbox import signing_keys

LINK_TTL = timedelta(minutes=10)


LINK_SALT = "mentorship.admin-link"  # a distinct salt: no other signed token works here


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
    return _mint(config, forum.id, person)


def admin_reference(person: Person) -> dict[str, Any]:
    """What a queued message keeps to mint this person's link when it is sent: no token."""
    return {
        "user_id": person.user_id,
        "username": person.username,
        "admin": person.is_forum_admin,
        "staff": person.is_forum_staff,
    }


def admin_link(config: Config, ref: dict) -> str:
    """The sign-in link a queued message refers to, minted as it is sent (plugin.domain.links)."""
    person = Person(int(ref["user_id"]), str(ref["username"]), ref["admin"], ref["staff"])
    return _mint(config, int(ref["forum_id"]), person)


def _mint(config: Config, forum_id: int, person: Person) -> str:
    claim = {
        "f": forum_id,
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
