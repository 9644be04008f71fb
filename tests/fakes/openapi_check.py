"""Check calls to (and answers from) a fake Discourse against the real Discourse OpenAPI spec.

The spec is `/work/shared/forums/discourse/openapi.json` (discourse_api_docs, OpenAPI 3.1). Every
check returns a list of human-readable violations; an empty list means the call is fine.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator


def shared_dir() -> Path:
    """shared/ beside the repository (as CI lays it out), else this workplace's copy."""
    beside = Path(__file__).resolve().parents[3] / "shared"
    return beside if (beside / "forums").is_dir() else Path("/work/shared")


DEFAULT_SPEC = shared_dir() / "forums" / "discourse" / "openapi.json"
_METHODS = ("get", "post", "put", "patch", "delete")

# Query parameters that Discourse reads but the spec does not declare, per operationId.
# Kept deliberately small: each entry is documented in shared/forums/discourse/NOTES.md §3.
QUERY_ALLOW_LIST: dict[str, dict[str, str]] = {
    # NOTES.md §3 "List group members": limit (default 50, max 1000), offset, and the optional
    # order=added_at|last_posted_at|last_seen_at, asc=true, filter=.
    "listGroupMembers": {
        "limit": "integer",
        "offset": "integer",
        "order": "string",
        "asc": "boolean",
        "filter": "string",
    },
    # NOTES.md §3 "More posts": GET /t/{id}/posts.json?post_ids[]=1&post_ids[]=2. The spec puts
    # post_ids[] in a request body of a GET, which HTTP clients do not send; accept the query form.
    "getSpecificPostsFromTopic": {"post_ids[]": "integer"},
}

# Paths Discourse serves that the spec has no template for, validated as the template they alias.
PATH_ALIASES: dict[str, str] = {
    # getTopicByExternalId answers 301 to topic.relative_url + ".json" = /t/{slug}/{id}.json
    # (TopicsController#redirect_to_correct_topic), so a client following it lands here.
    "/t/{slug}/{id}.json": "/t/{id}.json",
}


def _integer() -> dict[str, Any]:
    return {"type": "integer"}


