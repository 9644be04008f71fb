"""The fake Zulip organisation of the community, shared by the flow and queue tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.zulip import FakeZulip
from tests.fakes.zulip_state import ADMIN
from tests.helpers import serve_checked
from tests.zulip.support import BOT, MAYA, SAM


@pytest.fixture
def zulip() -> Iterator[FakeZulip]:
    """The community's Zulip, served and checked against zulip.yaml afterwards.

    alice (5) administers it; sam (41) and maya (42) are in `community` (40) with
    `mentors` (43) and `mentees` (44) still empty.
    """
    zulip = FakeZulip(api_key="test-key", bot_email=BOT)
    zulip.add_user("alice@example.com", id=5, full_name="Alice Admin", role=ADMIN)
    zulip.add_user(SAM, id=41, full_name="Sam Rivera")
    zulip.add_user(MAYA, id=42, full_name="Maya Lee")
    zulip.add_group("community", id=40, members=[SAM, MAYA, "alice@example.com"])
    zulip.add_group("mentors", id=43)
    zulip.add_group("mentees", id=44)
    with serve_checked(zulip):
        yield zulip
