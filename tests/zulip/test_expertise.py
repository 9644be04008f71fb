"""On Zulip the forum keeps no record of a member's expertise: matching works as before."""

from __future__ import annotations

from sqlalchemy import select

from plugin.domain.expertise import expertise_of
from plugin.storage.db import reading
from plugin.storage.expertise import MemberExpertise
from tests.helpers import LINK, submit_signup, work
from tests.zulip.support import SAM


def test_a_ready_mentor_on_zulip_is_checked_and_keeps_no_expertise(
    config, sessions, client, zulip, zulip_story
):
    zulip.add_member("mentors", SAM)
    work(config, sessions)
    [link] = zulip.texts(SAM)
    submit_signup(client, LINK.search(link).group(1), timezone="UTC")
    work(config, sessions)
    with reading(sessions) as db:
        [row] = db.execute(select(MemberExpertise)).scalars()
        assert row.record is None and row.fetched_at is not None
        assert expertise_of(db, [row.member_id]) == {}