# A user's summary: Discourse serves it (UserSummarySerializer) but the spec has no template
# for it, so the fake and its checks use this operation, written from NOTES.md "Expertise
# signals": user_summary{likes_received, post_count, topic_count, days_visited,
# top_categories[{id, name, topic_count, post_count}], badges}, plus `solved_count` where the
# discourse-solved plugin runs (its plugin.rb: add_to_serializer(:user_summary, :solved_count)).
USER_SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["user_summary"],
    "properties": {
        "user_summary": {
            "type": "object",
            "required": [
                "likes_received",
                "post_count",
                "topic_count",
                "days_visited",
                "top_categories",
            ],
            "properties": {
                "likes_received": _integer(),
                "post_count": _integer(),
                "topic_count": _integer(),
                "days_visited": _integer(),
                "solved_count": _integer(),
                "badges": {"type": "array"},
                "top_categories": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "name", "topic_count", "post_count"],
                        "properties": {
                            "id": _integer(),
                            "name": {"type": "string"},
                            "topic_count": _integer(),
                            "post_count": _integer(),
                        },
                    },
                },
            },
        }
    },
}
SPEC_ADDITIONS: dict[str, dict[str, Any]] = {
    "/u/{username}/summary.json": {
        "get": {
            "operationId": "getUserSummary",
            "parameters": [
                {"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {"content": {"application/json": {"schema": USER_SUMMARY_SCHEMA}}}
            },
        }
    }
}


# Request body fields Discourse reads but the spec leaves out (its bodies forbid additional
# properties), per operationId, each read from Discourse's own source.
BODY_ADDITIONS: dict[str, dict[str, dict[str, Any]]] = {
    # PostActionsController#create: `args[:message] = params[:message] if params[:message]
    # .present?`, the text of a notify_moderators / notify_user flag (NOTES.md §7 "Flags").
    "performPostAction": {"message": {"type": "string"}},
}


@dataclass(frozen=True)
class Relax:
    """One documented loosening of a response schema that real Discourse answers break."""

    at: str  # dotted property path; "[]" steps into array items, e.g. "members[].last_seen_at"
    types: tuple[str, ...]  # JSON types to allow in addition to the spec's (adds the property)
    why: str


# Where the spec's response schemas are stricter than real answers, per operationId.
RELAXATIONS: dict[str, tuple[Relax, ...]] = {
    "listGroupMembers": tuple(
        Relax(f"{key}[].{field}", ("null",), "null until the user has posted / been seen")
        for key in ("members", "owners")
        for field in ("last_posted_at", "last_seen_at")
    ),
    "createTopicPostPM": (
        Relax("reply_to_post_number", ("integer",), "a post number, typed string in the spec"),
    ),
    "getPost": (Relax("reply_to_post_number", ("integer",), "a post number"),),
    "getTopic": (
        *(
            Relax(at, ("null",), "accounts without a full name")
            for at in (
                "post_stream.posts[].name",
                "post_stream.posts[].display_username",
                "details.created_by.name",
                "details.last_poster.name",
                "details.participants[].name",
            )
        ),
        Relax("post_stream.posts[].reply_to_post_number", ("integer",), "a post number"),
        Relax("post_stream.posts[].reviewable_id", ("null",), "null unless flagged"),
        Relax("category_id", ("null",), "PMs have category_id null (NOTES.md §1)"),
    ),
    "getSpecificPostsFromTopic": (
        Relax("post_stream.posts[].reply_to_post_number", ("integer",), "a post number"),
        Relax("post_stream.posts[].reviewable_id", ("null",), "null unless flagged"),
    ),
    "getUser": (
        Relax("user.name", ("null",), "accounts without a full name"),
        Relax("user.featured_topic", ("null",), "null when none is featured (user.json fixture)"),
        # Private attributes a user sees on their own profile (user.json fixture).
        Relax("user.email", ("string",), "own profile only (user.json fixture)"),
        Relax("user.timezone", ("string", "null"), "own profile only (user.json fixture)"),
    ),
    "adminGetUser": (
        # AdminUserListSerializer#include_email?: staff see their own email.
        Relax("email", ("string",), "only when the API user looks at themselves"),
        Relax("secondary_emails", ("array",), "only when the API user looks at themselves"),
    ),
}


@dataclass(frozen=True)
class Match:
    """A request path resolved to one operation of the spec."""

    template: str
    method: str
    operation: dict[str, Any]
    path_params: dict[str, str]

    @property
    def operation_id(self) -> str:
        """The spec's operationId, e.g. "createTopicPostPM"."""
        return str(self.operation.get("operationId", f"{self.method} {self.template}"))


@functools.lru_cache(maxsize=4)
def load_spec(path: str | Path = DEFAULT_SPEC) -> dict[str, Any]:
    """Load (once) and return the OpenAPI document, with the documented SPEC_ADDITIONS."""
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    for template, operations in SPEC_ADDITIONS.items():
        spec["paths"].setdefault(template, copy.deepcopy(operations))
    for operations in spec["paths"].values():
        for operation in operations.values():
            extra = BODY_ADDITIONS.get(operation.get("operationId", "")) or {}
            content = (operation.get("requestBody") or {}).get("content") or {}
            for media in content.values():
                media.get("schema", {}).setdefault("properties", {}).update(extra)
    return spec


@functools.lru_cache(maxsize=4)
def _templates(path: str | Path = DEFAULT_SPEC) -> list[tuple[re.Pattern[str], str, str]]:
    """(regex, template, spec template) for every path, most literal characters first."""
    spec_paths = list(load_spec(path)["paths"])
    pairs = [(t, t) for t in spec_paths] + [(a, t) for a, t in PATH_ALIASES.items()]
    compiled = []
    for template, target in pairs:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+?)", re.escape(template))
        compiled.append((re.compile(f"^{pattern}$"), template, target))
    # A literal segment beats a parameter: /t/external_id/{x}.json before /t/{id}/posts.json.
    compiled.sort(key=lambda c: -len(re.sub(r"\{\w+\}", "", c[1])))
    return compiled


def match_operation(method: str, path: str, spec_path: str | Path = DEFAULT_SPEC) -> Match | None:
    """Resolve method + path to an operation of the spec, or None."""
    spec_paths = load_spec(spec_path)["paths"]
    for regex, template, target in _templates(spec_path):
        found = regex.match(path)
        if found and method.lower() in spec_paths[target]:
            operation = spec_paths[target][method.lower()]
            return Match(template, method.lower(), operation, found.groupdict())
    return None


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def coerce_value(value: str, schema: Mapping[str, Any]) -> Any:
    """Turn one string from a query, path or form into the type the schema asks for."""
    kinds = _types(schema)
    if "integer" in kinds and re.fullmatch(r"-?\d+", value):
        return int(value)
    if "number" in kinds and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value)
    if "boolean" in kinds and value in ("true", "false"):
        return value == "true"
    return value


def request_body_schema(match: Match) -> dict[str, Any] | None:
    """The application/json requestBody schema of an operation, if it has one."""
    content = match.operation.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def coerce_form(method: str, path: str, form: Mapping[str, list[str]]) -> dict[str, Any]:
    """Convert a form-encoded body to the dict a JSON client would have sent."""
    match = match_operation(method, path)
    props = (request_body_schema(match) or {}).get("properties", {}) if match else {}
    body: dict[str, Any] = {}
    for name, values in form.items():
        schema = props.get(name, {})
        if "array" in _types(schema):
            body[name] = [coerce_value(v, schema.get("items", {})) for v in values]
        else:
            body[name] = coerce_value(values[-1], schema)  # Rails keeps the last repeated key
    return body


def _schema_errors(schema: Mapping[str, Any], value: Any, where: str) -> list[str]:
    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    return [f"{where}{_pointer(e.absolute_path)}: {e.message}" for e in errors]


