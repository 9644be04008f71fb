"""JSON answers of the fake Discourse, in the shapes of the real API.

Each answer starts from the spec's response schema (`skeleton`: every required key, null where
allowed) and then sets the fields a client can rely on from the state. Field lists follow the
spec, and values follow the real fixtures in shared/forums/discourse/ (post_create.json,
user.json, groups.json).
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from tests.fakes.discourse_state import FakeGroup, FakePost, FakeTopic, FakeUser, ForumState
from tests.fakes.openapi_check import response_schema, skeleton, subschema

CHUNK_SIZE = 20  # TopicView's chunk_size: how many posts GET /t/{id}.json embeds


def fill(schema: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The schema's skeleton with `values` set, keeping only keys the schema knows."""
    result = skeleton(schema)
    known = schema.get("properties", {})
    result.update({key: value for key, value in values.items() if key in known})
    return result


def schema_at(operation_id: str, at: str = "") -> dict[str, Any]:
    """The (relaxed) 200 response schema of an operation, or the part of it at `at`."""
    schema = response_schema(operation_id)
    if schema is None:
        raise KeyError(f"the spec has no 200 JSON schema for {operation_id}")
    return subschema(schema, at)


def avatar_template(user: FakeUser) -> str:
    """Same form as the fixtures: /user_avatar/<host>/<username>/{size}/<upload>_2.png."""
    return f"/user_avatar/localhost/{user.username}/{{size}}/{max(user.id, 1)}_2.png"


def basic_user(user: FakeUser) -> dict[str, Any]:
    """BasicUserSerializer: id, username, name, avatar_template."""
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "avatar_template": avatar_template(user),
    }


def post_json(state: ForumState, post: FakePost, viewer: FakeUser, schema: dict[str, Any]) -> dict:
    """A post (PostSerializer) for `viewer`; `raw` only where the schema has it."""
    user, topic = state.users[post.user_id], state.topics[post.topic_id]
    return fill(
        schema,
        {
            **basic_user(user),
            "id": post.id,  # after basic_user, whose "id" is the author's
            "created_at": post.created_at,
            "updated_at": post.created_at,
            "cooked": post.cooked,
            "raw": post.raw,
            "post_number": post.post_number,
            "post_type": 1,  # regular
            "posts_count": len(topic.post_ids),
            "reply_to_post_number": post.reply_to_post_number,
            "topic_id": topic.id,
            "topic_slug": topic.slug,
            "display_username": user.name,
            "version": 1,
            "yours": post.user_id == viewer.id,
            "read": True,
            "can_edit": viewer.staff or post.user_id == viewer.id,
            "can_delete": viewer.staff,
            "can_wiki": viewer.staff,
            "can_view_edit_history": True,
            "moderator": user.moderator,
            "admin": user.admin,
            "staff": user.staff,
            "user_id": user.id,
            "trust_level": user.trust_level,
            "user_title": None,
            "post_url": f"/t/{topic.slug}/{topic.id}/{post.post_number}",
            # post_create.json carries these four flag/like actions for a fresh post.
            "actions_summary": [{"id": i, "can_act": True} for i in (3, 4, 8, 7)],
        },
    )


def topic_json(state: ForumState, topic: FakeTopic, viewer: FakeUser) -> dict[str, Any]:
    """GET /t/{id}.json: the topic with its first CHUNK_SIZE posts and every post id."""
    posts = [state.posts[i] for i in topic.post_ids]
    post_schema = schema_at("getTopic", "post_stream.posts[]")
    posters = [state.users[p.user_id] for p in posts]
    participants = [
        fill(
            schema_at("getTopic", "details.participants[]"),
            {
                **basic_user(u),
                "post_count": sum(1 for p in posters if p.id == u.id),
                "admin": u.admin,
                "moderator": u.moderator,
                "trust_level": u.trust_level,
            },
        )
        for u in {p.id: p for p in posters}.values()
    ]
    details = fill(
        schema_at("getTopic", "details"),
        {
            "created_by": basic_user(state.users[topic.user_id]),
            "last_poster": basic_user(posters[-1]),
            "participants": participants,
            "notification_level": 3,  # PM participants watch their messages
            "can_create_post": True,
            "can_edit": viewer.staff,
        },
    )
    return fill(
        schema_at("getTopic"),
        {
            "post_stream": {
                "posts": [post_json(state, p, viewer, post_schema) for p in posts[:CHUNK_SIZE]],
                "stream": list(topic.post_ids),
            },
            "id": topic.id,
            "title": topic.title,
            "fancy_title": html.escape(topic.title, quote=False),
            "posts_count": len(posts),
            "created_at": topic.created_at,
            "last_posted_at": posts[-1].created_at,
            "visible": True,
            "archetype": topic.archetype,
            "slug": topic.slug,
            "category_id": topic.category_id,
            "word_count": sum(len(p.raw.split()) for p in posts),
            "user_id": topic.user_id,
            "highest_post_number": posts[-1].post_number,
            "participant_count": len(participants),
            "chunk_size": CHUNK_SIZE,
            "draft_key": f"topic_{topic.id}",
            "details": details,
        },
    )


