"""The fake Discourse's flags: POST /post_actions.json (performPostAction).

Written from Discourse's own source, as stored in the public index (NOTES.md §7 "Flags"):
PostActionsController#create (`id`, `post_action_type_id`, `message`; an unknown post is
404) and PostGuardian#post_can_act? (the flagger must see the post; one flag per member and
post, a second is refused 403; a member may flag any post of a private message they are in,
their own included). With a message, notify_moderators (7) reaches the moderators' review
queue; the fake records each flag with the acting user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tests.fakes import discourse_shapes as shapes
from tests.fakes.discourse_routes import Answer, Call, handles, invalid_access, not_found

if TYPE_CHECKING:
    from tests.fakes.discourse import FakeDiscourse

# PostActionType.flag_types (app/models/post_action_type.rb): off_topic, inappropriate,
# notify_user, notify_moderators, spam, illegal. Like (2) and the rest are not flags.
FLAG_TYPES = frozenset({3, 4, 6, 7, 8, 10})


@dataclass(frozen=True)
class FakeFlag:
    """One flag as Discourse's review queue would hold it: who flagged what, and why."""

    post_id: int
    username: str  # the acting user (Api-Username)
    post_action_type_id: int
    message: str | None


@handles("performPostAction")
def perform_post_action(fake: FakeDiscourse, call: Call) -> Answer:
    """POST /post_actions.json: a flag on a post, as the calling user; answers the post."""
    post = fake.posts.get(int(call.body["id"]))
    if post is None:
        return not_found()
    kind = int(call.body["post_action_type_id"])
    if kind not in FLAG_TYPES or not fake.can_see_topic(call.user, fake.topics[post.topic_id]):
        return invalid_access()  # the fake knows flags only; likes are not the service's
    if any(f.post_id == post.id and f.username == call.user.username for f in fake.flags):
        return invalid_access()  # already_did_flagging
    fake.flags.append(FakeFlag(post.id, call.user.username, kind, call.body.get("message")))
    schema = shapes.schema_at("performPostAction")
    return Answer(200, shapes.post_json(fake, post, call.user, schema))
