"""Issue 9 on the pages: protective headers, hostile form values and tokens, sign-in nonces."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner

from plugin.domain.journey import FEEDBACK_DAYS
from plugin.storage.models import AdminNonce, Feedback, Signup, utcnow
from plugin.web.admin import auth
from plugin.web.app import create_app
from tests.helpers import hidden_inputs
from tests.web.admin.support import make_program, set_connect_secret, sign_in
from tests.web.pages_support import signup_path

PROTECTIVE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


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


# -- finding 6: hostile input gets a 400 with the form, never a 5xx ---------------------------


def good_form(client, path: str) -> dict[str, str]:
    """A complete, valid sign-up form as the page hands it out (with its CSRF token)."""
    page = client.get(path)
    assert page.status_code == 200
    return {
        "about": "Ten years in data engineering",
        "topics": "python, careers",
        "timezone": "Europe/Berlin",
        "age_confirmed": "on",
        "capacity": "2",
        **hidden_inputs(page.get_data(as_text=True)),
    }


def signup_state(sessions) -> tuple[str, int]:
    with sessions() as db:
        signup = db.query(Signup).one()
        return signup.state, signup.capacity


def assert_form_with_message(response, message: str) -> None:
    """400, the form itself again (to correct and resend), and the field's message."""
    body = response.get_data(as_text=True)
    assert response.status_code == 400, body[:300]
    assert '<form method="post"' in body and 'name="csrf_token"' in body
    assert message in body


HOSTILE_SIGNUP_VALUES = {
    "superscript-two-capacity": ({"capacity": "²"}, "how many mentees"),
    "arabic-indic-three-capacity": ({"capacity": "٣"}, "how many mentees"),
    "5000-digit-capacity": ({"capacity": "9" * 5000}, "how many mentees"),
    "zero-capacity": ({"capacity": "0"}, "how many mentees"),
    "eleven-capacity": ({"capacity": "11"}, "how many mentees"),
    "negative-capacity": ({"capacity": "-1"}, "how many mentees"),
    "decimal-capacity": ({"capacity": "2.5"}, "how many mentees"),
    "unknown-time-zone": ({"timezone": "Mars/Olympus_Mons"}, "time zone from the list"),
    "nul-in-time-zone": ({"timezone": "UTC\x00"}, "time zone from the list"),
    "over-long-time-zone": ({"timezone": "Europe/" + "x" * 10_000}, "time zone from the list"),
    "nul-in-about": ({"about": "a\x00b"}, "control characters"),
    "escape-codes-in-topics": ({"topics": "python\x1b[31m"}, "control characters"),
    "over-long-about": ({"about": "x" * 2001}, "under 2000 characters"),
    "over-long-topics": ({"topics": "ab, " * 200}, "under 500 characters"),
}


@pytest.mark.parametrize(
    "changes, message", HOSTILE_SIGNUP_VALUES.values(), ids=HOSTILE_SIGNUP_VALUES.keys()
)
def test_a_hostile_signup_value_is_400_with_the_form_and_a_message(
    client, sessions, signup_link, changes, message
):
    response = client.post(signup_link, data={**good_form(client, signup_link), **changes})
    assert_form_with_message(response, message)
    assert signup_state(sessions) == ("pending", 1)


def test_capacity_superscript_two_is_400_with_the_form(client, sessions, signup_link):
    response = client.post(signup_link, data={**good_form(client, signup_link), "capacity": "²"})
    assert_form_with_message(response, "Please choose how many mentees you can take (1 to 10).")
    assert signup_state(sessions) == ("pending", 1)


def test_capacity_of_5000_digits_is_400(client, sessions, signup_link):
    form = {**good_form(client, signup_link), "capacity": "1" + "0" * 4999}
    assert_form_with_message(client.post(signup_link, data=form), "1 to 10")


def test_a_capacity_from_1_to_10_is_kept(client, sessions, signup_link):
    form = {**good_form(client, signup_link), "capacity": " 10 "}
    assert client.post(signup_link, data=form).status_code == 200
    assert signup_state(sessions) == ("ready", 10)


def test_an_about_within_the_limit_counts_a_line_break_once(client, sessions, signup_link):
    # Browsers send CRLF but their maxlength counts one character: the page must agree.
    about = "\r\n".join(["x" * 99] * 20)
    form = {**good_form(client, signup_link), "about": about}
    assert client.post(signup_link, data=form).status_code == 200


