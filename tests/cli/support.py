"""What the CLI tests share: a command's outcome, its one-line errors, `forum add` argv."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.helpers import SECRET

BASE = "http://127.0.0.1:8765"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def doc(self) -> dict:
        assert self.code == 0, self.err
        return json.loads(self.out)


def assert_one_line_error(result: Result, code: int, *needles: str) -> None:
    """Exit `code`, nothing on stdout, one line on stderr naming `needles`, no traceback."""
    assert result.code == code, (result.code, result.err)
    assert result.out == ""
    assert len(result.err.splitlines()) == 1, result.err
    assert result.err.startswith("mentorship: error: ") and "Traceback" not in result.err
    for needle in needles:
        assert needle in result.err


DEAD = "http://127.0.0.1:9"  # nothing answers there: adding it needs --no-check


def forum_add(url: str = DEAD, name: str = "forum", secret: str = SECRET):
    return (
        *("forum", "add", "--kind", "discourse", "--name", name, "--url", url),
        *("--api-key", "test-key", "--api-username", "mentor_bot", "--webhook-secret", secret),
        *(("--no-check",) if url == DEAD else ()),
    )


def create(run_cli, *extra: str, template: str = "career", mentee_group: str = "mentees") -> Result:
    return run_cli(
        *("program", "create", "--forum", "forum", "--group", "community"),
        *("--template", template, "--mentor-group", "mentors", "--mentee-group", mentee_group),
        *extra,
    )
