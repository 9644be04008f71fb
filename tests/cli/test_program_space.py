"""`program create --space pm|chat` (INTERFACE.md): where a program's pairs talk."""

from __future__ import annotations

from tests.cli.support import assert_one_line_error, create
from tests.cli.test_program_public_place import zulip_create


def test_a_program_talks_in_private_messages_unless_told(run_cli, live):
    assert create(run_cli, "--json").doc()["space"] == "pm"


def test_a_discourse_program_may_talk_in_chat(run_cli, live):
    assert create(run_cli, "--space", "chat", "--json").doc()["space"] == "chat"


def test_a_chat_space_on_zulip_is_exit_2_and_makes_no_program(run_cli, zulip):
    result = zulip_create(run_cli, zulip, "--space", "chat")
    assert_one_line_error(result, 2, "--space chat", "zulip")
    assert run_cli("program", "list", "--json").doc()["programs"] == []


def test_a_zulip_program_talks_in_direct_messages(run_cli, zulip):
    assert zulip_create(run_cli, zulip, "--json").doc()["space"] == "pm"


def test_an_unknown_space_is_exit_2(run_cli, live):
    assert create(run_cli, "--space", "forum").code == 2


def test_a_chat_space_where_chat_is_off_is_made_with_a_notice_naming_the_setting(
    run_cli, live, fake
):
    fake.chat.settings.enabled = False
    result = create(run_cli, "--space", "chat", "--json")
    assert result.code == 0 and result.doc()["space"] == "chat"
    [line] = result.err.strip().splitlines()
    assert line.startswith("mentorship: notice:") and "chat_enabled" in line


def test_a_chat_space_for_a_bot_that_may_not_chat_gets_a_notice(run_cli, live, fake):
    fake.fail_next("GET", r"^/chat/api/channels", 403)  # outside chat_allowed_groups
    result = create(run_cli, "--space", "chat")
    assert result.code == 0 and "may not chat" in result.err


def test_a_chat_space_the_forum_allows_gets_no_notice(run_cli, live, fake):
    result = create(run_cli, "--space", "chat")
    assert result.code == 0 and result.err == ""


def test_a_chat_space_is_made_even_where_the_check_is_unknown(run_cli, live, fake):
    fake.fail_next("GET", r"^/chat/api/channels", 404, body={"errors": ["not found"]})
    assert create(run_cli, "--space", "chat", "--json").doc()["space"] == "chat"


def test_a_pm_space_asks_nothing_of_chat(run_cli, live, fake):
    fake.chat.settings.enabled = False
    assert create(run_cli, "--json").doc()["space"] == "pm"
    assert not [r for r in fake.requests if r.path.startswith("/chat/")]
