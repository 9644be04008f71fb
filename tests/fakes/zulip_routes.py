"""Endpoint handlers of the fake Zulip, registered by the spec's operationId.

Behaviour and error texts follow NOTES.md §2-3 and the zerver views they cite: errors are
{"result": "error", "msg", "code"}; an unknown user is 400 BAD_REQUEST "No such user".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.zulip_state import FEATURE_LEVEL, VERSION, ZUser

if TYPE_CHECKING:
    from tests.fakes.zulip import FakeZulip

MAX_MESSAGE_LENGTH = 10000  # default_settings.py
LONGPOLL_HEARTBEAT = "heartbeat"


@dataclass
class Call:
    """An authenticated, spec-valid request as a handler sees it (values JSON-decoded)."""

    user: ZUser
    path_params: dict[str, str]
    params: dict[str, Any]


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["FakeZulip", Call], Answer]
HANDLERS: dict[str, Handler] = {}


def handles(operation_id: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[operation_id] = handler
        return handler

    return register


def ok(**payload: Any) -> Answer:
    return Answer(200, {"result": "success", "msg": "", **payload})


def error(status: int, msg: str, code: str = "BAD_REQUEST", **extra: Any) -> Answer:
    return Answer(status, {"result": "error", "msg": msg, "code": code, **extra})


# ----- messages --------------------------------------------------------------------------------


def _recipient(org: FakeZulip, ref: Any) -> ZUser | Answer:
    try:
        user = org.user(ref)
    except KeyError:
        text = f"Invalid user ID {ref}" if isinstance(ref, int) else f"Invalid email '{ref}'"
        return error(400, text)
    if not user.is_active:
        return error(400, f"'{user.email}' is no longer using Zulip.")
    return user


MAX_TOPIC_LENGTH = 60  # zerver/lib/topic.py: longer topics are cut by the server


def _send_stream_message(org: FakeZulip, call: Call) -> Answer:
    """type=stream (or channel): `to` is a stream name or id, `topic` at most 60 characters."""
    to = call.params["to"]
    names = {str(i): n for n, i in org.streams.items()}
    stream = names.get(str(to), to if to in org.streams else None)
    if stream is None:
        return error(400, f"Channel '{to}' does not exist", "STREAM_DOES_NOT_EXIST", stream=to)
    topic = str(call.params.get("topic") or "")
    if not topic.strip():
        return error(400, "Missing topic")
    if len(topic) > MAX_TOPIC_LENGTH:
        # Zulip cuts it silently: the service must never rely on that.
        org.violations.append(f"a topic of {len(topic)} characters (Zulip keeps 60)")
        topic = topic[: MAX_TOPIC_LENGTH - 3] + "..."
    content = call.params["content"]
    if not content.strip():
        return error(400, "Message must not be empty")
    return ok(id=org.add_stream_message(call.user.user_id, stream, topic, content).id)


@handles("send-message")
def send_message(org: FakeZulip, call: Call) -> Answer:
    if call.params["type"] in ("stream", "channel"):
        return _send_stream_message(org, call)
    if call.params["type"] not in ("direct", "private"):
        return error(400, "Invalid message type")
    to = call.params["to"]
    to = to if isinstance(to, list) else [to]
    users = [_recipient(org, ref) for ref in to]
    refused = next((u for u in users if isinstance(u, Answer)), None)
    if refused:
        return refused
    content = call.params["content"]
    if not content.strip():
        return error(400, "Message must not be empty")
    if len(content) > MAX_MESSAGE_LENGTH:  # Zulip truncates rather than refuses
        content = content[: MAX_MESSAGE_LENGTH - 20] + "\n[message truncated]"
    message = org.add_message(call.user.user_id, [u.user_id for u in users], content)
    return ok(id=message.id)


@handles("get-stream-id")
def get_stream_id(org: FakeZulip, call: Call) -> Answer:
    """GET /get_stream_id?stream=NAME: 400 for a stream the bot cannot see."""
    name = call.params["stream"]
    if name not in org.streams:
        return error(400, f"Invalid channel name '{name}'")
    return ok(stream_id=org.streams[name])


def _narrow_filter(org: FakeZulip, me: ZUser, term: Any) -> Callable | Answer:
    if isinstance(term, list):  # legacy [operator, operand] pairs
        term = {"operator": term[0], "operand": term[1]}
    operator, operand = term["operator"], term["operand"]
    negated = bool(term.get("negated"))
    if operator == "is" and operand in ("dm", "private"):
        test = lambda m: True  # noqa: E731 - the fake holds direct messages only
    elif operator in ("dm", "pm-with"):
        refs = operand.split(",") if isinstance(operand, str) else operand
        refs = refs if isinstance(refs, list) else [refs]
        try:
            wanted = frozenset({me.user_id, *(org.user(r).user_id for r in refs)})
        except KeyError:
            return error(400, "Invalid narrow operator: unknown user")
        test = lambda m: m.recipients == wanted  # noqa: E731
    elif operator == "sender":
        try:
            sender = org.user(operand).user_id
        except KeyError:
            return error(400, "Invalid narrow operator: unknown user")
        test = lambda m: m.sender_id == sender  # noqa: E731
    else:
        org.violations.append(f"the fake Zulip does not implement the narrow {operator!r}")
        return error(400, f"Invalid narrow operator: unknown operator {operator}")
    return (lambda m: not test(m)) if negated else test


def _stream_messages(org: FakeZulip, p: dict) -> Answer:
    """GET /messages narrowed to a stream (and a sender): the newest `num_before` of them."""
    stream, sender = "", None
    for term in p.get("narrow", []):
        operator, operand = term["operator"], term["operand"]
        if operator in ("stream", "channel"):
            stream = str(operand)
        elif operator == "sender":
            sender = org.user(operand).user_id
        else:
            org.violations.append(f"the fake Zulip's stream narrow lacks {operator!r}")
            return error(400, f"Invalid narrow operator: unknown operator {operator}")
    if stream not in org.streams:
        return error(400, f"Invalid narrow operator: unknown channel {stream}")
    found = sorted(
        (m for m in org.stream_messages.values() if m.stream == stream)
        if sender is None
        else (
            m for m in org.stream_messages.values() if m.stream == stream and m.sender_id == sender
        ),
        key=lambda m: m.id,
    )
    chosen = found[-p["num_before"] :] if p["num_before"] else []
    return ok(messages=[org.stream_message_api(m) for m in chosen], found_newest=True)


@handles("get-messages")
def get_messages(org: FakeZulip, call: Call) -> Answer:
    me, p = call.user, call.params
    if any(
        t.get("operator") in ("stream", "channel")
        for t in p.get("narrow", [])
        if isinstance(t, dict)
    ):
        return _stream_messages(org, p)
    tests = [_narrow_filter(org, me, term) for term in p.get("narrow", [])]
    refused = next((t for t in tests if isinstance(t, Answer)), None)
    if refused:
        return refused
    mine = (m for m in org.messages.values() if me.user_id in m.recipients)
    found = sorted((m for m in mine if all(t(m) for t in tests)), key=lambda m: m.id)
    anchor = {"newest": 10**16, "oldest": 0}.get(p["anchor"]) or int(p["anchor"])
    before = [m for m in found if m.id < anchor][-p["num_before"] :] if p["num_before"] else []
    at = [m for m in found if m.id == anchor]
    after = [m for m in found if m.id > anchor][: p["num_after"]]
    chosen = before + at + after
    markdown = p.get("apply_markdown", True)
    return ok(
        anchor=anchor,
        found_anchor=bool(at),
        found_newest=not found or found[-1] in chosen,
        found_oldest=not found or found[0] in chosen,
        history_limited=False,
        messages=[{**org.message_api(m, markdown=markdown), "flags": ["read"]} for m in chosen],
    )


# ----- users -----------------------------------------------------------------------------------


def _one_user(org: FakeZulip, ref: str) -> Answer:
    try:
        return ok(user=org.user(ref).api())
    except KeyError:
        return error(400, "No such user")


@handles("get-user")
def get_user(org: FakeZulip, call: Call) -> Answer:
    return _one_user(org, call.path_params["user_id"])


@handles("get-user-by-email")
def get_user_by_email(org: FakeZulip, call: Call) -> Answer:
    return _one_user(org, call.path_params["email"])


@handles("get-users")
def get_users(org: FakeZulip, call: Call) -> Answer:
    return ok(members=[u.api() for u in sorted(org.users.values(), key=lambda u: u.user_id)])


# ----- user groups ------------------------------------------------------------------------------


@handles("update-user-group-members")
def update_user_group_members(org: FakeZulip, call: Call) -> Answer:
    """POST /user_groups/{id}/members `add`: bots refused before 12.0 (NOTES.md section 6).

    Up to 11.x `@require_member_or_admin` refuses every bot; from 12.0 the group's own
    setting decides ("Insufficient permission"). "User N is already a member of this group."
    is zerver/views/user_groups.py's text as recalled (the shared notes do not quote it).
    """
    if call.user.is_bot and not org.bots_manage_groups:
        return error(400, "This endpoint does not accept bot requests.")
    group = org.groups.get(int(call.path_params["user_group_id"]))
    if group is None:
        return error(400, "Invalid user group")
    if call.user.is_bot and not group.bot_may_add:
        return error(400, "Insufficient permission")
    add = [int(i) for i in call.params.get("add") or []]
    for user_id in add:
        if user_id not in org.users:
            return error(400, f"Invalid user ID: {user_id}")
        if user_id in group.members:
            return error(400, f"User {user_id} is already a member of this group.")
    for user_id in add:
        org.add_member(group.name, org.users[user_id].email)
    return ok()


# ----- events ----------------------------------------------------------------------------------


@handles("register-queue")
def register(org: FakeZulip, call: Call) -> Answer:
    event_types = call.params.get("event_types")
    fetch = call.params.get("fetch_event_types", event_types)
    queue = org.register(event_types)

    def want(key: str) -> bool:  # zerver/lib/events.py fetch_initial_state_data
        return fetch is None or key in fetch

    state: dict[str, Any] = {}
    if want("realm_user_groups"):
        state["realm_user_groups"] = [g.api() for g in org.groups.values()]
    if want("realm"):
        # Of the many realm_* settings the service reads only the organisation's language.
        state["realm_default_language"] = org.realm_default_language
    if want("realm_user"):
        users = sorted(org.users.values(), key=lambda u: u.user_id)
        state["realm_users"] = [u.api(with_active=False) for u in users if u.is_active]
        state["realm_non_active_users"] = [
            u.api(with_active=False) for u in users if not u.is_active
        ]
    return ok(
        queue_id=queue.id,
        last_event_id=-1,
        zulip_feature_level=FEATURE_LEVEL,
        zulip_version=VERSION,
        zulip_merge_base=VERSION,
        **state,
    )


def _bad_queue(queue_id: str) -> Answer:
    return error(400, f"Bad event queue ID: {queue_id}", "BAD_EVENT_QUEUE_ID", queue_id=queue_id)


@handles("get-events")
def get_events(org: FakeZulip, call: Call) -> Answer:
    queue_id = call.params["queue_id"]
    queue = org.queues.get(queue_id)
    if queue is None:
        return _bad_queue(queue_id)
    last = call.params.get("last_event_id", -1)
    queue.events = [e for e in queue.events if e["id"] > last]  # acknowledged: pruned
    if not queue.events and not call.params.get("dont_block", False):
        org.long_polls += 1
        org.changed.wait(org.longpoll_seconds)  # releases the lock while it waits
        if org.queues.get(queue_id) is not queue:
            return _bad_queue(queue_id)
        if not queue.events:
            queue.events.append({"type": LONGPOLL_HEARTBEAT, "id": queue.next_id})
            queue.next_id += 1
    return ok(events=list(queue.events), queue_id=queue_id)


@handles("delete-queue")
def delete_queue(org: FakeZulip, call: Call) -> Answer:
    if org.queues.pop(call.params["queue_id"], None) is None:
        return _bad_queue(call.params["queue_id"])
    return ok()
