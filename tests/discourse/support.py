"""The API key and bot user the Discourse client tests and their fake forum share."""

KEY, BOT = "test-key", "mentor_bot"
