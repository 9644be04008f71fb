"""On Zulip a report stays what it was: a private message to the admins, nothing flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from plugin.storage.models import OutboxMessage
from tests.helpers import daytime_zone, work
from tests.zulip.support import BOT, MAYA, deliver, pair_sam_and_maya


def test_a_zulip_report_reaches_the_admins_and_flags_nothing(
    config, sessions, client, zulip, cli, zulip_story
):
    pid = str(zulip_story["id"])
    tomorrow = daytime_zone(datetime.now(UTC) + timedelta(days=1))
    pair_sam_and_maya(config, sessions, client, zulip, cli, pid, ("Europe/Berlin", tomorrow))

    deliver(client, zulip.dm(MAYA, [BOT], "!report he asked for my home address"))
    work(config, sessions)

    assert cli("status", "--program", pid)["reports"] == 1
    with sessions() as session:
        calls = session.execute(select(OutboxMessage.kind, OutboxMessage.key)).all()
    assert any(key.startswith("admins:") and ":report:" in key for _, key in calls)
    assert "flag_for_review" not in {kind for kind, _ in calls}
