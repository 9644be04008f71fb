"""What Zulip's wire format says: thread names, reference lines, form encoding, Retry-After.

Small pure functions the client (plugin/zulip/client.py) and the events use.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from plugin.engine.adapter import ForumNotFound, ForumRejected


def marker_line(marker: str) -> str:
    """The line a message carries so that we can find it again.

    Zulip escapes raw HTML, so an invisible comment (as on Discourse) would show as text;
    a short, honest reference line is the least noisy thing that survives.
    """
    return f"*ref mentorship:{marker}*"


def thread_name(user_ids: list[int]) -> str:
    """The thread of a direct message with these users (and the bot)."""
    return ",".join(str(i) for i in sorted(set(user_ids)))


def thread_ids(thread: str) -> list[int]:
    """The user ids a thread name stands for."""
    try:
        return [int(part) for part in thread.split(",") if part.strip()]
    except ValueError:
        raise ForumRejected(f"{thread!r} is not a Zulip thread (user ids)") from None


def encode(params: dict[str, Any]) -> dict[str, str]:
    """Form fields as Zulip reads them."""
    # Zulip reads every non-string value as JSON (docs/forums/zulip.md §3 "Encoding").
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}


def retry_after(response: requests.Response, body: Any) -> float:
    """Seconds until Zulip takes requests again, from a 429."""
    # Retry-After is a float in seconds (zerver/lib/exceptions.py RateLimitedError).
    candidates: tuple[Any, Any] = (
        response.headers.get("Retry-After"),
        (body or {}).get("retry-after"),
    )
    for value in candidates:
        try:
            return max(0.0, float(value))
        except (TypeError, ValueError):
            continue
    return 60.0


def named_group(state: dict, name: str) -> dict:
    """The user group called `name` in a /register state: exact, else ignoring case."""
    groups = state.get("realm_user_groups") or []
    found = [g for g in groups if g["name"] == name] or [
        g for g in groups if str(g["name"]).casefold() == name.casefold()
    ]
    if not found:
        raise ForumNotFound(f"Zulip has no user group named {name!r}")
    return found[0]
