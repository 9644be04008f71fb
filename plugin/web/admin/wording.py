"""Words the admin pages put on numbers, like a program's cadence."""

from __future__ import annotations

# (unit, its length in days, the article of "one a/an <unit>"), largest first. Cadences
# under a day are for trying a program out (tests use minutes and seconds).
_UNITS = (("day", 1.0, "a"), ("hour", 1 / 24, "an"), ("minute", 1 / 1440, "a"))
_SECOND = ("second", 1 / 86400, "a")


def _number(value: float) -> str:
    """A short number: whole ones without a decimal point, others to two places."""
    return f"{round(value, 2):g}"


def cadence_words(days: float) -> str:
    """How often steps come: "one a day", "one every 7 days", "one every 12 hours"."""
    unit, length, article = next((u for u in _UNITS if days >= u[1]), _SECOND)
    amount = _number(days / length)
    return f"one {article} {unit}" if amount == "1" else f"one every {amount} {unit}s"
