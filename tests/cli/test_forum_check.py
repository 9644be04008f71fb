"""`forum add` asks the forum before storing; `forum check` asks it later (INTERFACE.md).

The fake forums serve the same endpoints the service calls, so what passes here is what the
service will use afterwards.
"""

from __future__ import annotations

from tests.cli.support import assert_one_line_error, forum_add
from tests.zulip.support import BOT


def listed(run_cli) -> list[str]:
    return [f["name"] for f in run_cli("forum", "list", "--json").doc()["forums"]]


def zulip_add(url: str, *, email: str = BOT, key: str = "test-key") -> tuple[str, ...]:
    return (
        *("forum", "add", "--kind", "zulip", "--name", "zul", "--url", url),
        *("--bot-email", email, "--api-key", key, "--webhook-token", "token"),
    )


# ----- forum add: Discourse -------------------------------------------------------------------


def test_forum_add_stores_a_forum_whose_key_and_staff_bot_the_forum_accepts(run_cli, fake):
    assert run_cli(*forum_add(fake.url)).code == 0
    assert listed(run_cli) == ["forum"]
    # The bot's own profile, then the key's scopes as `system`: may it act for all users?
    assert [r.path for r in fake.requests] == ["/u/mentor_bot.json", "/session/scopes.json"]


def test_forum_add_with_a_refused_key_is_exit_2_naming_where_to_make_one(run_cli, fake):
    fake.api_key = "another-key"
    result = run_cli(*forum_add(fake.url))
    assert_one_line_error(result, 2, "Discourse refused the API key", "403", "Admin → API")
    assert listed(run_cli) == []


def test_forum_add_with_an_unknown_bot_user_is_exit_2_naming_the_option(run_cli, fake):
    args = [a if a != "mentor_bot" else "nobody_here" for a in forum_add(fake.url)]
    assert_one_line_error(run_cli(*args), 2, "'nobody_here'", "--api-username")
    assert listed(run_cli) == []


def test_forum_add_with_a_bot_that_is_not_staff_is_exit_2_saying_grant_moderation(run_cli, fake):
    bot = fake.user("mentor_bot")
    bot.admin = bot.moderator = False
    assert_one_line_error(run_cli(*forum_add(fake.url)), 2, "Grant Moderation")
    assert listed(run_cli) == []


def test_forum_add_of_a_forum_that_does_not_answer_is_exit_1_and_stores_nothing(run_cli):
    args = [a for a in forum_add() if a != "--no-check"]  # DEAD, asked anyway
    assert_one_line_error(run_cli(*args), 1, "did not answer", "--no-check")
    assert listed(run_cli) == []


def test_forum_add_when_the_forum_answers_5xx_is_exit_1_and_stores_nothing(run_cli, fake):
    fake.fail_next("GET", r"^/u/", 502)
    assert_one_line_error(run_cli(*forum_add(fake.url)), 1, "502")
    assert listed(run_cli) == []


def test_forum_add_with_no_check_stores_without_any_request(run_cli, fake):
    assert run_cli(*forum_add(fake.url), "--no-check").code == 0
    assert listed(run_cli) == ["forum"]
    assert fake.requests == []


def test_forum_add_of_a_refused_url_makes_no_connection_even_when_checking(
    run_cli, fake, monkeypatch
):
    monkeypatch.setenv("MENTORSHIP_ALLOWED_INTERNAL_HOSTS", "")  # loopback is refused now
    assert_one_line_error(run_cli(*forum_add(fake.url)), 2, "--url is refused")
    assert fake.requests == []


def test_forum_add_checks_the_other_arguments_before_asking_the_forum(run_cli, fake):
    assert_one_line_error(run_cli(*forum_add(fake.url, secret="short")), 2, "--webhook-secret")
    assert fake.requests == []


# ----- forum add: Zulip -----------------------------------------------------------------------


def test_zulip_forum_add_stores_a_forum_whose_active_bot_zulip_accepts(run_cli, zulip):
    assert run_cli(*zulip_add(zulip.url)).code == 0
    assert listed(run_cli) == ["zul"]


def test_zulip_forum_add_with_a_refused_key_is_exit_2_in_zulips_words(run_cli, zulip):
    result = run_cli(*zulip_add(zulip.url, key="wrong"))
    assert_one_line_error(result, 2, "Zulip says: Invalid API key", "Personal settings → Bots")
    assert listed(run_cli) == []


def test_zulip_forum_add_with_an_unknown_bot_email_is_exit_2(run_cli, zulip):
    result = run_cli(*zulip_add(zulip.url, email="nobody@zulip.example.com"))
    assert_one_line_error(result, 2, "nobody@zulip.example.com")
    assert listed(run_cli) == []


def test_zulip_forum_add_with_a_deactivated_bot_is_exit_2(run_cli, zulip):
    zulip.deactivate(BOT)
    assert_one_line_error(run_cli(*zulip_add(zulip.url)), 2, "deactivated")
    assert listed(run_cli) == []


# ----- forum check ----------------------------------------------------------------------------


def test_forum_check_of_a_working_forum_is_ok_with_no_problems(run_cli, fake):
    run_cli(*forum_add(fake.url))
    assert run_cli("forum", "check", "forum", "--json").doc() == {
        "name": "forum",
        "ok": True,
        "problems": [],
        "notices": [],
    }


def test_forum_check_in_text_mode_says_connection_ok(run_cli, fake):
    run_cli(*forum_add(fake.url))
    assert run_cli("forum", "check", "forum").out == "forum forum: connection ok\n"


def test_forum_check_of_a_revoked_key_is_exit_0_with_ok_false_and_the_reason(run_cli, fake):
    run_cli(*forum_add(fake.url))
    fake.api_key = "revoked"
    doc = run_cli("forum", "check", "forum", "--json").doc()
    assert doc["ok"] is False
    assert len(doc["problems"]) == 1 and "Discourse refused the API key" in doc["problems"][0]


def test_forum_check_of_a_forum_that_does_not_answer_reports_it_as_a_problem(run_cli):
    run_cli(*forum_add())
    result = run_cli("forum", "check", "forum")
    assert result.code == 0 and "did not answer" in result.out


def test_forum_check_of_an_unknown_forum_is_exit_2(run_cli):
    assert_one_line_error(run_cli("forum", "check", "nope"), 2, "no forum named 'nope'")
