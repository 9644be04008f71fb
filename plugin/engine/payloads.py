"""Checks both forums' receivers run on what an event carries (a failure answers 400).

Everything a sender can put in a body is checked here against what the database columns
hold, so that a hostile value is a 400 at the receiver, never a 5xx or a worker failure.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from plugin.engine.clock import parse_instant

MAX_COMMAND_TEXT = 4000  # a command's text is all of a post we keep; bound it
MAX_INT32 = 2**31 - 1  # Integer columns (members' user ids, group ids)
MAX_INT64 = 2**63 - 1  # what any id we keep as text must still fit (post and topic ids)
# Forum timestamps outside these are not real posts; they would overflow date arithmetic.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
MAX_INSTANT_TEXT = 40

# The command words (docs/operator-interface.md, "Member-facing behaviour"), defined once:
# the receivers keep a post's text only when it starts with one, and the commands act only
# on these.
COMMAND_WORDS = frozenset(
    """help done pause resume end report block signup admin
    ask graduate directory accept decline""".split()
)
# Other words for them, in any program whatever its language (issue 13): a German speaker in
# an English program may type `!erledigt`. `!pause` is the same word in German.
ALIASES: dict[str, str] = {
    "erledigt": "done",
    "fortsetzen": "resume",
    "ende": "end",
    "melden": "report",
    "blockieren": "block",
    "hilfe": "help",
    "anmelden": "signup",
    "annehmen": "accept",
    "ablehnen": "decline",
    "verzeichnis": "directory",
}
# Every word a kept post may start with: the receivers' filter.
KEPT_WORDS = COMMAND_WORDS | frozenset(ALIASES)
# `!word`, or a bare `word` where that is allowed (a Zulip one-to-one message to the bot).
LEADING_WORD = re.compile(r"\s*(!?)([A-Za-z][A-Za-z_-]*)(\s|$)?")


class BadPayload(ValueError):
    """The body lacks what its event needs."""


def require_object(body: dict, key: str) -> dict:
    """body[key], which must be a JSON object."""
    value = body.get(key)
    if not isinstance(value, dict):
        raise BadPayload(f"the body has no {key!r} object")
    return value


def require_int(obj: dict, key: str) -> int:
    """obj[key], which must be an integer (not a boolean)."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadPayload(f"{key!r} must be an integer")
    return value


def require_id(obj: dict, key: str, maximum: int = MAX_INT32) -> int:
    """obj[key], a positive integer id no larger than the column that keeps it holds."""
    value = require_int(obj, key)
    if not 0 < value <= maximum:
        raise BadPayload(f"{key!r} must be a positive id of at most {maximum}")
    return value


def require_str(obj: dict, key: str) -> str:
    """obj[key], which must be a non-empty string."""
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise BadPayload(f"{key!r} must be a non-empty string")
    return value


def require_instant(obj: dict, key: str) -> str:
    """obj[key], an ISO-8601 instant within EARLIEST..LATEST, as the forum wrote it."""
    text = require_str(obj, key).strip()
    # ASCII only: fromisoformat alone would let odd characters reach keys and columns.
    if len(text) > MAX_INSTANT_TEXT or not text.isascii():
        raise BadPayload(f"{key!r} must be an ISO-8601 time")
    try:
        value = parse_instant(text)
    except ValueError:
        raise BadPayload(f"{key!r} must be an ISO-8601 time") from None
    if not EARLIEST <= value < LATEST:
        raise BadPayload(f"{key!r} is out of range")
    return text


def require_timestamp(obj: dict, key: str) -> str:
    """obj[key], Unix seconds within EARLIEST..LATEST, as an ISO-8601 instant."""
    value = require_int(obj, key)
    if not EARLIEST.timestamp() <= value < LATEST.timestamp():
        raise BadPayload(f"{key!r} is out of range")
    return datetime.fromtimestamp(value, UTC).isoformat()


def clean_text(text: str) -> str:
    """Text any database column and forum API takes: no NULs, no lone surrogates."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def command_text(text: Any, *, bare_allowed: bool = False) -> str | None:
    """The text to keep when it starts with a command word, else None (nothing is kept)."""
    if not isinstance(text, str):
        return None
    match = LEADING_WORD.match(text)
    if match is None or match.group(2).lower() not in KEPT_WORDS:
        return None
    # Without the `!`, the word must stand alone: "done." is conversation, "done" is not.
    if not match.group(1) and not (bare_allowed and match.group(3) is not None):
        return None
    return clean_text(text.strip()[:MAX_COMMAND_TEXT])


def command_word(text: str) -> str:
    """The command word a kept command starts with ('report' from '!melden ...'), or ''."""
    match = LEADING_WORD.match(text)
    return canonical(match.group(2)) if match else ""


def canonical(word: str) -> str:
    """The command word `word` names ('done' for 'erledigt' or 'DONE'), or '' for none."""
    word = word.lower()
    word = ALIASES.get(word, word)
    return word if word in COMMAND_WORDS else ""


def bounded(key: str, limit: int) -> str:
    """The key itself when it fits `limit` characters, else a stable digest of it."""
    if len(key) <= limit:
        return key  # short keys (every real one) keep their identity as they are
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=24).hexdigest()
    return f"~{digest}"
