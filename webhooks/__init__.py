"""Webhook receivers, one folder per forum."""
