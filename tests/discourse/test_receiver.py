"""The Discourse receiver: every rejection path stores nothing; events are stored once."""

from __future__ import annotations

import hmac
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from plugin.storage.models import InboxEvent
from tests.helpers import LOOPBACK, SECRET, discourse_request, fixture, pm_post, sign

URL = "/webhooks/discourse/forum"


def inbox_rows(sessions) -> list[InboxEvent]:
    with sessions() as session:
        return list(session.execute(select(InboxEvent).order_by(InboxEvent.id)).scalars())


def post(client, name, **kw):
    body, headers = discourse_request(name, **kw)
    return client.post(URL, data=body, headers=headers)


def test_core_signature_vector_matches_discourse():
    # Discourse core spec: secret my_lovely_secret_for_web_hook, body {"ping":"OK"}.
    assert sign("my_lovely_secret_for_web_hook", b'{"ping":"OK"}') == (
        "sha256=162f107f6b5022353274eb1a7197885cfd35744d8d08e5bcea025d309386b7d6"
    )


def test_signed_ping_is_acknowledged_and_not_stored(client, forum, sessions):
    response = post(client, "ping__ping")
    assert response.status_code == 200
    assert inbox_rows(sessions) == []


def test_pm_reply_is_stored(client, forum, sessions):
    response = post(client, "post__post_created")
    assert response.status_code == 200
    assert response.get_json() == {"status": "stored"}
    [row] = inbox_rows(sessions)
    assert (row.event, row.state, row.content_key) == (
        "post_created",
        "pending",
        "post_created:5123:2026-03-02T14:05:11.482Z",  # the post's id and time: the event
    )


def test_wrong_signature_is_refused_with_401_and_nothing_stored(client, forum, sessions):
    response = post(client, "post__post_created", secret="another-secret-xyz")
    assert response.status_code == 401
    assert inbox_rows(sessions) == []


def test_missing_signature_is_refused_with_401(client, forum, sessions):
    body, headers = discourse_request("post__post_created")
    del headers["X-Discourse-Event-Signature"]
    assert client.post(URL, data=body, headers=headers).status_code == 401
    assert inbox_rows(sessions) == []


def test_body_changed_by_one_byte_is_refused(client, forum, sessions):
    body, headers = discourse_request("post__post_created")
    tampered = body.replace(b'"id": 5123', b'"id": 5124')
    assert client.post(URL, data=tampered, headers=headers).status_code == 401
    assert inbox_rows(sessions) == []


def test_reserialised_json_is_refused(client, forum, sessions):
    body, headers = discourse_request("post__post_created")
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert client.post(URL, data=compact, headers=headers).status_code == 401


def test_signature_is_compared_in_constant_time(client, forum, monkeypatch):
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    post(client, "ping__ping")
    assert calls


def test_unknown_forum_is_404_and_nothing_stored(client, forum, sessions):
    body, headers = discourse_request("post__post_created")
    assert client.post("/webhooks/discourse/nosuch", data=body, headers=headers).status_code == 404
    assert inbox_rows(sessions) == []


def test_body_over_one_mib_is_413_and_nothing_stored(client, forum, sessions):
    big = pm_post(1, raw="x" * (1024 * 1024))
    body, headers = discourse_request("post__post_created", body=big)
    assert client.post(URL, data=body, headers=headers).status_code == 413
    assert inbox_rows(sessions) == []


def test_malformed_json_is_400_and_nothing_stored(client, forum, sessions):
    body, headers = discourse_request("post__post_created", body=b'{"post": {"id": 1,')
    assert client.post(URL, data=body, headers=headers).status_code == 400
    assert inbox_rows(sessions) == []


def test_json_that_is_not_an_object_is_400(client, forum, sessions):
    body, headers = discourse_request("post__post_created", body=b"[1, 2]")
    assert client.post(URL, data=body, headers=headers).status_code == 400


def test_event_lacking_what_it_needs_is_400_and_nothing_stored(client, forum, sessions):
    body = fixture("post__post_created")
    del body["post"]["topic_id"]
    response = post(client, "post__post_created", body=body)
    assert response.status_code == 400
    assert "topic_id" in response.get_json()["error"]
    assert inbox_rows(sessions) == []


def test_form_urlencoded_content_type_still_carries_json(client, forum, sessions):
    response = post(client, "post__post_created", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert len(inbox_rows(sessions)) == 1


def test_known_unused_event_is_acknowledged_and_dropped(client, forum, sessions):
    response = post(client, "topic__topic_created")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ignored"}
    assert inbox_rows(sessions) == []


def test_unknown_event_is_acknowledged_and_dropped(client, forum, sessions):
    body, headers = discourse_request("post__post_created")
    headers["X-Discourse-Event"] = "shiny_new_event"
    assert client.post(URL, data=body, headers=headers).status_code == 200
    assert inbox_rows(sessions) == []


def test_post_in_a_public_topic_is_not_stored(client, forum, sessions):
    assert post(client, "post__post_created__regular_topic").status_code == 200
    assert inbox_rows(sessions) == []


def test_bots_own_post_is_not_stored(client, forum, sessions):
    response = post(client, "post__post_created", body=pm_post(9, username="mentor_bot"))
    assert response.status_code == 200
    assert inbox_rows(sessions) == []


def test_pm_text_is_dropped_before_storing(client, forum, sessions, config):
    secret_text = "my private worries about my manager zebra-quartz"
    post(client, "post__post_created", body=pm_post(77, raw=secret_text))
    [row] = inbox_rows(sessions)
    assert "zebra-quartz" not in row.payload
    assert json.loads(row.payload) == {
        "post_id": 77,
        "topic_id": 812,
        "user_id": 42,
        "created_at": "2026-03-02T14:05:11.482Z",
    }


def test_pm_text_never_reaches_the_sqlite_file(client, forum, sessions, config):
    if not config.is_sqlite:
        pytest.skip("file check is for SQLite")
    post(client, "post__post_created", body=pm_post(78, raw="unique-phrase-walrus-7"))
    path = Path(config.database_url.removeprefix("sqlite:///"))
    data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())
    assert b"walrus-7" not in data


