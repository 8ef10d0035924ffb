"""The OpenAPI document documents, for every operation, the statuses its kind of route can
return, each error with the error model (api/openapi.py), so a new route gets them by default."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute, iter_route_contexts

from leadscore.api import create_app
from leadscore.api.openapi import is_signed, needs_key, operations
from leadscore.settings import Settings

ERROR = {"$ref": "#/components/schemas/Error"}
ORIGIN_CHECKED = {"/api/v1/sources/track"}


def test_every_operation_documents_its_statuses(tmp_path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}"), scheduler=False)
    document = app.openapi()
    routes = {
        (r.path_format, m.lower()): r
        for r in iter_route_contexts(app.routes)
        if isinstance(r.original_route, APIRoute) and r.include_in_schema
        for m in r.methods or ()
    }
    seen = 0
    for path, method, operation in operations(document):
        seen += 1
        route = routes[(path, method)]
        codes = set(operation["responses"])
        assert "422" in codes, (method, path)
        assert "503" in codes, (method, path)  # the database unavailable (tests/reliability)
        if needs_key(route.dependant):
            assert {"401", "403"} <= codes, (method, path)
        elif is_signed(route.dependant):  # a CRM's webhooks: its signature, not a key
            assert "401" in codes, (method, path)
            # a public key and the browser's Origin (403) for website tracking's beacons
            assert ("403" in codes) == (path in ORIGIN_CHECKED), (method, path)
        else:
            assert not {"401", "403"} & codes, (method, path)
        if "requestBody" in operation:
            assert "413" in codes, (method, path)
        else:
            assert "413" not in codes and "415" not in codes, (method, path)
        if route.dependant.path_params:
            assert "404" in codes, (method, path)
        for code, response in operation["responses"].items():
            if code[0] in "45":
                assert response["content"] == {"application/json": {"schema": ERROR}}, code
    assert seen == len(routes) >= 19
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_the_limits_in_the_document_are_the_configured_ones(tmp_path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", max_value_length=64, max_keys=8
    )
    schemas = create_app(settings, scheduler=False).openapi()["components"]["schemas"]
    attributes = schemas["LeadIn"]["properties"]["attributes"]
    assert attributes["maxProperties"] == 8
    assert {"type": "string", "maxLength": 64, "pattern": "^[^\\x00]*$"} in attributes[
        "additionalProperties"
    ]["anyOf"]


def _string_schemas(node: object) -> list[dict[str, object]]:
    found, stack = [], [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if item.get("type") == "string":
                found.append(item)
            stack.extend(v for k, v in item.items() if k not in ("examples", "example"))
    return found


def test_no_string_the_document_admits_holds_a_nul(tmp_path) -> None:
    """The server refuses NUL in every text it reads (docs/api.md); so must every pattern of a
    parameter or request body, or a client generated from the document sends what is refused."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}"), scheduler=False)
    document = app.openapi()
    inputs: list[object] = []
    for _, _, operation in operations(document):
        inputs += [p.get("schema", {}) for p in operation.get("parameters", [])]
        inputs.append(operation.get("requestBody", {}))
    inputs += [
        schema
        for name, schema in document["components"]["schemas"].items()
        if name.endswith(("In", "Batch")) or name in ("TrainIn",)
    ]
    # Strings that each pattern may otherwise admit, with a NUL put in.
    probes = [
        "\x00",
        "a\x00",
        "\x00a",
        "a\x00b",
        "ada@example.com\x00",
        "hubspot\x00:5",
        "2026-01-01T00:00:00Z\x00",
    ]

    checked = 0
    for schema in _string_schemas(inputs):
        if "enum" in schema or "const" in schema or "format" in schema:
            continue
        pattern = schema.get("pattern")
        assert isinstance(pattern, str), schema
        checked += 1
        for probe in probes:
            assert not re.search(pattern, probe), (pattern, probe)
    assert checked >= 20
