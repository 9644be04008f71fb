"""The outgoing webhooks admin page: hooks and recent outcomes, for forum admins only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from plugin.engine import hooks
from plugin.storage.db import transaction
from tests.helpers import LOOPBACK
from tests.web.admin.support import sign_in, text

PAGE = "/admin/forum/hooks"
URL = "https://hooks.example.com/in?token=s3cret-token"


@pytest.fixture
def hook(sessions) -> str:
    """A hook with one pending delivery naming a member; its secret."""
    with transaction(sessions) as session:
        added = hooks.add_hook(session, URL, ["pair.created"], LOOPBACK)
        data = {"pair": 3, "mentor": "sammy-mentor"}
        hooks.enqueue_event(session, "pair.created", data, datetime.now(UTC))
        return added.secret


@pytest.fixture
def staff(client, program_id):
    sign_in(client, "alice", admin=True)
    return client


def test_forum_admins_see_each_hook_without_its_query_or_secret(staff, hook):
    page = text(staff.get(PAGE))
    assert "https://hooks.example.com/in" in page and "pair.created" in page
    assert "s3cret-token" not in page and hook not in page


def test_forum_admins_see_recent_delivery_outcomes_but_not_their_data(staff, hook):
    page = text(staff.get(PAGE))
    assert "pending" in page and "sammy-mentor" not in page


def test_the_header_links_forum_admins_to_the_page(staff):
    assert f'href="{PAGE}"' in text(staff.get("/admin/"))


def test_program_admins_may_not_see_the_page(client, program_id, hook):
    sign_in(client, "pat")
    assert client.get(PAGE).status_code == 403


def test_moderators_may_not_see_the_page(client, program_id, hook):
    sign_in(client, "mo", moderator=True)
    assert client.get(PAGE).status_code == 403
