"""`program create --language CODE` (INTERFACE.md): the code asked for, else the forum's own
language, else English; a bad code is exit 2 with the supported list (issue 13)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from plugin.cli import run
from plugin.storage.db import get_engine, reading, session_factory
from plugin.storage.models import Program
from tests.cli.support import assert_one_line_error, create
from tests.fakes.zulip import FakeZulip
from tests.fakes.zulip_state import ADMIN
from tests.helpers import serve_checked

ZULIP_BOT = "mentor-bot@zulip.example.com"


def languages(db_url: str) -> list[str]:
    """Every stored program's language, oldest first."""
    with reading(session_factory(get_engine(db_url))) as session:
        return list(session.execute(select(Program.language).order_by(Program.id)).scalars())


@pytest.fixture
def zulip_live(run_cli):
    """A Zulip organisation with the three groups, connected as the forum `forum`."""
    org = FakeZulip(api_key="test-key", bot_email=ZULIP_BOT)
    org.add_user("alice@example.com", id=5, full_name="Alice Admin", role=ADMIN)
    for group_id, name in ((40, "community"), (43, "mentors"), (44, "mentees")):
        org.add_group(name, id=group_id)
    with serve_checked(org):
        added = run_cli(
            *("forum", "add", "--kind", "zulip", "--name", "forum", "--url", org.url),
            *("--bot-email", ZULIP_BOT, "--api-key", "test-key"),
            *("--webhook-token", org.webhook_token),
        )
        assert added.code == 0, added.err
        yield org


def test_an_explicit_language_is_stored(run_cli, live, db_url):
    create(run_cli, "--language", "de", "--json").doc()
    assert languages(db_url) == ["de"]


def test_a_regional_code_counts_as_its_language(run_cli, live, db_url):
    create(run_cli, "--language", "de_CH", "--json").doc()
    assert languages(db_url) == ["de"]


def test_an_explicit_language_is_not_asked_of_the_forum(run_cli, live, fake):
    fake.default_locale = "de"
    create(run_cli, "--language", "en", "--json").doc()
    assert "/site/basic-info.json" not in [r.path for r in fake.requests]


def test_an_unsupported_code_exits_2_with_the_supported_list_and_stores_nothing(
    run_cli, live, fake, db_url
):
    asked = len(fake.requests)
    result = create(run_cli, "--language", "klingon")
    assert_one_line_error(result, 2, "klingon", "en, de")
    assert languages(db_url) == []
    assert len(fake.requests) == asked  # refused before the forum was asked anything


def test_a_supported_language_outside_the_list_is_refused(run_cli, live, db_url):
    assert_one_line_error(create(run_cli, "--language", "fr"), 2, "'fr'", "en, de")
    assert languages(db_url) == []


def test_without_language_a_german_discourse_gives_german(run_cli, live, fake, db_url):
    fake.default_locale = "de"
    create(run_cli, "--json").doc()
    assert languages(db_url) == ["de"]


def test_without_language_a_discourse_in_an_unsupported_language_gives_english(
    run_cli, live, fake, db_url
):
    fake.default_locale = "pt_BR"
    create(run_cli, "--json").doc()
    assert languages(db_url) == ["en"]


def test_without_language_a_german_zulip_gives_german(run_cli, zulip_live, db_url):
    zulip_live.realm_default_language = "de"
    create(run_cli, "--json").doc()
    assert languages(db_url) == ["de"]


def test_a_forum_that_fails_the_lookup_gives_english(run_cli, live, fake, db_url):
    fake.default_locale = "de"
    fake.fail_next("GET", r"^/site/basic-info\.json$", 500)
    create(run_cli, "--json").doc()
    assert languages(db_url) == ["en"]


def test_the_text_output_names_the_language(run_cli, live):
    result = create(run_cli, "--language", "de")
    assert result.code == 0 and "in language de" in result.out


def test_help_names_the_option_and_the_supported_languages(capsys):
    with pytest.raises(SystemExit):
        run(["program", "create", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--language CODE" in text and "en, de" in text
