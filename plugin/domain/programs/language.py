"""A new program's language: the one asked for, else the forum's own, else English."""

from __future__ import annotations

from plugin.engine.adapter import ForumAdapter, ForumError
from plugin.forums.connections import InputError
from plugin.i18n import DEFAULT, language_of, supported_list


def program_language(adapter: ForumAdapter | None, requested: str | None) -> str:
    """`requested` when it names a supported language (else InputError); else the forum's."""
    if requested is not None:
        found = language_of(requested)
        if found is None:
            raise InputError(
                f"--language {requested!r} is not a supported language: use one of "
                f"{supported_list()}"
            )
        return found
    if adapter is None:
        return DEFAULT
    try:
        return language_of(adapter.default_language()) or DEFAULT
    except ForumError:
        # The forum's language is a default, not a requirement: a program still starts.
        return DEFAULT
