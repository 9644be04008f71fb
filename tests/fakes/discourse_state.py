"""In-memory forum state behind the fake Discourse: users, groups, topics and posts."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

SYSTEM_USER_ID = -1  # Discourse's `system` user; ids <= 0 are not "human users"
EVERYONE = 99  # Group.alias_levels: 0 nobody, 1 only_admins, 2 mods_and_admins,
NOBODY = 0  # 3 members_mods_and_admins, 4 owners_mods_and_admins, 99 everyone (NOTES.md §3)
# Automatic groups with their fixed ids. admins and staff default to messageable_level 0 and
# moderators to everyone (NOTES.md §3 "Messaging admins or staff").
AUTO_GROUPS = (("admins", 1, NOBODY), ("moderators", 2, EVERYONE), ("staff", 3, NOBODY))
FIRST_CUSTOM_GROUP_ID = 41  # real forums number custom groups after the automatic ones


def iso(timestamp: float) -> str:
    """Discourse's timestamp format: UTC, milliseconds, trailing Z."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def slugify(title: str) -> str:
    """Discourse's ascii slug: "Mentorship: Maya & Sam" -> "mentorship-maya-sam"."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "topic"


def cook(raw: str) -> str:
    """A plain-text stand-in for Discourse's markdown cooking: escaped paragraphs."""
    paragraphs = [p for p in re.split(r"\n\s*\n", raw.strip()) if p]
    return "\n".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>' + chr(10))}</p>" for p in paragraphs
    )


@dataclass
class FakeUser:
    """A forum account."""

    id: int
    username: str
    name: str | None
    email: str
    admin: bool
    moderator: bool
    timezone: str
    created_at: str
    active: bool = True
    trust_level: int = 1
    last_posted_at: str | None = None
    last_seen_at: str | None = None
    locale: str | None = None  # the account's own language; shown only if the site allows it
    # What GET /u/{username}/summary.json reports: posts per category name (busiest first as
    # given), likes received, and accepted answers (counted only where discourse-solved runs).
    category_posts: dict[str, int] = field(default_factory=dict)
    likes_received: int = 0
    solved_count: int = 0
    # user_option.chat_enabled, the member's own chat switch: off, Discourse leaves them out of
    # new chat direct messages (Chat::UsersFromUsernamesAndGroupsQuery).
    chat_enabled: bool = True

    @property
    def staff(self) -> bool:
        """Admins and moderators."""
        return self.admin or self.moderator

    @property
    def human(self) -> bool:
        """Discourse's `human_users` scope: real accounts, not system or bots (id <= 0)."""
        return self.id > 0


@dataclass
class FakeGroup:
    """A group; `members` maps user id to the time the user was added."""

    id: int
    name: str
    full_name: str | None
    messageable_level: int
    automatic: bool = False
    members: dict[int, str] = field(default_factory=dict)
    owners: set[int] = field(default_factory=set)


@dataclass
class FakeTopic:
    """A topic or private message, with who may see it."""

    id: int
    title: str
    slug: str
    archetype: str
    user_id: int
    created_at: str
    external_id: str | None = None
    category_id: int | None = None
    allowed_user_ids: list[int] = field(default_factory=list)
    allowed_group_ids: list[int] = field(default_factory=list)
    post_ids: list[int] = field(default_factory=list)


@dataclass
class FakeCategory:
    """A category; None: everyone may read and post in it, else only these users."""

    id: int
    name: str
    allowed_user_ids: set[int] | None = None


@dataclass
class FakePost:
    """One post of a topic."""

    id: int
    topic_id: int
    post_number: int
    user_id: int
    raw: str
    cooked: str
    created_at: str
    reply_to_post_number: int | None = None


