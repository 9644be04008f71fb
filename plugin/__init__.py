"""forum mentorship: guided mentorship programs on Discourse and Zulip forums."""

__version__ = "0.1.0"
