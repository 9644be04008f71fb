"""Which language a member, a program or an admin's browser gets (Babel does the parsing).

The supported languages are the ones with a complete set of texts: templates/messages/<code>/,
the program templates' steps and the pages' catalog. A code names a language when Babel can
parse it; a regional one counts as its language (`de_CH`, `de-AT` and `de` are all `de`).
"""

from __future__ import annotations

from babel import Locale, UnknownLocaleError, negotiate_locale

LANGUAGES: tuple[str, ...] = ("en", "de")  # the first is the fallback for missing text
DEFAULT = LANGUAGES[0]


def language_of(code: str | None) -> str | None:
    """The supported language a locale code names (`de_CH` -> `de`), or None."""
    if not code or not isinstance(code, str) or len(code) > 35:
        return None
    try:
        locale = Locale.parse(code.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    return locale.language if locale.language in LANGUAGES else None


def for_member(member_locale: str | None, program_language: str) -> str:
    """The language a member reads: their forum account's, when supported, else the program's."""
    return language_of(member_locale) or language_of(program_language) or DEFAULT


def from_accept_language(pairs: list[tuple[str, float]]) -> str:
    """The best supported language for a browser's Accept-Language (value, quality) pairs."""
    ranked = [value for value, _q in sorted(pairs, key=lambda p: -p[1]) if value != "*"]
    # Babel's negotiation matches `de-CH` to `de` (aliases and the language part).
    found = negotiate_locale([v.replace("-", "_") for v in ranked], list(LANGUAGES), sep="_")
    return found or DEFAULT


def supported_list() -> str:
    """'en, de': for error messages."""
    return ", ".join(LANGUAGES)


class Text(str):
    """An English text that keeps its msgid and values, so a page can show it translated.

    Domain code returns these where a page shows its words (form errors); it reads as the
    English text everywhere else. Values that are Text themselves are translated too.
    """

    msgid: str
    params: dict[str, object]

    def __new__(cls, msgid: str, **params: object) -> Text:
        """The English text `msgid % params`, remembering both."""
        text = super().__new__(cls, msgid % params if params else msgid)
        text.msgid, text.params = msgid, params
        return text


def N_(msgid: str, **params: object) -> Text:  # noqa: N802 - the name gettext tools look for
    """Mark a text for the pages' catalog (Babel extracts `N_`), translated where shown."""
    return Text(msgid, **params)
