"""Check calls to (and answers from) the fake Zulip against Zulip's own OpenAPI 3.0 spec.

The spec is shared/forums/zulip/zulip.yaml (FL 247), the oracle Zulip's own tests use
(NOTES.md §5). Paths are relative to /api/v1. POST/DELETE bodies are form-encoded and
every field the spec marks `contentType: application/json` (and every query parameter
with `content: application/json`) is a JSON document inside the string. Schemas are
checked with jsonschema (draft 4, which OpenAPI 3.0 schemas follow) after turning
`nullable: true` into a "null" type. Every check returns a list of violations.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.fakes.openapi_check import shared_dir

SPEC = shared_dir() / "forums" / "zulip" / "zulip.yaml"
PREFIX = "/api/v1"
URI = "urn:zulip-openapi"
FORM = "application/x-www-form-urlencoded"
# Documentation pages that zulip.yaml writes as paths; no server answers them.
NOT_ENDPOINTS = ("/zulip-outgoing-webhook", "/real-time", "/rest-error-handling")


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items()}
    if out.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list):
            out["enum"] = [*out["enum"], None]
    return out


@functools.cache
def spec() -> dict[str, Any]:
    """The spec, loaded once, with nullable turned into JSON Schema."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return _nullable(yaml.load(SPEC.read_text(encoding="utf-8"), Loader=loader))


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(URI, Resource(contents=spec(), specification=DRAFT4))


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def schema_errors(pointer: str, value: Any, where: str) -> list[str]:
    """Violations of the schema at `pointer` (a JSON pointer into the spec) by `value`."""
    validator = Draft4Validator({"$ref": f"{URI}#{pointer}"}, registry=_registry())
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    return [f"{where}{''.join(f'[{p!r}]' for p in e.absolute_path)}: {e.message}" for e in errors]


@dataclass(frozen=True)
class Match:
    """A request resolved to one operation of the spec."""

    template: str
    method: str
    path_params: dict[str, str]

    @property
    def operation(self) -> dict[str, Any]:
        return spec()["paths"][self.template][self.method]

    @property
    def operation_id(self) -> str:
        return str(self.operation["operationId"])


