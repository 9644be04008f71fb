"""The registry of forum kinds: the one module outside the forum folders that names a forum.

The core asks it for what is true of one forum kind (plugin/forums/kind.py); everything
else about Discourse lives in plugin/discourse/, about Zulip in plugin/zulip/. A new kind
of forum is a new folder and one line here.
"""

from __future__ import annotations

from collections.abc import Mapping

from plugin.discourse.kind import KIND as DISCOURSE
from plugin.forums.kind import ForumKind
from plugin.storage.states import Space
from plugin.zulip.kind import KIND as ZULIP

KINDS: dict[str, ForumKind] = {kind.name: kind for kind in (DISCOURSE, ZULIP)}
NAMES: tuple[str, ...] = tuple(KINDS)

# What each forum says of its private threads, by kind, then language.
PRIVACY: dict[str, Mapping[str, str]] = {name: kind.privacy for name, kind in KINDS.items()}


def spaces(kind: str) -> tuple[Space, ...]:
    """The pair spaces a forum kind offers (`program create --space`), its default first."""
    return (Space.PM, Space.CHAT) if KINDS[kind].chat_privacy else (Space.PM,)


def privacy(kind: str, space: Space) -> Mapping[str, str]:
    """What a forum says of a pair's space of this kind (private message or chat), by language."""
    chat = KINDS[kind].chat_privacy
    return chat if space == Space.CHAT and chat else KINDS[kind].privacy


def kind_of(name: str) -> ForumKind | None:
    """The forum kind called `name`, or None."""
    return KINDS.get(name)


def mention(kind: str, username: str | None, name: str | None, user_id: int) -> str:
    """A member named so that the forum notifies them."""
    return KINDS[kind].mention(username, name, user_id)


def periodic_jobs() -> list:
    """Every forum kind's own periodic jobs."""
    return [job for kind in KINDS.values() for job in kind.periodic]


def outbox_kinds() -> dict:
    """Every forum kind's own outbox kinds, by kind name."""
    return {name: k for kind in KINDS.values() for name, k in kind.outbox_kinds.items()}


def listeners() -> list:
    """Every forum kind's own long-running listeners."""
    return [listener for kind in KINDS.values() for listener in kind.listeners]


def receiver_modules() -> list[str]:
    """Every forum kind's webhook receiver module, each with a Flask blueprint `bp`."""
    return [kind.receiver for kind in KINDS.values() if kind.receiver]


def unavailable_body(path: str, body: dict) -> dict:
    """A 503 body in the shape the forum whose receiver `path` is accepts."""
    parts = path.split("/")
    kind = KINDS.get(parts[2]) if len(parts) > 3 and parts[1] == "webhooks" else None
    return kind.unavailable_body(body) if kind else body
