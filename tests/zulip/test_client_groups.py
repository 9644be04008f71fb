"""ZulipClient.add_to_group against the fake Zulip (zerver/views/user_groups.py)."""

from __future__ import annotations

import pytest

from plugin.engine.adapter import AlreadyInGroup, BotRefused, ForumUser
from plugin.zulip.client import ZulipClient
from tests.fakes.zulip import FakeZulip
from tests.helpers import LOOPBACK, serve_checked

KEY, BOT = "test-key", "mentor-bot@zulip.example.com"
MAYA = ForumUser(id=42, username="maya@example.com")


@pytest.fixture
def org():
    org = FakeZulip(api_key=KEY, bot_email=BOT)
    org.add_user(MAYA.username, id=42, full_name="Maya Lee")
    org.add_group("mentors", id=43)
    with serve_checked(org):
        yield org


@pytest.fixture
def api(org) -> ZulipClient:
    return ZulipClient(org.url, BOT, KEY, allowed_hosts=LOOPBACK)


def test_before_12_0_the_bot_is_refused_with_a_typed_error(org, api):
    with pytest.raises(BotRefused, match="does not accept bot requests"):
        api.add_to_group(43, MAYA)
    assert org.group("mentors").members == set()


def test_from_12_0_a_group_whose_setting_leaves_the_bot_out_refuses_it(org, api):
    org.bots_manage_groups = True
    with pytest.raises(BotRefused, match="Insufficient permission"):
        api.add_to_group(43, MAYA)


def test_where_the_group_lets_the_bot_add_the_user_id_is_added(org, api):
    org.bots_manage_groups = True
    org.group("mentors").bot_may_add = True
    api.add_to_group(43, MAYA)
    assert org.group("mentors").members == {42}
    [call] = [r for r in org.requests if r.method == "POST" and "user_groups" in r.path]
    assert call.form == {"add": ["[42]"]}


def test_a_member_already_in_the_group_raises_already_in_group(org, api):
    org.bots_manage_groups = True
    org.group("mentors").bot_may_add = True
    org.add_member("mentors", MAYA.username)
    with pytest.raises(AlreadyInGroup):
        api.add_to_group(43, MAYA)
