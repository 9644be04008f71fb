"""Connected forums: adding and listing them, and building their adapters."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from plugin.engine.adapter import (
    BudgetExhausted,
    ForumAdapter,
    ForumError,
    ForumRateLimited,
    ForumUnavailable,
    Gate,
)
from plugin.engine.budget import budget_gate
from plugin.engine.clock import Clock
from plugin.forums import registry
from plugin.forums.kind import Problem, Severity
from plugin.netguard import Refused, check_url
from plugin.resources import manifest
from plugin.storage.db import reading
from plugin.storage.models import Forum

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
KINDS = registry.NAMES


class InputError(ValueError):
    """Bad input from an operator: the message says what to change (exit code 2)."""


class Unanswered(Exception):
    """The forum did not answer the connection check; the message says so (exit code 1)."""


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


def new_forum(
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
    """A forum row checked as add_forum checks it, not yet added to the session.

    `allowed_hosts` is MENTORSHIP_ALLOWED_INTERNAL_HOSTS (Config.allowed_internal_hosts).
    """
    if kind not in KINDS:
        raise InputError(f"--kind must be one of {', '.join(KINDS)}")
    if not NAME.match(name):
        raise InputError("--name must be 1 to 64 letters, digits, '-' or '_'")
    if not api_key.strip() or not bot_user.strip():
        raise InputError("the API key and the bot user must not be empty")
    problem = registry.KINDS[kind].secret_problem(webhook_secret)
    if problem:
        raise InputError(problem)
    if session.execute(select(Forum.id).where(Forum.name == name)).first():
        raise InputError(f"a forum named {name!r} already exists")
    return Forum(
        name=name,
        kind=kind,
        url=_check_url(url, allowed_hosts),
        api_key=api_key,
        bot_user=bot_user,
        webhook_secret=webhook_secret,
        connect_secret=connect_secret or None,
        request_budget=request_budget or default_budget(kind),
    )


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
    """Register a forum checked as new_forum checks it; names are unique (webhook URLs)."""
    forum = new_forum(
        session,
        kind=kind,
        name=name,
        url=url,
        api_key=api_key,
        bot_user=bot_user,
        webhook_secret=webhook_secret,
        connect_secret=connect_secret,
        request_budget=request_budget,
        allowed_hosts=allowed_hosts,
    )
    session.add(forum)
    session.flush()
    return forum


def _one_line(text: str) -> str:
    return " ".join(text.split())


def check_connection(forum: Forum, allowed_hosts: frozenset[str] = frozenset()) -> list[Problem]:
    """Ask the forum whether its URL, API key and bot user work for the service ([]: yes).

    Every request goes through the forum client's netguard-pinned session.
    """
    kind = registry.kind_of(forum.kind)
    if kind is None or kind.check is None:
        return []
    try:
        return kind.check(forum, allowed_hosts)
    except (ForumUnavailable, ForumRateLimited, BudgetExhausted) as exc:
        return [Problem(Severity.UNANSWERED, _one_line(str(exc) or type(exc).__name__))]
    except ForumError as exc:  # e.g. a redirect: the URL is not the forum's API
        return [Problem(Severity.SETTINGS, _one_line(str(exc)))]


def require_connection(forum: Forum, allowed_hosts: frozenset[str] = frozenset()) -> list[str]:
    """The check's notices; InputError when the forum refused the settings, Unanswered when it
    did not answer (a notice alone never refuses a forum: it works, only a feature may not)."""
    problems = check_connection(forum, allowed_hosts)
    refused = [p.text for p in problems if p.severity is Severity.SETTINGS]
    if refused:
        raise InputError("; ".join(refused))
    unanswered = [p.text for p in problems if p.severity is Severity.UNANSWERED]
    if unanswered:
        raise Unanswered(
            f"{'; '.join(unanswered)}: check --url and that the forum is up "
            "(or add it now with --no-check and run `mentorship forum check` later)"
        )
    return [p.text for p in problems if p.severity is Severity.NOTICE]


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


def make_adapter(
    forum: Forum, gate: Gate, allowed_hosts: frozenset[str] = frozenset()
) -> ForumAdapter:
    """The API adapter for a forum row; every connection it makes follows the forum URL rule."""
    kind = registry.kind_of(forum.kind)
    if kind is None:
        raise InputError(f"forums of kind {forum.kind!r} are not supported yet")
    return kind.client(forum, gate, allowed_hosts)


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
        """The forum's adapter, built on first use and then reused."""
        if forum_id not in cache:
            with reading(factory) as session:
                forum = session.get_one(Forum, forum_id)
            gate = budget_gate(factory, forum_id, clock, wait=wait)
            cache[forum_id] = make_adapter(forum, gate, allowed_hosts)
        return cache[forum_id]

    return adapter_for
