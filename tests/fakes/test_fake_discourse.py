"""The fake Discourse behaves like the real one: spec-valid calls, real shapes, real errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.fakes import openapi_check
from tests.fakes.discourse import FakeDiscourse
from tests.fakes.server import Clock

KEY = "test-key"
BOT = {"Api-Key": KEY, "Api-Username": "mentor_bot"}


@pytest.fixture
def clock() -> Clock:
    return Clock(1_767_225_600.0)  # 2026-01-01T00:00:00Z


@pytest.fixture
def clocked_fake(clock: Clock) -> Iterator[FakeDiscourse]:
    forum = FakeDiscourse(api_key=KEY, bot_username="mentor_bot", clock=clock)
    forum.add_user("maya", name="Maya Lee", timezone="Europe/Berlin")
    forum.add_user("sam", name="Sam Park")
    forum.add_group("mentees", members=["maya", "sam"])
    yield forum
    forum.assert_valid()  # tests that break the spec on purpose clear violations themselves


@pytest.fixture
def url(clocked_fake: FakeDiscourse) -> Iterator[str]:
    with clocked_fake.serve() as base:
        yield base


def new_pm(url: str, **fields: Any) -> requests.Response:
    body = {
        "title": "Mentorship: Maya & Sam",
        "raw": "Welcome to your mentorship!",
        "archetype": "private_message",
        "target_recipients": "maya,sam",
        **fields,
    }
    return requests.post(f"{url}/posts.json", json=body, headers=BOT)


def get(url: str, path: str, headers: dict[str, str] = BOT, **kwargs: Any) -> requests.Response:
    return requests.get(f"{url}{path}", headers=headers, **kwargs)


def expect_violation(
    clocked_fake: FakeDiscourse, response: requests.Response, fragment: str
) -> None:
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith("openapi: ")
    assert any(fragment in v for v in clocked_fake.violations), clocked_fake.violations
    with pytest.raises(AssertionError):
        clocked_fake.assert_valid()
    clocked_fake.violations.clear()


# ----- auth and rate limit -------------------------------------------------------------------


def test_bad_api_key_is_refused_with_403(clocked_fake: FakeDiscourse, url: str) -> None:
    response = get(url, "/u/maya.json", headers={"Api-Key": "wrong", "Api-Username": "mentor_bot"})
    assert response.status_code == 403
    assert response.json() == {
        "errors": [
            "You are not permitted to view the requested resource. "
            "The API username or key is invalid."
        ],
        "error_type": "invalid_access",
    }


def test_unknown_api_username_is_refused_with_403(clocked_fake: FakeDiscourse, url: str) -> None:
    response = get(url, "/u/maya.json", headers={"Api-Key": KEY, "Api-Username": "ghost"})
    assert response.status_code == 403


def test_single_user_key_refuses_another_username(clock: Clock) -> None:
    forum = FakeDiscourse(api_key=KEY, clock=clock, key_username="mentor_bot")
    forum.add_user("maya")
    with forum.serve() as base:
        assert get(base, "/u/maya.json").status_code == 200
        other = get(base, "/u/maya.json", headers={"Api-Key": KEY, "Api-Username": "maya"})
        assert other.status_code == 403


def test_rate_limit_answers_429_with_retry_after(clock: Clock) -> None:
    forum = FakeDiscourse(api_key=KEY, rate_limit_per_minute=2, clock=clock)
    with forum.serve() as base:
        assert [get(base, "/u/mentor_bot.json").status_code for _ in range(2)] == [200, 200]
        clock.now += 15
        limited = get(base, "/u/mentor_bot.json")
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "45"
        assert limited.headers["Discourse-Rate-Limit-Error-Code"] == "admin_api_key_rate_limit"
        assert limited.json()["error_type"] == "rate_limit"
        assert limited.json()["extras"] == {"wait_seconds": 45, "time_left": "45 seconds"}
        assert forum.rate_limited_count == 1
        clock.now += 45  # the window slides: the first two requests have aged out
        assert get(base, "/u/mentor_bot.json").status_code == 200


def test_bad_key_does_not_use_up_the_rate_limit(clock: Clock) -> None:
    forum = FakeDiscourse(api_key=KEY, rate_limit_per_minute=1, clock=clock)
    with forum.serve() as base:
        get(base, "/u/mentor_bot.json", headers={"Api-Key": "nope", "Api-Username": "mentor_bot"})
        assert get(base, "/u/mentor_bot.json").status_code == 200


# ----- openapi checking ----------------------------------------------------------------------


def test_request_with_unknown_body_field_is_an_openapi_violation(clocked_fake, url) -> None:
    response = new_pm(url, nested_post="true")
    expect_violation(clocked_fake, response, "Additional properties are not allowed ('nested_post'")
    assert clocked_fake.private_messages() == []


def test_missing_raw_is_an_openapi_violation(clocked_fake: FakeDiscourse, url: str) -> None:
    response = requests.post(f"{url}/posts.json", json={"topic_id": 1}, headers=BOT)
    expect_violation(clocked_fake, response, "'raw' is a required property")


def test_wrong_body_type_is_an_openapi_violation(clocked_fake: FakeDiscourse, url: str) -> None:
    response = requests.post(f"{url}/posts.json", json={"topic_id": "one", "raw": "x"}, headers=BOT)
    expect_violation(clocked_fake, response, "'one' is not of type 'integer'")


def test_undeclared_query_parameter_is_an_openapi_violation(clocked_fake, url) -> None:
    expect_violation(clocked_fake, get(url, "/u/maya.json?include_posts=true"), "'include_posts'")


def test_allow_listed_member_query_parameters_are_accepted(clocked_fake, url) -> None:
    query = "?limit=10&offset=0&order=added_at&asc=true&filter=ma"
    assert get(url, f"/groups/mentees/members.json{query}").status_code == 200


def test_integer_path_parameter_must_be_digits(clocked_fake: FakeDiscourse, url: str) -> None:
    expect_violation(clocked_fake, get(url, "/admin/users/maya.json"), "must be digits")


def test_path_outside_the_spec_is_a_violation(clocked_fake: FakeDiscourse, url: str) -> None:
    expect_violation(clocked_fake, get(url, "/about.json"), "matches no spec template")


def test_missing_required_header_is_a_violation(clocked_fake: FakeDiscourse, url: str) -> None:
    response = get(url, "/u/maya.json", headers={"api-key": KEY})  # spec requires Api-Username
    expect_violation(clocked_fake, response, "missing required header 'Api-Username'")


def test_spec_operation_the_fake_does_not_implement_is_flagged(clocked_fake, url) -> None:
    response = requests.delete(f"{url}/t/1.json", headers=BOT)
    assert response.status_code == 501
    assert clocked_fake.violations == ["DELETE /t/1.json: removeTopic is not faked"]
    clocked_fake.violations.clear()


def test_header_names_are_matched_case_insensitively() -> None:
    headers = {"api-key": KEY, "API-USERNAME": "mentor_bot"}
    assert openapi_check.validate_request("GET", "/u/maya.json", {}, headers, None) == []


# ----- creating PMs and replies --------------------------------------------------------------


def test_new_pm_creates_topic_with_bot_and_recipients(
    clocked_fake: FakeDiscourse, url: str
) -> None:
    response = new_pm(url)
    assert response.status_code == 200
    post = response.json()
    assert (post["post_number"], post["username"]) == (1, "mentor_bot")
    assert post["raw"] == "Welcome to your mentorship!"
    assert post["cooked"] == "<p>Welcome to your mentorship!</p>"
    assert clocked_fake.private_messages() == [
        {
            "topic_id": post["topic_id"],
            "title": "Mentorship: Maya & Sam",
            "external_id": None,
            "participants": ["mentor_bot", "maya", "sam"],
            "groups": [],
            "posts": ["Welcome to your mentorship!"],
            "authors": ["mentor_bot"],
        }
    ]


def test_form_encoded_post_is_accepted_like_json(clocked_fake: FakeDiscourse, url: str) -> None:
    topic_id = new_pm(url).json()["topic_id"]
    form = {"topic_id": str(topic_id), "raw": "Step 2", "reply_to_post_number": "1"}
    reply = requests.post(f"{url}/posts.json", data=form, headers=BOT)
    assert reply.status_code == 200
    assert (reply.json()["post_number"], reply.json()["reply_to_post_number"]) == (2, 1)
    expected = {"topic_id": topic_id, "raw": "Step 2", "reply_to_post_number": 1}
    assert clocked_fake.requests[-1].body == expected


def test_unknown_recipient_is_refused_with_422(clocked_fake: FakeDiscourse, url: str) -> None:
    response = new_pm(url, target_recipients="maya,ghost")
    assert response.status_code == 422
    assert response.json()["action"] == "create_post"
    assert len(response.json()["errors"]) == 1
    assert clocked_fake.topics == {}


@pytest.mark.parametrize("recipients", ["maya, sam", "maya,maya"])
def test_recipients_are_split_like_discourse_without_trimming(
    clocked_fake, url, recipients
) -> None:
    assert new_pm(url, target_recipients=recipients).status_code == 422


def test_group_recipient_needs_a_messageable_level(clocked_fake: FakeDiscourse, url: str) -> None:
    assert new_pm(url, target_recipients="mentees").status_code == 422  # level 0: nobody
    clocked_fake.groups[clocked_fake.group_named("mentees").id].messageable_level = 99
    # Not the identical call again: Discourse would answer its memoized 422 for 120 s.
    created = new_pm(url, target_recipients="mentees", raw="Hello, mentees!")
    assert created.status_code == 200
    assert clocked_fake.private_messages()[0]["groups"] == ["mentees"]


def test_pm_without_title_is_refused_with_422(clocked_fake: FakeDiscourse, url: str) -> None:
    response = new_pm(url, title="")
    assert response.status_code == 422
    assert response.json() == {"action": "create_post", "errors": ["Title can't be blank"]}


def test_second_topic_with_same_external_id_is_refused_with_422(clocked_fake, url) -> None:
    assert new_pm(url, external_id="pair-7").status_code == 200
    again = new_pm(url, external_id="PAIR-7", raw="A different first post")
    assert again.status_code == 422
    assert "External ID has already been taken" in again.json()["errors"]


def test_empty_raw_is_refused_with_400(clocked_fake: FakeDiscourse, url: str) -> None:
    response = new_pm(url, raw="  ")
    assert response.status_code == 400
    assert response.json() == {"errors": ["param is missing or the value is empty: raw"]}


def test_reply_to_missing_topic_is_refused_with_422(clocked_fake: FakeDiscourse, url: str) -> None:
    response = requests.post(f"{url}/posts.json", json={"topic_id": 999, "raw": "hi"}, headers=BOT)
    assert response.status_code == 422
    assert response.json()["errors"][0].startswith("Something has gone wrong.")


def test_non_admin_bot_cannot_reply_to_a_pm_it_is_not_in(clock: Clock) -> None:
    forum = FakeDiscourse(api_key=KEY, clock=clock, bot_admin=False)  # a moderator bot
    forum.add_user("alice", admin=True)
    forum.add_user("maya")
    alice = {"Api-Key": KEY, "Api-Username": "alice"}
    with forum.serve() as base:
        body = {
            "title": "Private",
            "raw": "hello",
            "archetype": "private_message",
            "target_recipients": "maya",
        }
        topic_id = requests.post(f"{base}/posts.json", json=body, headers=alice).json()["topic_id"]
        reply = requests.post(
            f"{base}/posts.json", json={"topic_id": topic_id, "raw": "hi"}, headers=BOT
        )
        assert reply.status_code == 422
        assert get(base, f"/t/{topic_id}.json").status_code == 403


def test_identical_post_within_120_seconds_is_not_duplicated(
    clocked_fake, url, clock: Clock
) -> None:
    first, second = new_pm(url).json(), new_pm(url).json()
    assert first == second and len(clocked_fake.posts) == 1
    clock.now += 121
    assert new_pm(url).json()["topic_id"] != first["topic_id"]


# ----- reading topics, posts, users and groups -----------------------------------------------


def test_pm_topic_can_be_found_by_external_id(clocked_fake: FakeDiscourse, url: str) -> None:
    topic_id = new_pm(url, external_id="pair-1").json()["topic_id"]
    moved = get(url, "/t/external_id/pair-1.json", allow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["Location"] == f"/t/mentorship-maya-sam/{topic_id}.json"
    followed = get(url, "/t/external_id/pair-1.json")
    assert (followed.status_code, followed.json()["id"]) == (200, topic_id)
    assert get(url, "/t/external_id/nope.json").status_code == 404


def test_topic_embeds_first_20_posts_and_streams_every_id(
    clocked_fake: FakeDiscourse, url: str
) -> None:
    topic_id = new_pm(url).json()["topic_id"]
    for n in range(24):
        requests.post(
            f"{url}/posts.json", json={"topic_id": topic_id, "raw": f"step {n}"}, headers=BOT
        )
    topic = get(url, f"/t/{topic_id}.json").json()
    assert (topic["archetype"], topic["posts_count"]) == ("private_message", 25)
    assert len(topic["post_stream"]["posts"]) == 20
    assert topic["post_stream"]["stream"] == clocked_fake.topics[topic_id].post_ids
    assert "raw" not in topic["post_stream"]["posts"][0]
    assert get(url, "/t/999.json").json()["error_type"] == "not_found"


def test_specific_posts_are_fetched_by_id(clocked_fake: FakeDiscourse, url: str) -> None:
    first = new_pm(url).json()
    reply = requests.post(
        f"{url}/posts.json", json={"topic_id": first["topic_id"], "raw": "two"}, headers=BOT
    ).json()
    query = f"post_ids[]={reply['id']}&post_ids[]={first['id']}"
    answer = get(url, f"/t/{first['topic_id']}/posts.json?{query}").json()
    assert answer["id"] == first["topic_id"]
    assert [p["post_number"] for p in answer["post_stream"]["posts"]] == [1, 2]


def test_single_post_includes_raw(clocked_fake: FakeDiscourse, url: str) -> None:
    post_id = new_pm(url).json()["id"]
    assert get(url, f"/posts/{post_id}.json").json()["raw"] == "Welcome to your mentorship!"
    assert get(url, "/posts/999.json").status_code == 404


def test_admin_user_is_flat_and_shows_email_only_for_self(
    clocked_fake: FakeDiscourse, url: str
) -> None:
    maya = get(url, f"/admin/users/{clocked_fake.user('maya').id}.json").json()
    assert (maya["username"], maya["name"], maya["active"], maya["admin"]) == (
        "maya",
        "Maya Lee",
        True,
        False,
    )
    assert "email" not in maya  # AdminUserListSerializer#include_email?
    me = get(url, f"/admin/users/{clocked_fake.user('mentor_bot').id}.json").json()
    assert me["email"] == "mentor_bot@example.com"
    assert get(url, "/admin/users/999.json").status_code == 404


def test_user_by_username_is_shaped_like_the_fixture(clocked_fake: FakeDiscourse, url: str) -> None:
    answer = get(url, "/u/MAYA.json").json()
    assert set(answer) == {"user_badges", "user"}
    assert answer["user"]["username"] == "maya"
    assert answer["user"]["user_option"]["timezone"] == "Europe/Berlin"
    assert [g["name"] for g in answer["user"]["groups"]] == ["mentees"]
    assert get(url, "/u/ghost.json").status_code == 404


def test_site_basic_info_says_the_default_locale(clocked_fake: FakeDiscourse, url: str) -> None:
    clocked_fake.default_locale = "de"
    assert get(url, "/site/basic-info.json").json()["locale"] == "de"


def test_user_locale_is_null_while_the_site_does_not_allow_user_locales(
    clocked_fake: FakeDiscourse, url: str
) -> None:
    clocked_fake.user("maya").locale = "de"
    assert get(url, "/u/maya.json").json()["user"]["locale"] is None


def test_user_locale_shows_once_the_site_allows_user_locales(
    clocked_fake: FakeDiscourse, url: str
) -> None:
    clocked_fake.allow_user_locale = True
    clocked_fake.user("maya").locale = "de"
    assert get(url, "/u/maya.json").json()["user"]["locale"] == "de"
    assert get(url, "/u/sam.json").json()["user"]["locale"] is None  # chose none


def test_group_by_name_and_by_id(clocked_fake: FakeDiscourse, url: str) -> None:
    by_name = get(url, "/groups/mentees.json").json()
    group = by_name["group"]
    assert (group["id"], group["user_count"], group["messageable_level"]) == (41, 2, 0)
    assert by_name["extras"] == {
        "visible_group_names": ["admins", "moderators", "staff", "mentees"]
    }
    assert get(url, "/groups/by-id/41.json").json() == by_name
    assert get(url, "/groups/nope.json").status_code == 404


def test_members_page_by_limit_and_offset(
    clocked_fake: FakeDiscourse, url: str, clock: Clock
) -> None:
    for n in range(5):
        clock.now += 1
        clocked_fake.add_user(f"m{n}")
        clocked_fake.add_member("mentees", f"m{n}")
    page = get(url, "/groups/mentees/members.json?limit=2&offset=2&order=added_at&asc=true")
    answer = page.json()
    assert answer["meta"] == {"total": 7, "limit": 2, "offset": 2}
    assert [m["username"] for m in answer["members"]] == ["m0", "m1"]
    assert answer["owners"] == []
    assert answer["members"][0]["timezone"] == "UTC"


def test_members_default_order_and_page_size(clocked_fake: FakeDiscourse, url: str) -> None:
    answer = get(url, "/groups/mentees/members.json").json()
    assert answer["meta"]["limit"] == 50
    assert [m["username"] for m in answer["members"]] == ["sam", "maya"]  # username DESC


@pytest.mark.parametrize("query", ["limit=1001", "limit=-1", "offset=-1"])
def test_members_paging_out_of_range_is_400(
    clocked_fake: FakeDiscourse, url: str, query: str
) -> None:
    response = get(url, f"/groups/mentees/members.json?{query}")
    assert response.status_code == 400
    assert response.json()["error_type"] == "invalid_parameters"


def test_members_lists_only_human_users(clocked_fake: FakeDiscourse, url: str) -> None:
    clocked_fake.add_member("mentees", "system")
    answer = get(url, "/groups/mentees/members.json").json()
    assert "system" not in [m["username"] for m in answer["members"]]
    assert answer["meta"]["total"] == 2


def test_staff_list_has_admins_and_moderators_only(clocked_fake: FakeDiscourse, url: str) -> None:
    clocked_fake.add_user("mo", moderator=True)
    staff = get(url, "/admin/users/list/staff.json").json()
    assert [u["username"] for u in staff] == ["mentor_bot", "mo"]
    with_emails = get(url, "/admin/users/list/staff.json?show_emails=true").json()
    assert with_emails[1]["email"] == "mo@example.com"


# ----- injected failures ---------------------------------------------------------------------


def test_fail_next_answers_the_injected_status_then_recovers(clocked_fake, url) -> None:
    clocked_fake.fail_next("POST", r"^/posts\.json$", 502, times=2, body="<html>Bad Gateway</html>")
    assert [new_pm(url).status_code for _ in range(2)] == [502, 502]
    assert clocked_fake.topics == {}
    assert new_pm(url).status_code == 200


def test_injected_429_carries_retry_after(clocked_fake: FakeDiscourse, url: str) -> None:
    clocked_fake.fail_next("GET", r"^/u/", 429)
    response = get(url, "/u/maya.json")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "1")
    assert clocked_fake.rate_limited_count == 1


def test_accept_then_fail_creates_the_post_but_answers_500(clocked_fake, url) -> None:
    clocked_fake.accept_then_fail_next("POST", r"^/posts\.json$")
    assert new_pm(url, external_id="pair-9").status_code == 500
    assert len(clocked_fake.private_messages()) == 1  # the forum kept it
    retry = new_pm(url, external_id="pair-9")  # within 120 s: the memoized answer
    assert retry.status_code == 200 and len(clocked_fake.posts) == 1


# ----- real shapes ---------------------------------------------------------------------------


def test_fake_answers_validate_against_spec_response_schemas(clocked_fake, url) -> None:
    clocked_fake.add_user("mo", moderator=True)
    first = new_pm(url, external_id="pair-2").json()
    topic_id = first["topic_id"]
    reply = requests.post(
        f"{url}/posts.json",
        headers=BOT,
        json={"topic_id": topic_id, "raw": "r", "reply_to_post_number": 1},
    )
    answers = [("POST", "/posts.json", new_pm(url, raw="another")), ("POST", "/posts.json", reply)]
    for path in (
        f"/t/{topic_id}.json",
        f"/t/mentorship-maya-sam/{topic_id}.json",
        f"/posts/{first['id']}.json",
        f"/admin/users/{clocked_fake.user('maya').id}.json",
        f"/admin/users/{clocked_fake.user('mentor_bot').id}.json",
        "/u/maya.json",
        "/u/mentor_bot.json",
        "/u/maya/summary.json",
        "/site/basic-info.json",
        "/groups/mentees.json",
        "/groups/by-id/41.json",
        "/groups/mentees/members.json",
        "/admin/users/list/staff.json",
    ):
        answers.append(("GET", path, get(url, path)))
    answers.append(
        (
            "GET",
            f"/t/{topic_id}/posts.json",
            get(url, f"/t/{topic_id}/posts.json?post_ids[]={first['id']}"),
        )
    )
    for method, path, response in answers:
        assert response.status_code == 200, (path, response.text)
        assert openapi_check.validate_response(method, path, 200, response.json()) == [], path