def test_command_text_is_kept(client, forum, sessions):
    post(client, "post__post_created__command")
    [row] = inbox_rows(sessions)
    assert json.loads(row.payload)["command"].startswith("!report they keep asking")


@pytest.mark.parametrize("word", ["erledigt", "Melden", "hilfe", "ende", "blockieren"])
def test_a_german_command_word_keeps_its_text(client, forum, sessions, word):
    post(client, "post__post_created", body=pm_post(79, raw=f"!{word} bitte"))
    [row] = inbox_rows(sessions)
    assert json.loads(row.payload)["command"] == f"!{word} bitte"


def test_a_german_word_that_is_no_alias_keeps_no_text(client, forum, sessions):
    post(client, "post__post_created", body=pm_post(80, raw="!erledigen wir das morgen"))
    [row] = inbox_rows(sessions)
    assert "command" not in json.loads(row.payload)


def test_membership_event_keeps_only_ids(client, forum, sessions):
    post(client, "group_user__user_added_to_group")
    [row] = inbox_rows(sessions)
    assert json.loads(row.payload) == {"group_id": 41, "user_id": 42}


def test_user_destroyed_keeps_only_the_id(client, forum, sessions):
    post(client, "user__user_destroyed")
    [row] = inbox_rows(sessions)
    assert json.loads(row.payload) == {"user_id": fixture("user__user_destroyed")["user"]["id"]}


def test_same_event_id_is_stored_once(client, forum, sessions):
    # An admin "redeliver" replays the stored headers and body.
    first = post(client, "post__post_created", event_id=7)
    second = post(client, "post__post_created", event_id=7)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json() == {"status": "duplicate"}
    assert len(inbox_rows(sessions)) == 1


def test_automatic_retry_with_new_event_id_is_deduplicated_by_content(client, forum, sessions):
    post(client, "post__post_created", event_id=7)
    retry = post(client, "post__post_created", event_id=8)
    assert retry.get_json() == {"status": "duplicate"}
    assert len(inbox_rows(sessions)) == 1


def test_distinct_events_with_one_reused_id_are_not_confused(client, forum, sessions):
    post(client, "post__post_created", body=pm_post(1), event_id=1)
    post(client, "post__post_created", body=pm_post(2), event_id=2)
    assert len(inbox_rows(sessions)) == 2


def test_concurrent_duplicates_store_one_row(app, forum, sessions):
    body, headers = discourse_request("post__post_created", event_id=99)
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def deliver():
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(URL, data=body, headers=headers).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 8
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(InboxEvent)).scalar_one() == 1


def test_database_down_answers_503_not_2xx(forum):
    from plugin.config import Config
    from plugin.web.app import create_app

    down = Config("postgresql+psycopg://postgres@127.0.0.1:1/none", "k", "http://x")
    body, headers = discourse_request("post__post_created")
    response = create_app(down).test_client().post(URL, data=body, headers=headers)
    assert response.status_code == 503


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_healthz_answers_503_when_the_database_is_down():
    from plugin.config import Config
    from plugin.web.app import create_app

    down = Config("postgresql+psycopg://postgres@127.0.0.1:1/none", "k", "http://x")
    assert create_app(down).test_client().get("/healthz").status_code == 503


def test_secret_is_the_forums_own(client, forum, sessions):
    body, headers = discourse_request("post__post_created", secret=SECRET + "x")
    assert client.post(URL, data=body, headers=headers).status_code == 401


def test_a_changed_webhook_secret_is_used_at_once(client, forum, sessions):
    from plugin.storage.db import transaction
    from plugin.storage.models import Forum

    assert post(client, "ping__ping").status_code == 200  # the old secret is now cached
    with transaction(sessions) as session:
        session.get(Forum, forum.id).webhook_secret = "a-brand-new-secret-456"
    response = post(client, "post__post_created", secret="a-brand-new-secret-456")
    assert response.status_code == 200


def test_a_forum_added_after_a_404_is_found_at_once(client, sessions):
    from plugin.forums.connections import add_forum
    from plugin.storage.db import transaction

    assert post(client, "ping__ping").status_code == 404
    with transaction(sessions) as session:
        add_forum(
            session,
            kind="discourse",
            name="forum",
            url="http://127.0.0.1:9",
            allowed_hosts=LOOPBACK,
            api_key="k",
            bot_user="mentor_bot",
            webhook_secret=SECRET,
        )
    assert post(client, "ping__ping").status_code == 200
