"""A self-service program on Discourse, through the CLI, signed webhooks and the fake forum:
a mentee is ready, gets her directory link, filters, asks a mentor, and may not ask twice.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.domain.flow_support import deliver, fill_form, join, thread_of
from tests.helpers import hidden_inputs, pm_post, work

DIRECTORY = re.compile(r"http://127\.0\.0\.1:8000(/directory/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def program(config, sessions, client, fake, cli, live_forum) -> dict:
    """An open self-service `career` program where sam mentors and maya is a ready mentee."""
    created = cli(
        "program", "create", "--forum", "forum", "--group", "community", "--template", "career",
        "--mentor-group", "mentors", "--mentee-group", "mentees", "--self-service",
    )  # fmt: skip
    cli("program", "open", str(created["id"]))
    join(client, fake, "mentors", 43, "sam")
    join(client, fake, "mentees", 44, "maya")
    work(config, sessions)
    fill_form(client, thread_of(fake, "sam")["posts"][0], timezone="UTC")
    fill_form(client, thread_of(fake, "maya")["posts"][0], timezone="Europe/Berlin")
    work(config, sessions)
    return created


def directory_links(fake) -> list[str]:
    """Every directory link the bot sent maya, oldest first."""
    found = []
    for pm in fake.private_messages():
        if sorted(pm["participants"]) == ["maya", "mentor_bot"]:
            found += [m.group(1) for post in pm["posts"] for m in DIRECTORY.finditer(post)]
    return found


def ask(client, path: str, mentor: str, message: str = ""):
    form = hidden_inputs(client.get(path).get_data(as_text=True))
    return client.post(path, data={**form, "mentor": mentor, "message": message})


def test_program_create_self_service_says_so(program):
    assert program["self_service"] is True


def test_a_ready_mentee_is_sent_her_directory_link(client, fake, program):
    [link] = directory_links(fake)
    page = client.get(link).get_data(as_text=True)
    assert "Sam" in page and 'value="sam"' in page


def test_the_directory_filters_by_topic(client, fake, program):
    [link] = directory_links(fake)
    assert 'value="sam"' in client.get(link + "?topic=CAREER").get_data(as_text=True)
    assert 'value="sam"' not in client.get(link + "?topic=knitting").get_data(as_text=True)


def test_the_mentor_asked_gets_a_private_message_with_her_words_and_how_to_answer(
    config, sessions, client, fake, program
):
    [link] = directory_links(fake)
    assert ask(client, link, "sam", "Could we talk about interviews?").status_code == 200
    work(config, sessions)
    [request] = [p for p in thread_of_all(fake, "sam") if "!accept maya" in p["posts"][0]]
    assert "Could we talk about interviews?" in request["posts"][0]
    assert "`!decline maya`" in request["posts"][0]


def test_a_second_request_while_the_first_is_open_is_409(client, fake, program):
    [link] = directory_links(fake)
    ask(client, link, "sam")
    assert ask(client, link, "sam").status_code == 409


def test_bang_directory_in_a_message_to_the_bot_sends_a_fresh_link(
    config, sessions, client, fake, program
):
    maya = fake.user("maya").id
    topic = first_pm(fake, "maya")
    body = pm_post(9300, topic_id=topic, user_id=maya, username="maya", raw="!directory")
    deliver(client, "post__post_created", body)
    work(config, sessions)
    # A new private message to maya alone (a Discourse one may gain people later).
    sent = [p for p in thread_of_all(fake, "maya") if DIRECTORY.search(p["posts"][0])]
    assert len(sent) == 2 and "fresh link" in sent[1]["posts"][0]
    assert client.get(DIRECTORY.search(sent[1]["posts"][0]).group(1)).status_code == 200


def thread_of_all(fake, username: str) -> list[dict]:
    """Every private message between `username` and the bot alone."""
    wanted = sorted([username, "mentor_bot"])
    return [p for p in fake.private_messages() if sorted(p["participants"]) == wanted]


def first_pm(fake, username: str) -> int:
    """The topic id of the first private message the bot sent `username`."""
    return thread_of_all(fake, username)[0]["topic_id"]


# -- the mentor answers: the rest of the story ----------------------------------------------

ANSWER = re.compile(r"\[(accept|decline)\]\(http://127\.0\.0\.1:8000(/answer/[A-Za-z0-9_.\-]+)\)")


def asked(config, sessions, client, fake, program) -> str:
    """Maya asks sam through her directory; the text of the message sam gets."""
    [link] = directory_links(fake)
    assert ask(client, link, "sam", "Could we talk about interviews?").status_code == 200
    work(config, sessions)
    [request] = [p for p in thread_of_all(fake, "sam") if "!accept maya" in p["posts"][0]]
    return request["posts"][0]


def sam_says(config, sessions, client, fake, text: str) -> None:
    """Sam writes `text` in his private message with the bot."""
    topic = first_pm(fake, "sam")
    sam = fake.user("sam").id
    deliver(client, "post__post_created", pm_post(9400, topic_id=topic, user_id=sam,
                                                  username="sam", raw=text))  # fmt: skip
    work(config, sessions)


def states(cli, program) -> list[str]:
    return [r["state"] for r in cli("status", "--program", str(program["id"]))["requests"]]


def test_the_mentor_accepts_with_a_command_and_the_pair_starts(
    config, sessions, client, fake, cli, program
):
    asked(config, sessions, client, fake, program)
    sam_says(config, sessions, client, fake, "!accept maya")
    assert states(cli, program) == ["accepted"]
    assert "Step 1 of 8" in thread_of(fake, "sam", "maya")["posts"][0]


def test_the_mentor_accepts_with_the_signed_link_in_the_message(
    config, sessions, client, fake, cli, program
):
    links = dict(ANSWER.findall(asked(config, sessions, client, fake, program)))
    page = client.get(links["accept"])
    assert page.status_code == 200 and states(cli, program) == ["open"]  # opening asks first
    client.post(links["accept"], data=hidden_inputs(page.get_data(as_text=True)))
    work(config, sessions)
    assert states(cli, program) == ["accepted"]
    assert "Step 1 of 8" in thread_of(fake, "sam", "maya")["posts"][0]


def test_a_decline_tells_the_mentee_kindly_and_she_may_ask_again(
    config, sessions, client, fake, cli, program
):
    asked(config, sessions, client, fake, program)
    sam_says(config, sessions, client, fake, "!decline maya")
    assert states(cli, program) == ["declined"]
    told = [p["posts"][0] for p in thread_of_all(fake, "maya")][-1]
    assert "cannot take on a mentee" in told and "not about you" in told
    [link] = directory_links(fake)
    assert ask(client, link, "sam").status_code == 200  # no longer held by an open request
    assert states(cli, program) == ["declined", "open"]


def test_an_unanswered_request_expires_after_7_days_on_the_logical_clock(
    config, sessions, client, fake, cli, program
):
    asked(config, sessions, client, fake, program)
    work(config, sessions, datetime.now(UTC) + timedelta(days=6, hours=23))
    assert states(cli, program) == ["open"]
    work(config, sessions, datetime.now(UTC) + timedelta(days=7, minutes=1))
    assert states(cli, program) == ["expired"]
    told = [p["posts"][0] for p in thread_of_all(fake, "maya")][-1]
    assert "has expired" in told and "free to ask again" in told
