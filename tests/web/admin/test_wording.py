"""How the admin pages word a program's cadence."""

import pytest

from plugin.web.admin.wording import cadence_words


@pytest.mark.parametrize(
    ("days", "words"),
    [
        (7, "one every 7 days"),
        (1, "one a day"),
        (1.5, "one every 1.5 days"),
        (0.5, "one every 12 hours"),
        (1 / 24, "one an hour"),
        (1 / 1440, "one a minute"),
        (0.0001, "one every 8.64 seconds"),
    ],
)
def test_a_cadence_is_said_with_a_proper_plural(days, words):
    assert cadence_words(days) == words
