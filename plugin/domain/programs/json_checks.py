"""The small checks a template file's JSON goes through; each error names the file and place."""

from __future__ import annotations

from difflib import get_close_matches


class TemplateError(ValueError):
    """A program template file that cannot be used; the message says what and where."""


class DuplicateKey(Exception):
    """A key written twice in one JSON object."""


def no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    """json.loads' object_pairs_hook: a dict, or DuplicateKey (json would keep the last)."""
    obj: dict = {}
    for k, v in pairs:
        if k in obj:
            raise DuplicateKey(k)
        obj[k] = v
    return obj


def as_object(value: object, source: str, where: str) -> dict:
    """`value` when it is a JSON object, else TemplateError."""
    if not isinstance(value, dict):
        raise TemplateError(f"{source}: {where} must be a JSON object, not {json_type(value)}")
    return value


def required(obj: dict, name: str, source: str, where: str) -> object:
    """obj[name], or TemplateError naming what is missing."""
    if name not in obj:
        place = f"{where}: " if where else ""
        raise TemplateError(f"{source}: {place}missing {name!r}")
    return obj[name]


def reject_unknown_keys(obj: dict, allowed: tuple[str, ...], source: str, where: str) -> None:
    """TemplateError for the first key not in `allowed`, with a guess at the one meant."""
    # Unknown keys are almost always typos ("dicussion"), which would otherwise be ignored
    # and surface later as a confusing "missing" error or, worse, silently lost text.
    for name in obj:
        if name not in allowed:
            place = f"{where}: " if where else ""
            guess = get_close_matches(str(name), allowed, n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else f" (allowed: {', '.join(allowed)})"
            raise TemplateError(f"{source}: {place}unknown key {name!r}{hint}")


def checked_text(
    value: object, source: str, where: str, limit: int, *, one_line: bool = False
) -> str:
    """A non-empty string of at most `limit` characters, stripped; else TemplateError."""
    if not isinstance(value, str):
        raise TemplateError(f"{source}: {where} must be a string, not {json_type(value)}")
    # Surrounding whitespace would only show up as odd gaps in the posted Markdown.
    text = value.strip()
    if not text:
        raise TemplateError(f"{source}: {where} is empty")
    if len(text) > limit:
        raise TemplateError(
            f"{source}: {where} is {len(text)} characters long; at most {limit} allowed"
        )
    if one_line and "\n" in text:
        raise TemplateError(f"{source}: {where} must be a single line")
    return text


def json_type(value: object) -> str:
    """How JSON would name the type of `value` ("a list", "null"), for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
