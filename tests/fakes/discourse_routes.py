"""Endpoint handlers of the fake Discourse, registered by the spec's operationId.

Behaviour follows Discourse core as quoted in shared/forums/discourse/NOTES.md and core's
PostsController / TopicCreator / PostCreator / GroupsController. Error texts come from NOTES.md
where it has them; the others are marked "locale text approximated".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes import discourse_shapes as shapes
from tests.fakes.discourse_state import FakeGroup, FakeTopic, FakeUser

if TYPE_CHECKING:
    from tests.fakes.discourse import FakeDiscourse

NOT_FOUND = "The requested URL or resource could not be found."
INVALID_ACCESS = "You are not permitted to view the requested resource."
# PostCreator#valid? answers this when the topic is missing OR the user may not post in it.
TOPIC_NOT_FOUND = (
    "Something has gone wrong. "
    "Perhaps this topic was closed or deleted while you were looking at it."
)
TARGET_USER_NOT_FOUND = "Sorry, we couldn't find one of the recipients."  # locale text approximated
NO_USER_SELECTED = "You must select a valid user."  # locale text approximated
EXTERNAL_ID_MAX_LENGTH = 50  # Topic::EXTERNAL_ID_MAX_LENGTH
MIN_TITLE_LENGTH = {"private_message": 2, "regular": 15}  # min_personal_message_title_length etc.
MIN_FIRST_POST_LENGTH = 20  # min_first_post_length (a regular topic's first post)
TITLE_USED = "Title has already been used"  # locale text approximated (unique titles)
BODY_TOO_SHORT = f"Body is too short (minimum is {MIN_FIRST_POST_LENGTH} characters)"
MEMBERS_DEFAULT_PAGE_SIZE, MEMBERS_MAX_PAGE_SIZE = 50, 1000  # GroupsController


@dataclass
class Call:
    """An authenticated, spec-valid request as a handler sees it."""

    user: FakeUser
    path_params: dict[str, str]
    query: dict[str, list[str]]
    body: dict[str, Any]


@dataclass
class Answer:
    """What to send back: a JSON value (or a str for a non-JSON body), status and headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["FakeDiscourse", Call], Answer]
HANDLERS: dict[str, Handler] = {}


def handles(operation_id: str) -> Callable[[Handler], Handler]:
    """Register a handler for one operationId of the spec."""

    def register(handler: Handler) -> Handler:
        HANDLERS[operation_id] = handler
        return handler

    return register


def error(status: int, message: str, error_type: str | None = None) -> Answer:
    """Discourse's JSON error: {"errors": [...], "error_type": ...} (NOTES.md §3 Error shape)."""
    body: dict[str, Any] = {"errors": [message]}
    if error_type:
        body["error_type"] = error_type
    return Answer(status, body)


def not_found() -> Answer:
    """404 Discourse::NotFound."""
    return error(404, NOT_FOUND, "not_found")


def invalid_access() -> Answer:
    """403 Discourse::InvalidAccess."""
    return error(403, INVALID_ACCESS, "invalid_access")


def create_post_failed(*messages: str) -> Answer:
    """422 from NewPostResultSerializer: {"action": "create_post", "errors": [...]}."""
    return Answer(422, {"action": "create_post", "errors": list(messages)})


def ruby_split(text: str) -> list[str]:
    """Ruby's String#split(","): no trimming, trailing empty strings dropped."""
    parts = text.split(",")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


@handles("createTopicPostPM")
def create_post(fake: FakeDiscourse, call: Call) -> Answer:
    """POST /posts.json: a new topic or PM, or a reply; identical API calls memoized for 120 s."""
    if not str(call.body.get("raw", "")).strip():
        return error(400, "param is missing or the value is empty: raw")
    # PostsController#create memoizes the whole answer (errors too) per params + user for API calls.
    key = repr((call.user.id, sorted(call.body.items())))
    remembered = fake.memo.get(key)
    if remembered and remembered[0] > fake.clock():
        return remembered[1]
    answer = _reply(fake, call) if call.body.get("topic_id") is not None else _new_topic(fake, call)
    fake.memo[key] = (fake.clock() + fake.memoize_seconds, answer)
    return answer


