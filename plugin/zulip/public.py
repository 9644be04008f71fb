"""Questions a member asks publicly (`!ask`) as Zulip stream messages by the bot.

A bot cannot post as a member, so the message names them (NOTES.md section 6); a topic is at
most 60 characters, and a question leaves the pair's direct message only as a new message.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from plugin.engine.adapter import PublicQuestion

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


def stream_narrow(place: str, bot_email: str) -> list[dict[str, str]]:
    """The bot's own messages in the stream (to find a message we may already have sent)."""
    return [
        {"operator": "stream", "operand": place},
        {"operator": "sender", "operand": bot_email},
    ]