def _resolve(node: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A parameter or response object and its pointer, following one $ref."""
    ref = node.get("$ref")
    if not ref:
        return node, None
    target: Any = spec()
    for part in ref.removeprefix("#/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target, ref.removeprefix("#")


def _parameters(match: Match) -> list[tuple[dict[str, Any], str]]:
    """(parameter, pointer of its schema or content schema) for each declared parameter."""
    found = []
    for index, raw in enumerate(match.operation.get("parameters", [])):
        param, ref = _resolve(raw)
        base = ref or _pointer("paths", match.template, match.method, "parameters", str(index))
        if "content" in param:
            found.append((param, base + _pointer("content", "application/json", "schema")))
        else:
            found.append((param, base + "/schema"))
    return found


def _typed(match: Match) -> int:
    """How many path parameters are integers (a digit segment is an id, not an email)."""
    return sum(
        p["in"] == "path" and p.get("schema", {}).get("type") == "integer"
        for p, _ in _parameters(match)
    )


def _path_ok(match: Match) -> bool:
    for param, _ in _parameters(match):
        if param["in"] == "path" and param.get("schema", {}).get("type") == "integer":
            if not re.fullmatch(r"\d+", match.path_params.get(param["name"], "")):
                return False
    return True


def match_operation(method: str, path: str) -> Match | None:
    """The operation a request is for: literal segments beat parameters, ids beat emails."""
    if not path.startswith(PREFIX + "/"):
        return None
    rest, candidates = path[len(PREFIX) :], []
    for template, methods in spec()["paths"].items():
        if template in NOT_ENDPOINTS or method.lower() not in methods:
            continue
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        found = re.fullmatch(pattern, rest)
        if found:
            match = Match(template, method.lower(), found.groupdict())
            if _path_ok(match):
                candidates.append(match)
    candidates.sort(key=lambda m: (-len(re.sub(r"\{\w+\}", "", m.template)), -_typed(m)))
    return candidates[0] if candidates else None


def _decode(value: str, schema_type: Any, json_encoded: bool, where: str, problems: list):
    if json_encoded:
        try:
            return json.loads(value)
        except ValueError:
            problems.append(f"{where}: {value!r} is not JSON")
            return value
    if schema_type == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if schema_type == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def _check_query(match: Match, query: Mapping[str, list[str]]) -> list[str]:
    problems: list[str] = []
    declared = {}
    for param, pointer in _parameters(match):
        if param["in"] == "query":
            declared[param["name"]] = (param, pointer)
            if param.get("required") and param["name"] not in query:
                problems.append(f"missing required query parameter {param['name']!r}")
    for name, values in query.items():
        if name not in declared:
            problems.append(f"query parameter {name!r} is not in the spec")
            continue
        param, pointer = declared[name]
        kind = param.get("schema", {}).get("type")
        for value in values:
            decoded = _decode(value, kind, "content" in param, f"query {name}", problems)
            problems += schema_errors(pointer, decoded, f"query {name}")
    return problems


def _check_body(match: Match, form: Mapping[str, list[str]] | None, mimetype: str) -> list[str]:
    body = match.operation.get("requestBody")
    if body is None:
        return ["the spec declares no body for this operation"] if form else []
    if form is None:
        form = {}
    elif mimetype != FORM:
        return [f"body is {mimetype}, the spec wants {FORM}"]
    media = body["content"][FORM]
    pointer = _pointer("paths", match.template, match.method, "requestBody", "content", FORM)
    props = media["schema"].get("properties", {})
    encoding = media.get("encoding", {})
    problems: list[str] = []
    decoded = {}
    for name, values in form.items():
        if len(values) != 1:
            problems.append(f"body field {name!r} sent {len(values)} times")
        as_json = encoding.get(name, {}).get("contentType") == "application/json"
        kind = props.get(name, {}).get("type")
        decoded[name] = _decode(values[-1], kind, as_json, f"body {name}", problems)
        if name not in props:
            problems.append(f"body field {name!r} is not in the spec")
    return problems + schema_errors(pointer + "/schema", decoded, "body")


def validate_request(
    method: str,
    path: str,
    query: Mapping[str, list[str]],
    form: Mapping[str, list[str]] | None,
    mimetype: str = FORM,
) -> tuple[Match | None, list[str]]:
    """The operation, and every way this request breaks the spec (empty when valid)."""
    match = match_operation(method, path)
    if match is None:
        return None, [f"{method} {path}: no operation of the spec matches"]
    problems = _check_query(match, query)
    if match.method in ("post", "patch", "put", "delete"):
        problems += _check_body(match, form, mimetype)
    elif form:
        problems.append("a GET carries no body")
    return match, [f"{method} {path} ({match.operation_id}): {p}" for p in problems]


def decode(
    match: Match, query: Mapping[str, list[str]], form: Mapping[str, list[str]] | None
) -> dict[str, Any]:
    """Query and body values as Zulip's typed endpoints read them (call after validating)."""
    types: dict[str, tuple[Any, bool]] = {}
    for param, _ in _parameters(match):
        types[param["name"]] = (param.get("schema", {}).get("type"), "content" in param)
    media = (match.operation.get("requestBody") or {}).get("content", {}).get(FORM, {})
    for name, prop in media.get("schema", {}).get("properties", {}).items():
        as_json = media.get("encoding", {}).get(name, {}).get("contentType") == "application/json"
        types[name] = (prop.get("type"), as_json)
    values: dict[str, Any] = {}
    for name, given in [*query.items(), *(form or {}).items()]:
        kind, as_json = types.get(name, (None, False))
        values[name] = _decode(given[-1], kind, as_json, name, [])
    return values


def validate_response(match: Match, status: int, body: Any) -> list[str]:
    """Every way a JSON answer breaks the spec's schema for its status (2xx only).

    Zulip's own checker skips 4xx bodies, and the spec types `retry-after` as an integer
    where the server sends a float (NOTES.md §4), so error bodies are not checked.
    """
    if not 200 <= status < 300:
        return []
    raw = match.operation.get("responses", {}).get(str(status))
    if raw is None:
        return [f"{match.operation_id}: the spec documents no {status} answer"]
    response, ref = _resolve(raw)
    base = ref or _pointer("paths", match.template, match.method, "responses", str(status))
    if "application/json" not in response.get("content", {}):
        return []
    pointer = base + _pointer("content", "application/json", "schema")
    return schema_errors(pointer, body, f"{match.operation_id} -> {status} body")


def outgoing_webhook_errors(payload: dict[str, Any]) -> list[str]:
    """What Zulip's test suite checks an outgoing-webhook payload against (NOTES.md §5)."""
    pointer = _pointer(
        "paths", "/zulip-outgoing-webhook", "post", "responses", "200", "content",
        "application/json", "schema",
    )  # fmt: skip
    return schema_errors(pointer, payload, "outgoing webhook")


def event_errors(event: dict[str, Any]) -> list[str]:
    """An event checked against the GET /events oneOf."""
    pointer = _pointer(
        "paths", "/events", "get", "responses", "200", "content", "application/json", "schema",
    )  # fmt: skip
    body = {"result": "success", "msg": "", "events": [event], "queue_id": "q"}
    return schema_errors(pointer, body, f"{event.get('type')} event")
