"""DiscourseClient.add_to_group against the fake Discourse (groups_controller.rb#add_members)."""

from __future__ import annotations

import pytest

from plugin.engine.adapter import AlreadyInGroup, BotRefused, ForumUser
from tests.discourse.support import BOT
from tests.fakes.discourse import FakeDiscourse

MAYA = ForumUser(id=42, username="maya")


@pytest.fixture
def site(site: FakeDiscourse) -> FakeDiscourse:
    site.add_group("mentors", id=43)
    return site


def test_add_to_group_puts_the_username_to_the_groups_members_by_id(site, api):
    api.add_to_group(43, MAYA)
    [call] = [r for r in site.requests if r.method == "PUT"]
    assert call.path == "/groups/43/members.json" and call.body == {"usernames": "maya"}
    assert 42 in site.groups[43].members


def test_a_member_already_in_the_group_raises_already_in_group(site, api):
    site.add_member("mentors", "maya")
    with pytest.raises(AlreadyInGroup):
        api.add_to_group(43, MAYA)


def test_a_group_the_bot_may_not_change_raises_bot_refused(site, api):
    site.user(BOT).admin = False  # neither an admin nor an owner of the group: 403
    with pytest.raises(BotRefused):
        api.add_to_group(43, MAYA)
    assert 42 not in site.groups[43].members
