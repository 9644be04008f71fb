"""Words the admin pages put on numbers, like a program's cadence."""

from __future__ import annotations

from plugin.i18n import N_
from plugin.web.lang import decimal_short, gettext

# (its length in days, "one a <unit>", "one every %(amount)s <units>"), largest first.
# Cadences under a day are for trying a program out (tests use minutes and seconds).
# Whole phrases, not a unit word slotted into one: languages inflect them differently.
_UNITS = (
    (1.0, N_("one a day"), N_("one every %(amount)s days")),
    (1 / 24, N_("one an hour"), N_("one every %(amount)s hours")),
    (1 / 1440, N_("one a minute"), N_("one every %(amount)s minutes")),
)
_SECOND = (1 / 86400, N_("one a second"), N_("one every %(amount)s seconds"))


def cadence_words(days: float) -> str:
    """How often steps come: "one a day", "one every 7 days", "one every 12 hours"."""
    length, one, every = next((u for u in _UNITS if days >= u[0]), _SECOND)
    amount = round(days / length, 2)
    if amount == 1:
        return gettext(one)
    return gettext(every, amount=decimal_short(amount))
