"""Where a program's pairs talk, on the admin pages: chosen on the new-program form where the
forum offers more than one space, and named on the program page in the forum's own words."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from plugin.domain.admins import Person, mint_admin_link
from plugin.storage.db import reading, transaction
from plugin.storage.models import Forum, Program
from plugin.storage.states import Space
from tests.web.admin.support import csrf, make_program, post, text, user_id_of
from tests.web.admin.test_pages import NEW
from tests.zulip.support import BOT

GERMAN = {"Accept-Language": "de-DE,de;q=0.9"}
CHAT_RADIO = 'name="space" value="chat"'


def spaces_stored(sessions) -> list[str]:
    with reading(sessions) as db:
        return list(db.execute(select(Program.space).order_by(Program.id)).scalars())


def programs_in(sessions) -> int:
    with reading(sessions) as db:
        return db.execute(select(func.count()).select_from(Program)).scalar_one()


def with_space(sessions, program_id: int, space: Space) -> int:
    with transaction(sessions) as db:
        db.get_one(Program, program_id).space = space
    return program_id


def create(client, form: dict, headers: dict | None = None):
    """POST the new-program form with the CSRF token of its own page."""
    token = csrf(client, "/admin/programs/new")
    return client.post("/admin/programs/new", data={"csrf_token": token, **form}, headers=headers)


@pytest.fixture
def zulip_staff(client, config, sessions, zforum, zulip) -> Forum:
    """The test client signed in to the Zulip forum (pointed at the fake) as its admin alice."""
    with transaction(sessions) as db:
        row = db.get_one(Forum, zforum.id)
        row.url, row.bot_user = zulip.url, BOT
    person = Person(user_id_of("alice"), "alice", True, True)
    path = urlsplit(mint_admin_link(config, zforum, person)).path
    client.post(path, data={"csrf_token": csrf(client, path)})
    return zforum


# -- the new-program form ---------------------------------------------------------------------


def test_a_forum_with_chat_offers_where_pairs_talk(staff):
    page = text(staff.get("/admin/programs/new"))
    assert "Where pairs talk" in page and CHAT_RADIO in page


def test_private_messages_are_the_checked_default(staff):
    page = text(staff.get("/admin/programs/new"))
    assert 'name="space" value="pm" checked' in page and f"{CHAT_RADIO} checked" not in page


def test_the_chat_choice_says_it_needs_chat_for_the_bot(staff):
    page = text(staff.get("/admin/programs/new"))
    assert "Chat must be enabled for the bot" in page


def test_a_forum_with_one_space_asks_nothing(zulip_staff, client):
    page = text(client.get("/admin/programs/new"))
    assert 'name="space"' not in page and "Where pairs talk" not in page


def test_choosing_chat_makes_a_chat_program(staff, sessions, fake, live_forum):
    response = post(staff, "/admin/programs/new", {**NEW, "space": "chat"}, "/admin/programs/new")
    assert response.status_code == 303 and spaces_stored(sessions)[-1] == Space.CHAT


def test_choosing_chat_where_chat_is_off_creates_the_program_and_says_why_pairs_may_not(
    staff, sessions, fake, live_forum
):
    fake.chat.settings.enabled = False
    response = post(staff, "/admin/programs/new", {**NEW, "space": "chat"}, "/admin/programs/new")
    assert response.status_code == 303 and spaces_stored(sessions)[-1] == Space.CHAT
    page = text(staff.get(response.headers["Location"]))
    assert "may not be able to talk in chat" in page and "chat_enabled" in page


def test_choosing_nothing_makes_a_private_message_program(staff, sessions, fake, live_forum):
    assert post(staff, "/admin/programs/new", NEW, "/admin/programs/new").status_code == 303
    assert spaces_stored(sessions)[-1] == Space.PM


def test_a_program_on_a_forum_with_one_space_gets_that_space(zulip_staff, client, sessions):
    assert create(client, NEW).status_code == 303
    assert spaces_stored(sessions)[-1] == Space.PM


def test_a_forged_chat_on_a_forum_without_chat_is_refused_and_creates_nothing(
    zulip_staff, client, sessions
):
    response = create(client, {**NEW, "space": "chat"})
    assert response.status_code == 400 and "where pairs can talk" in text(response)
    assert programs_in(sessions) == 0


def test_an_unknown_space_is_refused_and_creates_nothing(staff, sessions):
    before = programs_in(sessions)
    response = post(staff, "/admin/programs/new", {**NEW, "space": "forum"}, "/admin/programs/new")
    assert response.status_code == 400 and "where pairs can talk" in text(response)
    assert programs_in(sessions) == before


def test_the_form_shown_again_keeps_the_chat_choice(staff):
    form = {**NEW, "space": "chat", "group": ""}  # refused: no host group
    response = post(staff, "/admin/programs/new", form, "/admin/programs/new")
    assert response.status_code == 400 and f"{CHAT_RADIO} checked" in text(response)


def test_the_form_is_german_for_a_german_browser(staff):
    page = text(staff.get("/admin/programs/new", headers=GERMAN))
    assert "Wo Paare schreiben" in page and "Chat-Kanal" in page


# -- the program page -------------------------------------------------------------------------


def test_the_program_page_says_pairs_talk_in_private_messages(staff, program_id):
    page = text(staff.get(f"/admin/programs/{program_id}"))
    assert "<dt>Pairs talk in</dt><dd>private messages</dd>" in page


def test_the_program_page_says_pairs_talk_in_a_chat_channel(staff, sessions, program_id):
    with_space(sessions, program_id, Space.CHAT)
    page = text(staff.get(f"/admin/programs/{program_id}"))
    assert "<dt>Pairs talk in</dt><dd>a chat channel</dd>" in page


def test_the_program_page_says_it_in_german(staff, sessions, program_id):
    with_space(sessions, program_id, Space.CHAT)
    page = text(staff.get(f"/admin/programs/{program_id}", headers=GERMAN))
    assert "<dt>Paare schreiben sich in</dt><dd>einem Chat-Kanal</dd>" in page


def test_a_forum_with_one_space_names_it_in_its_own_words(zulip_staff, client, sessions):
    program_id = make_program(sessions, zulip_staff.id, admins=("alice",))
    page = text(client.get(f"/admin/programs/{program_id}"))
    assert "<dt>Pairs talk in</dt><dd>group direct messages</dd>" in page
