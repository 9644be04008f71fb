"""Issue 9 on the pages: protective headers, hostile form values and tokens, sign-in nonces."""

from __future__ import annotations

from dataclasses import replace

import pytest

from plugin.app import create_app
from tests.admin_support import make_program, set_connect_secret, sign_in
from tests.helpers import hidden_inputs
from tests.pages_support import feedback_path, signup_path

PROTECTIVE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@pytest.fixture
def signup_link(sessions, config, forum) -> str:
    return signup_path(sessions, config.secret_key, forum.id)


@pytest.fixture
def feedback_link(sessions, config, forum) -> str:
    return feedback_path(sessions, config.secret_key, forum.id)


def assert_protected(response) -> None:
    """nosniff, no referrer, and framing banned both ways (old and new browsers)."""
    for name, value in PROTECTIVE.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    assert "frame-ancestors 'none'" in response.headers.get("Content-Security-Policy", "")


# -- finding 11: protective headers on every page ---------------------------------------------


def every_route_family(client, signup_link: str, feedback_link: str):
    """(name, response) for one request of each kind a browser can make here."""
    yield "root", client.get("/")
    yield "health", client.get("/healthz")
    yield "signup", client.get(signup_link)
    yield "signup-invalid", client.get("/signup/not-a-token")
    yield "signup-post-400", client.post(signup_link, data={"capacity": "x"})
    yield "feedback", client.get(feedback_link)
    yield "feedback-invalid", client.get("/feedback/not-a-token")
    yield "directory", client.get("/directory/not-a-token")
    yield "admin-login", client.get("/admin/login")
    yield "admin-redirect", client.get("/admin/")
    yield "admin-link-invalid", client.get("/admin/link/not-a-token")
    yield "not-found", client.get("/no/such/page")
    yield "method-not-allowed", client.delete("/healthz")
    yield "webhook", client.post("/webhooks/discourse/nowhere", data=b"{}")


def test_every_page_sends_protective_headers(client, sessions, forum, signup_link, feedback_link):
    for name, response in every_route_family(client, signup_link, feedback_link):
        assert response.status_code < 500, name
        assert_protected(response)
    set_connect_secret(sessions, forum.id)
    make_program(sessions, forum.id)
    assert sign_in(client, "alice", admin=True).status_code == 302
    index = client.get("/admin/")
    assert index.status_code == 200
    assert_protected(index)
    # The admin pages keep their own, stricter policy (no scripts at all).
    assert "default-src 'none'" in index.headers["Content-Security-Policy"]


def test_a_server_error_page_sends_protective_headers(config):
    app = create_app(config)

    @app.get("/boom")
    def boom():
        raise RuntimeError("a bug")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert_protected(response)


def test_hsts_only_over_https(config, forum, sessions):
    token_path = signup_path(sessions, config.secret_key, forum.id)
    plain = create_app(config).test_client()
    secure = create_app(replace(config, base_url="https://mentors.example.com")).test_client()
    for path in (token_path, "/admin/login", "/no/such/page"):
        assert "Strict-Transport-Security" not in plain.get(path).headers
        hsts = secure.get(path).headers.get("Strict-Transport-Security", "")
        assert hsts.startswith("max-age=") and int(hsts.split("=")[1].split(";")[0]) >= 86400 * 180


def test_the_signup_form_still_works_with_the_headers(client, signup_link):
    page = client.get(signup_link)
    form = {
        "about": "Ten years in data engineering",
        "topics": "python",
        "timezone": "Europe/Berlin",
        "age_confirmed": "on",
        "capacity": "2",
        **hidden_inputs(page.get_data(as_text=True)),
    }
    saved = client.post(signup_link, data=form)
    assert saved.status_code == 200
    assert_protected(saved)
