"""The `mentorship` command as an operator meets it (INTERFACE.md "Commands").

A few tests start real processes; the rest call plugin.cli.run in-process (faster).
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from plugin.config import load_config
from plugin.domain.programs.template_files import templates_dir
from tests.cli.support import BASE, Result, assert_one_line_error, create, forum_add
from tests.helpers import LOOPBACK, SECRET

NOW = "2030-01-01T00:00:00Z"


def process(tmp_path: Path, *argv: str) -> Result:
    """`python -m plugin.cli ARGV` in a real process on tmp_path/m.db."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENTORSHIP_")}
    env |= {
        "MENTORSHIP_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
        "MENTORSHIP_BASE_URL": BASE,
        "MENTORSHIP_ALLOWED_INTERNAL_HOSTS": ",".join(LOOPBACK),
    }
    done = subprocess.run(
        [sys.executable, "-m", "plugin.cli", *argv],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Result(done.returncode, done.stdout, done.stderr)


# ----- output ---------------------------------------------------------------------------------


def test_json_prints_exactly_one_json_document(tmp_path):
    result = process(tmp_path, *forum_add(), "--json")
    assert result.code == 0 and result.err == ""
    doc, end = json.JSONDecoder().raw_decode(result.out)
    assert result.out[end:].strip() == ""
    assert doc["name"] == "forum"


def test_forum_add_prints_name_kind_and_a_webhook_url_under_the_base_url(run_cli):
    doc = run_cli(*forum_add(), "--json").doc()
    assert {k: doc[k] for k in ("name", "kind", "webhook_url")} == {
        "name": "forum",
        "kind": "discourse",
        "webhook_url": f"{BASE}/webhooks/discourse/forum",
    }


def test_forum_add_in_text_mode_names_the_webhook_url(run_cli):
    result = run_cli(*forum_add())
    assert result.code == 0 and f"{BASE}/webhooks/discourse/forum" in result.out


def test_forum_list_json_lists_forums_without_their_secrets(run_cli):
    run_cli(*forum_add(name="b-forum"))
    run_cli(*forum_add(name="a-forum"))
    result = run_cli("forum", "list", "--json")
    assert [f["name"] for f in result.doc()["forums"]] == ["a-forum", "b-forum"]
    assert "test-key" not in result.out and SECRET not in result.out


# ----- errors ---------------------------------------------------------------------------------


def test_a_duplicate_forum_name_exits_2_with_one_line_and_no_traceback(tmp_path):
    assert process(tmp_path, *forum_add()).code == 0
    assert_one_line_error(process(tmp_path, *forum_add()), 2, "'forum' already exists")


def test_an_unknown_subcommand_exits_2_with_one_line_not_usage(tmp_path):
    assert_one_line_error(process(tmp_path, "frobnicate"), 2, "frobnicate")


def test_a_missing_required_flag_exits_2_with_one_line(run_cli):
    assert_one_line_error(run_cli("forum", "add", "--kind", "discourse"), 2, "--name")


def test_a_missing_subcommand_exits_2_with_one_line(run_cli):
    assert_one_line_error(run_cli("program"), 2)


def test_a_too_short_discourse_webhook_secret_exits_2(run_cli):
    assert_one_line_error(run_cli(*forum_add(secret="short")), 2, "--webhook-secret")


def test_program_create_for_an_unknown_forum_exits_2(run_cli):
    assert_one_line_error(create(run_cli), 2, "'forum'")


def test_program_create_with_an_unknown_group_exits_2_naming_it(run_cli, live):
    assert_one_line_error(create(run_cli, mentee_group="nosuch"), 2, "nosuch", "--mentee-group")


def test_an_unknown_template_name_exits_2(run_cli, live):
    assert_one_line_error(create(run_cli, template="nonsense"), 2, "nonsense")


def test_a_bad_template_file_exits_2_naming_the_problem(run_cli, live, tmp_path):
    data = json.loads((templates_dir() / "programs" / "career.json").read_text(encoding="utf-8"))
    data["steps"][2]["discussion"] = ["only one point"]
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert_one_line_error(
        create(run_cli, template=str(path)), 2, "mine.json", "steps[2].discussion"
    )


def test_a_forum_that_does_not_answer_exits_1_with_one_line(run_cli):
    run_cli(*forum_add("http://127.0.0.1:9"))
    assert_one_line_error(create(run_cli), 1)


def test_worker_now_without_once_exits_2(run_cli):
    assert_one_line_error(run_cli("worker", "--now", NOW), 2, "--once")


def test_a_non_sqlite_database_without_a_secret_key_exits_2(run_cli, monkeypatch):
    monkeypatch.setenv("MENTORSHIP_DATABASE_URL", "postgresql://u@127.0.0.1:1/nowhere")
    assert_one_line_error(run_cli("forum", "list"), 2, "MENTORSHIP_SECRET_KEY")


def test_status_of_an_unknown_program_exits_2(run_cli):
    assert_one_line_error(run_cli("status", "--program", "999"), 2, "999")


# ----- the database ---------------------------------------------------------------------------


def test_worker_once_with_now_on_a_fresh_database_exits_0(tmp_path):
    result = process(tmp_path, "worker", "--once", "--now", NOW, "--json")
    assert (result.code, result.err) == (0, "")
    assert json.loads(result.out) == {"status": "ok", "events": 0, "calls": 0, "held": 0}


def tables(tmp_path: Path) -> dict[str, list]:
    with sqlite3.connect(tmp_path / "m.db") as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f'SELECT * FROM "{n}"').fetchall() for n in names}


