"""Issue 9, findings 2 and 5: who may touch a forum's connection, people known by user id,
and personal links never posted where others read them."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy import text as sa_text

from plugin.storage.db import MIGRATIONS, reading, transaction, upgrade
from plugin.storage.models import AdminSession, Forum, OutboxMessage, Program, utcnow
from tests.domain.flow_support import deliver as deliver_discourse
from tests.fakes.discourse import FakeDiscourse
from tests.helpers import LINK, SECRET, pm_post, work
from tests.web.admin.support import (
    CONNECT_SECRET,
    add_signup,
    csrf,
    make_program,
    post,
    set_connect_secret,
    settings_form,
    sign_in,
    stored_forum,
    text,
    user_id_of,
)
from tests.zulip.support import BOT, MAYA, SAM
from tests.zulip.support import deliver as deliver_zulip

SETTINGS = "/admin/forum/settings"
ADMIN_LINK = re.compile(r"/admin/link/")


# -- finding 2: connection settings are the forum admins' alone -------------------------------


def test_moderator_cannot_see_or_change_forum_settings(client, sessions, forum, program_id):
    sign_in(client, "mo", moderator=True)
    assert client.get(SETTINGS).status_code == 403
    assert "Forum settings" not in text(client.get("/admin/"))
    form = settings_form(url="http://127.0.0.1:8", api_key="mods-own-key", webhook_secret="x" * 20)
    assert post(client, SETTINGS, form).status_code == 403
    stored = stored_forum(sessions)
    assert (stored.url, stored.api_key, stored.webhook_secret) == (
        "http://127.0.0.1:9",
        "test-key",
        SECRET,
    )
    assert stored.connect_secret == CONNECT_SECRET


def test_moderator_still_administers_every_program(client, sessions, forum, program_id):
    make_program(sessions, forum.id, title="Skills sprint", admins=("someone_else",))
    sign_in(client, "mo", moderator=True)
    page = text(client.get("/admin/"))
    assert "Career circle" in page and "Skills sprint" in page
    assert client.get("/admin/programs/new").status_code == 200


def test_a_program_admin_cannot_change_forum_settings(client, sessions, program_id):
    sign_in(client, "pat")
    assert post(client, SETTINGS, settings_form(url="http://127.0.0.1:8")).status_code == 403
    assert stored_forum(sessions).url == "http://127.0.0.1:9"


def test_changing_forum_url_requires_the_api_key_again(client, sessions, program_id):
    sign_in(client, "alice", admin=True)
    moved = post(client, SETTINGS, settings_form(url="http://127.0.0.1:8"), SETTINGS)
    assert moved.status_code == 400 and "API key" in text(moved)
    assert stored_forum(sessions).url == "http://127.0.0.1:9"  # nothing saved
    both = settings_form(url="http://127.0.0.1:8", api_key="the-new-servers-key")
    assert post(client, SETTINGS, both, SETTINGS).status_code == 303
    stored = stored_forum(sessions)
    assert (stored.url, stored.api_key) == ("http://127.0.0.1:8", "the-new-servers-key")


def test_the_same_url_needs_no_api_key(client, sessions, program_id):
    sign_in(client, "alice", admin=True)
    same = settings_form(url="http://127.0.0.1:9/", request_budget_per_minute="20")
    assert post(client, SETTINGS, same, SETTINGS).status_code == 303
    assert stored_forum(sessions).request_budget == 20


# -- finding 2: people are known by the forum's user id ---------------------------------------


def test_admin_session_follows_user_id_not_username(client, app, sessions, program_id):
    # Pat renamed herself; someone else then took the name "pat".
    impostor = sign_in(client, "pat", user_id=user_id_of("pat") + 10_000)
    assert impostor.status_code == 403
    with reading(sessions) as db:
        assert db.execute(select(AdminSession)).first() is None
    real = app.test_client()
    sign_in(real, "patricia", user_id=user_id_of("pat"))
    assert "Career circle" in text(real.get("/admin/"))
    with reading(sessions) as db:
        [row] = db.execute(select(AdminSession)).scalars()
    assert (row.user_id, row.username) == (user_id_of("pat"), "patricia")


def test_a_forum_admin_is_told_apart_from_a_moderator_in_the_session(
    client, app, sessions, program_id
):
    sign_in(client, "alice", admin=True)
    sign_in(app.test_client(), "mo", moderator=True)
    with reading(sessions) as db:
        rows = {
            s.username: (s.is_forum_admin, s.is_forum_staff)
            for s in db.execute(select(AdminSession)).scalars()
        }
    assert rows == {"alice": (True, True), "mo": (False, True)}


def test_an_answer_without_a_user_id_signs_nobody_in(client, program_id):
    response = sign_in(client, "pat", user_id=0)
    assert response.status_code == 403
    assert client.get("/admin/").status_code == 302


@pytest.fixture
def creator(client, sessions, forum):
    """A forum admin, signed in, whose forum (the fake) knows Pat as user 77."""
    site = FakeDiscourse(api_key="test-key", bot_username="mentor_bot")
    site.add_user("Pat", id=77)
    site.add_user("lee", id=78)
    for name, group_id in (("community", 40), ("mentors", 43), ("mentees", 44)):
        site.add_group(name, id=group_id)
    with site.serve():
        with transaction(sessions) as db:
            db.get(Forum, forum.id).url = site.url
        set_connect_secret(sessions, forum.id)
        sign_in(client, "alice", admin=True)
        yield client


def test_program_admins_are_resolved_to_user_ids_when_created(creator, sessions):
    form = {
        "template": "career",
        "title": "Resolved",
        "language": "en",
        "group": "community",
        "mentor_group": "mentors",
        "mentee_group": "mentees",
        "cadence_days": "7",
        "admins": "pat, lee, PAT",
        "csrf_token": csrf(creator, "/admin/programs/new"),
    }
    assert creator.post("/admin/programs/new", data=form).status_code == 303
    with reading(sessions) as db:
        program = db.execute(select(Program)).scalar_one()
    assert json.loads(program.admin_ids) == [77, 78]
    assert json.loads(program.admins) == ["Pat", "lee"]  # as the forum spells them


# -- finding 5: personal links only in a one-to-one conversation ------------------------------


def test_admin_link_is_not_posted_in_a_group_dm(config, sessions, client, zulip, zulip_story):
    deliver_zulip(client, zulip.dm("alice@example.com", [BOT, MAYA], "!admin"))
    work(config, sessions)
    group = zulip.texts("alice@example.com", MAYA)
    assert group[0] == "!admin" and len(group) == 2
    assert not ADMIN_LINK.search(group[1]) and "direct message" in group[1]
    assert not any(ADMIN_LINK.search(m.content) for m in zulip.messages.values())


def test_admin_link_is_posted_in_a_one_to_one_dm(config, sessions, client, zulip, zulip_story):
    deliver_zulip(client, zulip.dm("alice@example.com", [BOT], "!admin"))
    work(config, sessions)
    assert ADMIN_LINK.search(zulip.texts("alice@example.com")[-1])


def test_signup_link_is_not_posted_in_a_group_dm(config, sessions, client, zulip, zulip_story):
    zulip.add_member("mentees", MAYA)
    work(config, sessions)
    deliver_zulip(client, zulip.dm(MAYA, [BOT, SAM], "!signup"))
    work(config, sessions)
    group = zulip.texts(MAYA, SAM)
    assert len(group) == 2 and not LINK.search(group[1]) and "direct message" in group[1]
    assert len(zulip.texts(MAYA)) == 1  # her first link, no fresh one


def test_signup_link_on_discourse_comes_in_a_private_message_of_its_own(
    config, sessions, client, forum, program_id
):
    add_signup(sessions, program_id, "maya", "mentee", state="pending")
    with transaction(sessions) as db:
        db.get(Program, program_id).reconciled_at = utcnow()  # no forum here to reconcile with
    # A private message of Maya, Sam and the bot: its people are not in the webhook.
    body = pm_post(9400, topic_id=4321, user_id=user_id_of("maya"), raw="!signup")
    deliver_discourse(client, "post__post_created", body)
    work(config, sessions)
    with reading(sessions) as db:
        rows = db.execute(select(OutboxMessage)).scalars()
        calls = [(c.kind, json.loads(c.payload)) for c in rows]
    # Nothing posted where she asked; the link (minted only when sent) in a thread of her own.
    assert not [p for kind, p in calls if kind in ("post", "link_post")]
    assert [p["usernames"] for kind, p in calls if kind == "link_open"] == [["maya"]]


# -- the 0006 upgrade -------------------------------------------------------------------------


def _at_0005(url: str):
    """A database migrated up to 0005 only, as before this change."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    engine = create_engine(url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0005")
    return engine


