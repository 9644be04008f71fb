"""The forum connection settings page (the forum's own admins only, not its moderators)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from plugin.forums.connections import webhook_url
from plugin.storage.db import reading, transaction
from plugin.storage.models import Forum
from plugin.web.admin.auth import signed_in_admin
from plugin.web.admin.settings import MASK, apply, settings_of
from plugin.web.admin.views import bp, page, services
from plugin.web.lang import gettext


def _forum(db: Session) -> Forum:
    admin = signed_in_admin()
    # The API key goes wherever the URL points, and the secrets vouch for sign-ins and
    # events: only those who hold the forum's keys anyway may touch them.
    if not admin.is_forum_admin:
        abort(403, gettext("Only the forum's admins see its connection settings."))
    return db.get_one(Forum, admin.forum_id)


def _page(forum: Forum, errors: dict[str, str], status: int = 200) -> ResponseReturnValue:
    base = services().config.base_url
    return page(
        "settings.html",
        status,
        forum=forum,
        settings=settings_of(forum),
        errors=errors,
        mask=MASK,
        webhook_url=webhook_url(base, forum),
        # Discourse picks the provider secret by the host of our return URL
        # (docs/forums/discourse.md §5).
        connect_host=urlsplit(base).hostname,
    )


@bp.get("/forum/settings")
def forum_settings() -> ResponseReturnValue:
    """The forum's connection settings (its admins only)."""
    with reading(services().sessions) as db:
        return _page(_forum(db), {})


@bp.post("/forum/settings")
def forum_settings_save() -> ResponseReturnValue:
    """Save the connection settings: all of them, or none with the errors."""
    with transaction(services().sessions) as db:
        forum = _forum(db)
        errors = apply(forum, request.form, services().config.allowed_internal_hosts)
        if errors:
            return _page(forum, errors, 400)
    flash(gettext("Settings saved."))
    return redirect(url_for("admin.forum_settings"), 303)
