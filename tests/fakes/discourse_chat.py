"""The fake Discourse's chat API: direct-message channels, posting and reading messages.

Discourse's openapi.json does not list the chat plugin, so routes, parameters, answers and
errors here come from the plugin's own source, read through the public code index
(repo discourse/discourse; commit ids as the index reported them):

- plugins/chat/config/routes.rb (index id 346490715): the four routes (chat_check.ROUTES).
- .../chat/api/channels_controller.rb (index id 114855666) and chat/base_controller.rb
  @ 2389bf63: the channel list, which the service reads only to ask whether it may chat.
- plugins/chat/app/controllers/chat/api_controller.rb @ 2119dcc8: every route needs chat
  (`SiteSetting.chat_enabled` off: 404; Guardian#ensure_can_chat!: 403 invalid_access).
- .../chat/api/direct_messages_controller.rb @ f79dd5c8 and
  plugins/chat/app/services/chat/create_direct_message_channel.rb @ 76b4912b (older contract
  @ 008ed490, spec create_direct_message_channel_spec.rb @ 1edb72dc): the caller is always
  among the users; unknown usernames and users whose chat is off are silently dropped
  (Chat::UsersFromUsernamesAndGroupsQuery @ 528b0545); more than two users or a name make a
  group DM, new on every call unless `upsert`; a string is split as
  ActiveSupportTypeExtensions::Array does (index id 226163410).
- .../chat/api/channel_messages_controller.rb @ 7c85135b and services/chat/create_message.rb
  @ 44362b2e: blank message 400 {"failed", "errors"}; unknown channel or no membership 404;
  model errors (Chat::Message#validate_message @ 4e89e21d: too long; the duplicate check of
  plugins/chat/lib/chat/duplicate_message_validator.rb @ 17b47f72) 422 {"errors": [...]}.
- services/chat/list_channel_messages.rb @ 76b4912b and app/queries/chat/messages_query.rb
  @ 0a9b83a6: page_size over 50 or an unknown direction 400; a non-member 403; a target
  message not in the channel 404; messages come OLDEST FIRST (the newest page, reversed).
- Texts: plugins/chat/config/locales/server.en.yml @ da88d488; settings: settings.yml @ 8f4ce598.

Not modelled: target_groups beyond plain membership, ignoring/muting, silenced users, the
per-user chat message rate limiter, threads, uploads, category (public) channels.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tests.fakes import discourse_chat_shapes as shapes
from tests.fakes.discourse_chat_state import (
    FakeChatChannel,
    can_chat,
    can_create_direct_message,
    clean,
)
from tests.fakes.discourse_routes import Answer, Call, handles, invalid_access, not_found
from tests.fakes.discourse_state import FakeUser, cook

if TYPE_CHECKING:
    from tests.fakes.discourse import FakeDiscourse

MAX_PAGE_SIZE = 50  # Chat::MessagesQuery::MAX_PAGE_SIZE
PAST_LIMIT = FUTURE_LIMIT = 25  # MessagesQuery::PAST_MESSAGE_LIMIT / FUTURE_MESSAGE_LIMIT
DIRECTIONS = ("past", "future")  # MessagesQuery::VALID_DIRECTIONS
FALSE_VALUES = {"", "0", "f", "F", "false", "FALSE", "off", "OFF"}  # ActiveModel::Type::Boolean
INVALID_DIRECT_MESSAGE = "You are not allowed to create this direct message."
ACTOR_DISALLOWED_DMS = (
    "You have chosen to prevent users from sending you personal and direct messages, so you "
    "cannot create new direct messages."
)
DUPLICATE_MESSAGE = "You posted an identical message too recently."


def contract_failed(*errors: str) -> Answer:
    """A service contract's failure: 400 failed_json.merge(errors: full_messages)."""
    return Answer(400, {"failed": "FAILED", "errors": list(errors)})


def model_errors(*errors: str) -> Answer:
    """render_json_error(errors.join(", ")): 422 {"errors": [one string]}."""
    return Answer(422, {"errors": [", ".join(errors)]})


def cast_array(value: Any) -> list[str]:
    """ActiveSupportTypeExtensions::Array: a string is split on "," (or on "|" when it has no
    comma), nothing stripped, trailing empty parts dropped as Ruby's split does."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = re.split(r",(?!.*\|)|\|(?!.*,)", value)
        while parts and parts[-1] == "":
            parts.pop()
        return parts
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def cast_boolean(value: Any) -> bool:
    """ActiveModel::Type::Boolean as a params attribute casts it."""
    return value if isinstance(value, bool) else str(value) not in FALSE_VALUES


def cast_integer(value: str | None) -> int | None:
    """ActiveModel::Type::Integer: digits, else nil."""
    return int(value) if value is not None and re.fullmatch(r"-?\d+", value) else None


def chat_refusal(fake: FakeDiscourse, call: Call) -> Answer | None:
    """Chat::ApiController's before actions: chat off 404, a user who cannot chat 403."""
    if not fake.chat.settings.enabled:
        return not_found()
    return None if can_chat(call.user) else invalid_access()