def _post_answer(fake: FakeDiscourse, call: Call, topic: FakeTopic) -> Answer:
    post = fake.create_post(
        call.user, topic, call.body["raw"], call.body.get("reply_to_post_number")
    )
    return Answer(
        200, shapes.post_json(fake, post, call.user, shapes.schema_at("createTopicPostPM"))
    )


def _reply(fake: FakeDiscourse, call: Call) -> Answer:
    topic = fake.topics.get(call.body["topic_id"])
    if topic is None or not fake.can_see_topic(call.user, topic):
        return create_post_failed(TOPIC_NOT_FOUND)
    return _post_answer(fake, call, topic)


def _new_topic(fake: FakeDiscourse, call: Call) -> Answer:
    archetype = call.body.get("archetype") or "regular"
    user_ids: list[int] = []
    group_ids: list[int] = []
    if archetype == "private_message":
        recipients = _recipients(fake, call.user, call.body.get("target_recipients", ""))
        if isinstance(recipients, Answer):
            return recipients
        user_ids, group_ids = recipients
    category_id = call.body.get("category")
    if archetype != "private_message" and category_id is not None:
        refused = _category_refusal(fake, call.user, category_id)
        if refused is not None:
            return refused
    errors = _topic_errors(fake, archetype, call.body)
    if errors:
        return create_post_failed(*errors)
    topic = fake.create_topic(
        call.user,
        call.body["title"].strip(),
        archetype,
        user_ids=user_ids,
        group_ids=group_ids,
        external_id=call.body.get("external_id"),
    )
    topic.category_id = int(category_id) if category_id is not None else None
    return _post_answer(fake, call, topic)


def _category_refusal(fake: FakeDiscourse, user: FakeUser, category_id: Any) -> Answer | None:
    """An unknown category 422; one the user may not see or post in 403 (NOTES.md section 7)."""
    category = fake.categories.get(int(category_id))
    if category is None:
        return create_post_failed("Category is invalid")  # locale text approximated
    if category.allowed_user_ids is not None and user.id not in category.allowed_user_ids:
        return invalid_access()
    return None


def _recipients(
    fake: FakeDiscourse, user: FakeUser, text: str
) -> tuple[list[int], list[int]] | Answer:
    """(user ids, group ids) the way PostsController#create_params and TopicCreator read them.

    Names are lowercased, not trimmed; names of groups this user may message become group
    recipients, the rest must be usernames or emails of existing users (the fake creates no
    staged users for unknown emails).
    """
    names = [name.lower() for name in ruby_split(text)]
    groups = [g for g in map(fake.group_named, names) if g and fake.can_message_group(user, g)]
    group_names = {g.name.lower() for g in groups}
    rest = [n for n in names if n not in group_names]
    if not rest and not groups:
        return create_post_failed(NO_USER_SELECTED)
    by_name = {key: u.id for u in fake.users.values() for key in (u.username.lower(), u.email)}
    user_ids = [by_name.get(n) for n in rest]
    # TopicCreator#add_users compares how many users it found with how many names it was given,
    # so an unknown name and a repeated name both fail.
    if None in user_ids or len(set(user_ids)) != len(rest):
        return create_post_failed(TARGET_USER_NOT_FOUND)
    return [i for i in user_ids if i is not None], list(dict.fromkeys(g.id for g in groups))


