"""The program story's steps, shared by the Discourse flow and journey tests."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from plugin.domain.pairs import quiet_until
from plugin.resources import data_path
from plugin.storage.db import transaction
from plugin.storage.models import Pair, Program
from tests.helpers import LINK, daytime_zone, discourse_request, pm_post, submit_signup, work

_post_ids = iter(range(20_000, 30_000))


def deliver(client, name: str, body: dict) -> None:
    raw, headers = discourse_request(name, body=body)
    response = client.post("/webhooks/discourse/forum", data=raw, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)


def join(client, fake, group: str, group_id: int, username: str) -> None:
    fake.add_member(group, username)
    user_id = fake.user(username).id
    deliver(
        client,
        "group_user__user_added_to_group",
        {
            "group_user": {
                "id": user_id * 100 + group_id,
                "group_id": group_id,
                "user_id": user_id,
                "notification_level": 3,
                "created_at": "2026-03-01T09:00:00.123Z",
            }
        },
    )


def fill_form(
    client,
    pm_text: str,
    *,
    timezone: str,
    capacity: str | None = None,
    about: str = "Ten years in data engineering",
) -> None:
    submit_signup(
        client, LINK.search(pm_text).group(1), timezone=timezone, capacity=capacity, about=about
    )


def thread_of(fake, *usernames: str) -> dict:
    wanted = sorted([*usernames, "mentor_bot"])
    [pm] = [p for p in fake.private_messages() if sorted(p["participants"]) == wanted]
    return pm


def ready_pair(config, sessions, client, fake, cli, pid, zone_hour: int = 14) -> None:
    join(client, fake, "mentors", 43, "sam")
    join(client, fake, "mentees", 44, "maya")
    work(config, sessions)
    start = datetime.now(UTC) + timedelta(days=1)
    zone = daytime_zone(start - timedelta(hours=zone_hour - 14))
    fill_form(
        client,
        thread_of(fake, "sam")["posts"][0],
        timezone="UTC",
        about="Ten years in data engineering",
    )
    fill_form(
        client,
        thread_of(fake, "maya")["posts"][0],
        timezone=zone,
        about="Switching careers from teaching",
    )
    cli("pair", "--program", pid, "--mentor", "sam", "--mentee", "maya")
    work(config, sessions)


def say(client, fake, username: str, text: str, *, topic_id=None, at="2030-01-01T10:00:00Z"):
    """A member posts in the pair thread (or another topic)."""
    topic = topic_id or thread_of(fake, "sam", "maya")["topic_id"]
    user = fake.user(username)
    deliver(
        client,
        "post__post_created",
        pm_post(
            next(_post_ids),
            topic_id=topic,
            user_id=user.id,
            username=username,
            raw=text,
            created_at=at,
        ),
    )


def posts(fake) -> list[str]:
    """The posts of sam and maya's pair thread, oldest first."""
    return thread_of(fake, "sam", "maya")["posts"]


def awake(sessions, at: datetime) -> datetime:
    """`at`, or the end of the mentee's quiet hours if `at` falls inside them."""
    with sessions() as session:
        pair = session.execute(select(Pair)).scalar_one()
        program = pair.program
        quiet = quiet_until(at, pair.mentee.timezone, program.quiet_start, program.quiet_end)
    return at if quiet is None else quiet + timedelta(minutes=1)


def public_topics(fake) -> list:
    """The forum's topics that are not private messages (where `!ask` posts)."""
    return [t for t in fake.topics.values() if t.archetype != "private_message"]


def give_public_category(sessions, category_id: int) -> None:
    """The one program's `!ask` place becomes this category."""
    with transaction(sessions) as session:
        session.execute(select(Program)).scalar_one().public_category = category_id


def undeclared_calls(fake) -> set[tuple[str, str]]:
    """The (method, path) of every call the fake Discourse answered that manifest.json's
    `api_permissions.calls` does not declare (a path template's `{name}` is one segment)."""
    manifest = json.loads(data_path("manifest.json").read_text(encoding="utf-8"))
    declared = [
        (c["method"], re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(c["path"])) + "$"))
        for c in manifest["forums"]["discourse"]["api_permissions"]["calls"]
    ]
    made = {(r.method, r.path) for r in fake.requests}
    return {(m, p) for m, p in made if not any(m == dm and pat.match(p) for dm, pat in declared)}


def admin_pms(fake) -> list[dict]:
    """The private messages to the program's admins (alice administers the fake forum)."""
    return [p for p in fake.private_messages() if "alice" in p["participants"]]
