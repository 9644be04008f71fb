"""A self-service program on Discourse, through the CLI, signed webhooks and the fake forum:
a mentee is ready, gets her directory link, filters, asks a mentor, and may not ask twice.
"""

from __future__ import annotations

import re

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
