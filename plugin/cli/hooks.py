"""`mentorship hook add|list|remove`: outgoing webhooks (docs/operator-interface.md).

Hooks are service-wide: they hear every program's events, so the commands take no --forum.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from plugin.config import Config
from plugin.domain.hook_events import EVENT_TYPES
from plugin.engine import hooks
from plugin.forums.connections import InputError
from plugin.netguard import Refused
from plugin.storage.db import reading, transaction
from plugin.storage.webhooks import WebHook


class CommandEnv(Protocol):
    """What these commands use of plugin.cli.Env, which imports this module (no cycle)."""

    config: Config
    sessions: sessionmaker[Session]


def _hook_doc(hook: WebHook) -> dict[str, Any]:
    """A hook as `hook list` shows it: never its secret."""
    return {"id": hook.id, "url": hook.url, "events": hooks.events_of(hook)}


def parse_events(text: str | None) -> list[str]:
    """The --events list, checked against the event types; every type when not given."""
    if text is None:
        return list(EVENT_TYPES)
    wanted = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    unknown = [t for t in wanted if t not in EVENT_TYPES]
    if unknown or not wanted:
        raise InputError(
            f"--events takes a comma-separated list of {', '.join(EVENT_TYPES)}"
            + (f" (not {', '.join(unknown)})" if unknown else "")
        )
    return wanted


def cmd_hook_add(args: argparse.Namespace, env: CommandEnv) -> tuple[Any, str]:
    """`hook add`: register a hook and print its secret, this once."""
    events = parse_events(args.events)
    try:
        with transaction(env.sessions) as session:
            hook = hooks.add_hook(session, args.url, events, env.config.allowed_internal_hosts)
            doc = {**_hook_doc(hook), "secret": hook.secret}
    except Refused as exc:
        raise InputError(f"--url is refused: {exc}") from None
    return doc, f"hook {doc['id']} added; its secret (shown only now): {doc['secret']}"


def cmd_hook_list(args: argparse.Namespace, env: CommandEnv) -> tuple[Any, str]:
    """`hook list`: every hook, without secrets."""
    with reading(env.sessions) as session:
        docs = [_hook_doc(h) for h in hooks.list_hooks(session)]
    text = "\n".join(f"{d['id']}\t{d['url']}\t{','.join(d['events'])}" for d in docs)
    return {"hooks": docs}, text or "no hooks yet"


def cmd_hook_remove(args: argparse.Namespace, env: CommandEnv) -> tuple[Any, str]:
    """`hook remove`: the hook and every delivery it still had."""
    with transaction(env.sessions) as session:
        removed = hooks.remove_hook(session, args.id)
    if not removed:
        raise InputError(f"no hook with id {args.id}")
    return {"status": "ok", "id": args.id}, f"hook {args.id} removed"


def _hook_id(text: str) -> int:
    """A positive integer id; argparse reports anything else as a usage error."""
    if not text.isdigit() or int(text) < 1:
        raise ValueError(text)
    return int(text)


def register(top: Any, leaf: Callable[..., argparse.ArgumentParser]) -> None:
    """Add `hook add|list|remove` to the parser."""
    hook = top.add_parser("hook", help="outgoing webhooks").add_subparsers(
        dest="sub", required=True
    )
    p = leaf(hook, "add", cmd_hook_add, "register an outgoing webhook")
    p.add_argument("--url", required=True, help="where to POST events (https://, as forum URLs)")
    p.add_argument("--events", help="event types, comma-separated (default: all)")
    leaf(hook, "list", cmd_hook_list, "list outgoing webhooks")
    p = leaf(hook, "remove", cmd_hook_remove, "remove an outgoing webhook")
    p.add_argument("id", type=_hook_id, help="the hook's id (see `mentorship hook list`)")
