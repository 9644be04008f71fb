"""Property tests: whatever a correctly signed sender puts in a request, no receiver answers 5xx.

Bodies are arbitrary JSON, real events with fields swapped for arbitrary values, or arbitrary
bytes; headers are arbitrary (within what HTTP can carry). Each runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.discourse.events import DISPATCH, IGNORED
from tests.helpers import fixture, pm_post
from tests.ingest_support import TOKEN, send_discourse, send_zulip, zulip_dm

PROPERTIES = settings(
    max_examples=100,
    deadline=None,
    # The app and database fixtures are set up once per backend and shared by the examples,
    # which is what we want: only the answers matter, not what earlier examples stored.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Numbers around every limit a column or the datetime module has.
EDGES = st.sampled_from(
    [0, -1, 1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63), 10**20, 253402300800]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | EDGES
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)
# Strings around what keys, columns and parsers take.
EDGE_TEXT = st.sampled_from(
    [
        "",
        "\x00",
        "\ud800",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+23:59",
        "x" * 300,
        "2026-03-02T14:05:11.482Z",
        "private",
        "private_message",
        "!report \ud800",
        "9" * 400,
    ]
)
# Field values: mostly the edges, sometimes anything at all.
FIELD = st.one_of(EDGES, EDGE_TEXT, JSON)


def nested(depth: int) -> bytes:
    """A JSON array nested `depth` deep, past Python's recursion limit when large."""
    return b"[" * depth + b"]" * depth


BYTES = st.binary(max_size=300) | st.integers(900, 200_000).map(nested)
# What HTTP header values can carry: latin-1, no control characters.
HEADER = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_categories=("Cc",)),
    max_size=80,
)
DISCOURSE_EVENTS = st.sampled_from(sorted(DISPATCH) + sorted(IGNORED)[:5]) | HEADER
DISCOURSE_FIXTURES = {
    "post_created": ("post__post_created", "post", pm_post(9001, raw="!done")),
    "user_added_to_group": ("group_user__user_added_to_group", "group_user", None),
    "user_removed_from_group": ("group_user__user_removed_from_group", "group_user", None),
    "user_destroyed": ("user__user_destroyed", "user", None),
    "chat_message_created": ("chat_message__chat_message_created", "chat_message", None),
}


def _answered(response, caplog) -> None:
    """The property: a clear answer below 500, and no traceback logged."""
    assert response.status_code < 500, response.get_data(as_text=True)
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    caplog.clear()


def _send_discourse(client, event: str, body: bytes, event_id: str):
    headers = {"X-Discourse-Event": event, "X-Discourse-Event-Id": event_id}
    return send_discourse(client, "post__post_created", body, **headers)


@PROPERTIES
@given(event=DISCOURSE_EVENTS, body=JSON, event_id=HEADER)
def test_discourse_any_signed_json_is_never_5xx(client, forum, caplog, event, body, event_id):
    raw = json.dumps(body).encode()
    _answered(_send_discourse(client, event, raw, event_id), caplog)


@PROPERTIES
@given(
    event=st.sampled_from(sorted(DISCOURSE_FIXTURES)),
    fields=st.dictionaries(
        st.sampled_from(
            [
                "id",
                "user_id",
                "topic_id",
                "group_id",
                "created_at",
                "raw",
                "username",
                "topic_archetype",
                "post_type",
            ]
        ),
        FIELD,
        min_size=1,
        max_size=3,
    ),
    event_id=HEADER,
)
def test_discourse_real_events_with_any_field_values_are_never_5xx(
    client, forum, caplog, event, fields, event_id
):
    name, key, body = DISCOURSE_FIXTURES[event]
    body = json.loads(json.dumps(body or fixture(name)))
    body[key].update(fields)
    _answered(_send_discourse(client, event, json.dumps(body).encode(), event_id), caplog)


@PROPERTIES
@given(
    part=st.sampled_from(["message", "channel", "user"]),
    fields=st.dictionaries(
        st.sampled_from(["id", "message", "created_at", "chatable_type", "username", "user"]),
        FIELD,
        min_size=1,
        max_size=3,
    ),
    event_id=HEADER,
)
def test_discourse_chat_messages_with_any_field_values_are_never_5xx(
    client, forum, caplog, part, fields, event_id
):
    body = fixture("chat_message__chat_message_created")
    chat = body["chat_message"]
    (chat["message"]["user"] if part == "user" else chat[part]).update(fields)
    raw = json.dumps(body).encode()
    _answered(_send_discourse(client, "chat_message_created", raw, event_id), caplog)


@PROPERTIES
@given(event=DISCOURSE_EVENTS, raw=BYTES)
def test_discourse_any_signed_bytes_are_never_5xx(client, forum, caplog, event, raw):
    _answered(_send_discourse(client, event, raw, "1"), caplog)


@PROPERTIES
@given(body=st.dictionaries(st.text(max_size=10), JSON, max_size=6))
def test_zulip_any_json_with_the_token_is_never_5xx(client, zforum, caplog, body):
    response = send_zulip(client, {**body, "token": TOKEN})
    assert response.is_json
    _answered(response, caplog)


@PROPERTIES
@given(
    message=st.dictionaries(
        st.sampled_from(
            ["id", "sender_id", "timestamp", "type", "display_recipient", "sender_email", "content"]
        ),
        FIELD,
        min_size=1,
        max_size=3,
    ),
    data=FIELD,
)
def test_zulip_real_messages_with_any_field_values_are_never_5xx(
    client, zforum, caplog, message, data
):
    body = zulip_dm("!done")
    body["message"].update(message)
    body["data"] = data
    response = send_zulip(client, body)
    assert response.is_json
    _answered(response, caplog)


@PROPERTIES
@given(raw=BYTES)
def test_zulip_any_bytes_are_never_5xx(client, zforum, caplog, raw):
    _answered(send_zulip(client, raw), caplog)


@pytest.fixture(autouse=True)
def _warnings_only(caplog):
    caplog.set_level(logging.WARNING)
