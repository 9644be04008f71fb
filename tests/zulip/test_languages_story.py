"""A German program end to end on Zulip (issue 13): the organisation's language decides.

The organisation's realm_default_language is German, so `program create` without
--language makes a German program; sign-up messages and pages, the introduction, steps, a
nudge, `!hilfe` and the closing message come out German, in group DMs the fake Zulip
validates against zulip.yaml.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from plugin.storage.models import Pair
from tests.domain.flow_support import awake
from tests.helpers import LINK, submit_signup, work
from tests.zulip.support import BOT, MAYA, SAM, deliver


@pytest.fixture
def german(config, sessions, client, zulip, cli) -> Pair:
    """A career program on a German-speaking Zulip, sam and maya paired in it."""
    zulip.realm_default_language = "de"
    cli(
        "forum", "add", "--kind", "zulip", "--name", "zulip", "--url", zulip.url,
        "--bot-email", BOT, "--api-key", "test-key", "--webhook-token", zulip.webhook_token,
    )  # fmt: skip
    program = cli(
        "program", "create", "--forum", "zulip", "--group", "community", "--template", "career",
        "--mentor-group", "mentors", "--mentee-group", "mentees", "--cadence-days", "1",
    )  # fmt: skip
    pid = str(program["id"])
    cli("program", "open", pid)
    work(config, sessions)
    zulip.add_member("mentors", SAM)
    zulip.add_member("mentees", MAYA)
    work(config, sessions)
    zone = "UTC" if 8 <= datetime.now(UTC).hour < 20 else "Pacific/Auckland"
    for who in (SAM, MAYA):
        submit_signup(client, LINK.search(zulip.texts(who)[0]).group(1), timezone=zone)
    cli("pair", "--program", pid, "--mentor", SAM, "--mentee", MAYA)
    work(config, sessions)
    with sessions() as session:
        return session.execute(select(Pair)).scalar_one()


def thread(zulip) -> list[str]:
    return zulip.texts(SAM, MAYA)


def test_a_program_on_a_german_organisation_sends_german_sign_up_messages(zulip, german):
    assert "Um die Anmeldung abzuschließen" in zulip.texts(MAYA)[0]


def test_a_program_on_a_german_organisation_has_german_sign_up_pages(client, zulip, german):
    html = client.get(LINK.search(zulip.texts(MAYA)[0]).group(1)).get_data(as_text=True)
    assert '<html lang="de"' in html


def test_the_group_dm_gets_a_german_introduction_and_first_step(zulip, german):
    intro = thread(zulip)[0]
    assert "Willkommen, @**Sam Rivera|41** und @**Maya Lee|42**!" in intro
    assert "**Schritt 1 von 8: Kennenlernen**" in intro


def test_the_next_step_and_a_nudge_are_german(config, sessions, zulip, german):
    work(config, sessions, awake(sessions, german.paired_at + timedelta(days=1, seconds=1)))
    assert "**Schritt 2 von 8: Ein Ziel auswählen**" in thread(zulip)[-1]
    work(config, sessions, awake(sessions, german.paired_at + timedelta(hours=36, minutes=1)))
    assert "hier war es eine Weile ruhig" in thread(zulip)[-1]


def test_hilfe_in_the_group_dm_answers_in_german(config, sessions, client, zulip, german):
    deliver(client, zulip.dm(MAYA, [SAM, BOT], "!hilfe"))
    work(config, sessions)
    assert thread(zulip)[-1].startswith("**Befehle**")


def test_the_closing_message_is_german(config, sessions, zulip, german):
    work(config, sessions, german.paired_at + timedelta(days=8, seconds=1))
    assert any(text.startswith("Das war der letzte Schritt") for text in thread(zulip))


def test_graduate_in_a_german_program_asks_the_admins_in_german(
    config, sessions, client, zulip, german
):
    done = german.paired_at + timedelta(days=8, seconds=1)
    work(config, sessions, done)
    assert any("`!graduate`" in text for text in thread(zulip))  # the German closing offers it
    deliver(client, zulip.dm(MAYA, [SAM, BOT], "!graduate"))
    work(config, sessions, done)
    work(config, sessions, done)
    assert thread(zulip)[-1].startswith("Schön, dass du")
    [asked] = zulip.texts("alice@example.com")  # Zulip before 12.0 refuses the bot
    assert "Bitte neue:n Mentor:in" in asked and "**mentors**" in asked
    assert "Admins von" in zulip.texts(MAYA)[-1]
