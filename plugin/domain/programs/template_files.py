"""Load and validate program template files (JSON) for mentorship programs.

A template is one JSON object::

    {"format": 1, "key": "career", "language": "en", "title": "...", "description": "...",
     "steps": [{"title": "...", "discussion": ["...", "...", "..."], "tip": "..."}],
     "translations": {"de": {"title": "...", "description": "...", "steps": [...]}}}

"format" is optional (only 1 exists); "key" is optional and defaults to the file stem.
"language" names the language of the top-level title, description and steps (default "en").
"translations" is optional: each supported language (plugin.i18n.LANGUAGES) may carry its own
complete title, description and steps, as many steps as the top level has, so step N means the
same week in every language. Each language is one block a translator can edit on its own.
A file without them (every file written before issue 13) is a one-language template.
Error messages name the file and the place, with 0-based indexes as in ``steps[2].tip`` or
``translations.de.steps[2].tip``.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
from dataclasses import dataclass

from plugin.domain.programs.json_checks import (
    DuplicateKey,
    TemplateError,
    as_object,
    checked_text,
    json_type,
    no_duplicate_keys,
    reject_unknown_keys,
    required,
)
from plugin.i18n import DEFAULT, LANGUAGES, language_of, supported_list
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

_TOP_KEYS = ("format", "key", "language", "title", "description", "steps", "translations")
_TEXT_KEYS = ("title", "description", "steps")
_STEP_KEYS = ("title", "discussion", "tip")


@dataclass(frozen=True)
class Step:
    """One weekly prompt: a title, 3 to 5 discussion points and a practical tip."""

    title: str
    discussion: tuple[str, ...]
    tip: str


@dataclass(frozen=True)
class Text:
    """One language's wording of a template: its title, description and steps."""

    title: str
    description: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class ProgramTemplate:
    """A validated program template: its own language's text, and its translations."""

    key: str
    title: str
    description: str
    steps: tuple[Step, ...]
    language: str = DEFAULT
    translations: tuple[tuple[str, Text], ...] = ()

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages the template is written in, its own first."""
        return (self.language, *(code for code, _ in self.translations))

    def text(self, language: str | None = None) -> Text:
        """The wording in `language`, else in English, else in the template's own language."""
        texts = {self.language: Text(self.title, self.description, self.steps)}
        texts.update(self.translations)
        return texts[pick_language(tuple(texts), language)]


def pick_language(available: tuple[str, ...], wanted: str | None) -> str:
    """`wanted` when the template has it, else English, else the template's own (the first)."""
    code = language_of(wanted) or wanted
    if code in available:
        return str(code)
    return DEFAULT if DEFAULT in available else available[0]


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
    obj = as_object(data, source, "top level")
    reject_unknown_keys(obj, _TOP_KEYS, source, "")

    fmt = obj.get("format", FORMAT_VERSION)
    # bool is an int in Python, so compare the type exactly: `true` is not format 1.
    if type(fmt) is not int or fmt != FORMAT_VERSION:
        raise TemplateError(
            f"{source}: format {json.dumps(fmt, default=repr)} is not supported "
            f"(this version reads format {FORMAT_VERSION})"
        )

    if "key" in obj:
        key = checked_text(obj["key"], source, "key", MAX_KEY)
    else:
        key = default_key
    if not _KEY_RE.fullmatch(key) or len(key) > MAX_KEY:
        where = "key" if "key" in obj else "key (from the file name)"
        raise TemplateError(
            f"{source}: {where} {key!r} must be lowercase letters, digits, '-' or '_' "
            f"(at most {MAX_KEY} characters)"
        )

    language = _language(obj.get("language", DEFAULT), source, "language")
    own = _parse_text(obj, source, "")
    translations = _parse_translations(obj.get("translations", {}), source, language, own)
    return ProgramTemplate(
        key=key,
        title=own.title,
        description=own.description,
        steps=own.steps,
        language=language,
        translations=translations,
    )


def _parse_text(obj: dict, source: str, prefix: str) -> Text:
    """The title, description and steps at `prefix` ("" or "translations.de.")."""
    title = checked_text(
        required(obj, "title", source, prefix[:-1]),
        source,
        f"{prefix}title",
        MAX_TITLE,
        one_line=True,
    )
    description = checked_text(
        required(obj, "description", source, prefix[:-1]),
        source,
        f"{prefix}description",
        MAX_DESCRIPTION,
    )
    raw_steps = required(obj, "steps", source, prefix[:-1])
    if not isinstance(raw_steps, list):
        raise TemplateError(f"{source}: {prefix}steps must be a list, not {json_type(raw_steps)}")
    if not MIN_STEPS <= len(raw_steps) <= MAX_STEPS:
        raise TemplateError(
            f"{source}: {prefix}steps has {len(raw_steps)} steps; {MIN_STEPS} to {MAX_STEPS} needed"
        )
    steps = tuple(
        _parse_step(raw, source, f"{prefix}steps[{i}]") for i, raw in enumerate(raw_steps)
    )
    return Text(title=title, description=description, steps=steps)


