"""The admin pages' fixture: a program that signing in can lead to."""

from __future__ import annotations

import pytest

from tests.web.admin.support import make_program, set_connect_secret, sign_in


@pytest.fixture
def program_id(sessions, forum) -> int:
    """An open program `Career circle` on a forum that signs in through DiscourseConnect;
    pat administers it."""
    set_connect_secret(sessions, forum.id)
    return make_program(sessions, forum.id, title="Career circle", admins=("pat",))


@pytest.fixture
def staff(client, program_id):
    """The test client, signed in as a forum admin."""
    sign_in(client, "alice", admin=True)
    return client


@pytest.fixture
def pat(client, program_id):
    """The test client, signed in as the program's admin (not forum staff)."""
    sign_in(client, "pat")
    return client