def _target_users(fake: FakeDiscourse, call: Call) -> list[FakeUser]:
    """UsersFromUsernamesAndGroupsQuery: exact usernames (the caller's included) and members of
    the named groups, among users whose chat is on; unknown names are simply not found."""
    usernames = {*cast_array(call.body.get("target_usernames")), call.user.username}
    groups = set(cast_array(call.body.get("target_groups")))
    in_groups = {u for g in fake.groups.values() if g.name in groups for u in g.members}
    found = [
        u
        for u in fake.users.values()
        if u.chat_enabled and (u.username in usernames or u.id in in_groups)
    ]
    return sorted(found, key=lambda u: u.id)


def _dm_policy_refusal(fake: FakeDiscourse, call: Call, users: list[FakeUser]) -> Answer | None:
    """The service's policies, in order, as the controller renders their failures."""
    if not can_create_direct_message(call.user):
        return Answer(400, {"error": INVALID_DIRECT_MESSAGE})
    limit = fake.chat.settings.max_direct_message_users
    others = [u for u in users if u.id != call.user.id]
    if not call.user.staff and len(others) > limit:
        reason = (
            "You can only create a direct message with yourself."
            if limit == 0
            else f"You can't create a direct message with more than {limit} other users."
        )
        return Answer(400, {"error": reason})
    if call.user.id in fake.chat.refusing_dms:
        return Answer(422, {"errors": [ACTOR_DISALLOWED_DMS]})
    refusing = next((u for u in others if u.id in fake.chat.refusing_dms), None)
    if refusing is not None:
        message = f"Sorry, {refusing.username} is not accepting messages at the moment."
        return Answer(422, {"errors": [message]})
    return None


@handles("chat.createDirectMessageChannel")
def create_direct_message_channel(fake: FakeDiscourse, call: Call) -> Answer:
    """POST /chat/api/direct-message-channels.json: the DM channel of the caller and targets."""
    refused = chat_refusal(fake, call)
    if refused is not None:
        return refused
    if not cast_array(call.body.get("target_usernames")) and not cast_array(
        call.body.get("target_groups")
    ):
        return contract_failed("Target usernames can't be blank", "Target groups can't be blank")
    users = _target_users(fake, call)
    if not users:
        return not_found()  # on_model_not_found(:target_users) raises RecordNotFound
    refused = _dm_policy_refusal(fake, call, users)
    if refused is not None:
        return refused
    name = call.body.get("name")
    ids = [u.id for u in users]
    is_group = len(ids) > 2 or bool(name and str(name).strip())
    channel = None
    if cast_boolean(call.body.get("upsert", False)) or not is_group:
        channel = fake.chat.find_direct_message(ids, is_group)
    if channel is None:
        channel = fake.chat.new_direct_message(ids, is_group, None, fake.clock())
    if name:
        channel.name = str(name)  # set_optional_name, on an existing channel too
    return Answer(200, {"channel": shapes.channel_json(fake, fake.chat, channel, call.user)})


def _channel(fake: FakeDiscourse, raw_id: str) -> FakeChatChannel | None:
    return fake.chat.channels.get(int(raw_id)) if raw_id.isdigit() else None


