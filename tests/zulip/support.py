"""Who is who in the fake Zulip organisation the flow and queue tests share."""

BOT = "mentor-bot@zulip.example.com"
SAM, MAYA = "sam@example.com", "maya@example.com"


def deliver(client, payload: dict | None) -> None:
    """POST what the fake Zulip sends for a message to the bot; it must be answered 200."""
    assert payload is not None, "Zulip sends nothing for this message"
    response = client.post("/webhooks/zulip/zulip", json=payload)
    assert response.status_code == 200 and response.get_json() == {"response_not_required": True}
