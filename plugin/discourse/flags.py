"""Reports into Discourse's review queue: the `!report` post flagged as the reporting member.

The outbox kind's payload holds the post, the member's username and the report's text until
it is sent; the outbox then keeps neither (plugin/engine/outbox.py: diagnosis_payload).
"""

from __future__ import annotations

from plugin.discourse.client import DiscourseClient
from plugin.engine.adapter import ForumAuthError, ForumRejected, SentPost, Undeliverable
from plugin.engine.outbox import Kind, SendContext


def _client(ctx: SendContext) -> DiscourseClient:
    if not isinstance(ctx.adapter, DiscourseClient):
        raise Undeliverable("a review-queue flag needs a Discourse forum")
    return ctx.adapter


def _where(payload: dict) -> SentPost:
    return SentPost(thread=str(payload.get("thread", "")), post_id=str(payload["post_id"]))


def send_flag(ctx: SendContext, payload: dict, marker: str) -> SentPost:
    """Flag the post as the member, with the report's text."""
    _client(ctx).flag_post(int(payload["post_id"]), payload["username"], payload["text"])
    return _where(payload)


def flag_again(ctx: SendContext, payload: dict, marker: str) -> SentPost:
    """An uncertain flag is sent again; "already flagged" means the first one landed.

    A flag carries no marker to look for, and Discourse lets a member flag a post once:
    a repeat is refused 403 (post_guardian.rb, post_can_act?: already_did_flagging) or 422.
    Only here, after an attempt whose outcome is unknown, does that refusal count as done.
    """
    try:
        return send_flag(ctx, payload, marker)
    except (ForumAuthError, ForumRejected) as exc:
        if exc.status in (403, 422):
            return _where(payload)
        raise


FLAG = Kind(send=send_flag, find=flag_again)
