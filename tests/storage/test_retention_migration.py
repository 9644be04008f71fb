"""Migration 0011 (retention): calls sent before it lose their bodies, in every file."""

from __future__ import annotations

import json

from sqlalchemy import text

from plugin.storage.db import get_engine, upgrade
from tests.storage.files_support import database_text
from tests.storage.migration_support import migrate

LINK = "http://127.0.0.1:8000/signup/old-token-3f9a-before-the-upgrade"


def insert_calls(url: str) -> None:
    """A sent call with a personal link in its text, and one still to send."""
    with get_engine(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO forums (name, kind, url, api_key, bot_user, webhook_secret,"
                " request_budget, created_at) VALUES ('disc', 'discourse',"
                " 'http://127.0.0.1:9', 'k', 'bot', 'w', 55, '2030-01-01 00:00:00')"
            )
        )
        for key, state in (("sent", "sent"), ("queued", "pending")):
            body = {"thread": "7", "text": f"Your link: {LINK}"}
            conn.execute(
                text(
                    "INSERT INTO outbox_messages (forum_id, key, kind, payload, state, attempts,"
                    " uncertain, run_at, created_at) VALUES (1, :key, 'post', :payload, :state,"
                    " 0, false, '1970-01-01 00:00:00', '2030-01-01 00:00:00')"
                ),
                {"key": key, "payload": json.dumps(body), "state": state},
            )


def payloads(url: str) -> dict[str, dict]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT key, payload FROM outbox_messages")).all()
    return {key: json.loads(payload) for key, payload in rows}


def test_upgrading_clears_the_bodies_of_sent_calls(empty_database_url):
    url = empty_database_url
    migrate(url, "0009")
    insert_calls(url)
    upgrade(get_engine(url))
    assert payloads(url)["sent"] == {"thread": "7", "cleared": True}


def test_upgrading_keeps_the_body_of_a_call_still_to_send(empty_database_url):
    url = empty_database_url
    migrate(url, "0009")
    insert_calls(url)
    upgrade(get_engine(url))
    assert LINK in payloads(url)["queued"]["text"]


def test_a_cleared_body_is_gone_from_the_sqlite_files_too(empty_database_url):
    url = empty_database_url
    migrate(url, "0009")
    insert_calls(url)
    with get_engine(url).begin() as conn:  # only the sent call held the link
        conn.execute(text("DELETE FROM outbox_messages WHERE key = 'queued'"))
    upgrade(get_engine(url))
    assert LINK.encode() not in database_text(url)
