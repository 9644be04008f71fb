"""The domain's tables, each readable in one place: what the worker runs.

- DISPATCH: event name -> handler. Each forum's receiver (and Zulip's queue poller) turns
  what its forum sends into these event names and payloads, so one handler serves all.
- OUTBOX_KINDS: outbox kind -> how to send it, find it again and record the outcome;
  the link kinds mint a personal link (LINKS) and render its message only when sending.
- PERIODIC: jobs the worker runs every pass, fn(factory, adapter_for, clock, config) ->
  number of things done; safe to run from several workers at once.

The worker (plugin/worker.py) is given these; nothing registers itself by being imported.
"""

from __future__ import annotations

from collections.abc import Callable

from plugin.domain import handlers, links, requests
from plugin.domain.admins import admin_link
from plugin.domain.ask import ASK_KINDS
from plugin.domain.erasure import on_user_destroyed
from plugin.domain.expertise import refresh_expertise
from plugin.domain.graduation import GRADUATION_KINDS
from plugin.domain.journey import rating_link
from plugin.domain.pair_kinds import PAIR_KINDS
from plugin.domain.schedule import schedule_due
from plugin.domain.signups import directory_link, signup_link
from plugin.engine.inbox import Dispatch, Registered
from plugin.engine.outbox import FORUM_CALLS, Kinds
from plugin.engine.retention import purge_expired
from plugin.forums import registry

DISPATCH: Dispatch = {
    "user_added_to_group": Registered(handlers.on_member_added, handlers.prefetch_joiner),
    "user_removed_from_group": Registered(handlers.on_member_removed),
    "post_created": Registered(handlers.on_post, handlers.prefetch_post),
    "user_destroyed": Registered(on_user_destroyed),
}

# A personal link's type -> how to mint it when its message is sent (plugin/domain/links.py).
LINKS: dict[str, links.Minter] = {
    "signup": signup_link,
    "rating": rating_link,
    "admin": admin_link,
    "answer": requests.answer_link,  # a mentor's accept or decline link
    "directory": directory_link,
}

# Each forum kind's own calls too (e.g. the review-queue flag of a report).
OUTBOX_KINDS: Kinds = {
    **FORUM_CALLS,
    **PAIR_KINDS,
    **GRADUATION_KINDS,
    **ASK_KINDS,
    **links.link_kinds(LINKS),
    **registry.outbox_kinds(),
}

# purge_expired deletes processed events and sent calls after MENTORSHIP_RETENTION_DAYS;
# expire_due closes self-service requests not answered in 7 days; refresh_expertise reads a
# few mentors' forum expertise per pass, each weekly at most.
PERIODIC: list[Callable[..., int]] = [
    handlers.reconcile,
    schedule_due,
    requests.expire_due,
    purge_expired,
    refresh_expertise,
]
