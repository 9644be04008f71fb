"""A hand-written request check of the fake Discourse's chat routes (openapi.json lacks them).

Discourse's OpenAPI document does not list the chat plugin's API, so these routes are matched
and checked here, beside openapi_check, from the plugin's own source as stored in the public
index (discourse/discourse):

- routes: plugins/chat/config/routes.rb (index id 346490715): `post "/direct-message-channels"
  => "direct_messages#create"` and `get "/channels/:channel_id/messages" =>
  "channel_messages#index"` under /chat/api, and `post "/:chat_channel_id" =>
  "api/channel_messages#create"` under /chat; Rails also accepts a `.json` suffix.
- parameters: the `params do ... end` contracts of
  plugins/chat/app/services/chat/create_direct_message_channel.rb @ 76b4912b,
  create_message.rb @ 44362b2e and list_channel_messages.rb @ 76b4912b.

A parameter the contract does not declare, or one of the wrong type, is a violation: recorded
and answered 400 like a break of the spec. What the contract itself refuses (a blank message,
page_size over 50) is Discourse's own answer, given by the handlers in discourse_chat.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ARRAY, STRING, INTEGER, BOOLEAN = "array", "string", "integer", "boolean"


@dataclass(frozen=True)
class ChatRoute:
    """One chat endpoint: method, path pattern, its handler's name and its parameters."""

    method: str
    pattern: re.Pattern[str]
    operation_id: str
    params: Mapping[str, str]  # name -> type, as the service contract declares it
    in_query: bool = False  # GET: parameters come in the query string


def _path(template: str) -> re.Pattern[str]:
    return re.compile("^" + template + r"(?:\.json)?$")


ROUTES = (
    # Chat::Api::ChannelsController#index: the public channels the caller may see (a page).
    ChatRoute(
        "GET",
        _path("/chat/api/channels"),
        "chat.listChannels",
        {"filter": STRING, "limit": INTEGER, "offset": INTEGER, "status": STRING},
        in_query=True,
    ),
    ChatRoute(
        "POST",
        _path("/chat/api/direct-message-channels"),
        "chat.createDirectMessageChannel",
        {"target_usernames": ARRAY, "target_groups": ARRAY, "name": STRING, "upsert": BOOLEAN},
    ),
    ChatRoute(
        "GET",
        _path(r"/chat/api/channels/(?P<channel_id>[^/]+?)/messages"),
        "chat.listChannelMessages",
        {
            "page_size": INTEGER,
            "target_message_id": INTEGER,
            "direction": STRING,
            "fetch_from_last_read": BOOLEAN,
            "target_date": STRING,
        },
        in_query=True,
    ),
    ChatRoute(
        "POST",
        _path(r"/chat/(?!api(?:/|$|\.json$))(?P<chat_channel_id>[^/]+?)"),
        "chat.createMessage",
        {
            "chat_channel_id": STRING,  # the path's; some clients repeat it in the body
            "message": STRING,
            "in_reply_to_id": STRING,
            "thread_id": STRING,
            "staged_id": STRING,
            "upload_ids": ARRAY,
            "context_topic_id": INTEGER,
            "context_post_ids": ARRAY,
        },
    ),
)


@dataclass(frozen=True)
class ChatMatch:
    """A request resolved to a chat route, with the path's parameters."""

    route: ChatRoute
    path_params: dict[str, str]

    @property
    def operation_id(self) -> str:
        """The name the handler is registered under, e.g. "chat.createMessage"."""
        return self.route.operation_id


def is_chat_path(path: str) -> bool:
    """Whether the chat plugin (mounted at /chat) serves this path."""
    return path == "/chat" or path.startswith("/chat/") or path.startswith("/chat.")


def match(method: str, path: str) -> ChatMatch | None:
    """The chat route for this request, or None."""
    for route in ROUTES:
        found = route.pattern.match(path)
        if found and route.method == method:
            return ChatMatch(route, found.groupdict())
    return None


def coerce_form(form: Mapping[str, list[str]]) -> dict[str, Any]:
    """A form body as Rails reads it: `key[]` repeated is an array, else the last value wins."""
    body: dict[str, Any] = {}
    for name, values in form.items():
        if name.endswith("[]"):
            body[name[:-2]] = list(values)
        else:
            body[name] = values[-1]
    return body


def _type_ok(kind: str, value: Any) -> bool:
    """Whether a JSON or form value is what the contract's attribute type accepts as meant."""
    if kind == ARRAY:
        return isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str | int) for v in value)
        )
    if kind == INTEGER:
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None
        )
    if kind == BOOLEAN:
        return isinstance(value, bool) or value in ("true", "false", "1", "0")
    return isinstance(value, str | int) and not isinstance(value, bool)


def validate_request(
    found: ChatMatch, query: Mapping[str, list[str]], body: dict[str, Any] | None
) -> list[str]:
    """Every way this chat request breaks its service contract's declared parameters."""
    route = found.route
    where = f"{route.method} {route.operation_id}"
    if route.in_query:
        given: dict[str, Any] = {name: values[-1] for name, values in query.items()}
        if body:
            return [f"{where}: a GET carries no body"]
    else:
        given = dict(body or {})
        if query:
            given.update({name: values[-1] for name, values in query.items()})
    problems = []
    for name, value in given.items():
        kind = route.params.get(name)
        if kind is None:
            problems.append(f"{where}: parameter {name!r} is not read by Discourse")
        elif not _type_ok(kind, value):
            problems.append(f"{where}: parameter {name!r}={value!r} is not a {kind}")
    return problems