def _topic_errors(fake: FakeDiscourse, archetype: str, body: dict[str, Any]) -> list[str]:
    """Topic model validations on save: title and external_id."""
    errors: list[str] = []
    title = str(body.get("title") or "").strip()
    minimum = MIN_TITLE_LENGTH.get(archetype, MIN_TITLE_LENGTH["regular"])
    if not title:
        errors.append("Title can't be blank")
    elif len(title) < minimum:
        errors.append(f"Title is too short (minimum is {minimum} characters)")
    if archetype != "private_message":
        # Unique titles (case-insensitive) among regular topics, and the first post's length.
        if title and any(
            t.archetype != "private_message" and t.title.lower() == title.lower()
            for t in fake.topics.values()
        ):
            errors.append(TITLE_USED)
        if len(str(body.get("raw") or "").strip()) < MIN_FIRST_POST_LENGTH:
            errors.append(BODY_TOO_SHORT)
    external_id = body.get("external_id")
    if external_id is not None:
        # validates :external_id, uniqueness (case-insensitive), length <= 50, format /\A[\w-]+\z/
        if any((t.external_id or "").lower() == external_id.lower() for t in fake.topics.values()):
            errors.append("External ID has already been taken")  # locale text approximated
        if len(external_id) > EXTERNAL_ID_MAX_LENGTH:
            errors.append(
                f"External ID is too long (maximum is {EXTERNAL_ID_MAX_LENGTH} characters)"
            )
        if not re.fullmatch(r"[\w-]+", external_id):
            errors.append("External ID is invalid")
    return errors


def _visible_topic(fake: FakeDiscourse, call: Call, topic_id: str) -> FakeTopic | Answer:
    topic = fake.topics.get(int(topic_id)) if topic_id.isdigit() else None
    if topic is None:
        return not_found()
    return topic if fake.can_see_topic(call.user, topic) else invalid_access()


