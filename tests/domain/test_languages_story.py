"""A German program end to end on Discourse beside an English one (issue 13's done-when).

Everything goes through the CLI, signed webhooks and the fake Discourse: `program create
--language de`, sign-up messages and pages, the introduction, steps, a nudge, `!hilfe`, and
the closing message; an English program on the same forum is unchanged; a member whose
account is German reads German in the English program.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from plugin.storage.models import Pair
from tests.domain.flow_support import awake, fill_form, join, posts, say, thread_of
from tests.helpers import LINK, work


def create(cli, template: str, mentors: str, mentees: str, *language: str) -> str:
    """A program on the community's forum, one step a day, opened; its id."""
    program = cli(
        "program", "create", "--forum", "forum", "--group", "community", "--template", template,
        "--mentor-group", mentors, "--mentee-group", mentees, "--cadence-days", "1", *language,
    )  # fmt: skip
    cli("program", "open", str(program["id"]))
    return str(program["id"])


def sign_up_and_pair(config, sessions, client, fake, cli, pid: str) -> Pair:
    """Sam mentors maya in program `pid`: both join, fill their forms, and are paired."""
    join(client, fake, "mentors", 43, "sam")
    join(client, fake, "mentees", 44, "maya")
    work(config, sessions)
    fill_form(client, thread_of(fake, "sam")["posts"][0], timezone="UTC")
    zone = "UTC" if 8 <= datetime.now(UTC).hour < 20 else "Pacific/Auckland"
    fill_form(client, thread_of(fake, "maya")["posts"][0], timezone=zone)
    cli("pair", "--program", pid, "--mentor", "sam", "--mentee", "maya")
    work(config, sessions)
    with sessions() as session:
        return session.execute(select(Pair)).scalar_one()


@pytest.fixture
def german(config, sessions, client, fake, cli, live_forum) -> Pair:
    """The career program created with --language de, sam and maya paired in it."""
    pid = create(cli, "career", "mentors", "mentees", "--language", "de")
    return sign_up_and_pair(config, sessions, client, fake, cli, pid)


def test_a_german_programs_sign_up_message_is_german(fake, german):
    [message] = thread_of(fake, "maya")["posts"][:1]
    assert "Um die Anmeldung abzuschließen" in message and "mindestens 18 Jahre" in message


def test_a_german_programs_sign_up_page_is_german(client, fake, german):
    page = client.get(LINK.search(thread_of(fake, "maya")["posts"][0]).group(1))
    html = page.get_data(as_text=True)
    assert '<html lang="de"' in html and "Zeitzone" in html


def test_a_german_programs_introduction_and_first_step_are_german(fake, german):
    intro = posts(fake)[0]
    assert intro.startswith("Willkommen, @sam und @maya!")
    assert "**Schritt 1 von 8: Kennenlernen**" in intro and "Tipp:" in intro


def test_a_german_programs_next_step_is_german(config, sessions, fake, german):
    work(config, sessions, awake(sessions, german.paired_at + timedelta(days=1, seconds=1)))
    assert "**Schritt 2 von 8: Ein Ziel auswählen**" in posts(fake)[-1]


def test_a_german_programs_nudge_is_german(config, sessions, fake, german):
    work(config, sessions, german.paired_at + timedelta(days=1, minutes=1))
    work(config, sessions, awake(sessions, german.paired_at + timedelta(hours=36, minutes=1)))
    assert "hier war es eine Weile ruhig" in posts(fake)[-1]


def test_hilfe_in_a_german_program_answers_in_german(config, sessions, client, fake, german):
    say(client, fake, "maya", "!hilfe")
    work(config, sessions)
    assert posts(fake)[-1].startswith("**Befehle**") and "`!erledigt`" in posts(fake)[-1]


def test_a_german_programs_closing_message_is_german(config, sessions, fake, german):
    work(config, sessions, german.paired_at + timedelta(days=8, seconds=1))
    assert any(p.startswith("Das war der letzte Schritt") for p in posts(fake))


# -- an English program beside it, and a German member in an English program -----------------


@pytest.fixture
def both(config, sessions, client, fake, cli, live_forum) -> dict[str, str]:
    """A German program (mentors/mentees) and an English one (coaches/learners) on one forum."""
    fake.add_group("coaches", id=45)
    fake.add_group("learners", id=46)
    fake.add_user("lee", id=47, name="Lee Park")
    return {
        "de": create(cli, "career", "mentors", "mentees", "--language", "de"),
        "en": create(cli, "skills", "coaches", "learners", "--language", "en"),
    }


def test_an_english_program_beside_a_german_one_stays_english(config, sessions, client, fake, both):
    join(client, fake, "learners", 46, "lee")
    work(config, sessions)
    [message] = thread_of(fake, "lee")["posts"]
    assert "To finish signing up" in message and "18 or older" in message
    assert "Anmeldung" not in message


def test_a_member_whose_account_is_german_reads_german_in_an_english_program(
    config, sessions, client, fake, both
):
    fake.allow_user_locale = True
    fake.user("lee").locale = "de"
    join(client, fake, "learners", 46, "lee")
    work(config, sessions)
    [message] = thread_of(fake, "lee")["posts"]
    assert "mindestens 18 Jahre" in message
