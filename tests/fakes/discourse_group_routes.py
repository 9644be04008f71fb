"""The fake Discourse's group membership writes (imported by tests/fakes/discourse.py).

From Discourse's own source, as shared/forums/discourse/NOTES.md section 7 quotes it
(`groups_controller.rb#add_members`): by id only; an automatic group, or a caller who is not
an owner of the group nor an admin: 403; nobody found: 400; all already members: 422;
otherwise `{"success": "OK", "usernames": [...], "emails": [...]}`, after which Discourse
sends `user_added_to_group`. The fake sends no webhooks: it lists each addition in
`fake.group_additions` for the test to deliver, as tests/domain/flow_support.join does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.fakes.discourse_routes import Answer, Call, error, handles, invalid_access, not_found

if TYPE_CHECKING:
    from tests.fakes.discourse import FakeDiscourse


@handles("addGroupMembers")
def add_group_members(fake: FakeDiscourse, call: Call) -> Answer:
    """PUT /groups/{id}/members.json with `usernames` (comma-separated)."""
    raw_id = call.path_params["id"]
    group = fake.groups.get(int(raw_id)) if raw_id.isdigit() else None
    if group is None:
        return not_found()
    if group.automatic or not (call.user.admin or call.user.id in group.owners):
        return invalid_access()
    names = [n.strip() for n in str(call.body.get("usernames") or "").split(",") if n.strip()]
    users = [u for u in (fake.user_named(n) for n in names) if u is not None]
    if not users:
        # Discourse::InvalidParameters; locale text approximated.
        return error(400, "You supplied invalid parameters to the request: usernames")
    new = [u for u in users if u.id not in group.members]
    if not new:
        return error(422, f"'{users[0].username}' is already a member of this group.")
    for user in new:
        fake.add_member(group.name, user.username)
        fake.group_additions.append((group.id, user.id))
    return Answer(200, {"success": "OK", "usernames": [u.username for u in new], "emails": []})