def _language(value: object, source: str, where: str) -> str:
    """A supported language code, written as plugin.i18n.LANGUAGES writes it."""
    if not isinstance(value, str) or value not in LANGUAGES:
        raise TemplateError(
            f"{source}: {where}: unknown language {json.dumps(value, default=repr)}; "
            f"use one of {supported_list()}"
        )
    return value


def _parse_translations(
    raw: object, source: str, language: str, own: Text
) -> tuple[tuple[str, Text], ...]:
    blocks = as_object(raw, source, "translations")
    found: list[tuple[str, Text]] = []
    for code, block in blocks.items():
        where = f"translations.{code}"
        _language(code, source, "translations")
        if code == language:
            raise TemplateError(
                f"{source}: {where} repeats the file's own language {language!r} "
                "(its text is the top-level title, description and steps)"
            )
        obj = as_object(block, source, where)
        reject_unknown_keys(obj, _TEXT_KEYS, source, where)
        text = _parse_text(obj, source, f"{where}.")
        if len(text.steps) != len(own.steps):
            # Step N is one week of the program: every member of a pair must read the same one.
            raise TemplateError(
                f"{source}: {where}.steps has {len(text.steps)} steps but the {language!r} "
                f"steps have {len(own.steps)}; every language needs the same number of steps"
            )
        found.append((code, text))
    return tuple(found)


def template_to_dict(t: ProgramTemplate) -> dict:
    """The JSON-ready form of a template; parse_template turns it back into an equal one."""
    data: dict = {"format": FORMAT_VERSION, "key": t.key, "language": t.language}
    data |= _text_to_dict(Text(t.title, t.description, t.steps))
    if t.translations:
        data["translations"] = {code: _text_to_dict(text) for code, text in t.translations}
    return data


def _text_to_dict(text: Text) -> dict:
    return {
        "title": text.title,
        "description": text.description,
        "steps": [
            {"title": s.title, "discussion": list(s.discussion), "tip": s.tip} for s in text.steps
        ],
    }


def _stored_texts(data: dict) -> dict[str, dict]:
    """A stored template's blocks by language, its own first."""
    # Stored before issue 13: no "language" key, and the steps were English.
    return {str(data.get("language", DEFAULT)): data, **data.get("translations", {})}


def stored_languages(data: dict) -> list[str]:
    """The languages of a stored template (template_to_dict's form), its own first."""
    return list(_stored_texts(data))


def stored_text(data: dict, language: str | None) -> dict:
    """A stored template's title, description and steps in `language`, or pick_language's."""
    texts = _stored_texts(data)
    return texts[pick_language(tuple(texts), language)]


def with_steps(data: dict, language: str | None, steps: list) -> tuple[dict, list[str]]:
    """The stored template with the steps read in `language` replaced, and the languages dropped.

    When the number of steps changes, the other languages no longer line up week by week,
    so they are dropped and the edited language becomes the template's own.
    """
    texts = _stored_texts(data)
    code = pick_language(tuple(texts), language)
    if len(steps) == len(texts[code]["steps"]):
        if code == next(iter(texts)):
            return {**data, "steps": steps}, []
        edited = {**texts[code], "steps": steps}
        return {**data, "translations": {**data["translations"], code: edited}}, []
    own = {"format": FORMAT_VERSION, "language": code} | {k: data[k] for k in ("key",) if k in data}
    own |= {"title": texts[code]["title"], "description": texts[code]["description"]}
    return own | {"steps": steps}, [c for c in texts if c != code]


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
        data = json.loads(text, object_pairs_hook=no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise TemplateError(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except DuplicateKey as exc:
        # json.loads would otherwise keep the last value and hide the first, a classic
        # copy-paste mistake in hand-edited files.
        raise TemplateError(f"{source}: key {exc.args[0]!r} appears twice in one object") from None
    return parse_template(data, source=source, default_key=default_key)


def _parse_step(raw: object, source: str, where: str) -> Step:
    obj = as_object(raw, source, where)
    reject_unknown_keys(obj, _STEP_KEYS, source, where)
    title = checked_text(
        required(obj, "title", source, where), source, f"{where}.title", MAX_TITLE, one_line=True
    )
    points = required(obj, "discussion", source, where)
    if not isinstance(points, list):
        raise TemplateError(
            f"{source}: {where}.discussion must be a list of points, not {json_type(points)}"
        )
    if not MIN_POINTS <= len(points) <= MAX_POINTS:
        raise TemplateError(
            f"{source}: {where}.discussion has {len(points)} points; "
            f"{MIN_POINTS} to {MAX_POINTS} needed"
        )
    discussion = tuple(
        checked_text(p, source, f"{where}.discussion[{i}]", MAX_POINT) for i, p in enumerate(points)
    )
    tip = checked_text(required(obj, "tip", source, where), source, f"{where}.tip", MAX_TIP)
    return Step(title=title, discussion=discussion, tip=tip)
