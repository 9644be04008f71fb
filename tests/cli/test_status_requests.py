"""`mentorship status` lists a self-service program's requests (INTERFACE.md, status)."""

from __future__ import annotations

from plugin.storage.db import transaction
from plugin.storage.requests import MentorRequest
from tests.requests_support import ask, make_self_service
from tests.web.admin.support import add_signup, make_program


def test_status_lists_a_self_service_programs_requests(cli, sessions, forum):
    pid = make_program(sessions, forum.id)
    make_self_service(sessions, pid)
    add_signup(sessions, pid, "sam", "mentor")
    add_signup(sessions, pid, "maya", "mentee")
    add_signup(sessions, pid, "zoe", "mentee")
    ask(sessions, pid, "maya", "sam")
    declined = ask(sessions, pid, "zoe", "sam")
    with transaction(sessions) as session:
        session.get_one(MentorRequest, declined).state = "declined"
    assert cli("status", "--program", str(pid))["requests"] == [
        {"mentor": "sam", "mentee": "maya", "state": "open"},
        {"mentor": "sam", "mentee": "zoe", "state": "declined"},
    ]


def test_status_of_a_program_that_is_not_self_service_lists_no_requests(cli, sessions, forum):
    pid = make_program(sessions, forum.id)
    assert cli("status", "--program", str(pid))["requests"] == []
