"""Fixtures of the program story on Discourse."""

from __future__ import annotations

import pytest


@pytest.fixture
def story(config, sessions, client, fake, cli, live_forum):
    """A `career` program on the community, one step a day, opened through the CLI."""
    program = cli(
        "program",
        "create",
        "--forum",
        "forum",
        "--group",
        "community",
        "--template",
        "career",
        "--mentor-group",
        "mentors",
        "--mentee-group",
        "mentees",
        "--cadence-days",
        "1",
    )
    cli("program", "open", str(program["id"]))
    return program