def test_db_upgrade_creates_the_schema_and_a_second_run_changes_nothing(tmp_path):
    first = process(tmp_path, "db", "upgrade")
    assert (first.code, first.err) == (0, "")
    assert {"alembic_version", "forums", "programs"} <= set(tables(tmp_path))
    assert process(tmp_path, *forum_add()).code == 0
    before = tables(tmp_path)
    second = process(tmp_path, "db", "upgrade", "--json")
    assert (second.code, json.loads(second.out)) == (0, {"status": "ok"})
    assert tables(tmp_path) == before


@pytest.mark.parametrize(
    "argv",
    [("forum", "list"), ("program", "list"), ("worker", "--once"), ("match", "--program", "1")],
    ids=lambda argv: " ".join(argv),
)
def test_every_command_works_on_a_fresh_database(run_cli, argv):
    result = run_cli(*argv, "--json")
    if argv[0] == "match":  # it reaches the program lookup: the schema is there
        assert_one_line_error(result, 2, "no program with id 1")
    else:
        assert isinstance(result.doc(), dict)


def test_the_default_secret_key_is_created_once_beside_the_sqlite_file_0600(run_cli, tmp_path):
    key_file = tmp_path / "m.db.secret-key"
    assert run_cli("forum", "list").code == 0
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text(encoding="ascii").strip()
    assert len(key) >= 32
    assert run_cli("forum", "list").code == 0
    assert key_file.read_text(encoding="ascii").strip() == key
    assert load_config().secret_key == key


# ----- programs and pairs ---------------------------------------------------------------------


def test_program_create_prints_a_draft_with_its_steps(run_cli, live):
    doc = create(run_cli, "--title", "Spring cohort", "--json").doc()
    assert (doc["title"], doc["steps"], doc["state"]) == ("Spring cohort", 8, "draft")
    assert doc["admins"] == ["alice"]  # the forum's human admins: not the bot, not system


def test_program_open_and_close_print_the_state(run_cli, live):
    pid = str(create(run_cli, "--json").doc()["id"])
    assert run_cli("program", "open", pid, "--json").doc()["state"] == "open"
    assert run_cli("program", "close", pid, "--json").doc()["state"] == "closed"
    assert run_cli("program", "list", "--json").doc()["programs"][0]["state"] == "closed"


def test_a_closed_program_cannot_be_opened_again(run_cli, live):
    pid = str(create(run_cli, "--json").doc()["id"])
    run_cli("program", "close", pid)
    assert_one_line_error(run_cli("program", "open", pid), 2, "closed")


