"""Who is who in the fake Zulip organisation the flow and queue tests share."""

BOT = "mentor-bot@zulip.example.com"
SAM, MAYA = "sam@example.com", "maya@example.com"
