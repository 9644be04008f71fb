"""Commands that manage programs, pairs and matching (filled in by the program flow)."""

from __future__ import annotations


def register(top, leaf) -> None:
    """Add this module's subcommands to the parser."""
