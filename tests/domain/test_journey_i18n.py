"""The pair's journey in German (issue 13): who reads what in which language, and when."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from plugin.storage.db import transaction
from plugin.storage.models import Member, Pair, Program
from tests.domain.flow_support import awake, posts, ready_pair, say, thread_of
from tests.helpers import work

GERMAN_DATE = r"(Mo|Di|Mi|Do|Fr|Sa|So)\., \d{1,2}\. \w+\.?, \d\d:\d\d"


def _set_language(sessions, program_id: int, language: str) -> None:
    with transaction(sessions) as session:
        session.execute(update(Program).where(Program.id == program_id).values(language=language))


def _set_locale(sessions, username: str, locale: str) -> None:
    with transaction(sessions) as session:
        session.execute(update(Member).where(Member.username == username).values(locale=locale))


def _pair(sessions) -> Pair:
    with sessions() as session:
        return session.execute(select(Pair)).scalar_one()


@pytest.fixture
def german(config, sessions, client, fake, cli, story) -> Pair:
    """Sam and maya, paired in a German program; neither account names a language."""
    _set_language(sessions, story["id"], "de")
    ready_pair(config, sessions, client, fake, cli, str(story["id"]))
    return _pair(sessions)


@pytest.fixture
def english(config, sessions, client, fake, cli, story) -> Pair:
    """Sam and maya, paired in an English program."""
    ready_pair(config, sessions, client, fake, cli, str(story["id"]))
    return _pair(sessions)


def _private(fake, username: str, title_start: str) -> dict:
    [pm] = [
        p
        for p in fake.private_messages()
        if sorted(p["participants"]) == sorted([username, "mentor_bot"])
        and p["title"].startswith(title_start)
    ]
    return pm


# -- a German program ------------------------------------------------------------------------


def test_a_german_programs_sign_up_link_is_german(fake, german):
    pm = _private(fake, "maya", "Deine Anmeldung bei")
    assert "was du lernen möchtest" in pm["posts"][0] and "18 Jahre" in pm["posts"][0]


def test_a_german_pairs_introduction_is_german(fake, german):
    intro = posts(fake)[0]
    assert intro.startswith("Willkommen, @sam und @maya!")
    assert "Ich poste jeden Tag den nächsten Schritt" in intro and "**Schritt 1 von 8" in intro


def test_german_help_names_the_german_words_and_the_english_ones(
    config, sessions, client, fake, german
):
    say(client, fake, "maya", "!hilfe")
    work(config, sessions)
    assert posts(fake)[-1].startswith("**Befehle**")
    assert "`!erledigt`" in posts(fake)[-1] and "`!done`" in posts(fake)[-1]


def test_erledigt_marks_the_step_done(config, sessions, client, fake, german):
    say(client, fake, "maya", "!erledigt")
    work(config, sessions)
    assert "Schritt 1 ist erledigt" in posts(fake)[-1] and "Schritt 2 kommt am" in posts(fake)[-1]
    assert _pair(sessions).steps_done == 1


def test_a_german_nudge(config, sessions, client, fake, german):
    work(config, sessions, german.paired_at + timedelta(days=1, minutes=1))  # step 2
    work(config, sessions, awake(sessions, german.paired_at + timedelta(hours=36, minutes=1)))
    assert "hier war es eine Weile ruhig" in posts(fake)[-1]


def test_a_pause_says_its_end_in_german_in_the_mentees_zone(config, sessions, client, fake, german):
    say(client, fake, "sam", "!pause 1")
    work(config, sessions)
    with sessions() as session:
        zone = session.execute(select(Pair)).scalar_one().mentee.timezone
    assert re.match(rf"Pause bis {GERMAN_DATE} \({re.escape(zone)}\):", posts(fake)[-1])


def test_the_closing_message_and_rating_link_are_german(config, sessions, fake, german):
    work(config, sessions, german.paired_at + timedelta(days=8, seconds=1))
    assert posts(fake)[-1].startswith("Das war der letzte Schritt von **")
    rating = _private(fake, "maya", "Wie war ")
    assert rating["posts"][0].startswith("Hallo ") and "/feedback/" in rating["posts"][0]


def test_the_admins_of_a_german_program_read_german(config, sessions, fake, german):
    work(config, sessions, german.paired_at + timedelta(hours=73))
    [checkin] = [p for p in fake.private_messages() if "Check-in" in p["title"]]
    assert (
        f"(Paar {german.id}: Mentor:in @sam, Mentee @maya) war 3,0 Tage lang still"
        in (checkin["posts"][0])
    )


# -- members' own languages in an English program ------------------------------------------


def test_a_german_member_gets_their_report_acknowledgement_in_german(
    config, sessions, client, fake, english
):
    _set_locale(sessions, "maya", "de")
    say(client, fake, "maya", "!melden er fragt nach Geld")
    work(config, sessions)
    assert _private(fake, "maya", "Deine Meldung ist angekommen")
    [report] = [p for p in fake.private_messages() if p["title"].startswith("Mentorship report")]
    assert "sent a report" in report["posts"][0]  # the admins read the program's language


def test_a_german_members_message_to_the_bot_is_answered_in_german(
    config, sessions, client, fake, english
):
    _set_locale(sessions, "maya", "de")
    own = thread_of(fake, "maya")
    say(client, fake, "maya", "!done", topic_id=own["topic_id"])
    work(config, sessions)
    assert "Schritt 1 ist erledigt" in thread_of(fake, "maya")["posts"][-1]


def test_a_thread_of_a_german_and_an_english_member_is_in_the_programs_language(
    config, sessions, client, fake, english
):
    _set_locale(sessions, "maya", "de")
    say(client, fake, "maya", "!hilfe")
    work(config, sessions)
    assert posts(fake)[-1].startswith("**Commands**")


def test_a_pair_who_both_read_german_get_german_replies_in_an_english_program(
    config, sessions, client, fake, english
):
    _set_locale(sessions, "maya", "de")
    _set_locale(sessions, "sam", "de")
    say(client, fake, "maya", "!help")
    work(config, sessions)
    assert posts(fake)[-1].startswith("**Befehle**")


def test_erledigt_works_in_an_english_program(config, sessions, client, fake, english):
    say(client, fake, "maya", "!erledigt")
    work(config, sessions)
    assert "step 1 is marked done" in posts(fake)[-1]


def test_a_date_in_a_reply_to_one_member_is_in_their_own_zone(
    config, sessions, client, fake, english
):
    own = thread_of(fake, "sam")  # the mentor's zone is UTC, the mentee's another
    say(client, fake, "sam", "!done", topic_id=own["topic_id"])
    work(config, sessions)
    assert re.search(
        r"Step 2 comes on \w{3} \d{1,2} \w{3}, \d\d:\d\d \(UTC\)\.",
        (thread_of(fake, "sam")["posts"][-1]),
    )


def test_a_date_in_the_pair_thread_is_in_the_mentees_zone(config, sessions, client, fake, english):
    say(client, fake, "sam", "!done")
    work(config, sessions)
    with sessions() as session:
        zone = session.execute(select(Pair)).scalar_one().mentee.timezone
    assert zone != "UTC" and posts(fake)[-1].rstrip().split("\n")[0].endswith(f"({zone}).")
