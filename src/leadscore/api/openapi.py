"""The OpenAPI document, built in one place so that every operation — a new one included —
documents every status it can return, with the error model, and the rules every input obeys.

`build(app)` starts from FastAPI's document and, for each operation, from what the route is:

- every operation declares the scope it needs in `x-required-scope`: `read`, `write` or
  `admin` (a key with that scope; admin implies the others), `signed` (no key: the caller
  signs each request) or `none` (open: health);
- a route that needs a key (api/auth.py's bearer dependency) can answer 401, 403 and 429 (too
  many failed authentications); a route signed by its caller instead (api/auth.py's
  `signed`: a CRM's webhooks) can answer 401;
- every operation can answer 422: the request line is checked everywhere (an unknown query
  parameter, a NUL in the path or query: api/request_line.py);
- every operation can answer 503 with Retry-After: the database cannot be reached, or is
  locked past its busy timeout (store.database.unavailable, api/errors.py);
- an operation with a request body can answer 413 (LEADSCORE_MAX_BODY_BYTES);
- a route with a path parameter can answer 404 (no such lead, version or override);
- every 4xx and 5xx response is the `Error` schema.

Statuses that depend on what an operation does (404 for a lead named in a body, 409, 415)
stay in the route's own `responses=`; this module adds the error model to them.

It also writes the text and number rules of `service.input_rules` into every request schema:
no string (value or key) holds a NUL, and every number is within ±2^63.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from leadscore.api import schemas
from leadscore.api.auth import REQUIRED_SCOPE, bearer, signed
from leadscore.service.input_rules import INT64, Limits

ERROR_REF = {"$ref": "#/components/schemas/Error"}
NO_NUL = "^[^\\x00]*$"
CURSOR_FORMAT = "leadscore-cursor"
CURSOR_SCHEMA = {"type": "string", "format": CURSOR_FORMAT}
"""A cursor is opaque: its format, a next_cursor this list returned or "", says all (a
length or a pattern would only let a generator forge strings no list returned)."""
DESCRIPTIONS = {
    401: "No valid API key (`Authorization: Bearer <key>`)",
    403: "The API key lacks the scope this operation needs",
    404: "No such resource",
    409: "A conflict with what is stored",
    413: "The body is larger than LEADSCORE_MAX_BODY_BYTES",
    415: "An unsupported content type",
    422: "A bad body, query or path: every bad field is listed",
    429: "Too many failed authentications from this address: retry after Retry-After seconds",
    503: "The database is unavailable or busy: retry after Retry-After seconds",
}


def _depends_on(dependant: Dependant, call: object) -> bool:
    stack = [dependant]
    while stack:
        current = stack.pop()
        if current.call is call:
            return True
        stack.extend(current.dependencies)
    return False


def needs_key(dependant: Dependant) -> bool:
    """Whether the route authenticates (its dependencies include the bearer scheme)."""
    return _depends_on(dependant, bearer)


def is_signed(dependant: Dependant) -> bool:
    """Whether the route authenticates its caller by a signature (api/auth.signed)."""
    return _depends_on(dependant, signed)


def required_scope(dependant: Dependant) -> str:
    """`read`, `write`, `admin`, `signed` or `none`: what a caller needs (see the module)."""
    stack = [dependant]
    while stack:
        current = stack.pop()
        scope = REQUIRED_SCOPE.get(current.call)
        if scope is not None:
            return scope
        stack.extend(current.dependencies)
    return "signed" if is_signed(dependant) else "none"


def statuses(route: RouteContext, operation: dict[str, Any]) -> set[int]:
    """The error statuses every operation of this kind can return."""
    found = {422, 503}
    if needs_key(route.dependant):
        found |= {401, 403, 429}
    elif is_signed(route.dependant):
        found.add(401)
    if "requestBody" in operation:
        found.add(413)
    if route.dependant.path_params:
        found.add(404)
    return found


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def build(app: FastAPI, body_models: tuple[type[BaseModel], ...], limits: Limits) -> dict[str, Any]:
    """The document of `app`; `body_models` are the request bodies read by hand, `limits`
    the configured LEADSCORE_MAX_* limits (written where a schema says `x-limit`)."""
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = document.setdefault("components", {}).setdefault("schemas", {})
    _, defs = models_json_schema(
        [(m, "validation") for m in body_models], ref_template="#/components/schemas/{model}"
    )
    components.update(defs["$defs"])
    _, error_defs = models_json_schema(
        [(schemas.Error, "serialization")], ref_template="#/components/schemas/{model}"
    )
    components.update(error_defs["$defs"])
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    routes = {
        (route.path_format, method.lower()): route
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    }
    for path, method, operation in operations(document):
        route = routes[(path, method)]
        operation["x-required-scope"] = required_scope(route.dependant)
        responses = operation.setdefault("responses", {})
        for status in statuses(route, operation):
            responses.setdefault(str(status), {})
        for code, response in responses.items():
            if code[0] in "45":
                response["description"] = response.get("description") or DESCRIPTIONS.get(
                    int(code), "Error"
                )
                if response["description"] == "Successful Response":
                    response["description"] = DESCRIPTIONS.get(int(code), "Error")
                response["content"] = {"application/json": {"schema": ERROR_REF}}
        for parameter in operation.get("parameters", []):
            if parameter.get("schema", {}).get("format") == CURSOR_FORMAT:
                parameter["schema"] = dict(CURSOR_SCHEMA)
            _input_rules(parameter.get("schema", {}))
        for media in operation.get("requestBody", {}).get("content", {}).values():
            _input_rules(media.get("schema", {}))
    for name in list(defs["$defs"]):
        _configured(components[name], limits)
        _input_rules(components[name])
    return document


LIMIT_KEYWORDS = {"string": "maxLength", "array": "maxItems", "object": "maxProperties"}


def _configured(schema: object, limits: Limits) -> None:
    """Write the configured limits into a schema, in place: `x-limit: NAME` sets the node's
    size keyword to `limits.NAME`; a property value nested deeper than `limits.depth`
    (`x-level`) may only be a scalar."""
    for node in _nodes(schema):
        level = node.pop("x-level", None)
        if isinstance(level, int) and level > limits.depth:
            node["anyOf"] = [s for s in node["anyOf"] if s.get("type") not in ("array", "object")]
        name = node.pop("x-limit", None)
        if isinstance(name, str):
            keyword = LIMIT_KEYWORDS.get(node.get("type", "string"), "maxLength")
            node[keyword] = getattr(limits, name)


def _input_rules(schema: object) -> None:
    """Write the text and number rules into a request schema, in place: a string without a
    pattern gets one refusing NUL (patterns of our own already exclude it), an object's keys
    too, a number the ±2^63 range."""
    for node in _nodes(schema, VALUE_KEYWORDS):
        kind = node.get("type")
        own_format = str(node.get("format", "")).startswith("leadscore-")
        if kind == "string" and "pattern" not in node and "enum" not in node and not own_format:
            node["pattern"] = NO_NUL  # a format of our own states the whole grammar
        if kind in ("number", "integer"):
            if "minimum" not in node and "exclusiveMinimum" not in node:
                node["minimum"] = INT64[0]
            if "maximum" not in node and "exclusiveMaximum" not in node:
                node["exclusiveMaximum"] = 2**63
        if kind == "object" and node.get("additionalProperties") is not False:
            names = node.setdefault("propertyNames", {})
            if "pattern" not in names:
                names["pattern"] = NO_NUL


VALUE_KEYWORDS = frozenset({"examples", "example", "default", "enum", "const", "required"})
"""Keywords whose values are data, not schemas."""


def _nodes(schema: object, data: frozenset[str] = frozenset()) -> Iterator[dict[str, Any]]:
    """Every object of a schema, depth first; its children are read after the caller has
    seen (and perhaps changed) it. Values under the `data` keywords are not walked."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            yield node
            stack.extend(child for key, child in node.items() if key not in data)
