"""What both receivers share: the secret rotation overlap and safe rejection logs."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timedelta

from plugin.forums.connections import NAME
from plugin.storage.models import utcnow

log = logging.getLogger(__name__)
OVERLAP_ENV = "MENTORSHIP_SECRET_OVERLAP_SECONDS"
DEFAULT_OVERLAP = 3600.0
MAX_OVERLAP = 7 * 86400.0


def known_name(forum_name: str) -> bool:
    """Whether the name could be a forum's at all (NUL and the like never reach the DB)."""
    return NAME.fullmatch(forum_name) is not None


def secret_overlap() -> timedelta:
    """How long a replaced webhook secret or token is still accepted (default one hour)."""
    text = os.environ.get(OVERLAP_ENV, "").strip()
    try:
        seconds = float(text) if text else DEFAULT_OVERLAP
    except ValueError:
        seconds = float("nan")
    if not 0 <= seconds <= MAX_OVERLAP:  # NaN too: a typo must not open or close the window
        log.warning("%s must be 0 to %d seconds; using %d", OVERLAP_ENV, MAX_OVERLAP, 3600)
        seconds = DEFAULT_OVERLAP
    return timedelta(seconds=seconds)


def previous_secret(previous: str | None, replaced_at: datetime | None) -> str | None:
    """The replaced secret while it is still within the overlap window, else None."""
    if not previous or replaced_at is None:
        return None
    return previous if utcnow() - replaced_at <= secret_overlap() else None


def loggable(text: str, limit: int = 64) -> str:
    """A sender-chosen value (a forum name in the URL, a header) made safe for one log line."""
    shown = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return shown + ("..." if len(text) > limit else "")


def rejected(kind: str, forum_name: str, code: int, reason: str) -> None:
    """Log a refused webhook with its reason: never the body, a secret or a token."""
    log.warning("%s/%s: rejected %d: %s", kind, loggable(forum_name), code, reason)


def parse_object(body: bytes) -> tuple[dict | None, str]:
    """(the body's JSON object, '') or (None, why not): deep nesting is refused, not a 500."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None, "the body is not JSON"
    if not isinstance(payload, dict):
        return None, "the body is not a JSON object"
    return payload, ""
