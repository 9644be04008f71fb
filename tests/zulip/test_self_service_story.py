"""A self-service program on Zulip: the directory link in a direct message, a request to
a mentor named by email, the mentor told in a direct message, and `directory` without `!`.
"""

from __future__ import annotations

import re

import pytest

from tests.helpers import LINK, assert_no_text, hidden_inputs, submit_signup, work
from tests.zulip.support import BOT, MAYA, SAM, deliver

DIRECTORY = re.compile(r"http://127\.0\.0\.1:8000(/directory/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def program(config, sessions, client, zulip, cli) -> dict:
    """An open self-service program on Zulip where Sam mentors and Maya is a ready mentee."""
    cli(
        "forum", "add", "--kind", "zulip", "--name", "zulip", "--url", zulip.url,
        "--bot-email", BOT, "--api-key", "test-key", "--webhook-token", zulip.webhook_token,
    )  # fmt: skip
    created = cli(
        "program", "create", "--forum", "zulip", "--group", "community", "--template", "career",
        "--mentor-group", "mentors", "--mentee-group", "mentees", "--self-service",
    )  # fmt: skip
    cli("program", "open", str(created["id"]))
    work(config, sessions)  # registers the event queue
    zulip.add_member("mentors", SAM)
    zulip.add_member("mentees", MAYA)
    work(config, sessions)
    for who in (SAM, MAYA):
        path = LINK.search(zulip.texts(who)[0]).group(1)
        submit_signup(client, path, timezone="Europe/Berlin")
    work(config, sessions)
    return created


def directory_link(zulip) -> str:
    """The latest directory link in Maya's direct messages with the bot."""
    return [m.group(1) for t in zulip.texts(MAYA) for m in DIRECTORY.finditer(t)][-1]


def ask(client, path: str, mentor: str, message: str = ""):
    form = hidden_inputs(client.get(path).get_data(as_text=True))
    return client.post(path, data={**form, "mentor": mentor, "message": message})


def test_a_ready_mentee_finds_her_mentor_by_email_in_the_directory(client, zulip, program):
    page = client.get(directory_link(zulip)).get_data(as_text=True)
    assert f'value="{SAM}"' in page


def test_the_mentor_is_asked_in_a_direct_message_and_her_words_are_not_kept(
    config, sessions, client, zulip, program
):
    assert ask(client, directory_link(zulip), SAM, "about a violet-giraffe").status_code == 200
    work(config, sessions)
    request = zulip.texts(SAM)[-1]
    assert f"!accept {MAYA}" in request and "violet-giraffe" in request
    assert_no_text(sessions, "violet-giraffe")


def test_a_second_request_while_the_first_is_open_is_409(client, zulip, program):
    link = directory_link(zulip)
    ask(client, link, SAM)
    assert ask(client, link, SAM).status_code == 409


@pytest.mark.parametrize("command", ["!directory", "directory", "verzeichnis"])
def test_directory_in_a_dm_to_the_bot_sends_a_fresh_link(
    config, sessions, client, zulip, program, command
):
    before = len(zulip.texts(MAYA))
    deliver(client, zulip.dm(MAYA, [BOT], command))
    work(config, sessions)
    fresh = zulip.texts(MAYA)[before + 1]  # after Maya's own command
    assert client.get(DIRECTORY.search(fresh).group(1)).status_code == 200


def test_directory_from_a_mentor_explains_what_the_directory_is_for(
    config, sessions, client, zulip, program
):
    deliver(client, zulip.dm(SAM, [BOT], "!directory"))
    work(config, sessions)
    answer = zulip.texts(SAM)[-1]
    assert "choose their mentor" in answer and not DIRECTORY.search(answer)


def test_directory_in_a_group_dm_posts_no_link(config, sessions, client, zulip, program):
    deliver(client, zulip.dm(MAYA, [SAM, BOT], "!directory"))
    work(config, sessions)
    assert not any(DIRECTORY.search(t) for t in zulip.texts(SAM, MAYA))


def test_the_mentor_accepts_with_a_bare_word_and_the_group_dm_opens(
    config, sessions, client, zulip, cli, program
):
    ask(client, directory_link(zulip), SAM, "hello")
    work(config, sessions)
    deliver(client, zulip.dm(SAM, [BOT], f"accept {MAYA}"))
    work(config, sessions)
    requests = cli("status", "--program", str(program["id"]))["requests"]
    assert [(r["mentor"], r["mentee"], r["state"]) for r in requests] == [(SAM, MAYA, "accepted")]
    assert "Step 1 of 8" in zulip.texts(SAM, MAYA)[0]


def test_the_mentor_declines_and_the_mentee_is_told_in_a_direct_message(
    config, sessions, client, zulip, cli, program
):
    ask(client, directory_link(zulip), SAM)
    work(config, sessions)
    deliver(client, zulip.dm(SAM, [BOT], f"!decline {MAYA}"))
    work(config, sessions)
    assert cli("status", "--program", str(program["id"]))["requests"][0]["state"] == "declined"
    assert "cannot take on a mentee" in zulip.texts(MAYA)[-1]
