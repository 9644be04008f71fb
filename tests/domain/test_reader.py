"""plugin/domain/reader.py: which language each reader of a message gets."""

from __future__ import annotations

from plugin.domain.reader import (
    admin_language,
    member_language,
    member_zone,
    pair_language,
    pair_zone,
)
from plugin.storage.models import Member, Pair, Program, Signup


def _pair(mentor_locale: str | None, mentee_locale: str | None, zone: str | None = None) -> Pair:
    return Pair(
        mentor=Signup(member=Member(locale=mentor_locale)),
        mentee=Signup(member=Member(locale=mentee_locale), timezone=zone),
    )


def test_a_member_reads_their_own_language_in_a_program_of_another():
    assert member_language(Member(locale="de"), Program(language="en")) == "de"


def test_a_member_without_one_reads_the_programs_language():
    assert member_language(Member(locale=None), Program(language="de")) == "de"


def test_a_pair_who_both_read_german_get_a_german_thread_in_an_english_program():
    assert pair_language(_pair("de", "de"), Program(language="en")) == "de"


def test_a_pair_who_read_different_languages_get_the_programs():
    assert pair_language(_pair("de", None), Program(language="en")) == "en"


def test_a_pair_in_a_german_program_with_no_languages_of_their_own_read_german():
    assert pair_language(_pair(None, None), Program(language="de")) == "de"


def test_admins_read_the_programs_language():
    assert admin_language(Program(language="de")) == "de"


def test_a_program_language_no_longer_supported_reads_as_english():
    assert admin_language(Program(language="fr")) == "en"


def test_dates_in_a_pair_thread_are_in_the_mentees_zone():
    assert pair_zone(_pair(None, None, "Europe/Berlin")) == "Europe/Berlin"


def test_dates_for_a_mentee_without_a_zone_are_in_utc():
    assert pair_zone(_pair(None, None)) == "UTC"


def test_dates_told_to_one_member_are_in_their_own_zone():
    mentor = Member(id=1)
    pair = Pair(
        mentor=Signup(member=mentor, member_id=1, timezone="Asia/Tokyo"),
        mentee=Signup(member=Member(id=2), member_id=2, timezone="Europe/Berlin"),
    )
    assert member_zone(pair, mentor) == "Asia/Tokyo"
