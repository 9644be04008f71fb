"""Message text from templates/messages/, rendered by small pure functions.

A message file may start with a `title: ...` line (for new threads); the rest is the body.
Placeholders are `$name` (string.Template); a missing value is an error, never a blank.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from string import Template

from plugin.resources import data_path


@dataclass(frozen=True)
class Message:
    """A rendered message: a title (for new threads) and the text."""

    title: str
    text: str


@cache
def _load(name: str) -> tuple[Template, Template]:
    raw = data_path(f"templates/messages/{name}.md").read_text(encoding="utf-8")
    title = ""
    if raw.startswith("title:"):
        first, _, raw = raw.partition("\n")
        title = first.removeprefix("title:").strip()
    return Template(title), Template(raw.strip())


def render(template: str, /, **values: object) -> Message:
    """Fill the message template named `template` with `values`."""
    title, body = _load(template)
    text = {k: str(v) for k, v in values.items()}
    return Message(title.substitute(text), body.substitute(text))


def cadence_text(days: float) -> str:
    """'week', '3 days', '2 hours' or '30 seconds': how often steps come."""
    if days == 7:
        return "week"
    if days >= 1:
        return f"{days:g} days"
    seconds = days * 86400
    if seconds >= 3600:
        return f"{seconds / 3600:g} hours"
    return f"{seconds:g} seconds"


def render_step(steps: list[dict], number: int) -> str:
    """The text of step `number` (1-based) of a program's steps."""
    step = steps[number - 1]
    return render(
        "step",
        number=number,
        total=len(steps),
        title=step["title"],
        discussion="\n".join(f"- {point}" for point in step["discussion"]),
        tip=step["tip"],
    ).text
