"""A pair's health as the admin pages show it: on track, needs a check-in, silent, ended.

Same clock as the journey's nudges and check-in alerts: quiet for more than one cadence
is when a nudge falls due ("needs a check-in"); quiet for SILENT_CADENCES cadences is when
the admins are told ("silent").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from plugin.domain.journey import SILENT_CADENCES, silent_since
from plugin.storage.models import Pair
from plugin.storage.states import PairState

ON_TRACK, CHECK_IN, SILENT, ENDED = "on track", "needs a check-in", "silent", "ended"
HEALTHS = (ON_TRACK, CHECK_IN, SILENT, ENDED)
SLUGS = {ON_TRACK: "on-track", CHECK_IN: "check-in", SILENT: "silent", ENDED: "ended"}


def health(pair: Pair, cadence_days: float, now: datetime) -> str:
    """One of HEALTHS."""
    if pair.state in (PairState.ENDED, PairState.COMPLETED):
        return ENDED
    if pair.state == PairState.PAUSED:
        return ON_TRACK  # a pause is agreed between the two, not silence
    quiet = now - silent_since(pair)
    cadence = timedelta(days=cadence_days)
    if quiet <= cadence:
        return ON_TRACK
    if quiet < SILENT_CADENCES * cadence:
        return CHECK_IN
    return SILENT
