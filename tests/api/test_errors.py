"""One error model for every 4xx and 5xx (issue 10, item 1): JSON `{"detail", "request_id"}`
matching `schemas.Error`, with the request id also in `X-Request-ID` — for our own errors,
FastAPI's and Starlette's (unknown route, 405, 413), HTTPException (401, 403, 415) and any
unhandled exception, which is a logged JSON 500 that leaves the connection usable."""

from __future__ import annotations

import logging
import re

import pytest

from leadscore.service import queries

YAML = {"Content-Type": "application/yaml"}
GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def writer(connect):
    return connect("write")


def test_every_kind_of_error_has_one_shape_and_the_connection_survives(api, connect) -> None:
    api.lead(id="L1", email="a@x.io")
    admin, reader, anon = connect("admin"), connect("read"), connect(None)
    cases = [  # connection, method, path, body, headers, status, detail says
        (anon, "GET", "/leads", None, {}, 401, "missing API key"),
        (reader, "POST", "/leads", {"id": "x"}, {}, 403, "lacks the 'write' scope"),
        (reader, "GET", "/no-such-route", None, {}, 404, "Not Found"),
        (reader, "GET", "/leads/nobody", None, {}, 404, "no lead 'nobody'"),
        (reader, "DELETE", "/leads", None, {}, 405, "Method Not Allowed"),
        (admin, "POST", "/leads", {"id": "L2", "email": "a@x.io"}, {}, 409, "cannot change"),
        (admin, "POST", "/models", "name: x", {"Content-Type": "text/csv"}, 415, "YAML"),
        (admin, "POST", "/events", b'{"lead_id": "L1", "type":', {}, 422, "not valid JSON"),
        (admin, "POST", "/events", {"lead_id": "L1"}, {}, 422, "Field required"),
        (admin, "POST", "/leads/L1/overrides", b"\xff\xfe{}", {}, 422, "not valid JSON"),
        (admin, "POST", "/models", b"name: \xff", YAML, 422, "UTF-8"),
        (reader, "GET", "/leads?limit=0", None, {}, 422, "greater than or equal to 1"),
    ]
    for connection, method, path, body, headers, status, says in cases:
        reply = connection.send(method, path, body, headers)
        assert reply.status == status, (path, reply.raw)
        error = reply.error()
        text = error.detail if isinstance(error.detail, str) else error.detail[0].msg
        assert says in text, (path, text)
        assert GENERATED.fullmatch(error.request_id)
        connection.still_usable()
    assert anon.send("GET", "/leads").headers["www-authenticate"] == "Bearer"
    assert reader.send("DELETE", "/leads").headers["allow"]


def test_the_request_id_is_echoed_when_sensible_and_made_up_otherwise(api) -> None:
    api.lead(id="L1")
    given = api.reader.get("/leads/L1", headers={"X-Request-ID": "crm-sync:42/7"})
    assert given.status_code == 200 and given.headers["x-request-id"] == "crm-sync:42/7"
    for bad in ("", "x" * 129, "has space", "naïve".encode(), "a\tb", "<script>"):
        response = api.reader.get("/leads/nobody", headers={"X-Request-ID": bad})
        assert response.status_code == 404
        rid = response.headers["x-request-id"]
        assert GENERATED.fullmatch(rid) and response.json()["request_id"] == rid, bad
    ids = {api.reader.get("/leads").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


def test_an_unhandled_error_is_a_logged_json_500_on_a_usable_connection(
    api, connect, monkeypatch, caplog
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(queries, "list_leads", broken)
    reader = connect("read")
    with caplog.at_level(logging.ERROR, logger="leadscore.api"):
        reply = reader.send("GET", "/leads", headers={"X-Request-ID": "trace-500"})
    assert reply.status == 500
    error = reply.error()
    assert error.request_id == "trace-500" and "trace-500" in str(error.detail)
    assert "disk" not in reply.raw.decode()  # no internals leak to the client
    logged = [r for r in caplog.records if "trace-500" in r.getMessage()]
    assert logged and logged[0].exc_info and "the disk is on fire" in str(logged[0].exc_info[1])
    reader.still_usable()
    monkeypatch.undo()
    assert reader.send("GET", "/leads").status == 200


def test_an_unparsable_body_has_the_shape_of_every_other_error(writer) -> None:
    for body in (b"", b"{", b"[1,", b"\xff", b'{"a": NaN}', b"{'a': 1}"):
        reply = writer.send("POST", "/events", body, {"Content-Type": "application/json"})
        assert reply.status == 422, body
        [problem] = reply.error().detail
        assert problem.type == "json_invalid" and problem.loc == ["body"], body
    writer.still_usable()
