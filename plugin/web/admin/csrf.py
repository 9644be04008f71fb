"""Synchronizer-token CSRF protection for every POST under /admin.

Each session holds one random token; every form carries it in a hidden field and the
blueprint refuses a POST whose field does not match (400). SameSite=Lax on the cookie is
defence in depth, not a replacement (docs/webhook-reliability.md §4).
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

from plugin.web.lang import gettext

FIELD = "csrf_token"


def token() -> str:
    """This session's token (created on first use); templates put it in every form."""
    value = session.get("csrf")
    if not isinstance(value, str):
        value = session["csrf"] = secrets.token_urlsafe(32)
    return value


def check() -> None:
    """Abort with 400 unless the request carries this session's token."""
    expected = session.get("csrf")
    sent = request.form.get(FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(
        expected.encode(), sent.encode("utf-8")
    ):
        abort(
            400,
            gettext("This form has expired or did not come from these pages; please try again."),
        )
