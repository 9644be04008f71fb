"""The Flask application factory (one blueprint per area)."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException

from plugin.config import Config, load_config
from plugin.forums import registry
from plugin.resources import data_path
from plugin.storage import secretbox
from plugin.storage.db import get_engine, log_database_error, reading, session_factory
from plugin.storage.secretbox import SecretError

MAX_BODY = 1024 * 1024  # 1 MiB: larger webhook bodies are refused with 413
# Pages carry personal links in their URLs and forms: never sniffed, framed or referred.
PROTECTIVE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
FRAME_BAN = "frame-ancestors 'none'"
HSTS = "max-age=31536000"  # a year; no includeSubDomains: the base URL may share a domain

health = Blueprint("health", __name__)


@dataclass(frozen=True)
class Services:
    """What request handlers share: the configuration and database sessions."""

    config: Config
    sessions: sessionmaker[Session]


@health.get("/")
def index() -> ResponseReturnValue:
    """A small page saying what this service is, linking to the admin pages."""
    return render_template("index.html")


@health.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database answers, else 503."""
    try:
        with reading(current_app.extensions["mentorship"].sessions) as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        log_database_error(logging.getLogger(__name__), "health check failed", exc)
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")


class _SessionInterface(SecureCookieSessionInterface):
    """Cookie sessions for people; none for forums' webhook calls (a hot path)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """No cookie session for webhooks; Flask's signed cookie elsewhere."""
        if request.path.startswith("/webhooks/"):
            return None  # Flask then uses its cheap null session
        return super().open_session(app, request)


class _App(Flask):
    """Flask whose error log names the route, never the URL: paths carry personal links."""

    def log_exception(self, exc_info: Any) -> None:
        """Log the failing route's rule and method, never its URL."""
        rule = request.url_rule.rule if request.url_rule else "(no route)"
        self.logger.error("Exception on %s [%s]", rule, request.method, exc_info=exc_info)


def _json_errors(exc: HTTPException) -> tuple[Response, int | None]:
    # Machines talk to this service: errors come back as JSON, never HTML pages.
    return jsonify(error=exc.description), exc.code


def _secret_unreadable(exc: SecretError) -> ResponseReturnValue:
    # The service's key is wrong, not the request: 503 tells a forum to retry later, and
    # a receiver's body stays one its forum accepts. The log never carries the value.
    logging.getLogger(__name__).error("%s %s: %s", request.method, request.path, exc)
    body = {"error": "a stored secret cannot be decrypted; the service's key is misconfigured"}
    return jsonify(registry.unavailable_body(request.path, body)), 503


def _protective_headers(response: Response, *, https: bool) -> Response:
    """Headers every answer carries, whatever view, blueprint or error produced it."""
    for name, value in PROTECTIVE_HEADERS.items():
        response.headers.setdefault(name, value)
    policy = response.headers.get("Content-Security-Policy")
    if not policy:
        response.headers["Content-Security-Policy"] = FRAME_BAN
    elif "frame-ancestors" not in policy:
        # A page's own, stricter policy stays; it only gains the framing ban.
        response.headers["Content-Security-Policy"] = f"{policy}; {FRAME_BAN}"
    if https:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def create_app(config: Config | None = None) -> Flask:
    """Build the app; with no config, read it from the environment."""
    config = config or load_config()
    secretbox.configure(config)  # Forum secrets are decrypted with these keys
    app = _App(__name__, template_folder=str(data_path("templates/pages")))
    app.config.update(
        SECRET_KEY=config.secret_key,
        # Admin session cookies signed before a key rotation stay valid while the old key is
        # listed in MENTORSHIP_PREVIOUS_SECRET_KEYS.
        SECRET_KEY_FALLBACKS=list(config.previous_secret_keys),
        MAX_CONTENT_LENGTH=MAX_BODY,
    )
    app.extensions["mentorship"] = Services(
        config, session_factory(get_engine(config.database_url))
    )
    app.session_interface = _SessionInterface()
    from plugin.web import lang, words

    lang.init_app(app)  # the pages' language: Accept-Language, or the member's
    app.jinja_env.filters["word"] = words.word
    # Flask keeps the response's own status for a None one (exc.code); its stubs refuse None.
    app.register_error_handler(HTTPException, _json_errors)  # type: ignore[arg-type]
    app.register_error_handler(SecretError, _secret_unreadable)
    https = config.base_url.lower().startswith("https://")
    app.after_request(lambda response: _protective_headers(response, https=https))

    from plugin.web import metrics
    from plugin.web.answer_pages import bp as answer_pages
    from plugin.web.directory_pages import bp as directory_pages
    from plugin.web.feedback_pages import bp as feedback_pages
    from plugin.web.signup_pages import bp as signup_pages

    app.register_blueprint(health)
    app.register_blueprint(signup_pages)
    app.register_blueprint(feedback_pages)
    app.register_blueprint(answer_pages)
    app.register_blueprint(directory_pages)
    for module in registry.receiver_modules():  # one receiver per forum kind
        app.register_blueprint(importlib.import_module(module).bp)

    from plugin.web.admin import init_app as init_admin

    init_admin(app, config)  # the admin pages and their session cookie
    metrics.init_app(app)  # GET /metrics and the counting of webhook requests
    return app