def test_pairing_members_who_are_not_ready_exits_2(run_cli, live, fake):
    fake.add_member("mentors", "sam")
    fake.add_member("mentees", "maya")
    pid = str(create(run_cli, "--json").doc()["id"])
    run_cli("program", "open", pid)
    assert run_cli("worker", "--once").code == 0  # signs them up: pending until the form is filled
    states = {
        s["user"]: s["state"]
        for s in run_cli("status", "--program", pid, "--json").doc()["signups"]
    }
    assert states == {"sam": "pending", "maya": "pending"}
    result = run_cli("pair", "--program", pid, "--mentor", "sam", "--mentee", "maya")
    assert_one_line_error(result, 2, "not ready", "pending")


# ----- service bugs found while writing these tests (strict: they pass once fixed) ------------


def test_an_empty_secret_key_file_is_never_used_as_the_key(run_cli, tmp_path):
    (tmp_path / "m.db.secret-key").write_text("", encoding="ascii")
    result = run_cli("forum", "list")
    if result.code == 0:
        assert load_config().secret_key != ""
    else:
        assert_one_line_error(result, 2, "secret-key")


def test_the_three_groups_must_be_distinct_whatever_their_case(run_cli, live):
    result = run_cli(
        *("program", "create", "--forum", "forum", "--group", "community", "--template"),
        *("career", "--mentor-group", "COMMUNITY", "--mentee-group", "mentees"),
    )
    assert_one_line_error(result, 2, "different")


@pytest.mark.parametrize("days", ["inf", "1e9"])
def test_a_cadence_too_long_to_schedule_is_refused(run_cli, live, days):
    assert_one_line_error(create(run_cli, "--cadence-days", days), 2, "--cadence-days")


def test_an_unknown_template_is_refused_before_the_forum_is_asked(run_cli):
    run_cli(*forum_add("http://127.0.0.1:9"))
    assert_one_line_error(create(run_cli, template="nonsense"), 2, "nonsense")


# ----- what `worker --once` did (issue 11) ----------------------------------------------------


def test_worker_once_counts_the_forum_calls_it_made(run_cli, live, fake):
    fake.add_member("mentors", "sam")
    fake.add_member("mentees", "maya")
    pid = str(create(run_cli, "--json").doc()["id"])
    run_cli("program", "open", pid)
    doc = run_cli("worker", "--once", "--json").doc()
    assert doc["status"] == "ok" and doc["held"] == 0
    assert doc["calls"] == 2  # one signup invitation to each member
    assert run_cli("worker", "--once", "--json").doc() == {
        "status": "ok",
        "events": 0,
        "calls": 0,
        "held": 0,
    }


def test_worker_once_says_in_words_what_it_did(run_cli, live, fake):
    fake.add_member("mentors", "sam")
    fake.add_member("mentees", "maya")
    pid = str(create(run_cli, "--json").doc()["id"])
    run_cli("program", "open", pid)
    result = run_cli("worker", "--once")
    assert (result.code, result.err) == (0, "")
    assert "made 2 forum calls" in result.out and "nothing" not in result.out
    assert run_cli("worker", "--once").out.strip() == "nothing was due"


# ----- what `serve` says before gunicorn starts (issue 11) ------------------------------------


def test_the_serve_banner_names_the_admin_pages_webhooks_and_health_check():
    from plugin.cli import serve_banner

    banner = serve_banner(BASE, [("discourse", "forum"), ("zulip", "chat")])
    assert f"{BASE}/admin/" in banner
    assert f"{BASE}/webhooks/<kind>/<forum name>" in banner
    assert f"{BASE}/webhooks/discourse/forum" in banner
    assert f"{BASE}/webhooks/zulip/chat" in banner
    assert f"{BASE}/healthz" in banner


def test_serve_prints_the_banner_with_each_forum_before_starting(run_cli, monkeypatch):
    import plugin.serve

    started = []
    monkeypatch.setattr(plugin.serve, "serve", lambda *a, **kw: started.append(a))
    assert run_cli(*forum_add()).code == 0
    result = run_cli("serve", "--no-worker")
    assert result.code == 0 and started
    assert f"{BASE}/admin/" in result.err
    assert f"{BASE}/webhooks/discourse/forum" in result.err
    assert f"{BASE}/healthz" in result.err