@handles("chat.listChannels")
def list_channels(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /chat/api/channels: the public channels the caller may see; the fake has none.

    Chat::Api::ChannelsController#index behind Chat::BaseController's before actions
    (requires_plugin: chat off 404; ensure_can_chat: 403), which is all the service asks.
    """
    refused = chat_refusal(fake, call)
    if refused is not None:
        return refused
    return Answer(200, {"channels": [], "meta": {"load_more_url": None}})


@handles("chat.createMessage")
def create_message(fake: FakeDiscourse, call: Call) -> Answer:
    """POST /chat/{channel_id}.json: a message from the caller, who must be a member."""
    refused = chat_refusal(fake, call)
    if refused is not None:
        return refused
    raw = call.body.get("message")
    if raw is None or not str(raw).strip():
        return contract_failed("Message can't be blank")
    channel = _channel(fake, call.path_params["chat_channel_id"])
    if channel is None or not channel.has_member(call.user):
        return not_found()  # on_model_not_found(:channel) / (:membership)
    text, now = clean(str(raw)), fake.clock()
    errors = []
    if fake.chat.is_duplicate(channel, call.user, text, now):
        errors.append(DUPLICATE_MESSAGE)
    maximum = fake.chat.settings.maximum_message_length
    if len(text) > maximum:
        errors.append(f"Message is too long, messages must be a maximum of {maximum} characters.")
    if errors:
        return model_errors(*errors)
    message = fake.chat.add_message(channel, call.user, text, cook(text), now)
    return Answer(200, {"success": "OK", "message_id": message.id})


@handles("chat.listChannelMessages")
def list_channel_messages(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /chat/api/channels/{channel_id}/messages: a page of messages, oldest first."""
    refused = chat_refusal(fake, call)
    if refused is not None:
        return refused
    query = {name: values[-1] for name, values in call.query.items()}
    page_size, direction = cast_integer(query.get("page_size")), query.get("direction")
    errors = []
    if page_size is not None and page_size > MAX_PAGE_SIZE:
        errors.append(f"Page size must be less than or equal to {MAX_PAGE_SIZE}")
    if direction is not None and direction not in DIRECTIONS:
        errors.append("Direction is not included in the list")
    if errors:
        return contract_failed(*errors)
    channel = _channel(fake, call.path_params["channel_id"])
    if channel is None:
        return not_found()
    if not channel.has_member(call.user):
        return invalid_access()  # on_failed_policy(:can_view_channel)
    target = cast_integer(query.get("target_message_id"))
    if cast_boolean(query.get("fetch_from_last_read", False)):
        target = channel.last_read.get(call.user.id)
    if target is not None and target not in channel.message_ids:
        return not_found()  # on_failed_policy(:target_message_exists)
    page = _page(fake, channel, target, direction, page_size)
    messages = [shapes.message_json(fake, m, call.user) for m in page.pop("messages")]
    return Answer(200, {"messages": messages, "tracking": {}, "meta": page})


def _page(
    fake: FakeDiscourse,
    channel: FakeChatChannel,
    target: int | None,
    direction: str | None,
    page_size: int | None,
) -> dict[str, Any]:
    """Chat::MessagesQuery: around a target, or a page in a direction (newest when none).

    The fake orders by (created_at, id) everywhere, so messages at one frozen clock instant
    keep their order; Discourse compares created_at alone around a target.
    """
    ordered = fake.chat.messages_in(channel)
    if target is not None and direction is None:
        at = next(i for i, m in enumerate(ordered) if m.id == target)
        past, future = (
            ordered[max(0, at - PAST_LIMIT) : at],
            ordered[at + 1 : at + 1 + FUTURE_LIMIT],
        )
        return {
            "messages": [*past, ordered[at], *future],
            "target_message_id": target,
            "can_load_more_future": len(future) == FUTURE_LIMIT,
            "can_load_more_past": len(past) == PAST_LIMIT,
        }
    size = max(0, min(page_size or MAX_PAGE_SIZE, MAX_PAGE_SIZE))
    if target is not None:
        ordered = [m for m in ordered if (m.id < target if direction == "past" else m.id > target)]
    chosen = ordered[:size] if direction == "future" else ordered[max(0, len(ordered) - size) :]
    full = len(chosen) == size
    return {
        "messages": chosen,
        "target_message_id": None,
        "can_load_more_future": full
        if direction == "future"
        else (False if not direction else None),
        "can_load_more_past": full if direction != "future" else None,
    }


# ----- test-facing helpers (FakeDiscourse delegates to these) -------------------------------


def channel_of(fake: FakeDiscourse, *usernames: str) -> FakeChatChannel | None:
    """The newest channel holding exactly these users and the bot."""
    wanted = sorted({fake.user(name).id for name in usernames} | {fake.bot["id"]})
    found = [c for c in fake.chat.channels.values() if c.user_ids == wanted]
    return max(found, key=lambda c: c.id, default=None)


def chat_as(fake: FakeDiscourse, username: str, channel_id: int, text: str) -> dict[str, Any]:
    """A member writes in the channel; the chat_message_created webhook body Discourse sends."""
    with fake.lock:
        user, channel = fake.user(username), fake.chat.channels[channel_id]
        if not channel.has_member(user):
            raise ValueError(f"{username} is not a member of chat channel {channel_id}")
        cleaned = clean(text)
        message = fake.chat.add_message(channel, user, cleaned, cook(cleaned), fake.clock())
        return shapes.webhook_body(fake, fake.chat, message)


def messages_by(fake: FakeDiscourse, username: str) -> list[str]:
    """The raw text of every chat message this user wrote, oldest first."""
    user_id = fake.user(username).id
    with fake.lock:
        return [m.message for m in fake.chat.messages.values() if m.user_id == user_id]
