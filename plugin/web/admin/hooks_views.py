"""The outgoing webhooks page: every hook and its recent delivery outcomes (forum admins only).

Hooks are service-wide: each hears every program's events, this forum's included. So a
forum's admins see all of them, to know where their members' events go; moderators and
program admins do not, as with the connection settings. The page shows where a hook points
without its query string (which may carry a token) and never a secret or a delivery's body.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import abort
from flask.typing import ResponseReturnValue

from plugin.engine import hooks
from plugin.storage.db import reading
from plugin.storage.webhooks import WebHook
from plugin.web.admin.auth import signed_in_admin
from plugin.web.admin.views import bp, page, services
from plugin.web.lang import gettext

RECENT = 50


def shown_url(url: str) -> str:
    """A hook's URL as the page shows it: scheme, host and path, no query or fragment."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _hook_row(hook: WebHook) -> dict[str, Any]:
    return {"id": hook.id, "url": shown_url(hook.url), "events": hooks.events_of(hook)}


@bp.get("/forum/hooks")
def forum_hooks() -> ResponseReturnValue:
    """Outgoing webhooks and their latest deliveries (the forum's admins only)."""
    if not signed_in_admin().is_forum_admin:
        abort(403, gettext("Only the forum's admins see the outgoing webhooks."))
    with reading(services().sessions) as db:
        rows = [_hook_row(h) for h in hooks.list_hooks(db)]
        deliveries = [
            {
                "hook": d.hook_id,
                "type": d.event_type,
                "created_at": d.created_at,
                "state": d.state,
                "attempts": d.attempts,
                "status_code": d.status_code,
                "error": d.last_error,
            }
            for d in hooks.recent_deliveries(db, RECENT)
        ]
    return page("hooks.html", hooks=rows, deliveries=deliveries)
