"""Answering a self-service request on Zulip: a bare `accept EMAIL` in a DM to the bot."""

from __future__ import annotations

import pytest

from tests.helpers import LINK, submit_signup, work
from tests.requests_support import ask, make_self_service, state_of
from tests.zulip.support import BOT, MAYA, SAM, deliver


@pytest.fixture
def request_id(config, sessions, client, zulip, cli, zulip_story) -> int:
    """Maya's open request to Sam in the Zulip program, made self-service."""
    pid = zulip_story["id"]
    make_self_service(sessions, pid)
    zulip.add_member("mentors", SAM)
    zulip.add_member("mentees", MAYA)
    work(config, sessions)
    for who in (SAM, MAYA):
        submit_signup(client, LINK.search(zulip.texts(who)[0]).group(1), timezone="UTC")
    return ask(sessions, pid, MAYA, SAM)


@pytest.mark.parametrize("command", [f"!accept {MAYA}", f"accept {MAYA}"])
def test_accept_in_a_dm_to_the_bot_pairs_the_two(
    config, sessions, client, zulip, cli, zulip_story, request_id, command
):
    deliver(client, zulip.dm(SAM, [BOT], command))
    work(config, sessions)
    assert "You accepted Maya Lee's request" in zulip.texts(SAM)[-1]
    assert state_of(sessions, request_id) == "accepted"
    assert len(zulip.texts(SAM, MAYA)) == 1  # the pair's group DM, opened with the intro


def test_decline_in_a_dm_tells_the_mentee_in_a_dm(
    config, sessions, client, zulip, cli, zulip_story, request_id
):
    deliver(client, zulip.dm(SAM, [BOT], f"decline {MAYA}"))
    work(config, sessions)
    assert state_of(sessions, request_id) == "declined"
    assert "Sam Rivera cannot take on a mentee" in zulip.texts(MAYA)[-1]
