"""Message text from templates/messages/<language>/, rendered by small pure functions.

A message file may start with a `title: ...` line (for new threads); the rest is the body.
Placeholders are `$name` (string.Template); a missing value is an error, never a blank.
Each language has its own folder of files, so a translator edits whole messages (the long
step prompts included) rather than keys; a file missing in a language falls back to English.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from babel.units import format_unit

from plugin.i18n import DEFAULT
from plugin.resources import data_path

log = logging.getLogger(__name__)

# The English texts are British ("organisation"), so are their dates: "Mon 7 Dec, 14:00".
DATE_LOCALES = {"en": "en_GB", "de": "de_DE"}

# How often steps come, completing the intro's sentence: (one unit, several units).
# German says "jede Woche" but "alle 3 Tage": the words differ, not just the plural.
_EVERY = {
    "en": {"week": "every week", "day": "every day", "hour": "every hour", "n": "every {n}"},
    "de": {"week": "jede Woche", "day": "jeden Tag", "hour": "jede Stunde", "n": "alle {n}"},
}


@dataclass(frozen=True)
class Message:
    """A rendered message: a title (for new threads) and the text."""

    title: str
    text: str


def messages_dir() -> Path:
    """The folder holding one subfolder of message files per language."""
    return data_path("templates/messages")


def _file(name: str, language: str) -> Path:
    path = messages_dir() / language / f"{name}.md"
    if language != DEFAULT and not path.exists():
        _warn_missing(name, language)
        return messages_dir() / DEFAULT / f"{name}.md"
    return path


@cache
def _warn_missing(name: str, language: str) -> None:
    # Cached: one warning per missing file and process, not one per message sent.
    log.warning("message %r has no %r translation: English is sent instead", name, language)


@cache
def _load(name: str, language: str) -> tuple[Template, Template]:
    raw = _file(name, language).read_text(encoding="utf-8")
    title = ""
    if raw.startswith("title:"):
        first, _, raw = raw.partition("\n")
        title = first.removeprefix("title:").strip()
    return Template(title), Template(raw.strip())


def render(template: str, language: str, /, **values: object) -> Message:
    """Fill the message template named `template`, in `language`, with `values`."""
    title, body = _load(template, language)
    text = {k: str(v) for k, v in values.items()}
    return Message(title.substitute(text), body.substitute(text))


def phrase(template: str, language: str, /, **values: object) -> str:
    """A short piece of text (a word, a sentence) from a message file, for another message."""
    return render(template, language, **values).text


def cadence_text(days: float, language: str) -> str:
    """How often steps come: 'every week', 'every 3 days' / 'jede Woche', 'alle 3 Tage'."""
    words = _EVERY.get(language, _EVERY[DEFAULT])
    seconds = days * 86400
    if days == 7:
        return words["week"]
    for unit, size in (("day", 86400), ("hour", 3600)):
        if seconds == size:
            return words[unit]
    if days >= 1:
        amount, unit = days, "duration-day"
    elif seconds >= 3600:
        amount, unit = seconds / 3600, "duration-hour"
    else:
        amount, unit = seconds, "duration-second"
    # Babel knows each language's plural forms and decimal sign ("1,5 Tage").
    counted = format_unit(amount, unit, length="long", locale=DATE_LOCALES[_known(language)])
    return words["n"].format(n=counted)


def days_text(days: float, language: str) -> str:
    """A number of days as admins read it: '3.0 days', '12 days' / '3,5 Tage'."""
    # A tenth of a day matters in the first days of a silence; after ten, whole days do.
    pattern = "0.0" if days < 10 else "0"
    locale = DATE_LOCALES[_known(language)]
    return format_unit(days, "duration-day", length="long", format=pattern, locale=locale)


def moment_text(at: datetime, language: str, zone: str | None) -> str:
    """A date and time in a reader's language and zone: 'Mo., 7. Dez., 14:00 (Europe/Berlin)'."""
    name = zone or "UTC"
    local = at.astimezone(ZoneInfo(name))
    locale = DATE_LOCALES[_known(language)]
    day = format_skeleton("MMMEd", local, locale=locale)
    return f"{day}, {format_time(local, 'HH:mm', locale=locale)} ({name})"


def _known(language: str) -> str:
    return language if language in DATE_LOCALES else DEFAULT


def render_step(steps: list[dict], number: int, language: str) -> str:
    """The text of step `number` (1-based) of a program's steps, framed in `language`."""
    step = steps[number - 1]
    return render(
        "step",
        language,
        number=number,
        total=len(steps),
        title=step["title"],
        discussion="\n".join(f"- {point}" for point in step["discussion"]),
        tip=step["tip"],
    ).text