@handles("getTopic")
def get_topic(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /t/{id}.json (and /t/{slug}/{id}.json, where the external-id redirect lands)."""
    topic = _visible_topic(fake, call, call.path_params["id"])
    if isinstance(topic, Answer):
        return topic
    return Answer(200, shapes.topic_json(fake, topic, call.user))


@handles("getSpecificPostsFromTopic")
def get_topic_posts(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /t/{id}/posts.json?post_ids[]=..: those posts of this topic, in topic order."""
    topic = _visible_topic(fake, call, call.path_params["id"])
    if isinstance(topic, Answer):
        return topic
    wanted = {int(i) for i in call.query.get("post_ids[]", []) if i.isdigit()}
    schema = shapes.schema_at("getSpecificPostsFromTopic", "post_stream.posts[]")
    posts = [
        shapes.post_json(fake, fake.posts[i], call.user, schema)
        for i in topic.post_ids
        if i in wanted
    ]
    return Answer(200, {"post_stream": {"posts": posts}, "id": topic.id})


@handles("getPost")
def get_post(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /posts/{id}.json: one post, with raw."""
    raw_id = call.path_params["id"]
    post = fake.posts.get(int(raw_id)) if raw_id.isdigit() else None
    if post is None:
        return not_found()
    if not fake.can_see_topic(call.user, fake.topics[post.topic_id]):
        return invalid_access()
    return Answer(200, shapes.post_json(fake, post, call.user, shapes.schema_at("getPost")))


@handles("getTopicByExternalId")
def get_topic_by_external_id(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /t/external_id/{external_id}.json: 301 to /t/{slug}/{id}.json.

    TopicsController#redirect_to_correct_topic: topic.relative_url + ".json".
    """
    wanted = call.path_params["external_id"]
    topic = next((t for t in fake.topics.values() if t.external_id == wanted), None)
    if topic is None:
        return not_found()
    if not fake.can_see_topic(call.user, topic):
        return invalid_access()
    location = f"/t/{topic.slug}/{topic.id}.json"
    page = f'<html><body>You are being <a href="{location}">redirected</a>.</body></html>'
    return Answer(301, page, {"Location": location})


@handles("adminGetUser")
def admin_get_user(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /admin/users/{id}.json: staff only (the route constraint answers 404 to others)."""
    user = fake.users.get(int(call.path_params["id"]))
    if user is None or not call.user.staff:
        return not_found()
    return Answer(200, shapes.admin_user_json(fake, user, call.user))


@handles("adminListUsersFlag")
def admin_list_users(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /admin/users/list/{flag}.json: `staff` and `active` are modelled; others are empty."""
    if not call.user.staff:
        return not_found()
    flag = call.path_params["flag"]
    humans = [u for u in sorted(fake.users.values(), key=lambda u: u.id) if u.human]
    chosen = {"staff": [u for u in humans if u.staff], "active": [u for u in humans if u.active]}
    show_emails = call.query.get("show_emails", ["false"])[-1] == "true"
    entries = [
        shapes.staff_list_entry(fake, u, call.user, show_emails) for u in chosen.get(flag, [])
    ]
    return Answer(200, entries)


@handles("getUser")
def get_user(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /u/{username}.json."""
    user = fake.user_named(call.path_params["username"])
    if user is None or (not user.active and not call.user.staff):
        return not_found()
    return Answer(200, shapes.user_json(fake, user, call.user))


@handles("getUserSummary")
def get_user_summary(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /u/{username}/summary.json: public for visible profiles (hide_profile aside)."""
    user = fake.user_named(call.path_params["username"])
    if user is None or (not user.active and not call.user.staff):
        return not_found()
    return Answer(200, shapes.user_summary(fake, user))


@handles("getSiteBasicInfo")
def get_site_basic_info(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /site/basic-info.json: public, the site's title, logos and default locale."""
    return Answer(200, shapes.site_basic_info(fake))


@handles("getGroup")
def get_group(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /groups/{name}.json."""
    group = fake.group_named(call.path_params["name"])
    return not_found() if group is None else Answer(200, shapes.group_json(fake, group, call.user))


@handles("getGroupById")
def get_group_by_id(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /groups/by-id/{id}.json."""
    raw_id = call.path_params["id"]
    group = fake.groups.get(int(raw_id)) if raw_id.isdigit() else None
    return not_found() if group is None else Answer(200, shapes.group_json(fake, group, call.user))


@handles("listGroupMembers")
def list_group_members(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /groups/{name}/members.json: paged human members plus all owners (NOTES.md §3)."""
    group = fake.group_named(call.path_params["name"])
    if group is None:
        return not_found()
    last = {name: values[-1] for name, values in call.query.items()}
    limit = int(last.get("limit") or MEMBERS_DEFAULT_PAGE_SIZE)
    offset = int(last.get("offset") or 0)
    if limit < 0 or limit > MEMBERS_MAX_PAGE_SIZE:
        return error(400, "Invalid parameters: limit", "invalid_parameters")
    if offset < 0:
        return error(400, "Invalid parameters: offset", "invalid_parameters")
    members = [fake.users[i] for i in group.members if fake.users[i].human]
    needle = last.get("filter", "").lower()
    members = [
        u for u in members if needle in u.username.lower() or needle in (u.name or "").lower()
    ]
    members = _ordered_members(members, group, last.get("order"), last.get("asc") == "true")
    owners = [u for u in members if u.id in group.owners]
    return Answer(
        200,
        {
            "members": [
                shapes.member_json(fake, u, group) for u in members[offset : offset + limit]
            ],
            "owners": [shapes.member_json(fake, u, group) for u in owners],
            "meta": {"total": len(members), "limit": limit, "offset": offset},
        },
    )


def _ordered_members(
    members: list[FakeUser], group: FakeGroup, order: str | None, ascending: bool
) -> list[FakeUser]:
    """GroupsController#members ordering: a column (DESC unless asc=true, NULLS LAST) or owners
    first then username_lower DESC."""
    if order in ("added_at", "last_posted_at", "last_seen_at"):

        def column(user: FakeUser) -> str | None:
            return group.members[user.id] if order == "added_at" else getattr(user, order)

        present = sorted(
            (u for u in members if column(u) is not None),
            key=lambda u: (column(u), u.id),
            reverse=not ascending,
        )
        return present + [u for u in members if column(u) is None]
    by_name = sorted(members, key=lambda u: u.username.lower(), reverse=True)
    return sorted(by_name, key=lambda u: u.id not in group.owners)
