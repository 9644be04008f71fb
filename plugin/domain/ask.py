"""`!ask TEXT`: a member's question, posted where the program's community can answer it.

Only the question leaves the pair's space: it is queued as one outbox row (whose body is
dropped once sent or given up), and the pair's thread gets the public link, or the forum's
reason for refusing it. Nothing else of the pair's conversation is read or stored.
"""

from __future__ import annotations

import json
import re

from sqlalchemy.orm import Session

from plugin.domain.messages import render
from plugin.domain.pairs import mention_of, post_to_pair
from plugin.engine.adapter import ForumAuthError, ForumRejected, PublicQuestion, SentPost
from plugin.engine.outbox import Kind, SendContext, enqueue
from plugin.storage.models import Member, OutboxMessage, Pair, Program

MIN_TITLE = 15  # Discourse's min_topic_title_length default (NOTES.md section 7)
MAX_TITLE = 60  # a Zulip topic's limit; a readable topic title on Discourse too
# "Discourse answered 422 to POST /posts.json: reason", "Zulip answered 400 CODE to ...: reason"
FORUM_REASON = re.compile(r"answered \d+ (?:\S+ )?to [A-Z]+ \S+: (.+)$", re.S)


def public_place(program: Program) -> str | None:
    """Where the program's questions go: a category id or a stream name; None: nowhere."""
    if program.public_stream:
        return program.public_stream
    return str(program.public_category) if program.public_category is not None else None


def first_words(text: str, limit: int = MAX_TITLE) -> str:
    """The text's first words on one line, cut at a word within `limit` characters."""
    words = " ".join(text.split())
    if len(words) <= limit:
        return words
    cut = words[: limit - 1].rsplit(" ", 1)[0] if " " in words[: limit - 1] else words[: limit - 1]
    return cut.rstrip() + "…"


def title_for(text: str, program: Program) -> str:
    """A title from the question's first words, long enough for the forum's minimum."""
    title = first_words(text)
    if len(title) >= MIN_TITLE:
        return title
    # Too short for Discourse: say whose question it is, in the public's language.
    words = first_words(text, max(MAX_TITLE - len(program.title) - 20, 10))
    return first_words(
        render("ask_title", program.language, program=program.title, words=words).text
    )


def queue_question(
    session: Session,
    pair: Pair,
    program: Program,
    member: Member,
    text: str,
    key: str,
    language: str,
) -> str | None:
    """Queue the public question; the answer to post at once instead, if it cannot go."""
    place = public_place(program)
    if place is None:
        return render("ask_no_place", language).text
    if not text.strip():
        return render("ask_empty", language).text
    intro = render("ask_intro", program.language, member=mention_of(session, member))
    enqueue(
        session,
        forum_id=pair.forum_id,
        key=f"ask:{pair.id}:{key}",
        kind="ask_public",
        payload={
            "pair_id": pair.id,
            "place": place,
            "author": member.username,
            "title": title_for(text, program),
            "text": text,
            "intro": intro.text,
            "language": language,
        },
    )
    return None


def forum_reason(error: str) -> str:
    """The forum's own words in a stored error, else the error as it is."""
    match = FORUM_REASON.search(error)
    return (match.group(1) if match else error).strip()


def _question(payload: dict) -> PublicQuestion:
    return PublicQuestion(payload["author"], payload["title"], payload["text"], payload["intro"])


def _asked(session: Session, row: OutboxMessage, payload: dict, sent: SentPost) -> None:
    """The question is public: its link goes to the pair's thread."""
    pair = session.get(Pair, payload["pair_id"])
    if pair is not None:
        text = render("ask_posted", payload["language"], link=sent.thread).text
        post_to_pair(session, pair, f"asked:{row.key}", text)
    # The address carries the question's first words (a slug, a Zulip topic): the sent row
    # keeps where it went by the post's id alone, like every other body it drops.
    row.result = json.dumps({"thread": "", "post_id": sent.post_id})


def _refused(session: Session, row: OutboxMessage, payload: dict, error: str) -> None:
    """The forum would not take the question: its reason goes to the pair's thread."""
    pair = session.get(Pair, payload["pair_id"])
    if pair is not None:
        text = render("ask_refused", payload["language"], reason=forum_reason(error)).text
        post_to_pair(session, pair, f"ask-refused:{row.key}", text)


def _send(ctx: SendContext, payload: dict, marker: str) -> SentPost:
    try:
        return ctx.adapter.ask_publicly(payload["place"], _question(payload), marker)
    except ForumAuthError as exc:
        # Acting as the member, a 403 is the place refusing them (a read-restricted
        # category): asking again will not change it, and the pair is told why.
        raise ForumRejected(str(exc), status=exc.status, errors=exc.errors) from None


def _find(ctx: SendContext, payload: dict, marker: str) -> SentPost | None:
    return ctx.adapter.find_public(payload["place"], _question(payload), marker)


ASK_KINDS: dict[str, Kind] = {
    "ask_public": Kind(send=_send, find=_find, on_sent=_asked, on_dead=_refused),
}
