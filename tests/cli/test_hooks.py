"""`mentorship hook add|list|remove` as an operator meets it (INTERFACE.md "Outgoing webhooks")."""

from __future__ import annotations

from plugin.cli import run
from plugin.domain.hook_events import EVENT_TYPES

URL = "https://hooks.example.com/in"


def test_hook_add_prints_id_url_events_and_a_whsec_secret(cli):
    doc = cli("hook", "add", "--url", URL, "--events", "pair.created,pair.ended")
    assert set(doc) == {"id", "url", "events", "secret"}
    assert doc["url"] == URL and doc["events"] == ["pair.created", "pair.ended"]
    assert doc["secret"].startswith("whsec_")


def test_hook_add_without_events_hears_every_type(cli):
    assert cli("hook", "add", "--url", URL)["events"] == list(EVENT_TYPES)


def test_hook_list_shows_hooks_without_secrets(cli):
    added = cli("hook", "add", "--url", URL)
    assert cli("hook", "list") == {
        "hooks": [{"id": added["id"], "url": URL, "events": list(EVENT_TYPES)}]
    }


def test_hook_remove_takes_the_hook_off_the_list(cli):
    added = cli("hook", "add", "--url", URL)
    cli("hook", "remove", str(added["id"]))
    assert cli("hook", "list") == {"hooks": []}


def _error(capsys, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = run([*argv, "--json"])
    return code, capsys.readouterr().err


def test_hook_add_refuses_an_unknown_event_type_in_one_line(cli, capsys):
    code, err = _error(capsys, "hook", "add", "--url", URL, "--events", "pair.created,pair.eaten")
    assert code == 2 and "pair.eaten" in err and len(err.splitlines()) == 1


def test_hook_add_refuses_a_url_against_the_forum_url_rule(cli, capsys):
    code, err = _error(capsys, "hook", "add", "--url", "http://hooks.example.com/in")
    assert code == 2 and "--url is refused" in err


def test_hook_remove_of_an_unknown_id_is_a_one_line_error(cli, capsys):
    code, err = _error(capsys, "hook", "remove", "99")
    assert code == 2 and "no hook with id 99" in err
