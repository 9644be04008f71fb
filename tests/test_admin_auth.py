"""Admin sign-in: DiscourseConnect, one-time links, sessions, and every way in that is refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import update

from plugin.discourse import connect
from plugin.forums.connections import add_forum
from plugin.storage.db import transaction
from plugin.storage.models import AdminSession, Forum, utcnow
from plugin.web.admin.auth import LINK_SALT, Person, consume_nonce, mint_admin_link, new_nonce
from plugin.web.app import create_app
from tests.admin_support import (
    CONNECT_SECRET,
    connect_answer,
    csrf,
    decode_request,
    make_program,
    set_connect_secret,
    sign_in,
    start_sign_in,
    user_fields,
    user_id_of,
)
from tests.helpers import LOOPBACK


@pytest.fixture
def program_id(sessions, forum):
    set_connect_secret(sessions, forum.id)
    return make_program(sessions, forum.id, title="Career circle", admins=("pat",))


def signed_out(client) -> bool:
    response = client.get("/admin/")
    return response.status_code == 302 and "/admin/login" in response.headers["Location"]


# -- DiscourseConnect -------------------------------------------------------------------------


def test_login_sends_the_browser_to_the_forums_provider_with_a_signed_request(client, program_id):
    response = client.get("/admin/login?forum=forum")
    location = urlsplit(response.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert response.status_code == 302
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        "http://127.0.0.1:9/session/sso_provider"
    )
    assert query["sig"] == connect.signature(CONNECT_SECRET, query["sso"])
    fields = decode_request(response.headers["Location"])
    assert fields["return_sso_url"] == "http://127.0.0.1:8000/admin/sso/forum"
    assert len(fields["nonce"]) >= 32


def test_login_through_an_unknown_forum_is_404(client, program_id):
    assert client.get("/admin/login?forum=nowhere").status_code == 404


def test_login_through_a_forum_without_a_connect_secret_is_refused(client, sessions, forum):
    set_connect_secret(sessions, forum.id, None)
    response = client.get("/admin/login?forum=forum")
    assert response.status_code == 400
    assert "connect-secret" in response.get_data(as_text=True)


def test_login_through_a_zulip_forum_points_to_the_bang_admin_command(client, sessions):
    with transaction(sessions) as db:
        add_forum(
            db,
            kind="zulip",
            name="chat",
            url="https://chat.example.com",
            api_key="k",
            bot_user="bot@chat.example.com",
            webhook_secret="token",
        )
    response = client.get("/admin/login?forum=chat")
    assert response.status_code == 400 and "!admin" in response.get_data(as_text=True)


def test_a_forum_admin_is_signed_in_and_sent_to_the_index(client, program_id):
    response = sign_in(client, "alice", admin=True)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert "Career circle" in client.get("/admin/").get_data(as_text=True)


def test_a_forum_moderator_may_enter(client, program_id):
    sign_in(client, "mo", moderator=True)
    assert "Career circle" in client.get("/admin/").get_data(as_text=True)


def test_a_program_admin_sees_only_the_programs_they_administer(
    client, sessions, forum, program_id
):
    make_program(sessions, forum.id, title="Skills sprint", admins=("someone_else",))
    sign_in(client, "PAT")  # usernames are case-insensitive on Discourse
    page = client.get("/admin/").get_data(as_text=True)
    assert "Career circle" in page and "Skills sprint" not in page


def test_a_member_who_administers_nothing_is_refused_without_a_session(client, program_id):
    response = sign_in(client, "maya")
    assert response.status_code == 403
    assert signed_out(client)


def test_an_answer_with_a_bad_signature_is_refused(client, program_id):
    response = sign_in(client, "alice", admin=True, secret="not-the-forums-secret")
    assert response.status_code == 403 and signed_out(client)


def test_a_replayed_answer_is_refused(client, app, program_id):
    nonce, path = start_sign_in(client)
    answer = connect_answer(CONNECT_SECRET, user_fields(nonce, "alice", admin=True))
    assert client.get(path, query_string=answer).status_code == 302
    replay = app.test_client()  # even from a browser that kept the first sign-in's cookie
    with replay.session_transaction() as s:
        s["sso_nonce"] = nonce
    assert replay.get(path, query_string=answer).status_code == 403


def test_an_answer_to_a_sign_in_started_in_another_browser_is_refused(client, app, program_id):
    nonce, path = start_sign_in(client)
    answer = connect_answer(CONNECT_SECRET, user_fields(nonce, "alice", admin=True))
    victim = app.test_client()
    assert victim.get(path, query_string=answer).status_code == 403


def test_a_nonce_is_good_once(sessions, forum):
    now = utcnow()
    with transaction(sessions) as db:
        nonce = new_nonce(db, forum.id, now)
    with transaction(sessions) as db:
        first = consume_nonce(db, forum.id, nonce, now)
    with transaction(sessions) as db:
        second = consume_nonce(db, forum.id, nonce, now)
    assert (first, second) == (True, False)


def test_a_nonce_expires_after_ten_minutes(sessions, forum):
    now = utcnow()
    with transaction(sessions) as db:
        nonce = new_nonce(db, forum.id, now)
    with transaction(sessions) as db:
        assert not consume_nonce(db, forum.id, nonce, now + timedelta(minutes=10, seconds=1))


def test_a_nonce_is_good_only_for_the_forum_that_issued_it(sessions, forum):
    now = utcnow()
    with transaction(sessions) as db:
        other = add_forum(
            db,
            kind="discourse",
            name="other",
            url="http://127.0.0.1:9",
            allowed_hosts=LOOPBACK,
            api_key="k",
            bot_user="bot",
            webhook_secret="x" * 12,
        )
        nonce = new_nonce(db, forum.id, now)
    with transaction(sessions) as db:
        assert not consume_nonce(db, other.id, nonce, now)


def test_the_forums_failed_answer_is_refused(client, program_id):
    nonce, path = start_sign_in(client)
    answer = connect_answer(CONNECT_SECRET, {"nonce": nonce, "failed": "true"})
    assert client.get(path, query_string=answer).status_code == 403


# -- sessions ---------------------------------------------------------------------------------


def test_the_session_cookie_is_httponly_samesite_lax_and_only_for_admin_pages(client, program_id):
    response = sign_in(client, "alice", admin=True)
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if "mentorship_admin=" in c]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie  # MENTORSHIP_BASE_URL is http here


def test_the_session_cookie_is_secure_when_the_base_url_is_https(config, program_id):
    app = create_app(replace(config, base_url="https://mentor.example.com"))
    response = sign_in(app.test_client(), "alice", admin=True)
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if "mentorship_admin=" in c]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_signing_in_starts_a_new_session(client, program_id):
    with client.session_transaction() as s:
        s["csrf"] = "planted-by-someone-else"
    sign_in(client, "alice", admin=True)
    assert csrf(client) != "planted-by-someone-else"


def test_a_signed_out_visitor_is_sent_to_sign_in(client, program_id):
    response = client.get(f"/admin/programs/{program_id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")
    assert "Career circle" not in response.get_data(as_text=True)


def test_a_signed_out_post_is_refused(client, program_id):
    assert client.post(f"/admin/programs/{program_id}/open").status_code == 401


def test_sign_in_returns_to_the_page_asked_for(client, program_id):
    response = client.get(f"/admin/login?forum=forum&next=/admin/programs/{program_id}")
    fields = decode_request(response.headers["Location"])
    answer = connect_answer(CONNECT_SECRET, user_fields(fields["nonce"], "alice", admin=True))
    done = client.get(urlsplit(fields["return_sso_url"]).path, query_string=answer)
    assert done.headers["Location"] == f"/admin/programs/{program_id}"


def test_sign_in_never_sends_the_browser_to_another_site(client, program_id):
    response = client.get("/admin/login?forum=forum&next=//evil.example/admin/")
    fields = decode_request(response.headers["Location"])
    answer = connect_answer(CONNECT_SECRET, user_fields(fields["nonce"], "alice", admin=True))
    done = client.get(urlsplit(fields["return_sso_url"]).path, query_string=answer)
    assert done.headers["Location"] == "/admin/"


def test_sign_out_ends_the_session_even_for_a_kept_cookie(client, app, program_id):
    sign_in(client, "alice", admin=True)
    kept = client.get_cookie("mentorship_admin", path="/admin").value
    response = client.post("/admin/logout", data={"csrf_token": csrf(client)})
    assert response.status_code == 302 and signed_out(client)
    thief = app.test_client()
    thief.set_cookie("mentorship_admin", kept, path="/admin")
    assert signed_out(thief)


def test_an_expired_session_is_signed_out(client, sessions, program_id):
    sign_in(client, "alice", admin=True)
    with transaction(sessions) as db:
        db.execute(update(AdminSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert signed_out(client)


# -- one-time sign-in links (Zulip `!admin`) --------------------------------------------------


def link_path(config, sessions, username: str, *, is_forum_admin: bool = False) -> str:
    with sessions() as db:
        forum = db.query(Forum).filter_by(name="forum").one()
    person = Person(user_id_of(username), username, is_forum_admin, is_forum_admin)
    return urlsplit(mint_admin_link(config, forum, person)).path


def test_a_link_asks_before_signing_in(client, config, sessions, program_id):
    path = link_path(config, sessions, "pat")
    page = client.get(path)
    assert page.status_code == 200 and "Sign in as pat" in page.get_data(as_text=True)
    assert signed_out(client)


def test_a_link_signs_its_holder_in(client, config, sessions, program_id):
    path = link_path(config, sessions, "pat")
    token = csrf(client, path)
    response = client.post(path, data={"csrf_token": token})
    assert response.status_code == 302
    assert "Career circle" in client.get("/admin/").get_data(as_text=True)


def test_a_link_works_only_once(client, app, config, sessions, program_id):
    path = link_path(config, sessions, "pat")
    client.post(path, data={"csrf_token": csrf(client, path)})
    again = app.test_client()
    assert again.get(path).status_code == 403


def test_a_used_link_cannot_be_posted_again(client, app, config, sessions, program_id):
    path = link_path(config, sessions, "pat")
    other = app.test_client()
    other_token = csrf(other, path)  # opened in two tabs before either was used
    client.post(path, data={"csrf_token": csrf(client, path)})
    response = other.post(path, data={"csrf_token": other_token})
    assert response.status_code == 403 and signed_out(other)


def test_an_expired_link_is_refused(client, config, forum, program_id):
    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 11 * 60

    token = URLSafeTimedSerializer(config.secret_key, salt=LINK_SALT, signer=Earlier).dumps(
        {"f": forum.id, "i": user_id_of("pat"), "u": "pat", "a": False, "s": False, "j": "old"}
    )
    assert client.get(f"/admin/link/{token}").status_code == 400


def test_a_tampered_link_is_refused(client, config, sessions, program_id):
    path = link_path(config, sessions, "pat")
    assert client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 400


def test_a_link_for_someone_who_administers_nothing_is_refused(
    client, config, sessions, program_id
):
    path = link_path(config, sessions, "maya")
    response = client.post(path, data={"csrf_token": csrf(client, path)})
    assert response.status_code == 403 and signed_out(client)


def test_a_link_posted_without_the_csrf_token_is_refused(client, config, sessions, program_id):
    path = link_path(config, sessions, "pat")
    client.get(path)
    assert client.post(path).status_code == 400
    assert signed_out(client)


def test_a_link_minted_for_forum_staff_reaches_every_program(
    client, config, sessions, forum, program_id
):
    make_program(sessions, forum.id, title="Skills sprint", admins=("someone_else",))
    path = link_path(config, sessions, "owner@example.com", is_forum_admin=True)
    client.post(path, data={"csrf_token": csrf(client, path)})
    page = client.get("/admin/").get_data(as_text=True)
    assert "Career circle" in page and "Skills sprint" in page
