"""The pairs page lists a self-service program's open requests."""

from __future__ import annotations

from tests.requests_support import ask, make_self_service
from tests.web.admin.support import add_signup, text


def requests_section(client, program_id: int) -> str:
    page = text(client.get(f"/admin/programs/{program_id}/pairs"))
    return page.split('id="requests"', 1)[1] if 'id="requests"' in page else ""


def test_the_pairs_page_lists_open_requests(staff, sessions, program_id):
    make_self_service(sessions, program_id)
    add_signup(sessions, program_id, "sam", "mentor")
    add_signup(sessions, program_id, "maya", "mentee")
    ask(sessions, program_id, "maya", "sam")
    section = requests_section(staff, program_id)
    assert '<td data-label="Mentor">sam</td>' in section
    assert '<td data-label="Mentee">maya</td>' in section


def test_a_self_service_program_without_requests_says_so(staff, sessions, program_id):
    make_self_service(sessions, program_id)
    assert "No open requests." in requests_section(staff, program_id)


def test_a_program_that_is_not_self_service_has_no_requests_section(staff, program_id):
    assert requests_section(staff, program_id) == ""
