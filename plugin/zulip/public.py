"""Questions a member asks publicly (`!ask`) as Zulip stream messages by the bot.

A bot cannot post as a member, so the message names them (NOTES.md section 6); a topic is at
most 60 characters, and a question leaves the pair's direct message only as a new message.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from plugin.engine.adapter import PublicQuestion, SentPost

MAX_TOPIC = 60  # Zulip's max_topic_length: longer topics are cut by the server


def topic_of(question: PublicQuestion) -> str:
    """The question's title as a Zulip topic: at most 60 characters."""
    title = " ".join(question.title.split())
    return title if len(title) <= MAX_TOPIC else title[: MAX_TOPIC - 1].rstrip() + "…"


def content_of(question: PublicQuestion, marker_line: str) -> str:
    """The message: the line naming the member, their question, and our marker."""
    return f"{question.intro}\n\n{question.text}\n\n{marker_line}"


def stream_message(place: str, question: PublicQuestion, marker_line: str) -> dict[str, str]:
    """POST /messages parameters of a stream message (`type=stream` works on every release)."""
    return {
        "type": "stream",
        # `to` is read as JSON (zulip.yaml): a stream name goes as a JSON string.
        "to": json.dumps(place),
        "topic": topic_of(question),
        "content": content_of(question, marker_line),
    }


def hash_part(text: str) -> str:
    """Zulip's hash encoding (web/src/hash_util.ts): URI-encoded, `.` for `%`."""
    return quote(text, safe="!~*'()").replace(".", "%2E").replace("%", ".")


def narrow_url(base_url: str, stream: str, topic: str, message_id: int | str) -> str:
    """A browser link to one stream message in its topic."""
    return (
        f"{base_url}/#narrow/stream/{hash_part(stream)}/topic/{hash_part(topic)}"
        f"/near/{int(message_id)}"
    )


def recent_params(place: str, bot_email: str, limit: int) -> dict[str, Any]:
    """GET /messages parameters: the bot's latest messages in the stream, as raw Markdown."""
    return {
        "anchor": "newest",
        "num_before": limit,
        "num_after": 0,
        "narrow": [
            {"operator": "stream", "operand": place},
            {"operator": "sender", "operand": bot_email},
        ],
        "apply_markdown": False,  # raw Markdown: the marker line as we wrote it
    }


def found(
    base_url: str, place: str, question: PublicQuestion, messages: list[dict], marker_line: str
) -> SentPost | None:
    """The message carrying our marker line, at its web address, if any."""
    for message in messages:
        if marker_line in (message.get("content") or ""):
            topic = str(message.get("subject") or topic_of(question))
            url = narrow_url(base_url, place, topic, message["id"])
            return SentPost(thread=url, post_id=str(message["id"]))
    return None
