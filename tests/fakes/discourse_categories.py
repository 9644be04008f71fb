"""The fake Discourse's category route: GET /c/{id}/show.json (CategoriesController#show).

An unknown id is 404; a read-restricted category the user may not see is 403 (admins see
every category). `permission` is what the user may do there: 1 full (create topics), as
Discourse's CategorySerializer reports it for a user who may create topics.
"""

from __future__ import annotations

from tests.fakes import discourse_shapes as shapes
from tests.fakes.discourse_routes import Answer, Call, handles, invalid_access, not_found
from tests.fakes.discourse_state import ForumState

FULL = 1  # CategoryGroup.permission_types[:full]


@handles("getCategory")
def get_category(fake: ForumState, call: Call) -> Answer:
    """GET /c/{id}/show.json: the category, if this user may see it."""
    raw = call.path_params["id"]
    category = fake.categories.get(int(raw)) if raw.isdigit() else None
    if category is None:
        return not_found()
    allowed = category.allowed_user_ids
    if allowed is not None and call.user.id not in allowed and not call.user.admin:
        return invalid_access()
    values = {
        "id": category.id,
        "name": category.name,
        "slug": category.name.lower().replace(" ", "-"),
        "read_restricted": allowed is not None,
        "permission": FULL,
    }
    return Answer(
        200, {"category": shapes.fill(shapes.schema_at("getCategory", "category"), values)}
    )
