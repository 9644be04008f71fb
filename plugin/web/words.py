"""The words the pages show for stored values (states, roles, health, filters).

The rows keep their English codes (`open`, `needs a check-in`); a page shows each through
the `word` filter, which finds its catalog entry here. A value not listed shows as stored.
"""

from __future__ import annotations

from plugin.i18n import N_, Text
from plugin.web import lang

_WORDS: dict[str, Text] = {
    t: t
    for t in (
        # programs, reports
        N_("draft"),
        N_("open"),
        N_("closed"),
        N_("resolved"),
        # roles and sign-ups
        N_("mentor"),
        N_("mentee"),
        N_("pending"),
        N_("ready"),
        N_("paired"),
        N_("withdrawn"),
        N_("completed"),
        # pairs and their health
        N_("active"),
        N_("paused"),
        N_("ended"),
        N_("on track"),
        N_("needs a check-in"),
        N_("silent"),
        # proposals and why (plugin/domain/drafts.py's reasons)
        N_("Shared topics"),
        N_("Time zones"),
        N_("Forum activity"),
        N_("same time zone"),
        N_("proposed"),
        N_("accepted"),
        N_("refused"),
        # report kinds
        N_("report"),
        N_("block"),
        # the sign-ups page's filters
        N_("waiting"),
        N_("profile done"),
        N_("all"),
        # outgoing webhook deliveries
        N_("sending"),
        N_("sent"),
        N_("done"),
        N_("failed"),
        N_("dead"),
        # the titles of error pages (werkzeug's names)
        N_("Bad Request"),
        N_("Unauthorized"),
        N_("Forbidden"),
        N_("Not Found"),
        N_("Method Not Allowed"),
        N_("Conflict"),
        N_("Request Entity Too Large"),
        N_("Too Many Requests"),
        N_("Internal Server Error"),
        N_("Bad Gateway"),
        N_("Service Unavailable"),
    )
}


def word(value: object) -> str:
    """A stored value in this request's language (as stored when it has no entry)."""
    text = _WORDS.get(str(value))
    return lang.shown(text) if text is not None else str(value)
