"""`program create --public-category ID | --public-stream NAME` (INTERFACE.md): `!ask`'s place."""

from __future__ import annotations

from tests.cli.support import assert_one_line_error, create
from tests.zulip.support import BOT


def zulip_create(run_cli, zulip, *extra: str):
    added = run_cli(
        *("forum", "add", "--kind", "zulip", "--name", "zul", "--url", zulip.url),
        *("--bot-email", BOT, "--api-key", "test-key", "--webhook-token", zulip.webhook_token),
    )
    assert added.code == 0, added.err
    return run_cli(
        *("program", "create", "--forum", "zul", "--group", "community", "--template", "career"),
        *("--mentor-group", "mentors", "--mentee-group", "mentees", *extra),
    )


def test_a_discourse_category_is_stored_and_shown(run_cli, live, fake):
    category = fake.add_category("Questions")
    doc = create(run_cli, "--public-category", str(category.id), "--json").doc()
    assert doc["public_category"] == category.id and doc["public_stream"] is None


def test_a_program_has_no_public_place_unless_given(run_cli, live):
    doc = create(run_cli, "--json").doc()
    assert doc["public_category"] is None and doc["public_stream"] is None


def test_a_stream_on_discourse_is_exit_2(run_cli, live):
    result = create(run_cli, "--public-stream", "help")
    assert_one_line_error(result, 2, "--public-stream", "--public-category")


def test_both_places_at_once_are_exit_2(run_cli, live):
    result = create(run_cli, "--public-category", "12", "--public-stream", "help")
    assert_one_line_error(result, 2, "not allowed with argument")


def test_a_category_that_is_not_a_positive_id_is_exit_2(run_cli, live):
    assert create(run_cli, "--public-category", "questions").code == 2


def test_a_zulip_stream_is_stored_and_shown(run_cli, zulip):
    zulip.add_stream("help")
    doc = zulip_create(run_cli, zulip, "--public-stream", "help", "--json").doc()
    assert doc["public_stream"] == "help" and doc["public_category"] is None


def test_a_category_on_zulip_is_exit_2(run_cli, zulip):
    result = zulip_create(run_cli, zulip, "--public-category", "12")
    assert_one_line_error(result, 2, "--public-category", "--public-stream")


def test_an_unknown_category_is_exit_2(run_cli, live):
    assert_one_line_error(create(run_cli, "--public-category", "99"), 2, "--public-category 99")


def test_an_unknown_stream_is_exit_2(run_cli, zulip):
    result = zulip_create(run_cli, zulip, "--public-stream", "nowhere")
    assert_one_line_error(result, 2, "--public-stream nowhere", "Invalid channel name")
