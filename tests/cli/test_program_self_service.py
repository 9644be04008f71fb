"""`program create --self-service` (INTERFACE.md): stored, shown in JSON and in the text."""

from __future__ import annotations

from tests.cli.support import create


def test_self_service_is_stored_and_shown(run_cli, live):
    assert create(run_cli, "--self-service", "--json").doc()["self_service"] is True


def test_a_program_is_paired_by_its_admins_unless_self_service_is_asked_for(run_cli, live):
    assert create(run_cli, "--json").doc()["self_service"] is False


def test_the_text_output_says_mentees_choose_their_mentor(run_cli, live):
    assert "self-service: mentees choose their mentor" in create(run_cli, "--self-service").out
