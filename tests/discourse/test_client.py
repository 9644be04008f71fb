"""DiscourseClient against the fake Discourse over real HTTP (every call checked by the spec)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from plugin.discourse.client import DiscourseClient, marker_comment
from plugin.engine.adapter import (
    BudgetExhausted,
    Expertise,
    ForumAuthError,
    ForumError,
    ForumGroup,
    ForumNotFound,
    ForumRateLimited,
    ForumRejected,
    ForumUnavailable,
    ForumUser,
    SentPost,
)
from tests.discourse.support import BOT, KEY
from tests.fakes import discourse_shapes as shapes
from tests.fakes.discourse import INVALID_KEY, FakeDiscourse
from tests.fakes.discourse_routes import TARGET_USER_NOT_FOUND
from tests.fakes.discourse_state import FakeUser
from tests.helpers import LOOPBACK, serve_checked


@pytest.fixture
def discourse_site():
    """A forum with an admin, a moderator, and maya (in mentees) and sam with profiles."""
    discourse_site = FakeDiscourse(api_key=KEY, bot_username=BOT)
    discourse_site.add_user("alice", id=5, name="Alice Admin", admin=True)
    discourse_site.add_user("mo", id=6, moderator=True)
    discourse_site.add_user("maya", id=42, name="Maya Lee", timezone="Europe/Berlin")
    discourse_site.add_user("sam", id=41, name="Sam Rivera")
    discourse_site.add_group("mentees", id=44, members=["maya"])
    with serve_checked(discourse_site):
        yield discourse_site


@pytest.fixture
def discourse_api(discourse_site) -> DiscourseClient:
    return DiscourseClient(discourse_site.url, KEY, BOT, allowed_hosts=LOOPBACK)


def opened(discourse_api: DiscourseClient, marker: str = "m1") -> SentPost:
    return discourse_api.open_thread("Mentorship: Maya & Sam", "Welcome!", ["maya", "sam"], marker)


# ----- writes -------------------------------------------------------------------------------


def test_open_thread_sends_a_private_message_to_target_recipients_with_a_marker(
    discourse_site, discourse_api
):
    sent = opened(discourse_api, "abc123")
    [request] = discourse_site.requests
    assert (request.method, request.path) == ("POST", "/posts.json")
    body = request.body
    assert body["target_recipients"] == "maya,sam" and "target_usernames" not in body
    assert body["archetype"] == "private_message"
    assert body["external_id"] == "mentorship-abc123"
    assert body["raw"].startswith("Welcome!") and marker_comment("abc123") in body["raw"]
    [pm] = discourse_site.private_messages()
    assert sorted(pm["participants"]) == ["maya", BOT, "sam"]
    assert sent == SentPost(
        thread=str(pm["topic_id"]), post_id=str(discourse_site.topics[pm["topic_id"]].post_ids[0])
    )


def test_post_replies_in_the_topic(discourse_site, discourse_api):
    thread = opened(discourse_api).thread
    sent = discourse_api.post(thread, "Step 2", "m2")
    assert discourse_site.requests[-1].body["topic_id"] == int(thread)
    topic = discourse_site.topics[int(thread)]
    assert sent == SentPost(thread=thread, post_id=str(topic.post_ids[-1]))
    assert (
        len(topic.post_ids) == 2
        and marker_comment("m2") in discourse_site.posts[topic.post_ids[-1]].raw
    )


# ----- finding what we sent -----------------------------------------------------------------


def test_find_thread_finds_the_topic_by_its_marker_without_following_the_redirect(
    discourse_site, discourse_api
):
    sent = opened(discourse_api, "abc123")
    assert discourse_api.find_thread("abc123") == sent
    lookup, topic = discourse_site.requests[-2:]
    assert (lookup.path, lookup.status) == ("/t/external_id/mentorship-abc123.json", 301)
    assert topic.path == f"/t/{sent.thread}.json"


def test_find_thread_returns_none_for_an_unknown_marker(discourse_api):
    opened(discourse_api, "abc123")
    assert discourse_api.find_thread("never-sent") is None


def test_find_post_finds_our_post_by_its_marker(discourse_api):
    thread = opened(discourse_api).thread
    sent = discourse_api.post(thread, "Step 2", "m2")
    discourse_api.post(thread, "Step 3", "m3")
    assert discourse_api.find_post(thread, "m2") == sent


def test_find_post_returns_none_when_no_post_of_ours_has_the_marker(discourse_site, discourse_api):
    thread = opened(discourse_api).thread
    # Someone else quoting our marker does not make their post ours.
    discourse_site.create_post(
        discourse_site.user("maya"),
        discourse_site.topics[int(thread)],
        f"hi {marker_comment('m9')}",
    )
    assert discourse_api.find_post(thread, "m9") is None


# ----- reads --------------------------------------------------------------------------------


def test_get_user_returns_a_forum_user(discourse_api):
    assert discourse_api.get_user("maya") == ForumUser(
        id=42, username="maya", name="Maya Lee", timezone="Europe/Berlin", locale_known=True
    )


def test_get_user_by_id_returns_a_forum_user(discourse_api):
    user = discourse_api.get_user_by_id(5)
    assert (user.id, user.username, user.name, user.admin) == (5, "alice", "Alice Admin", True)


def test_default_language_is_the_sites_basic_info_locale(discourse_site, discourse_api):
    discourse_site.default_locale = "de"
    assert discourse_api.default_language() == "de"
    assert discourse_site.requests[-1].path == "/site/basic-info.json"


def test_a_users_locale_is_read_where_the_site_allows_user_locales(discourse_site, discourse_api):
    discourse_site.allow_user_locale = True
    discourse_site.user("maya").locale = "pt_BR"
    user = discourse_api.get_user("maya")
    assert (user.locale, user.locale_known) == ("pt_BR", True)


def test_a_null_locale_is_none_and_still_known(discourse_site, discourse_api):
    discourse_site.user("maya").locale = "de"  # chosen, but the site does not allow it
    user = discourse_api.get_user("maya")
    assert (user.locale, user.locale_known) == (None, True)


def test_get_user_by_id_carries_the_locale_of_the_users_profile(discourse_site, discourse_api):
    discourse_site.allow_user_locale = True
    discourse_site.user("maya").locale = "de"
    user = discourse_api.get_user_by_id(42)
    assert (user.username, user.locale, user.locale_known) == ("maya", "de", True)
    assert [r.path for r in discourse_site.requests] == ["/admin/users/42.json", "/u/maya.json"]


def test_group_members_do_not_say_a_locale(discourse_site, discourse_api):
    discourse_site.allow_user_locale = True
    discourse_site.user("maya").locale = "de"
    [maya] = discourse_api.group_members("mentees")
    assert (maya.locale, maya.locale_known) == (None, False)


def test_expertise_reads_top_categories_likes_and_accepted_answers(discourse_site, discourse_api):
    discourse_site.solved_plugin = True
    maya = discourse_site.user("maya")
    maya.category_posts = {"Algebra": 23, "Geometry": 4}
    maya.likes_received, maya.solved_count = 31, 7
    assert discourse_api.expertise("maya") == Expertise(
        top_categories=(("Algebra", 23), ("Geometry", 4)), likes_received=31, accepted_answers=7
    )
    [request] = discourse_site.requests
    assert (request.method, request.path) == ("GET", "/u/maya/summary.json")


def test_expertise_without_discourse_solved_has_no_accepted_answer_count(
    discourse_site, discourse_api
):
    discourse_site.user("maya").category_posts = {"Algebra": 2}
    found = discourse_api.expertise("maya")
    assert found is not None and found.accepted_answers is None
    assert found.top_categories == (("Algebra", 2),)


def test_expertise_of_an_unknown_user_raises_forum_not_found(discourse_api):
    with pytest.raises(ForumNotFound):
        discourse_api.expertise("nobody")


def test_get_group_and_get_group_by_id_return_forum_groups(discourse_api):
    assert discourse_api.get_group("mentees") == ForumGroup(id=44, name="mentees")
    assert discourse_api.get_group_by_id(44) == ForumGroup(id=44, name="mentees")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_user("ghost"),
        lambda c: c.get_user_by_id(999),
        lambda c: c.get_group("ghosts"),
        lambda c: c.get_group_by_id(999),
    ],
    ids=["user", "user_by_id", "group", "group_by_id"],
)
def test_an_unknown_user_or_group_raises_forum_not_found(discourse_api, call):
    with pytest.raises(ForumNotFound) as caught:
        call(discourse_api)
    assert caught.value.status == 404 and caught.value.retryable is False


def test_a_bad_api_key_raises_forum_auth_error_with_discourses_errors(discourse_site):
    with pytest.raises(ForumAuthError) as caught:
        DiscourseClient(discourse_site.url, "wrong-key", BOT, allowed_hosts=LOOPBACK).get_user(
            "maya"
        )
    assert caught.value.status == 403 and caught.value.errors == [INVALID_KEY]


def test_an_unknown_recipient_raises_forum_rejected(discourse_site, discourse_api):
    with pytest.raises(ForumRejected) as caught:
        discourse_api.open_thread("Mentorship", "Welcome!", ["maya", "ghost"], "m1")
    assert caught.value.status == 422 and caught.value.errors == [TARGET_USER_NOT_FOUND]
    assert discourse_site.private_messages() == []


def test_a_429_raises_rate_limited_with_retry_after_from_the_header(discourse_site, discourse_api):
    discourse_site.fail_next(
        "GET", r"^/u/", 429, body={"errors": ["slow down"]}, headers={"Retry-After": "37"}
    )
    with pytest.raises(ForumRateLimited) as caught:
        discourse_api.get_user("maya")
    assert caught.value.retry_after == 37.0 and caught.value.errors == ["slow down"]


def test_a_429_without_retry_after_uses_extras_wait_seconds(discourse_site, discourse_api):
    body = {
        "errors": ["You’ve performed this action too many times."],
        "error_type": "rate_limit",
        "extras": {"wait_seconds": 12, "time_left": "12 seconds"},
    }
    discourse_site.fail_next("GET", r"^/u/", 429, headers={}, body=body)
    with pytest.raises(ForumRateLimited) as caught:
        discourse_api.get_user("maya")
    assert caught.value.retry_after == 12.0


def test_a_500_raises_forum_unavailable(discourse_site, discourse_api):
    discourse_site.fail_next("GET", r"^/groups/", 500)
    with pytest.raises(ForumUnavailable) as caught:
        discourse_api.get_group("mentees")
    assert caught.value.status == 500 and caught.value.retryable


def test_a_closed_port_raises_forum_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ForumUnavailable):
        DiscourseClient(f"http://127.0.0.1:{port}", KEY, BOT, allowed_hosts=LOOPBACK).get_user(
            "maya"
        )


def test_group_members_pages_through_every_member_once(discourse_site, discourse_api):
    group = discourse_site.groups[44]
    with discourse_site.lock:
        for i in range(1000, 3499):  # maya plus 2,499 more: 2,500 members
            discourse_site.users[i] = FakeUser(
                i, f"u{i}", None, f"u{i}@x.org", False, False, "UTC", discourse_site.now()
            )
            group.members[i] = discourse_site.now()
    members = list(discourse_api.group_members("mentees"))
    assert len(members) == 2500 and len({m.id for m in members}) == 2500
    pages = [r.query for r in discourse_site.requests if r.path == "/groups/mentees/members.json"]
    assert [q["offset"] for q in pages] == [["0"], ["1000"], ["2000"]]
    assert all(q["limit"] == ["1000"] for q in pages)


def test_list_admins_excludes_the_bot_and_moderators(discourse_api):
    assert [u.username for u in discourse_api.list_admins()] == ["alice"]


def test_list_admins_excludes_system_even_when_the_forum_lists_it(discourse_site, discourse_api):
    bot = discourse_site.user(BOT)
    staff = [
        shapes.staff_list_entry(discourse_site, u, bot, False)
        for u in discourse_site.users.values()
        if u.admin
    ]
    assert {e["username"] for e in staff} == {"system", BOT, "alice"}
    discourse_site.fail_next("GET", r"^/admin/users/list/", 200, body=staff)
    assert [u.username for u in discourse_api.list_admins()] == ["alice"]


# ----- the gate and redirects ---------------------------------------------------------------


def test_the_gate_is_called_once_before_every_request(discourse_site):
    calls: list[int] = []
    discourse_api = DiscourseClient(
        discourse_site.url,
        KEY,
        BOT,
        allowed_hosts=LOOPBACK,
        gate=lambda: calls.append(len(discourse_site.requests)),
    )
    sent = opened(discourse_api, "abc123")
    discourse_api.find_thread("abc123")
    discourse_api.find_post(sent.thread, "abc123")
    assert calls == list(range(len(discourse_site.requests)))  # each call came before its request


def test_budget_exhausted_from_the_gate_means_no_request(discourse_site):
    def gate() -> None:
        raise BudgetExhausted(datetime(2030, 1, 1, tzinfo=UTC))

    with pytest.raises(BudgetExhausted):
        opened(DiscourseClient(discourse_site.url, KEY, BOT, allowed_hosts=LOOPBACK, gate=gate))
    assert discourse_site.requests == [] and discourse_site.private_messages() == []


def test_a_redirect_to_another_host_is_not_followed(discourse_site, discourse_api):
    other = FakeDiscourse(api_key=KEY, bot_username=BOT)
    other.add_user("maya")
    with other.serve() as elsewhere:
        page = "<html><body>moved</body></html>"
        discourse_site.fail_next(
            "GET", r"^/u/", 302, body=page, headers={"Location": f"{elsewhere}/u/maya.json"}
        )
        with pytest.raises(ForumError):
            discourse_api.get_user("maya")
    assert other.requests == []
