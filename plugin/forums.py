"""Connected forums: adding and listing them, and building their adapters."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from plugin.adapter import BudgetExhausted, ForumAdapter, Gate
from plugin.budget import reserve_call
from plugin.clock import Clock
from plugin.db import reading, transaction
from plugin.models import Forum
from plugin.netguard import Refused, check_url
from plugin.resources import manifest

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
KINDS = ("discourse", "zulip")


class InputError(ValueError):
    """Bad input from an operator: the message says what to change (exit code 2)."""


def default_budget(kind: str) -> int:
    """The request budget per minute from manifest.json's settings."""
    return int(manifest()["forums"][kind]["settings"]["request_budget_per_minute"]["default"])


def _check_url(url: str, allowed_hosts: frozenset[str]) -> str:
    """The forum's base URL if it is well formed and the forum URL rule allows it."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--url must be an http(s) URL of the forum, not {url!r}")
    if parts.query or parts.fragment:
        raise InputError("--url must not carry a query or fragment")
    try:
        check_url(url, allowed_hosts)
    except Refused as exc:
        raise InputError(f"--url is refused: {exc}") from None
    return url.rstrip("/")


def add_forum(
    session: Session,
    *,
    kind: str,
    name: str,
    url: str,
    api_key: str,
    bot_user: str,
    webhook_secret: str,
    connect_secret: str | None = None,
    request_budget: int | None = None,
    allowed_hosts: frozenset[str] = frozenset(),
) -> Forum:
    """Register a forum; names are unique and appear in webhook URLs.

    `allowed_hosts` is MENTORSHIP_ALLOWED_INTERNAL_HOSTS (Config.allowed_internal_hosts).
    """
    if kind not in KINDS:
        raise InputError(f"--kind must be one of {', '.join(KINDS)}")
    if not NAME.match(name):
        raise InputError("--name must be 1 to 64 letters, digits, '-' or '_'")
    if not api_key.strip() or not bot_user.strip():
        raise InputError("the API key and the bot user must not be empty")
    # Discourse refuses webhook secrets shorter than 12 characters (app/models/web_hook.rb).
    if kind == "discourse" and len(webhook_secret) < 12:
        raise InputError("--webhook-secret must be at least 12 characters (Discourse's minimum)")
    if kind == "zulip" and not webhook_secret.strip():
        raise InputError("--webhook-token must not be empty")
    if session.execute(select(Forum.id).where(Forum.name == name)).first():
        raise InputError(f"a forum named {name!r} already exists")
    forum = Forum(
        name=name,
        kind=kind,
        url=_check_url(url, allowed_hosts),
        api_key=api_key,
        bot_user=bot_user,
        webhook_secret=webhook_secret,
        connect_secret=connect_secret or None,
        request_budget=request_budget or default_budget(kind),
    )
    session.add(forum)
    session.flush()
    return forum


def set_webhook_secret(forum: Forum, new: str, now: datetime) -> None:
    """Replace the webhook secret (Zulip: token); the old one stays valid for a while.

    Deliveries the forum signed just before the change still arrive with the old secret;
    the receivers accept it until MENTORSHIP_SECRET_OVERLAP_SECONDS after `now`.
    """
    if new == forum.webhook_secret:
        return  # saving the same secret again must not restart or end the overlap
    forum.previous_webhook_secret = forum.webhook_secret
    forum.webhook_secret_replaced_at = now
    forum.webhook_secret = new


def get_forum(session: Session, name: str) -> Forum:
    """A forum by name, or an InputError naming the known ones."""
    forum = session.execute(select(Forum).where(Forum.name == name)).scalar_one_or_none()
    if forum is None:
        raise InputError(f"no forum named {name!r} (see `mentorship forum list`)")
    return forum


def webhook_url(base_url: str, forum: Forum) -> str:
    """Where the forum must send its webhooks."""
    return f"{base_url}/webhooks/{forum.kind}/{forum.name}"


def describe(base_url: str, forum: Forum) -> dict:
    """The operator's view of a forum (no secrets)."""
    return {
        "name": forum.name,
        "kind": forum.kind,
        "url": forum.url,
        "webhook_url": webhook_url(base_url, forum),
    }


def budget_gate(
    factory: sessionmaker[Session], forum_id: int, clock: Clock, *, wait: bool = False
) -> Gate:
    """Before each request, take a slot of the forum's shared budget.

    Workers pass wait=False: a full budget raises BudgetExhausted and the work stays
    pending. Commands pass wait=True and sleep (on the real clock) for the next slot.
    """

    def gate() -> None:
        while True:
            now = clock.now()
            with transaction(factory) as session:
                reservation = reserve_call(session, forum_id, now)
            if reservation.granted:
                return
            if not wait or clock.frozen:
                raise BudgetExhausted(reservation.retry_at)
            time.sleep(max(0.05, min((reservation.retry_at - now).total_seconds(), 60)))

    return gate


def make_adapter(
    forum: Forum, gate: Gate, allowed_hosts: frozenset[str] = frozenset()
) -> ForumAdapter:
    """The API adapter for a forum row; every connection it makes follows the forum URL rule."""
    if forum.kind == "discourse":
        from plugin.discourse.client import DiscourseClient

        return DiscourseClient(
            forum.url, forum.api_key, forum.bot_user, gate=gate, allowed_hosts=allowed_hosts
        )
    if forum.kind == "zulip":
        from plugin.zulip.client import ZulipClient

        return ZulipClient(
            forum.url, forum.bot_user, forum.api_key, gate=gate, allowed_hosts=allowed_hosts
        )
    raise InputError(f"forums of kind {forum.kind!r} are not supported yet")


def adapter_factory(
    factory: sessionmaker[Session],
    clock: Clock,
    *,
    wait: bool = False,
    allowed_hosts: frozenset[str] = frozenset(),
) -> Callable[[int], ForumAdapter]:
    """forum id -> adapter, built once per forum and reused (allowed_hosts: as for add_forum)."""
    cache: dict[int, ForumAdapter] = {}

    def adapter_for(forum_id: int) -> ForumAdapter:
        if forum_id not in cache:
            with reading(factory) as session:
                forum = session.get(Forum, forum_id)
            gate = budget_gate(factory, forum_id, clock, wait=wait)
            cache[forum_id] = make_adapter(forum, gate, allowed_hosts)
        return cache[forum_id]

    return adapter_for


# How each forum writes a mention, and what is true of its private threads.
PRIVACY = {
    "discourse": "This private message is just for the two of you and me, the program's bot "
    "(the forum's own admins can read private messages, as always on Discourse).",
    "zulip": "This group direct message is just for the two of you and me, the program's bot.",
}


def mention(kind: str, username: str | None, name: str | None, user_id: int) -> str:
    """A member named so that the forum notifies them."""
    if kind == "zulip":
        return f"@**{name or username}|{user_id}**"
    return f"@{username}"
