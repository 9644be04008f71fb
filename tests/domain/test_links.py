"""plugin/domain/links.py: a message with a personal link is rendered in its queued language."""

from __future__ import annotations

from types import SimpleNamespace

from plugin.domain.links import link_kinds

KINDS = link_kinds({"test": lambda settings, ref: "https://example.com/t/abc"})
ARGS = {"name": "Maya", "partner": "Sam", "program": "Karriere", "days": 30}


class Adapter:
    """Records the thread the kind opens."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, str]] = []

    def open_thread(self, title, text, usernames, marker):
        self.opened.append((title, text))
        return SimpleNamespace(thread="1", post_id="1")


def _send(payload: dict) -> tuple[str, str]:
    adapter = Adapter()
    ctx = SimpleNamespace(settings=object(), adapter=adapter)
    KINDS["link_open"].send(ctx, {"usernames": ["maya"], **payload}, "marker")
    return adapter.opened[0]


def test_a_queued_link_message_is_sent_in_its_language():
    link = {"type": "test"}
    title, text = _send({"template": "rating_link", "language": "de", "args": ARGS, "link": link})
    assert title == "Wie war Karriere?" and "https://example.com/t/abc" in text


def test_a_link_message_queued_before_languages_is_sent_in_english():
    title, _ = _send({"template": "rating_link", "args": ARGS, "link": {"type": "test"}})
    assert title == "How was Karriere?"


def test_further_links_are_minted_into_their_placeholders_as_the_message_is_sent():
    kinds = link_kinds(
        {
            "test": lambda settings, ref: "https://example.com/t/abc",
            "answer": lambda settings, ref: f"https://example.com/answer/{ref['action']}",
        }
    )
    adapter = Adapter()
    payload = {
        "usernames": ["maya"],
        "template": "rating_link",
        "language": "en",
        "args": {k: v for k, v in ARGS.items() if k != "partner"},
        "link": {"type": "test"},
        "more_links": {"partner": {"type": "answer", "action": "accept"}},
    }
    kinds["link_open"].send(SimpleNamespace(settings=object(), adapter=adapter), payload, "m")
    assert "https://example.com/answer/accept" in adapter.opened[0][1]


def test_a_message_may_carry_only_further_links():
    kinds = link_kinds({"answer": lambda settings, ref: f"https://example.com/{ref['action']}"})
    adapter = Adapter()
    payload = {
        "usernames": ["maya"],
        "template": "rating_link",
        "language": "en",
        "args": {k: v for k, v in ARGS.items() if k != "partner"},
        "link": None,
        "more_links": {"partner": {"type": "answer", "action": "decline"}},
    }
    kinds["link_open"].send(SimpleNamespace(settings=object(), adapter=adapter), payload, "m")
    assert "https://example.com/decline" in adapter.opened[0][1]
