"""The forum connection settings page (the forum's own admins only, not its moderators)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for

from plugin.forums.connections import webhook_url
from plugin.storage.db import reading, transaction
from plugin.storage.models import Forum
from plugin.web.admin.auth import current_admin
from plugin.web.admin.settings import MASK, apply, settings_of
from plugin.web.admin.views import bp, page, services


def _forum(db) -> Forum:
    admin = current_admin()
    # The API key goes wherever the URL points, and the secrets vouch for sign-ins and
    # events: only those who hold the forum's keys anyway may touch them.
    if not admin.is_forum_admin:
        abort(403, "Only the forum's admins see its connection settings.")
    return db.get(Forum, admin.forum_id)


def _page(forum: Forum, errors: dict[str, str], status: int = 200):
    base = services().config.base_url
    return page(
        "settings.html",
        status,
        forum=forum,
        settings=settings_of(forum),
        errors=errors,
        mask=MASK,
        webhook_url=webhook_url(base, forum),
        # Discourse picks the provider secret by the host of our return URL (NOTES.md §5).
        connect_host=urlsplit(base).hostname,
    )


@bp.get("/forum/settings")
def forum_settings():
    with reading(services().sessions) as db:
        return _page(_forum(db), {})


@bp.post("/forum/settings")
def forum_settings_save():
    with transaction(services().sessions) as db:
        forum = _forum(db)
        errors = apply(forum, request.form, services().config.allowed_internal_hosts)
        if errors:
            return _page(forum, errors, 400)
    flash("Settings saved.")
    return redirect(url_for("admin.forum_settings"), 303)
