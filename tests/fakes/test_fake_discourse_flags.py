"""The fake Discourse's flags behave as Discourse's PostActionsController and guardian do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.fakes.discourse import FakeDiscourse
from tests.fakes.discourse_flags import FakeFlag

KEY = "test-key"


@pytest.fixture
def forum() -> Iterator[FakeDiscourse]:
    fake = FakeDiscourse(api_key=KEY, bot_username="mentor_bot")
    fake.add_user("maya")
    fake.add_user("sam")
    with fake.serve():
        yield fake


def pm_post_of(forum: FakeDiscourse, author: str, *members: str) -> int:
    users = [forum.user(m).id for m in members]
    topic = forum.create_topic(forum.user(author), "Between us", "private_message", user_ids=users)
    return forum.create_post(forum.user(author), topic, "!report he was rude").id


def flag(forum: FakeDiscourse, post_id: int, as_user: str, **extra) -> requests.Response:
    body = {"id": post_id, "post_action_type_id": 7, "message": "he was rude", **extra}
    headers = {"Api-Key": KEY, "Api-Username": as_user}
    return requests.post(f"{forum.url}/post_actions.json", json=body, headers=headers)


def test_a_member_flags_their_own_post_in_a_private_message_with_a_message(forum):
    post_id = pm_post_of(forum, "maya", "mentor_bot")
    assert flag(forum, post_id, "maya").status_code == 200
    assert forum.flags == [FakeFlag(post_id, "maya", 7, "he was rude")]
    forum.assert_valid()


def test_a_second_flag_of_the_same_post_by_the_same_member_is_refused_403(forum):
    post_id = pm_post_of(forum, "maya", "mentor_bot")
    flag(forum, post_id, "maya")
    assert flag(forum, post_id, "maya").status_code == 403
    assert len(forum.flags) == 1


def test_a_post_the_member_cannot_see_cannot_be_flagged(forum):
    post_id = pm_post_of(forum, "sam", "mentor_bot")
    assert flag(forum, post_id, "maya").status_code == 403 and forum.flags == []


def test_an_unknown_post_is_404(forum):
    assert flag(forum, 999_999, "maya").status_code == 404


def test_a_single_user_key_cannot_flag_as_a_member(forum):
    forum.key_username = "mentor_bot"
    post_id = pm_post_of(forum, "maya", "mentor_bot")
    assert flag(forum, post_id, "maya").status_code == 403 and forum.flags == []


def test_a_field_discourse_does_not_read_breaks_the_spec(forum):
    post_id = pm_post_of(forum, "maya", "mentor_bot")
    assert flag(forum, post_id, "maya", reason="x").status_code == 400
    forum.violations.clear()
