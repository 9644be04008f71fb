"""The pairs page links each pair to its thread on the forum, where there is one."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from plugin.domain.admins import Person, mint_admin_link
from plugin.storage.db import transaction
from plugin.storage.models import Pair, Report
from tests.web.admin.support import add_signup, csrf, make_pair, make_program, text, user_id_of

LINK_NAME = "Open the pair's conversation on the forum: sam and maya"


def pair_with_thread(sessions, program_id: int, thread: str | None) -> None:
    """sam and maya, paired, their thread as the forum named it (None: not opened yet)."""
    mentor = add_signup(sessions, program_id, "sam", "mentor")
    mentee = add_signup(sessions, program_id, "maya", "mentee")
    pair_id = make_pair(sessions, program_id, mentor, mentee, days_ago=3)
    with transaction(sessions) as db:
        db.get(Pair, pair_id).thread = thread


def pairs_page(client, program_id: int) -> str:
    return text(client.get(f"/admin/programs/{program_id}/pairs"))


def test_a_pair_links_to_its_topic_on_discourse(staff, sessions, program_id):
    pair_with_thread(sessions, program_id, "321")
    page = pairs_page(staff, program_id)
    assert f'<a href="http://127.0.0.1:9/t/321" rel="noopener" aria-label="{LINK_NAME}">' in (
        page.replace("&#39;", "'")
    )


def test_a_pair_whose_thread_is_not_opened_yet_has_no_link(staff, sessions, program_id):
    pair_with_thread(sessions, program_id, None)
    page = pairs_page(staff, program_id)
    assert "/t/" not in page and "not opened yet" in page


def test_a_thread_name_the_forum_would_not_make_gets_no_link(staff, sessions, program_id):
    pair_with_thread(sessions, program_id, "javascript:alert(1)")
    page = pairs_page(staff, program_id)
    assert "javascript:" not in page and "no link" in page


def test_a_report_links_to_the_conversation_of_its_pair(staff, sessions, program_id):
    pair_with_thread(sessions, program_id, "321")
    with transaction(sessions) as db:
        pair = db.query(Pair).one()
        db.add(Report(program_id=program_id, pair_id=pair.id, reporter_id=pair.mentee.member_id))
    page = text(staff.get(f"/admin/programs/{program_id}/reports"))
    assert 'href="http://127.0.0.1:9/t/321"' in page


@pytest.fixture
def zulip_admin(client, config, sessions, zforum) -> int:
    """A program on the Zulip forum with sam and maya paired in "41,42"; its admin signed in."""
    program_id = make_program(sessions, zforum.id, admins=("pat",))
    pair_with_thread(sessions, program_id, "41,42")
    person = Person(user_id_of("pat"), "pat", False, False)
    path = urlsplit(mint_admin_link(config, zforum, person)).path
    client.post(path, data={"csrf_token": csrf(client, path)})
    return program_id


def test_a_pair_on_zulip_links_to_its_group_dm_narrow(client, zforum, zulip_admin):
    page = pairs_page(client, zulip_admin)
    assert f'href="{zforum.url.rstrip("/")}/#narrow/dm/41,42-group"' in page


def test_on_zulip_the_page_says_who_can_read_the_linked_conversation(client, zulip_admin):
    assert "Zulip shows only to the pair and the bot" in pairs_page(client, zulip_admin)
