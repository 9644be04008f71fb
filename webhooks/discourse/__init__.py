"""The Discourse webhook receiver."""

from webhooks.discourse.receiver import bp

__all__ = ["bp"]
