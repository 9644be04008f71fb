"""Checks both forums' receivers run on what an event carries (a failure answers 400)."""

from __future__ import annotations

MAX_COMMAND_TEXT = 4000  # a command's text is all of a post we keep; bound it


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


def require_str(obj: dict, key: str) -> str:
    """obj[key], which must be a non-empty string."""
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise BadPayload(f"{key!r} must be a non-empty string")
    return value
