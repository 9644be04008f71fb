"""`forum add` and `forum check` notice a Discourse API key that is not for all users.

Chat channels and members' flags need a key with User Level "All Users" and no scopes. Saying
so is a notice: the forum is stored and `ok` is unchanged, and only a definite answer from the
forum makes one (the fake answers as Discourse's own source does: discourse_keys).
"""

from __future__ import annotations

import json

from tests.cli.support import BASE, forum_add
from tests.fakes.discourse_keys import SCOPES
from tests.zulip.support import BOT

WHAT_TO_DO = "create a key under Admin → API → New API key with User Level 'All Users'"


def check(run_cli, name: str = "forum") -> dict:
    return run_cli("forum", "check", name, "--json").doc()


def test_forum_add_with_a_single_user_key_stores_the_forum_and_notices_it_on_stderr(run_cli, fake):
    fake.key_username = "mentor_bot"  # Admin → API: User Level "Single User", mentor_bot
    result = run_cli(*forum_add(fake.url), "--json")
    assert result.code == 0
    [out] = result.out.splitlines()  # stdout: the contract's document alone
    assert json.loads(out) == {
        "name": "forum",
        "kind": "discourse",
        "url": fake.url,
        "webhook_url": f"{BASE}/webhooks/discourse/forum",
    }
    [line] = result.err.splitlines()
    assert line.startswith("mentorship: notice: ") and WHAT_TO_DO in line
    assert [f["name"] for f in run_cli("forum", "list", "--json").doc()["forums"]] == ["forum"]


def test_forum_check_of_a_single_user_key_lists_a_notice_and_stays_ok(run_cli, fake):
    run_cli(*forum_add(fake.url))
    fake.key_username = "mentor_bot"
    doc = check(run_cli)
    assert doc["ok"] is True and doc["problems"] == []
    [notice] = doc["notices"]
    assert "acts only as 'mentor_bot'" in notice and WHAT_TO_DO in notice


def test_forum_check_of_a_scoped_key_names_its_scopes_in_a_notice(run_cli, fake):
    run_cli(*forum_add(fake.url))
    fake.key_scopes = (SCOPES["users:show"], SCOPES["topics:write"])  # still reads the bot
    doc = check(run_cli)
    assert doc["ok"] is True and doc["problems"] == []
    [notice] = doc["notices"]
    assert "users:show, topics:write" in notice and "Scope 'Global'" in notice


def test_forum_check_of_an_all_users_key_has_no_notice(run_cli, fake):
    run_cli(*forum_add(fake.url))
    assert check(run_cli)["notices"] == []


def test_forum_add_of_an_all_users_key_says_nothing_on_stderr(run_cli, fake):
    result = run_cli(*forum_add(fake.url))
    assert result.code == 0 and result.err == ""


def test_a_probe_answered_5xx_makes_no_notice(run_cli, fake):
    run_cli(*forum_add(fake.url))
    fake.key_username = "mentor_bot"
    fake.fail_next("GET", r"^/session/scopes", 502, times=2)
    doc = check(run_cli)
    assert doc["ok"] is True and doc["notices"] == []


def test_a_forum_that_does_not_know_the_probe_makes_no_notice(run_cli, fake):
    run_cli(*forum_add(fake.url))
    fake.fail_next("GET", r"^/session/scopes", 404, times=2)  # an older Discourse, a double
    assert check(run_cli)["notices"] == []


def test_a_403_as_system_is_no_notice_when_the_bot_cannot_read_its_scopes_either(run_cli, fake):
    run_cli(*forum_add(fake.url))
    fake.fail_next("GET", r"^/session/scopes", 403)  # as `system`: a double without that user
    fake.fail_next("GET", r"^/session/scopes", 404)  # and the route unknown as the bot too
    assert check(run_cli)["notices"] == []


def test_zulip_forum_check_has_an_empty_list_of_notices(run_cli, zulip):
    run_cli(
        *("forum", "add", "--kind", "zulip", "--name", "zul", "--url", zulip.url),
        *("--bot-email", BOT, "--api-key", "test-key", "--webhook-token", "token"),
    )
    assert check(run_cli, "zul") == {"name": "zul", "ok": True, "problems": [], "notices": []}
