"""Load and validate program template files (JSON) for mentorship programs.

A template is one JSON object::

    {"format": 1, "key": "career", "title": "...", "description": "...",
     "steps": [{"title": "...", "discussion": ["...", "...", "..."], "tip": "..."}]}

"format" is optional (only 1 exists); "key" is optional and defaults to the file stem.
Error messages name the file and the place, with 0-based indexes as in ``steps[2].tip``.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
from dataclasses import dataclass
from difflib import get_close_matches

from plugin.resources import data_path

BUILTIN = ("career", "skills", "support")

FORMAT_VERSION = 1

# The bot posts one step a week, so these caps keep a careless or hostile file from
# flooding a forum thread (or the program page) with walls of text.
MIN_STEPS = 6
MAX_STEPS = 52  # a year of weekly steps
MIN_POINTS = 3
MAX_POINTS = 5
MAX_KEY = 40
MAX_TITLE = 120
MAX_DESCRIPTION = 600
MAX_POINT = 300
MAX_TIP = 400

# Keys end up in URLs, commands and database rows, so keep them to a plain slug.
_KEY_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")

_TOP_KEYS = ("format", "key", "title", "description", "steps")
_STEP_KEYS = ("title", "discussion", "tip")


class TemplateError(ValueError):
    """A program template file that cannot be used; the message says what and where."""


@dataclass(frozen=True)
class Step:
    """One weekly prompt: a title, 3 to 5 discussion points and a practical tip."""

    title: str
    discussion: tuple[str, ...]
    tip: str


@dataclass(frozen=True)
class ProgramTemplate:
    """A validated program template."""

    key: str
    title: str
    description: str
    steps: tuple[Step, ...]


def templates_dir() -> pathlib.Path:
    """The directory holding messages/ and programs/: the wheel's copy, else the checkout's."""
    return data_path("templates")


def load_template(name_or_path: str) -> ProgramTemplate:
    """Load a builtin template by key (e.g. "career") or a template file by path."""
    if name_or_path in BUILTIN:
        path = templates_dir() / "programs" / f"{name_or_path}.json"
        template = _load_file(path, source=path.name, default_key=name_or_path)
        if template.key != name_or_path:
            # A renamed builtin would silently change which program a stored key refers to.
            raise TemplateError(f"{path.name}: key {template.key!r} does not match the file name")
        return template
    if not _looks_like_path(name_or_path):
        choices = ", ".join(BUILTIN)
        raise TemplateError(
            f"unknown template {name_or_path!r}: use {choices}, or a path to a .json file"
        )
    path = pathlib.Path(name_or_path)
    return _load_file(path, source=name_or_path, default_key=path.stem)


def parse_template(data: object, *, source: str, default_key: str) -> ProgramTemplate:
    """Validate already-parsed JSON and build a ProgramTemplate; `source` prefixes errors."""
    obj = _as_object(data, source, "top level")
    _reject_unknown_keys(obj, _TOP_KEYS, source, "")

    fmt = obj.get("format", FORMAT_VERSION)
    # bool is an int in Python, so compare the type exactly: `true` is not format 1.
    if type(fmt) is not int or fmt != FORMAT_VERSION:
        raise TemplateError(
            f"{source}: format {json.dumps(fmt, default=repr)} is not supported "
            f"(this version reads format {FORMAT_VERSION})"
        )

    if "key" in obj:
        key = _text(obj["key"], source, "key", MAX_KEY)
    else:
        key = default_key
    if not _KEY_RE.fullmatch(key) or len(key) > MAX_KEY:
        where = "key" if "key" in obj else "key (from the file name)"
        raise TemplateError(
            f"{source}: {where} {key!r} must be lowercase letters, digits, '-' or '_' "
            f"(at most {MAX_KEY} characters)"
        )

    title = _text(_required(obj, "title", source, ""), source, "title", MAX_TITLE, one_line=True)
    description = _text(
        _required(obj, "description", source, ""), source, "description", MAX_DESCRIPTION
    )

    raw_steps = _required(obj, "steps", source, "")
    if not isinstance(raw_steps, list):
        raise TemplateError(f"{source}: steps must be a list, not {_json_type(raw_steps)}")
    if not MIN_STEPS <= len(raw_steps) <= MAX_STEPS:
        raise TemplateError(
            f"{source}: steps has {len(raw_steps)} steps; {MIN_STEPS} to {MAX_STEPS} needed"
        )
    steps = tuple(_parse_step(raw, source, f"steps[{i}]") for i, raw in enumerate(raw_steps))
    return ProgramTemplate(key=key, title=title, description=description, steps=steps)


def template_to_dict(t: ProgramTemplate) -> dict:
    """The JSON-ready form of a template; parse_template turns it back into an equal one."""
    return {
        "format": FORMAT_VERSION,
        "key": t.key,
        "title": t.title,
        "description": t.description,
        "steps": [
            {"title": s.title, "discussion": list(s.discussion), "tip": s.tip} for s in t.steps
        ],
    }


def _looks_like_path(name: str) -> bool:
    seps = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return name.lower().endswith(".json") or any(sep in name for sep in seps)


def _load_file(path: pathlib.Path, *, source: str, default_key: str) -> ProgramTemplate:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise TemplateError(f"{source}: is a directory, not a .json file") from None
    except UnicodeDecodeError:
        raise TemplateError(f"{source}: not UTF-8 text") from None
    except OSError as exc:
        raise TemplateError(f"{source}: cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise TemplateError(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except _DuplicateKey as exc:
        # json.loads would otherwise keep the last value and hide the first, a classic
        # copy-paste mistake in hand-edited files.
        raise TemplateError(f"{source}: key {exc.args[0]!r} appears twice in one object") from None
    return parse_template(data, source=source, default_key=default_key)


class _DuplicateKey(Exception):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    obj: dict = {}
    for k, v in pairs:
        if k in obj:
            raise _DuplicateKey(k)
        obj[k] = v
    return obj


def _parse_step(raw: object, source: str, where: str) -> Step:
    obj = _as_object(raw, source, where)
    _reject_unknown_keys(obj, _STEP_KEYS, source, where)
    title = _text(
        _required(obj, "title", source, where), source, f"{where}.title", MAX_TITLE, one_line=True
    )
    points = _required(obj, "discussion", source, where)
    if not isinstance(points, list):
        raise TemplateError(
            f"{source}: {where}.discussion must be a list of points, not {_json_type(points)}"
        )
    if not MIN_POINTS <= len(points) <= MAX_POINTS:
        raise TemplateError(
            f"{source}: {where}.discussion has {len(points)} points; "
            f"{MIN_POINTS} to {MAX_POINTS} needed"
        )
    discussion = tuple(
        _text(p, source, f"{where}.discussion[{i}]", MAX_POINT) for i, p in enumerate(points)
    )
    tip = _text(_required(obj, "tip", source, where), source, f"{where}.tip", MAX_TIP)
    return Step(title=title, discussion=discussion, tip=tip)


def _as_object(value: object, source: str, where: str) -> dict:
    if not isinstance(value, dict):
        raise TemplateError(f"{source}: {where} must be a JSON object, not {_json_type(value)}")
    return value


def _required(obj: dict, name: str, source: str, where: str) -> object:
    if name not in obj:
        place = f"{where}: " if where else ""
        raise TemplateError(f"{source}: {place}missing {name!r}")
    return obj[name]


def _reject_unknown_keys(obj: dict, allowed: tuple[str, ...], source: str, where: str) -> None:
    # Unknown keys are almost always typos ("dicussion"), which would otherwise be ignored
    # and surface later as a confusing "missing" error or, worse, silently lost text.
    for name in obj:
        if name not in allowed:
            place = f"{where}: " if where else ""
            guess = get_close_matches(str(name), allowed, n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else f" (allowed: {', '.join(allowed)})"
            raise TemplateError(f"{source}: {place}unknown key {name!r}{hint}")


def _text(value: object, source: str, where: str, limit: int, *, one_line: bool = False) -> str:
    if not isinstance(value, str):
        raise TemplateError(f"{source}: {where} must be a string, not {_json_type(value)}")
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


def _json_type(value: object) -> str:
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
