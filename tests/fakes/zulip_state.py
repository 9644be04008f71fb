"""In-memory organisation behind the fake Zulip: users, user groups, messages, event queues.

Shapes follow zulip.yaml (User, UserGroup, MessagesBase, the GET /events oneOf) and the
behaviour NOTES.md quotes: a direct message from the bot includes the bot; event ids
are per queue, increasing; a queue keeps events until a later poll acknowledges them.
"""

from __future__ import annotations

import html
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MEMBER, ADMIN, OWNER, GUEST = 400, 200, 100, 600
REALM = "zulip"
FEATURE_LEVEL, VERSION = 247, "9.0-dev+git"  # the spec's own version (NOTES.md Sources)


@dataclass
class ZUser:
    """An account; `is_active` False once deactivated."""

    user_id: int
    email: str
    full_name: str
    role: int = MEMBER
    is_bot: bool = False
    is_active: bool = True
    timezone: str = ""
    date_joined: str = "2026-01-01T00:00:00+00:00"

    def api(self, *, with_active: bool = True) -> dict[str, Any]:
        """The User object (realm_users entries leave out is_active)."""
        user: dict[str, Any] = {
            "user_id": self.user_id,
            "email": self.email,
            "delivery_email": None,
            "full_name": self.full_name,
            "date_joined": self.date_joined,
            "is_owner": self.role == OWNER,
            "is_admin": self.role in (OWNER, ADMIN),
            "is_guest": self.role == GUEST,
            "is_billing_admin": False,
            "is_bot": self.is_bot,
            "bot_type": 1 if self.is_bot else None,
            "role": self.role,
            "timezone": self.timezone,
            "avatar_url": f"https://secure.gravatar.com/avatar/{self.user_id}?d=identicon",
            "avatar_version": 1,
        }
        if with_active:
            user["is_active"] = self.is_active
        if not self.is_bot:
            user["profile_data"] = {}
        return user


@dataclass
class ZGroup:
    """A user group and its direct members (user ids)."""

    id: int
    name: str
    description: str = ""
    members: set[int] = field(default_factory=set)
    is_system_group: bool = False
    # From Zulip 12.0 the group's can_add_members_group decides; the bot is not in it
    # unless an admin puts it there.
    bot_may_add: bool = False

    def api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "members": sorted(self.members),
            "direct_subgroup_ids": [],
            "is_system_group": self.is_system_group,
            "can_mention_group": 11,
        }


@dataclass
class ZMessage:
    """A direct message; `recipients` includes the sender, as on Zulip."""

    id: int
    sender_id: int
    recipients: frozenset[int]
    content: str
    timestamp: int


@dataclass
class ZStreamMessage:
    """A message to a stream (channel), in a topic; everyone in the stream may read it."""

    id: int
    sender_id: int
    stream: str
    topic: str
    content: str
    timestamp: int


@dataclass
class ZQueue:
    """An event queue: the types it wants and the events not yet acknowledged."""

    id: str
    event_types: set[str] | None
    events: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 0


