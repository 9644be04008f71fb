"""The Zulip outgoing-webhook receiver."""

from webhooks.zulip.receiver import bp

__all__ = ["bp"]
