"""The admin matching page: accepting every proposal tells those left waiting, once."""

from __future__ import annotations

from tests.domain.test_expertise import ALGEBRA, remember
from tests.domain.test_unmatched import messages, told
from tests.web.admin.support import add_signup, post, text


def test_accepting_all_tells_the_members_left_waiting(staff, sessions, program_id):
    add_signup(sessions, program_id, "sam", "mentor", topics="python")
    add_signup(sessions, program_id, "maya", "mentee", topics="python")
    add_signup(sessions, program_id, "ola", "mentee", topics="rust", timezone="Asia/Tokyo")
    post(staff, f"/admin/programs/{program_id}/matching/propose")
    post(staff, f"/admin/programs/{program_id}/matching/accept-all")
    assert told(sessions) == {"ola": "No mentor for you yet"}


def test_accepting_the_same_draft_again_tells_nobody_twice(staff, sessions, program_id):
    add_signup(sessions, program_id, "ola", "mentee", topics="rust")
    add_signup(sessions, program_id, "sam", "mentor", topics="python")
    add_signup(sessions, program_id, "maya", "mentee", topics="python")
    post(staff, f"/admin/programs/{program_id}/matching/propose")
    post(staff, f"/admin/programs/{program_id}/matching/accept-all")
    post(staff, f"/admin/programs/{program_id}/matching/accept-all")
    assert [name for name, _ in messages(sessions)] == ["ola"]


def test_proposing_alone_tells_nobody(staff, sessions, program_id):
    add_signup(sessions, program_id, "ola", "mentee", topics="rust")
    post(staff, f"/admin/programs/{program_id}/matching/propose")
    assert told(sessions) == {}


def test_a_proposal_shows_forum_activity_as_a_reason(staff, sessions, program_id):
    add_signup(sessions, program_id, "sam", "mentor", topics="algebra")
    add_signup(sessions, program_id, "maya", "mentee", topics="algebra, careers")
    remember(sessions, "sam", ALGEBRA)
    post(staff, f"/admin/programs/{program_id}/matching/propose")
    page = text(staff.get(f"/admin/programs/{program_id}/matching"))
    assert "Forum activity: Algebra" in page and "Shared topics: algebra" in page


def test_accepting_all_says_how_many_still_waiting_will_hear_so(staff, sessions, program_id):
    add_signup(sessions, program_id, "sam", "mentor", topics="python")
    add_signup(sessions, program_id, "maya", "mentee", topics="python")
    add_signup(sessions, program_id, "ola", "mentee", topics="rust")
    post(staff, f"/admin/programs/{program_id}/matching/propose")
    post(staff, f"/admin/programs/{program_id}/matching/accept-all")
    page = text(staff.get(f"/admin/programs/{program_id}/matching"))
    assert "1 member still waiting will hear so privately." in page