def group_values(state: ForumState, group: FakeGroup, viewer: FakeUser) -> dict[str, Any]:
    """Every group field the serializers share (BasicGroupSerializer and GroupShowSerializer)."""
    return {
        "id": group.id,
        "automatic": group.automatic,
        "name": group.name,
        "display_name": group.name,
        "full_name": group.full_name,
        "user_count": len(group.members),
        "mentionable_level": 0,
        "messageable_level": group.messageable_level,
        "visibility_level": 0 if not group.automatic else 1,
        "primary_group": False,
        "has_messages": any(group.id in t.allowed_group_ids for t in state.topics.values()),
        "default_notification_level": 3,
        "members_visibility_level": 0,
        "can_see_members": True,
        "can_admin_group": viewer.admin,
        "can_edit_group": viewer.admin,
        "is_group_user": viewer.id in group.members,
        "is_group_owner_display": viewer.id in group.owners,
        "mentionable": False,
        "messageable": state.can_message_group(viewer, group),
        "automatic_membership_email_domains": None,
    }


def group_json(state: ForumState, group: FakeGroup, viewer: FakeUser) -> dict[str, Any]:
    """GET /groups/{name}.json and /groups/by-id/{id}.json."""
    return fill(
        schema_at("getGroup"),
        {
            "group": fill(schema_at("getGroup", "group"), group_values(state, group, viewer)),
            "extras": {"visible_group_names": visible_group_names(state, viewer)},
        },
    )


def visible_group_names(state: ForumState, viewer: FakeUser) -> list[str]:
    """GroupsController#show extras: every visible group; non-staff don't see automatic ones
    except moderators."""
    groups = sorted(state.groups.values(), key=lambda g: g.id)
    return [g.name for g in groups if viewer.staff or not g.automatic or g.name == "moderators"]


def member_json(state: ForumState, user: FakeUser, group: FakeGroup) -> dict[str, Any]:
    """One entry of GET /groups/{name}/members.json (GroupUserSerializer)."""
    return fill(
        schema_at("listGroupMembers", "members[]"),
        {
            **basic_user(user),
            "title": None,
            "last_posted_at": user.last_posted_at,
            "last_seen_at": user.last_seen_at,
            "added_at": group.members[user.id],
            "timezone": user.timezone,
        },
    )


def _user_values(
    state: ForumState, user: FakeUser, viewer: FakeUser, groups: dict[str, Any]
) -> dict[str, Any]:
    """Fields the user serializers share; `groups` is the schema of one entry of "groups"."""
    values = {
        **basic_user(user),
        "active": user.active,
        "admin": user.admin,
        "moderator": user.moderator,
        "created_at": user.created_at,
        "created_at_age": max(state.clock() - _epoch(user.created_at), 0.0),
        "last_seen_at": user.last_seen_at,
        "last_posted_at": user.last_posted_at,
        "trust_level": user.trust_level,
        "post_count": sum(1 for p in state.posts.values() if p.user_id == user.id),
        "topic_count": sum(1 for t in state.topics.values() if t.user_id == user.id),
        "groups": [fill(groups, group_values(state, g, viewer)) for g in state.groups_of(user)],
        "ip_address": "127.0.0.1",
        "registration_ip_address": "127.0.0.1",
        "external_ids": {},
    }
    if viewer.id == user.id:  # include_email?: staff see their own email, nobody else's
        values |= {"email": user.email, "secondary_emails": [], "timezone": user.timezone}
    return values


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def admin_user_json(state: ForumState, user: FakeUser, viewer: FakeUser) -> dict[str, Any]:
    """GET /admin/users/{id}.json: the flat AdminDetailedUserSerializer."""
    values = _user_values(state, user, viewer, schema_at("adminGetUser", "groups[]"))
    return fill(schema_at("adminGetUser"), values)


def staff_list_entry(
    state: ForumState, user: FakeUser, viewer: FakeUser, show_emails: bool
) -> dict[str, Any]:
    """One entry of GET /admin/users/list/{flag}.json (AdminUserListSerializer)."""
    values = _user_values(state, user, viewer, schema_at("adminGetUser", "groups[]"))
    entry = fill(schema_at("adminListUsersFlag", "[]"), values)
    if show_emails or viewer.id == user.id:
        entry |= {"email": user.email, "secondary_emails": []}
    return entry


def user_json(state: ForumState, user: FakeUser, viewer: FakeUser) -> dict[str, Any]:
    """GET /u/{username}.json: {"user_badges": [], "user": UserSerializer}."""
    values = _user_values(state, user, viewer, schema_at("getUser", "user.groups[]"))
    option = schema_at("getUser", "user.user_option")
    values |= {
        "featured_topic": None,
        "can_send_private_messages": True,
        "can_send_private_message_to_user": True,
        "user_option": fill(option, {"user_id": user.id, "timezone": user.timezone}),
        # Null unless the site lets members choose a language and this one did.
        "locale": user.locale if state.allow_user_locale else None,
        "group_users": [
            {"group_id": g.id, "user_id": user.id, "notification_level": 3}
            for g in state.groups_of(user)
        ],
    }
    return {"user_badges": [], "user": fill(schema_at("getUser", "user"), values)}


def site_basic_info(state: ForumState) -> dict[str, Any]:
    """GET /site/basic-info.json (SiteController#basic_info): `locale` is default_locale."""
    return fill(
        schema_at("getSiteBasicInfo"),
        {"title": "Fake Discourse", "login_required": False, "locale": state.default_locale},
    )


def user_summary(state: ForumState, user: FakeUser) -> dict[str, Any]:
    """GET /u/{username}/summary.json: the counts we read, categories with made-up ids."""
    categories = [
        {"id": 10 + i, "name": name, "topic_count": 0, "post_count": posts}
        for i, (name, posts) in enumerate(user.category_posts.items())
    ]
    summary = {
        "likes_received": user.likes_received,
        "post_count": sum(user.category_posts.values()),
        "topic_count": 0,
        "days_visited": 1,
        "top_categories": categories,
        "badges": [],
    }
    if state.solved_plugin:
        summary["solved_count"] = user.solved_count
    return {"user_summary": summary}
