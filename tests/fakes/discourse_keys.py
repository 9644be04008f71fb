"""The fake Discourse's API key kinds: all users, single user (FakeDiscourse.key_username), scoped.

Written from Discourse's own source, as stored in the public index:
- app/models/api_key.rb ApiKey#request_allowed?: a key with scopes may call only the routes one
  of its scopes permits, except GET /session/scopes, which every key may call; outside them
  Auth::DefaultCurrentUserProvider#lookup_api_user finds no user, so 403 invalid_access.
- app/models/api_key_scope.rb default_mappings: which actions a scope permits (SCOPES below
  holds the few the tests use, by the spec's operationId instead of a Rails action).
- app/controllers/session_controller.rb SessionController#scopes (route `get "session/scopes"`
  in config/routes.rb): {"scopes": [...]} serialized by app/serializers/
  api_key_scope_serializer.rb, [] for a key without scopes. openapi.json does not list the
  route, so it is added here as a documented spec addition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.fakes import openapi_check
from tests.fakes.discourse_routes import Answer, Call, handles

if TYPE_CHECKING:
    from tests.fakes.discourse import FakeDiscourse

SCOPES_OPERATION = "getApiKeyScopes"  # our name: the spec has no operation for it


@dataclass(frozen=True)
class KeyScope:
    """One of a granular key's scopes: what Discourse's mapping for resource:action permits."""

    resource: str
    action: str
    methods: frozenset[str] = frozenset()  # any route of these methods (global: read)
    operations: frozenset[str] = frozenset()  # these operations of the spec, whatever method

    def permits(self, method: str, operation_id: str) -> bool:
        """Whether ApiKeyScope#permits? would let this request through."""
        return method.upper() in self.methods or operation_id in self.operations

    def as_json(self) -> dict[str, Any]:
        """ApiKeyScopeSerializer's fields (parameters and urls left empty: nothing reads them)."""
        return {
            "resource": self.resource,
            "action": self.action.replace("_", " "),
            "parameters": [],
            "urls": [],
            "allowed_parameters": None,
            "key": self.action,
        }


SCOPES = {
    "global:read": KeyScope("global", "read", methods=frozenset({"GET"})),
    "users:show": KeyScope("users", "show", operations=frozenset({"getUser"})),  # users#show
    "topics:write": KeyScope("topics", "write", operations=frozenset({"createTopicPostPM"})),
}


def request_allowed(scopes: tuple[KeyScope, ...], method: str, operation_id: str) -> bool:
    """ApiKey#request_allowed?: no scopes allow all; GET /session/scopes is always allowed."""
    if not scopes or (method.upper() == "GET" and operation_id == SCOPES_OPERATION):
        return True
    return any(scope.permits(method, operation_id) for scope in scopes)


@handles(SCOPES_OPERATION)
def get_api_key_scopes(fake: FakeDiscourse, call: Call) -> Answer:
    """GET /session/scopes.json: the calling key's scopes, [] for an unscoped key."""
    return Answer(200, {"scopes": [scope.as_json() for scope in fake.key_scopes]})


_SCOPE_SCHEMA = {
    "type": "object",
    "required": ["resource", "action", "key"],
    "properties": {
        "resource": {"type": "string"},
        "action": {"type": "string"},
        "key": {"type": "string"},
        "parameters": {"type": "array"},
        "urls": {"type": "array"},
        "allowed_parameters": {"type": ["object", "null"]},
    },
}
openapi_check.SPEC_ADDITIONS.setdefault(
    "/session/scopes.json",
    {
        "get": {
            "operationId": SCOPES_OPERATION,
            "responses": {
                "200": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["scopes"],
                                "properties": {"scopes": {"type": "array", "items": _SCOPE_SCHEMA}},
                            }
                        }
                    }
                }
            },
        }
    },
)
# The spec may have been loaded before this module added its route: load it again.
openapi_check.load_spec.cache_clear()
openapi_check._templates.cache_clear()