def _pointer(parts: Any) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _check_params(
    match: Match, query: Mapping[str, list[str]], headers: Mapping[str, str]
) -> list[str]:
    violations: list[str] = []
    params = match.operation.get("parameters", [])
    header_names = {name.lower() for name in headers}
    for param in params:
        name, where = param["name"], param["in"]
        if not param.get("required"):
            continue
        if where == "header" and name.lower() not in header_names:
            violations.append(f"missing required header {name!r}")
        if where == "query" and name not in query:
            violations.append(f"missing required query parameter {name!r}")
    for param in (p for p in params if p["in"] == "path"):
        raw = match.path_params.get(param["name"], "")
        schema = param.get("schema", {})
        if "integer" in _types(schema) and not raw.isdigit():
            violations.append(f"path parameter {param['name']!r}={raw!r} must be digits")
            continue
        violations += _schema_errors(schema, coerce_value(raw, schema), f"path {param['name']}")
    return violations + _check_query(match, query)


def _check_query(match: Match, query: Mapping[str, list[str]]) -> list[str]:
    violations: list[str] = []
    declared = {
        p["name"]: p.get("schema", {})
        for p in match.operation.get("parameters", [])
        if p["in"] == "query"
    }
    allowed = QUERY_ALLOW_LIST.get(match.operation_id, {})
    for name, values in query.items():
        if name in declared:
            schema = declared[name]
        elif name in allowed:
            schema = {"type": allowed[name]}
        else:
            violations.append(f"query parameter {name!r} is not in the spec")
            continue
        for value in values:
            violations += _schema_errors(schema, coerce_value(value, schema), f"query {name}")
    return violations


def validate_request(
    method: str,
    path: str,
    query: Mapping[str, list[str]],
    headers: Mapping[str, str],
    body: dict[str, Any] | None,
) -> list[str]:
    """Every way this request breaks the spec; empty when it is a valid call."""
    match = match_operation(method, path)
    if match is None:
        known = any(regex.match(path) for regex, _, _ in _templates())
        reason = f"method {method} not allowed" if known else "path matches no spec template"
        return [f"{method} {path}: {reason}"]
    violations = _check_params(match, query, headers)
    schema = request_body_schema(match)
    # A GET "body" (getSpecificPostsFromTopic) is never sent; DELETE bodies are optional.
    if match.method in ("post", "put", "patch") or (match.method == "delete" and body):
        if schema is not None:
            violations += _schema_errors(schema, {} if body is None else body, "body")
        elif body:
            violations.append("the spec declares no JSON body for this operation")
    return [f"{method} {path} ({match.operation_id}): {v}" for v in violations]


@functools.cache  # shared between callers: never mutate the result
def response_schema(operation_id: str, status: int = 200) -> dict[str, Any] | None:
    """The relaxed application/json response schema of an operation, or None."""
    for methods in load_spec()["paths"].values():
        for method, operation in methods.items():
            if method in _METHODS and operation.get("operationId") == operation_id:
                content = operation.get("responses", {}).get(str(status), {}).get("content", {})
                schema = content.get("application/json", {}).get("schema")
                return None if schema is None else relaxed(operation_id, schema)
    return None


def relaxed(operation_id: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` with the documented RELAXATIONS for this operation applied."""
    result = copy.deepcopy(schema)
    for relax in RELAXATIONS.get(operation_id, ()):
        *parents, leaf = relax.at.split(".")
        node = result
        for step in parents:
            node = _step(node, step)
        if leaf.endswith("[]"):
            raise ValueError(f"relaxation must end at a property: {relax.at}")
        prop = node.setdefault("properties", {}).setdefault(leaf, {})
        prop["type"] = sorted(set(_types(prop)) | set(relax.types))
    return result


def subschema(schema: dict[str, Any], at: str) -> dict[str, Any]:
    """The part of a schema at a dotted path such as "post_stream.posts[]" ("" = the root)."""
    node = schema
    for step in at.split(".") if at else []:
        node = _step(node, step)
    return node


def _step(node: dict[str, Any], step: str) -> dict[str, Any]:
    name = step.removesuffix("[]")
    if name:
        node = node["properties"][name]
    return node["items"] if step.endswith("[]") else node


def validate_response(method: str, path: str, status: int, body: Any) -> list[str]:
    """Every way a response body breaks the (relaxed) response schema for its status."""
    match = match_operation(method, path)
    if match is None:
        return [f"{method} {path}: path matches no spec template"]
    schema = response_schema(match.operation_id, status)
    if schema is None:
        return []  # the spec documents no JSON body for this status
    return _schema_errors(schema, body, f"{method} {path} -> {status} body")


def skeleton(schema: Mapping[str, Any]) -> Any:
    """A minimal value that satisfies `schema`: required keys only, nulls where allowed."""
    kinds = _types(schema)
    if "null" in kinds:
        return None
    if "enum" in schema:
        return schema["enum"][0]
    if "object" in kinds or "properties" in schema:
        props = schema.get("properties", {})
        return {key: skeleton(props.get(key, {})) for key in schema.get("required", [])}
    defaults: dict[str, Any] = {"array": [], "string": "", "integer": 0, "number": 0}
    defaults["boolean"] = False
    return next((defaults[k] for k in kinds if k in defaults), None)
