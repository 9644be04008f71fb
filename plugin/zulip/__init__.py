"""Zulip: the REST adapter, the outgoing-webhook and event minimisers, the event-queue poller."""
