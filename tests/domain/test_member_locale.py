"""A member's own language comes from their Discourse account (issue 13): the user `locale`
where the site allows user locales, kept only when supported, and followed when it changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from plugin.domain.handlers import reconcile_now
from plugin.engine.clock import Clock
from plugin.forums.connections import adapter_factory
from plugin.storage.db import reading
from plugin.storage.models import Member, utcnow
from tests.domain.flow_support import join
from tests.helpers import work

MAYA_ID = 42


def locale_of(sessions, forum_id: int, user_id: int = MAYA_ID) -> str | None:
    with reading(sessions) as session:
        return session.execute(
            select(Member.locale).where(
                Member.forum_id == forum_id, Member.forum_user_id == user_id
            )
        ).scalar_one()


def joined(config, sessions, client, fake, group: str = "mentees", group_id: int = 44) -> None:
    join(client, fake, group, group_id, "maya")
    work(config, sessions)


@pytest.fixture
def user_locales(fake):
    """The site lets members choose their own language (Discourse's allow_user_locale)."""
    fake.allow_user_locale = True
    return fake


@pytest.mark.parametrize(
    ("chosen", "kept"), [("de", "de"), ("de_AT", "de"), ("pt_BR", None), (None, None)]
)
def test_a_joiner_gets_the_supported_language_their_account_names(
    config, sessions, client, story, live_forum, user_locales, chosen, kept
):
    user_locales.user("maya").locale = chosen
    joined(config, sessions, client, user_locales)
    assert locale_of(sessions, live_forum.id) == kept


def test_a_locale_the_site_does_not_allow_is_not_taken(
    config, sessions, client, story, live_forum, fake
):
    fake.user("maya").locale = "de"  # set before the site turned user locales off
    joined(config, sessions, client, fake)
    assert locale_of(sessions, live_forum.id) is None


def test_the_locale_follows_a_change_on_the_next_look_up(
    config, sessions, client, story, live_forum, user_locales
):
    user_locales.user("maya").locale = "de"
    joined(config, sessions, client, user_locales)
    user_locales.user("maya").locale = None  # back to the site's language
    joined(config, sessions, client, user_locales, "mentors", 43)
    assert locale_of(sessions, live_forum.id) is None


def test_reconciling_the_groups_keeps_the_locale_a_listing_does_not_say(
    config, sessions, client, story, live_forum, user_locales
):
    user_locales.user("maya").locale = "de"
    joined(config, sessions, client, user_locales)
    adapter = adapter_factory(
        sessions, Clock(), wait=True, allowed_hosts=config.allowed_internal_hosts
    )(live_forum.id)
    reconcile_now(sessions, adapter, story["id"], utcnow(), config)
    assert locale_of(sessions, live_forum.id) == "de"
