"""The fake Discourse and the service's client of it, for the client tests of this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugin.discourse.client import DiscourseClient
from tests.discourse.support import BOT, KEY
from tests.fakes.discourse import FakeDiscourse
from tests.helpers import LOOPBACK, serve_checked


@pytest.fixture
def site() -> Iterator[FakeDiscourse]:
    """A served fake Discourse with maya (42), checked against its spec afterwards; a test
    file adds what else it needs by overriding `site` with this one as its argument."""
    site = FakeDiscourse(api_key=KEY, bot_username=BOT)
    site.add_user("maya", id=42, name="Maya Lee")
    with serve_checked(site):
        yield site


@pytest.fixture
def api(site: FakeDiscourse) -> DiscourseClient:
    """The service's client of `site`, as the bot."""
    return DiscourseClient(site.url, KEY, BOT, allowed_hosts=LOOPBACK)
