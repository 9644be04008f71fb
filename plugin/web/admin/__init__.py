"""The admin web pages (issue 6): sign-in through the forum, programs, sign-ups, matching,
pairs, reports and the forum connection settings. Plain HTML forms, no JavaScript."""

from __future__ import annotations

from flask import Flask

from plugin.config import Config
from plugin.web.admin.auth import IDLE_TTL


def init_app(app: Flask, config: Config) -> None:
    """Session cookie settings and the `admin` blueprint."""
    app.config.update(
        SESSION_COOKIE_NAME="mentorship_admin",
        # Only the admin pages use the session; other routes never receive the cookie.
        SESSION_COOKIE_PATH="/admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.base_url.lower().startswith("https://"),
        PERMANENT_SESSION_LIFETIME=IDLE_TTL,
    )
    import plugin.web.admin.hooks_views  # noqa: F401
    from plugin.web.admin import matching_views, people_views, program_views, settings_views  # noqa: F401
    from plugin.web.admin.views import bp

    app.register_blueprint(bp)