class ForumState:
    """Users, groups, topics and posts, with Discourse's visibility rules."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()  # the HTTP server is threaded
        # Site settings (NOTES.md §7 Locale): the site's language, and whether members may
        # choose their own (off by default, as in Discourse).
        self.default_locale = "en"
        self.allow_user_locale = False
        self.solved_plugin = False  # discourse-solved adds solved_count to user summaries
        self.users: dict[int, FakeUser] = {}
        self.groups: dict[int, FakeGroup] = {}
        self.topics: dict[int, FakeTopic] = {}
        self.posts: dict[int, FakePost] = {}
        self.flags: list = []  # FakeFlag (tests/fakes/discourse_flags.py), oldest first
        self.categories: dict[int, FakeCategory] = {}
        self._last_id = {"user": 0, "group": FIRST_CUSTOM_GROUP_ID - 1, "topic": 0, "post": 0}
        self.users[SYSTEM_USER_ID] = FakeUser(
            SYSTEM_USER_ID, "system", "system", "no_email", True, True, "UTC", self.now()
        )
        for name, group_id, level in AUTO_GROUPS:
            self.groups[group_id] = FakeGroup(group_id, name, None, level, automatic=True)

    def now(self) -> str:
        """The injected clock as a Discourse timestamp."""
        return iso(self.clock())

    def _next_id(self, kind: str, wanted: int | None = None) -> int:
        value = self._last_id[kind] + 1 if wanted is None else wanted
        self._last_id[kind] = max(self._last_id[kind], value)
        return value

    def add_user(
        self,
        username: str,
        *,
        id: int | None = None,  # noqa: A002 - mirrors Discourse's field name
        name: str | None = None,
        email: str | None = None,
        admin: bool = False,
        moderator: bool = False,
        timezone: str = "UTC",
        locale: str | None = None,
    ) -> dict[str, Any]:
        """Create an account (ids are assigned from 1 unless given) and return it as a dict."""
        with self.lock:
            if self.user_named(username) or (id is not None and id in self.users):
                raise ValueError(f"user {username!r} / id {id} already exists")
            user = FakeUser(
                self._next_id("user", id),
                username,
                name,
                email or f"{username}@example.com",
                admin,
                moderator,
                timezone,
                self.now(),
                locale=locale,
            )
            self.users[user.id] = user
            # Automatic groups follow the staff flags, as Group.refresh_automatic_group! does.
            auto = ["admins"] * admin + ["moderators"] * moderator + ["staff"] * user.staff
            for group_name in auto:
                self._group(group_name).members[user.id] = user.created_at
            return asdict(user)

    def add_group(
        self,
        name: str,
        *,
        id: int | None = None,  # noqa: A002 - mirrors Discourse's field name
        members: Iterable[str] = (),
        messageable_level: int = NOBODY,  # the column default: nobody may message a new group
        full_name: str | None = None,
    ) -> dict[str, Any]:
        """Create a custom group (ids from 41 unless given) and return it as a dict."""
        with self.lock:
            if self.group_named(name) or (id is not None and id in self.groups):
                raise ValueError(f"group {name!r} / id {id} already exists")
            group = FakeGroup(self._next_id("group", id), name, full_name, messageable_level)
            self.groups[group.id] = group
            for username in members:
                self.add_member(name, username)
            return asdict(group)

    def add_member(self, group_name: str, username: str, *, owner: bool = False) -> None:
        """Put a user in a group (a no-op if already there)."""
        with self.lock:
            group, user = self._group(group_name), self._user(username)
            group.members.setdefault(user.id, self.now())
            if owner:
                group.owners.add(user.id)

    def remove_member(self, group_name: str, username: str) -> None:
        """Take a user out of a group."""
        with self.lock:
            group, user = self._group(group_name), self._user(username)
            group.members.pop(user.id, None)
            group.owners.discard(user.id)

    def user_named(self, username: str) -> FakeUser | None:
        """Case-insensitive lookup, like username_lower."""
        wanted = username.lower()
        return next((u for u in self.users.values() if u.username.lower() == wanted), None)

    def group_named(self, name: str) -> FakeGroup | None:
        """Case-insensitive lookup, like lower(name)."""
        wanted = name.lower()
        return next((g for g in self.groups.values() if g.name.lower() == wanted), None)

    def _user(self, username: str) -> FakeUser:
        user = self.user_named(username)
        if user is None:
            raise KeyError(f"no user {username!r}; add_user() first")
        return user

    def _group(self, name: str) -> FakeGroup:
        group = self.group_named(name)
        if group is None:
            raise KeyError(f"no group {name!r}; add_group() first")
        return group

    def groups_of(self, user: FakeUser) -> list[FakeGroup]:
        """The groups a user belongs to, by id."""
        return [g for g in sorted(self.groups.values(), key=lambda g: g.id) if user.id in g.members]

    def can_message_group(self, user: FakeUser, group: FakeGroup) -> bool:
        """Group.messageable(user): which messageable_level lets this user PM the group."""
        level = group.messageable_level
        if level == EVERYONE or (level != NOBODY and user.admin):
            return True
        if user.moderator and level in (2, 3, 4):
            return True
        return (level == 3 and user.id in group.members) or (level == 4 and user.id in group.owners)

    def can_see_topic(self, user: FakeUser, topic: FakeTopic) -> bool:
        """Admins see every PM; others only PMs they or one of their groups are invited to."""
        if topic.archetype != "private_message" or user.admin:
            return True
        in_group = any(user.id in self.groups[g].members for g in topic.allowed_group_ids)
        return user.id in topic.allowed_user_ids or in_group

    def add_category(
        self, name: str, *, allowed_user_ids: Iterable[int] | None = None
    ) -> FakeCategory:
        """A public category, or a read-restricted one where only these users may post."""
        with self.lock:
            cid = 10 + len(self.categories)
            allowed = set(allowed_user_ids) if allowed_user_ids is not None else None
            self.categories[cid] = FakeCategory(cid, name, allowed)
            return self.categories[cid]

    def create_topic(
        self,
        user: FakeUser,
        title: str,
        archetype: str,
        *,
        user_ids: Iterable[int] = (),
        group_ids: Iterable[int] = (),
        external_id: str | None = None,
    ) -> FakeTopic:
        """A new topic; for PMs the creator is always among the allowed users."""
        allowed = (
            list(dict.fromkeys([user.id, *user_ids])) if archetype == "private_message" else []
        )
        topic = FakeTopic(
            self._next_id("topic"),
            title,
            slugify(title),
            archetype,
            user.id,
            self.now(),
            external_id=external_id,
            allowed_user_ids=allowed,
            allowed_group_ids=list(group_ids),
        )
        self.topics[topic.id] = topic
        return topic

    def create_post(
        self, user: FakeUser, topic: FakeTopic, raw: str, reply_to_post_number: int | None = None
    ) -> FakePost:
        """Append a post to a topic."""
        post = FakePost(
            self._next_id("post"),
            topic.id,
            len(topic.post_ids) + 1,
            user.id,
            raw,
            cook(raw),
            self.now(),
            reply_to_post_number,
        )
        self.posts[post.id] = post
        topic.post_ids.append(post.id)
        user.last_posted_at = post.created_at
        return post

    def private_messages(self) -> list[dict[str, Any]]:
        """Every PM as members would see it: title, participants (incl. the bot), posts' raw."""
        with self.lock:
            return [
                {
                    "topic_id": topic.id,
                    "title": topic.title,
                    "external_id": topic.external_id,
                    "participants": [self.users[i].username for i in topic.allowed_user_ids],
                    "groups": [self.groups[i].name for i in topic.allowed_group_ids],
                    "posts": [self.posts[i].raw for i in topic.post_ids],
                    "authors": [self.users[self.posts[i].user_id].username for i in topic.post_ids],
                }
                for topic in self.topics.values()
                if topic.archetype == "private_message"
            ]