class OrgState:
    """One organisation's data, guarded by `lock`; `changed` wakes blocked long-polls."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.users: dict[int, ZUser] = {}
        self.groups: dict[int, ZGroup] = {}
        self.messages: dict[int, ZMessage] = {}
        # Streams the bot may post in, by name -> id; their messages (kept apart from the
        # direct messages every other route reads).
        self.streams: dict[str, int] = {}
        self.stream_messages: dict[int, ZStreamMessage] = {}
        self.queues: dict[str, ZQueue] = {}
        self._ids = {"user": itertools.count(100), "group": itertools.count(100)}
        self._message_ids = itertools.count(1001)
        # The organisation language (NOTES.md §6): realm_default_language in /register.
        self.realm_default_language = "en"
        # Bots may change user groups only from Zulip 12.0 (PR #39116, NOTES.md section 6);
        # the fake is an older release unless a test says otherwise.
        self.bots_manage_groups = False
        # Every organisation has role system groups (here the one a signup joins).
        self.members_group = self.add_group("role:members", id=12, system=True)

    # ----- users and groups -------------------------------------------------------------------

    def add_user(
        self,
        email: str,
        *,
        id: int | None = None,
        full_name: str | None = None,
        role: int = MEMBER,
        is_bot: bool = False,
        timezone: str = "",
    ) -> ZUser:
        with self.lock:
            user = ZUser(
                id if id is not None else next(self._ids["user"]),
                email,
                full_name or email.split("@")[0].title(),
                role,
                is_bot,
                timezone=timezone,
            )
            self.users[user.user_id] = user
            if not is_bot:
                self.members_group.members.add(user.user_id)
            return user

    def user(self, ref: int | str) -> ZUser:
        """A user by id or by email (case-insensitive), else KeyError."""
        with self.lock:
            if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
                return self.users[int(ref)]
            for user in self.users.values():
                if user.email.lower() == str(ref).lower():
                    return user
            raise KeyError(ref)

    def add_group(
        self, name: str, *, id: int | None = None, members: Iterable[str] = (), system=False
    ) -> ZGroup:
        with self.lock:
            group = ZGroup(id if id is not None else next(self._ids["group"]), name)
            group.is_system_group = system
            group.members = {self.user(m).user_id for m in members}
            self.groups[group.id] = group
            return group

    def group(self, name: str) -> ZGroup:
        return next(g for g in self.groups.values() if g.name == name)

    def add_member(self, group: str, email: str) -> None:
        """Join a user group: members change and an add_members event goes out."""
        self._membership(group, email, "add_members")

    def remove_member(self, group: str, email: str) -> None:
        """Leave a user group: remove_members goes out."""
        self._membership(group, email, "remove_members")

    def _membership(self, name: str, email: str, op: str) -> None:
        with self.lock:
            found, user_id = self.group(name), self.user(email).user_id
            (found.members.add if op == "add_members" else found.members.discard)(user_id)
            self.emit({"type": "user_group", "op": op, "group_id": found.id, "user_ids": [user_id]})

    def deactivate(self, email: str) -> None:
        """Deactivate an account (FL 222+: a realm_user update with is_active false)."""
        with self.lock:
            user = self.user(email)
            user.is_active = False
            person = {"user_id": user.user_id, "is_active": False}
            self.emit({"type": "realm_user", "op": "update", "person": person})

    # ----- messages ---------------------------------------------------------------------------

    def add_message(self, sender_id: int, to: Iterable[int], content: str) -> ZMessage:
        with self.lock:
            message = ZMessage(
                next(self._message_ids),
                sender_id,
                frozenset({sender_id, *to}),
                content,
                int(self.clock()),
            )
            self.messages[message.id] = message
            return message

    def add_stream(self, name: str) -> int:
        """A stream the bot may post in; its id."""
        with self.lock:
            self.streams[name] = 200 + len(self.streams)
            return self.streams[name]

    def add_stream_message(
        self, sender_id: int, stream: str, topic: str, content: str
    ) -> ZStreamMessage:
        with self.lock:
            message = ZStreamMessage(
                next(self._message_ids), sender_id, stream, topic, content, int(self.clock())
            )
            self.stream_messages[message.id] = message
            return message

    def stream_message_api(self, message: ZStreamMessage) -> dict:
        """A stream message as GET /messages shows it (raw Markdown)."""
        sender = self.users[message.sender_id]
        return {
            "id": message.id,
            "type": "stream",
            "display_recipient": message.stream,
            "stream_id": self.streams[message.stream],
            "subject": message.topic,
            "content": message.content,
            "content_type": "text/x-markdown",
            "sender_id": sender.user_id,
            "sender_email": sender.email,
            "sender_full_name": sender.full_name,
            "timestamp": message.timestamp,
        }

    def message_api(self, message: ZMessage, *, markdown: bool, raw_too: bool = False) -> dict:
        """A message as GET /messages (and the outgoing webhook) show it."""
        sender = self.users[message.sender_id]
        rendered = f"<p>{html.escape(message.content)}</p>"
        data: dict[str, Any] = {
            "id": message.id,
            "type": "private",
            "subject": "",
            "content": rendered if markdown else message.content,
            "content_type": "text/html" if markdown else "text/x-markdown",
            "display_recipient": [
                {
                    "id": u,
                    "email": self.users[u].email,
                    "full_name": self.users[u].full_name,
                    "is_mirror_dummy": False,
                }
                for u in sorted(message.recipients)
            ],
            "sender_id": sender.user_id,
            "sender_email": sender.email,
            "sender_full_name": sender.full_name,
            "sender_realm_str": REALM,
            "timestamp": message.timestamp,
            "recipient_id": 9000 + hash(message.recipients) % 1000,
            "avatar_url": None,
            "client": "ZulipPython" if sender.is_bot else "website",
            "is_me_message": False,
            "reactions": [],
            "submessages": [],
            "topic_links": [],
        }
        if raw_too:
            data["rendered_content"] = rendered
        return data

    # ----- event queues -----------------------------------------------------------------------

    def register(self, event_types: list[str] | None) -> ZQueue:
        with self.lock:
            queue = ZQueue(str(uuid.uuid4()), set(event_types) if event_types else None)
            self.queues[queue.id] = queue
            return queue

    def emit(self, event: dict[str, Any]) -> None:
        """Deliver an event to every queue that asked for its type."""
        with self.lock:
            for queue in self.queues.values():
                if queue.event_types is None or event["type"] in queue.event_types:
                    queue.events.append({**event, "id": queue.next_id})
                    queue.next_id += 1
            self.changed.notify_all()

    def expire_queues(self) -> None:
        """What Zulip's garbage collector does to queues idle for 10 minutes."""
        with self.lock:
            self.queues.clear()

    def now_iso(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).isoformat()
