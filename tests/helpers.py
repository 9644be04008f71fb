"""Test helpers: Discourse-shaped webhook requests built from the named fixtures."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "webhooks" / "discourse" / "fixtures"
SECRET = "test-webhook-secret-123"
# The fakes listen on 127.0.0.1: tests allow that host explicitly, as an operator would with
# MENTORSHIP_ALLOWED_INTERNAL_HOSTS, so the forum URL rule is exercised, not bypassed.
LOOPBACK = frozenset({"127.0.0.1"})
_ids = itertools.count(1000)


def sign(secret: str, body: bytes) -> str:
    """What Discourse puts in X-Discourse-Event-Signature."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def fixture(name: str) -> dict:
    """A fixture's JSON, e.g. fixture("post__post_created")."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def event_of(name: str) -> tuple[str, str]:
    """(event type, event name) from a fixture name `type__event[__variant]`."""
    kind, event = name.split("__")[:2]
    return kind, event


def discourse_request(
    name: str,
    *,
    body: dict | bytes | None = None,
    secret: str = SECRET,
    event_id: int | None = None,
    content_type: str = "application/json",
) -> tuple[bytes, dict[str, str]]:
    """Body and headers exactly as Discourse sends the fixture's event."""
    kind, event = event_of(name)
    if body is None:
        body = fixture(name)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {
        "Content-Type": content_type,
        "User-Agent": "Discourse/3.4.0",
        "X-Discourse-Instance": "https://forum.example.com",
        "X-Discourse-Event-Id": str(event_id if event_id is not None else next(_ids)),
        "X-Discourse-Event-Type": kind,
        "X-Discourse-Event": event,
        "X-Discourse-Event-Signature": sign(secret, raw),
    }
    return raw, headers


def add_test_forum(sessions):
    """Connect a Discourse forum named `forum` whose bot is mentor_bot; the Forum row."""
    from plugin.forums.connections import add_forum
    from plugin.storage.db import transaction

    with transaction(sessions) as session:
        return add_forum(
            session,
            kind="discourse",
            name="forum",
            url="http://127.0.0.1:9",
            allowed_hosts=LOOPBACK,
            api_key="test-key",
            bot_user="mentor_bot",
            webhook_secret=SECRET,
        )


def pm_post(
    post_id: int,
    *,
    topic_id: int = 812,
    user_id: int = 42,
    raw: str = "hello",
    username: str = "maya",
    created_at: str = "2026-03-02T14:05:11.482Z",
) -> dict:
    """A post_created body for a reply in a private message."""
    body = fixture("post__post_created")
    body["post"].update(
        id=post_id,
        topic_id=topic_id,
        user_id=user_id,
        raw=raw,
        cooked=f"<p>{raw}</p>",
        username=username,
        created_at=created_at,
        updated_at=created_at,
    )
    return body


class _Hidden(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden":
            self.values[a["name"]] = a.get("value", "")


def hidden_inputs(html: str) -> dict[str, str]:
    """A page's hidden form fields (a CSRF token), as a browser would send them."""
    parser = _Hidden()
    parser.feed(html)
    return parser.values


def submit_signup(
    client,
    path: str,
    *,
    timezone: str,
    capacity: str | None = None,
    about: str = "Ten years in data engineering",
) -> None:
    """Open a sign-up link and send its form as a member would."""
    page = client.get(path)
    assert page.status_code == 200
    form = {
        "about": about,
        "topics": "python, careers",
        "timezone": timezone,
        "age_confirmed": "on",
        **hidden_inputs(page.get_data(as_text=True)),
    }
    if capacity:
        form["capacity"] = capacity
    response = client.post(path, data=form)
    assert response.status_code == 200, response.get_data(as_text=True)


def daytime_zone(at: datetime) -> str:
    """An Etc/GMT zone where `at` falls at about 14:00, outside quiet hours."""
    offset = (14 - at.hour) % 24
    offset = offset - 24 if offset > 12 else offset
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