ODD_FORM_BODIES = {
    "latin1-bytes-in-form": (b"about=\xe9t\xe9&capacity=\xb2", "application/x-www-form-urlencoded"),
    "percent-ff-in-form": (b"about=%FF%FE&timezone=%C0%AF", "application/x-www-form-urlencoded"),
    "utf16-charset": (
        "about=x".encode("utf-16"),
        "application/x-www-form-urlencoded; charset=utf-16",
    ),
    "broken-multipart": (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
    "multipart-without-boundary": (b"abc", "multipart/form-data"),
    "json-body": (b'{"about": ["x"], "capacity": 1e999}', "application/json"),
    "no-content-type": (b"\x00\x01\x02", ""),
}


@pytest.mark.parametrize("body, content_type", ODD_FORM_BODIES.values(), ids=ODD_FORM_BODIES.keys())
def test_an_oddly_encoded_signup_form_is_400(client, sessions, signup_link, body, content_type):
    response = client.post(signup_link, data=body, content_type=content_type)
    assert response.status_code == 400
    assert signup_state(sessions) == ("pending", 1)


HOSTILE_TOKENS = {
    "non-utf8-token": "%FF%FE%FD",
    "overlong-utf8-token": "%C0%AF%E0%80%80",
    "absurdly-long-token": "A" * 20_000,
    "nul-token": "abc%00def",
    "forged-token": "eyJzIjoxLCJ2IjoxfQ.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "dots-only-token": "....",
    "unicode-token": "%C3%BC" * 50,
    "control-chars-token": "%1B%5B31m%07",
}


@pytest.mark.parametrize("token", HOSTILE_TOKENS.values(), ids=HOSTILE_TOKENS.keys())
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_hostile_token_gets_the_link_invalid_page(
    client, signup_link, feedback_link, token, method
):
    for family in ("signup", "feedback"):
        response = client.open(f"/{family}/{token}", method=method, data={"rating": "5"})
        assert response.status_code == 404, (family, response.status_code)
        assert "This link no longer works" in response.get_data(as_text=True)
    admin = client.open(f"/admin/link/{token}", method=method)
    assert admin.status_code in {400, 404}


def test_non_utf8_signup_token_is_not_5xx(client, signup_link):
    real = signup_link.rsplit("/", 1)[1]
    # A stray byte in the signature part used to be skipped by base64 and the link opened.
    odd = ("%FF%FE", f"{real[:20]}%FF{real[20:]}", f"{real}%FF", f"{real}%ED%A0%80")
    for path in (f"/signup/{token}" for token in odd):
        assert client.get(path).status_code in {400, 404}
        assert client.post(path, data={"capacity": "²"}).status_code in {400, 404}


def feedback_form(client, path: str) -> dict[str, str]:
    page = client.get(path)
    assert page.status_code == 200
    return {"rating": "4", "comment": "thank you", **hidden_inputs(page.get_data(as_text=True))}


def saved_ratings(sessions) -> list[tuple[int, str | None]]:
    with sessions() as db:
        return [(f.rating, f.comment) for f in db.query(Feedback)]


HOSTILE_FEEDBACK_VALUES = {
    "superscript-two-rating": ({"rating": "²"}, "rating from 1 to 5"),
    "5000-digit-rating": ({"rating": "4" * 5000}, "rating from 1 to 5"),
    "zero-rating": ({"rating": "0"}, "rating from 1 to 5"),
    "nul-in-comment": ({"comment": "great\x00"}, "control characters"),
    "over-long-comment": ({"comment": "x" * 1001}, "under 1000 characters"),
}


@pytest.mark.parametrize(
    "changes, message", HOSTILE_FEEDBACK_VALUES.values(), ids=HOSTILE_FEEDBACK_VALUES.keys()
)
def test_a_hostile_feedback_value_is_400_with_the_form_and_a_message(
    client, sessions, feedback_link, changes, message
):
    response = client.post(feedback_link, data={**feedback_form(client, feedback_link), **changes})
    assert_form_with_message(response, message)
    assert saved_ratings(sessions) == []


def test_a_rating_with_a_comment_is_still_saved(client, sessions, feedback_link):
    form = {**feedback_form(client, feedback_link), "comment": "line one\r\nline two"}
    assert client.post(feedback_link, data=form).status_code == 200
    assert saved_ratings(sessions) == [(4, "line one\nline two")]


def test_signup_token_never_logged(client, app, sessions, signup_link, caplog, capsys, monkeypatch):
    token = signup_link.rsplit("/", 1)[1]
    caplog.set_level(logging.DEBUG)
    form = good_form(client, signup_link)
    for changes in (*(c for c, _ in HOSTILE_SIGNUP_VALUES.values()), {}):
        assert client.post(signup_link, data={**form, **changes}).status_code < 500
    # Even a bug's error log names the route, not the URL that holds the personal link.
    monkeypatch.setattr("plugin.web.signup_pages.save_profile", _raise)
    assert client.post(signup_link, data=form).status_code == 500
    assert "Exception on /signup/<token> [POST]" in caplog.text
    logged = caplog.text + "".join(capsys.readouterr())
    assert token not in logged
    assert token.split(".")[0] not in logged  # not even its payload part


def _raise(*args, **kwargs):
    raise RuntimeError("a bug")


# -- finding 12: anonymous sign-in starts are bounded ------------------------------------------


@pytest.fixture
def connect_forum(sessions, forum) -> int:
    """The forum with a DiscourseConnect secret and one program, so sign-ins can start."""
    set_connect_secret(sessions, forum.id)
    make_program(sessions, forum.id)
    return forum.id


def start_from(client, address: str):
    return client.get("/admin/login?forum=forum", environ_base={"REMOTE_ADDR": address})


def open_nonces(sessions) -> list[AdminNonce]:
    with sessions() as db:
        return list(db.query(AdminNonce))


def test_admin_login_nonces_are_bounded_per_client(client, app, sessions, connect_forum):
    for _ in range(auth.NONCES_PER_CLIENT):
        assert start_from(client, "203.0.113.7").status_code == 302
    refused = start_from(client, "203.0.113.7")
    assert refused.status_code == 429
    assert "Too many sign-ins" in refused.get_data(as_text=True)
    assert 0 < int(refused.headers["Retry-After"]) <= 600
    assert_protected(refused)
    assert len(open_nonces(sessions)) == auth.NONCES_PER_CLIENT  # the refusal wrote nothing
    # Someone else, elsewhere, still signs in.
    other = app.test_client()
    assert start_from(other, "198.51.100.9").status_code == 302


def test_an_ipv6_client_is_counted_by_its_slash_64(client, connect_forum):
    for n in range(auth.NONCES_PER_CLIENT):
        assert start_from(client, f"2001:db8:1:2::{n + 1:x}").status_code == 302
    assert start_from(client, "2001:db8:1:2:ffff::1").status_code == 429
    assert start_from(client, "2001:db8:1:3::1").status_code == 302


def test_expired_nonces_are_pruned(client, sessions, connect_forum, monkeypatch):
    start = utcnow()
    monkeypatch.setattr("plugin.web.admin.views.utcnow", lambda: start)
    for _ in range(auth.NONCES_PER_CLIENT):
        assert start_from(client, "203.0.113.7").status_code == 302
    assert start_from(client, "203.0.113.7").status_code == 429
    later = start + auth.NONCE_TTL + timedelta(seconds=1)
    monkeypatch.setattr("plugin.web.admin.views.utcnow", lambda: later)
    assert start_from(client, "203.0.113.7").status_code == 302
    assert len(open_nonces(sessions)) == 1  # the expired ones are gone, not just ignored


def test_a_finished_sign_in_frees_its_place(client, app, sessions, connect_forum):
    other_tab = app.test_client()
    for _ in range(auth.NONCES_PER_CLIENT - 1):
        assert start_from(other_tab, "127.0.0.1").status_code == 302
    assert sign_in(client, "alice", admin=True).status_code == 302  # the tenth, finished
    assert client.get("/admin/").status_code == 200
    assert start_from(client, "127.0.0.1").status_code == 302


def test_all_clients_together_are_capped_per_forum(client, sessions, connect_forum, monkeypatch):
    monkeypatch.setattr(auth, "NONCES_PER_FORUM", 3)
    for n in range(3):
        assert start_from(client, f"192.0.2.{n + 1}").status_code == 302
    assert start_from(client, "192.0.2.200").status_code == 429
    assert len(open_nonces(sessions)) == 3


def test_the_client_address_is_kept_only_as_a_keyed_hash(client, sessions, connect_forum):
    assert start_from(client, "198.51.100.23").status_code == 302
    (row,) = open_nonces(sessions)
    stored = " ".join(str(v) for v in vars(row).values())
    assert "198.51.100.23" not in stored
    assert hashlib.sha256(b"198.51.100.23").hexdigest() not in stored  # keyed: no lookup table
    assert len(row.client_hash) == 64


def test_an_expired_rating_link_does_not_advise_signup(client, feedback_link, monkeypatch):
    assert client.get(feedback_link).status_code == 200
    later = time.time() + (FEEDBACK_DAYS + 1) * 86400
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(later))
    for method in ("GET", "POST"):
        response = client.open(feedback_link, method=method, data={"rating": "5"})
        page = response.get_data(as_text=True)
        assert response.status_code == 404
        assert "!signup" not in page
        assert "rating link has expired" in page and "program's admins" in page
