"""Discourse: the API adapter and what its webhooks mean."""
