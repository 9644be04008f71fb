"""The fake Discourse's API key kinds answer as ApiKey#request_allowed? and SessionController do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.fakes.discourse import FakeDiscourse
from tests.fakes.discourse_keys import SCOPES

KEY = "test-key"


@pytest.fixture
def forum() -> Iterator[FakeDiscourse]:
    fake = FakeDiscourse(api_key=KEY, bot_username="mentor_bot")
    with fake.serve():
        yield fake
    fake.assert_valid()


def get(forum: FakeDiscourse, path: str, as_user: str = "mentor_bot") -> requests.Response:
    headers = {"Api-Key": KEY, "Api-Username": as_user}
    return requests.get(f"{forum.url}{path}", headers=headers, timeout=5)


def test_an_unscoped_key_has_an_empty_list_of_scopes(forum):
    answer = get(forum, "/session/scopes.json", as_user="system")
    assert answer.status_code == 200 and answer.json() == {"scopes": []}


def test_a_scoped_key_lists_its_scopes_by_resource_and_key(forum):
    forum.key_scopes = (SCOPES["users:show"],)
    [scope] = get(forum, "/session/scopes.json").json()["scopes"]
    assert (scope["resource"], scope["key"]) == ("users", "show")


def test_a_scoped_key_outside_its_scopes_is_refused_with_403_invalid_access(forum):
    forum.key_scopes = (SCOPES["topics:write"],)
    answer = get(forum, "/u/mentor_bot.json")
    assert answer.status_code == 403 and answer.json()["error_type"] == "invalid_access"


def test_a_scoped_key_may_call_what_its_scope_permits(forum):
    forum.key_scopes = (SCOPES["users:show"],)
    assert get(forum, "/u/mentor_bot.json").status_code == 200


def test_a_global_read_scope_permits_any_get(forum):
    forum.key_scopes = (SCOPES["global:read"],)
    assert get(forum, "/site/basic-info.json").status_code == 200


def test_a_scoped_key_may_always_read_its_own_scopes(forum):
    forum.key_scopes = (SCOPES["topics:write"],)  # no read scope at all
    assert get(forum, "/session/scopes.json").status_code == 200


def test_a_single_user_key_reading_its_scopes_as_another_user_is_refused_with_403(forum):
    forum.key_username = "mentor_bot"
    assert get(forum, "/session/scopes.json", as_user="system").status_code == 403