OLD_ROWS = [
    "INSERT INTO forums (id, name, kind, url, api_key, bot_user, webhook_secret,"
    " request_budget, created_at) VALUES (1, 'forum', 'discourse', 'https://f.example',"
    " 'k', 'mentor_bot', 's', 55, '2026-01-01 00:00:00')",
    "INSERT INTO members (id, forum_id, forum_user_id, username, erased)"
    " VALUES (1, 1, 501, 'pat', false)",
    "INSERT INTO programs (id, forum_id, title, template_key, template, state, group_name,"
    " group_id, mentor_group_name, mentor_group_id, mentee_group_name, mentee_group_id,"
    " cadence_days, quiet_start, quiet_end, admins, created_at) VALUES (1, 1, 'Old',"
    " 'career', '{}', 'open', 'c', 40, 'm', 43, 'e', 44, 7, '22:00', '08:00',"
    " '[\"PAT\", \"ghost\"]', '2026-01-01 00:00:00')",
    "INSERT INTO admin_sessions (token_hash, forum_id, username, is_forum_admin, expires_at,"
    " created_at) VALUES ('h', 1, 'pat', true, '2999-01-01 00:00:00', '2026-01-01 00:00:00')",
    "INSERT INTO proposal_drafts (program_id, created_by, created_at)"
    " VALUES (1, 'Pat', '2026-01-01 00:00:00')",
]


def test_the_upgrade_resolves_admins_through_members_and_signs_everyone_out(tmp_path):
    from plugin.config import Config
    from plugin.storage import secretbox

    url = f"sqlite:///{tmp_path / 'old.db'}"
    # Migration 0007 seals the old forum row's secrets on the way up: it needs the keyring.
    secretbox.configure(Config(database_url=url, secret_key="k", base_url="http://x"))
    engine = _at_0005(url)
    with engine.begin() as connection:
        for statement in OLD_ROWS:
            connection.execute(sa_text(statement))
    upgrade(engine)
    with engine.connect() as connection:
        admins, ids = connection.execute(sa_text("SELECT admins, admin_ids FROM programs")).one()
        sessions_left = connection.execute(sa_text("SELECT count(*) FROM admin_sessions")).scalar()
        author = connection.execute(sa_text("SELECT created_by_id FROM proposal_drafts")).scalar()
    engine.dispose()
    # "ghost" is nobody we know by id: kept for reports, no access by a name alone.
    assert (json.loads(admins), json.loads(ids)) == (["PAT", "ghost"], [501, None])
    assert sessions_left == 0 and author == 501
