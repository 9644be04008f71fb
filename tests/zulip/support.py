"""Who is who in the fake Zulip organisation the flow and queue tests share."""

from __future__ import annotations

from tests.helpers import LINK, submit_signup, work

BOT = "mentor-bot@zulip.example.com"
SAM, MAYA = "sam@example.com", "maya@example.com"


def deliver(client, payload: dict | None) -> None:
    """POST what the fake Zulip sends for a message to the bot; it must be answered 200."""
    assert payload is not None, "Zulip sends nothing for this message"
    response = client.post("/webhooks/zulip/zulip", json=payload)
    assert response.status_code == 200 and response.get_json() == {"response_not_required": True}


def pair_sam_and_maya(config, sessions, client, zulip, cli, pid: str, zones: tuple[str, str]):
    """Sam (mentor) and Maya (mentee) join, fill their sign-up forms in these time zones
    (Sam's first) and are paired by hand; the worker then opens their conversation."""
    zulip.add_member("mentors", SAM)
    zulip.add_member("mentees", MAYA)
    work(config, sessions)
    for member, zone in zip((SAM, MAYA), zones, strict=True):
        submit_signup(client, LINK.search(zulip.texts(member)[0]).group(1), timezone=zone)
    cli("pair", "--program", pid, "--mentor", SAM, "--mentee", MAYA)
    work(config, sessions)
