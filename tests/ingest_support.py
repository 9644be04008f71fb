"""Shared by the ingest security tests: a Zulip forum, signed requests for both receivers."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from plugin.storage.models import InboxEvent
from tests.helpers import LOOPBACK, SECRET, discourse_request, sign

ZULIP_FIXTURES = Path(__file__).resolve().parents[1] / "webhooks" / "zulip" / "fixtures"
TOKEN = "xvOzfurIutdRRVLzpXrIIHXJvNfaJLJ0"  # the Zulip fixtures' token
ZULIP_BOT = "outgoing-bot@localhost"
DISCOURSE_URL = "/webhooks/discourse/forum"
ZULIP_URL = "/webhooks/zulip/zulip"


def add_zulip_forum(sessions):
    """A Zulip forum named `zulip` whose outgoing webhook uses the fixtures' token."""
    from plugin.forums.connections import add_forum
    from plugin.storage.db import transaction

    with transaction(sessions) as session:
        return add_forum(
            session,
            kind="zulip",
            name="zulip",
            url="http://127.0.0.1:9",
            allowed_hosts=LOOPBACK,
            api_key="test-key",
            bot_user=ZULIP_BOT,
            webhook_secret=TOKEN,
        )


def zulip_dm(text: str = "Hi mentor bot", *, one_to_one: bool = False, **message) -> dict:
    """The fixture's group DM (Iago 5, Hamlet 10, the bot 25), or Iago to the bot alone."""
    body = json.loads((ZULIP_FIXTURES / "direct_message__group_dm.json").read_text())
    body["data"] = body["message"]["content"] = text
    body["message"]["rendered_content"] = f"<p>{text}</p>"
    if one_to_one:
        people = body["message"]["display_recipient"]
        body["message"]["display_recipient"] = [p for p in people if p["id"] != 10]
    body["message"].update(message)
    return body


def send_zulip(client, body: dict | bytes, url: str = ZULIP_URL):
    """POST a Zulip outgoing-webhook request."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "ZulipOutgoingWebhook/9.0"}
    return client.post(url, data=raw, headers=headers)


def send_discourse(
    client, name: str, body: dict | bytes | None = None, *, secret: str = SECRET, **headers
):
    """POST a Discourse webhook signed with `secret`; keyword headers override its own."""
    raw, sent = discourse_request(name, body=body, secret=secret)
    sent.update(headers)
    sent["X-Discourse-Event-Signature"] = sign(secret, raw)
    return client.post(DISCOURSE_URL, data=raw, headers=sent)


def inbox_rows(sessions) -> list[InboxEvent]:
    """Every stored event, oldest first."""
    with sessions() as session:
        return list(session.execute(select(InboxEvent).order_by(InboxEvent.id)).scalars())


def stored_payload(sessions) -> dict:
    """The one stored event's payload."""
    [row] = inbox_rows(sessions)
    return json.loads(row.payload)
