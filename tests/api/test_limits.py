"""Size limits (issue 10, item 1): a body over LEADSCORE_MAX_BODY_BYTES is a 413 before it is
read in full (by its Content-Length, or counted as a chunked body streams in); attribute and
property values, key counts and nesting over the LEADSCORE_MAX_* limits are a 422 naming the
field. The defaults refuse what the issue found stored (a 10 MB attribute, a 1 MB property, a
50 MB body) and let a realistic 10,000-event batch through. SQLite and PostgreSQL."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from tests.api.conftest import KeepAlive, Server, running

from leadscore.settings import Settings

MB = 1024 * 1024
SMALL = {"max_body_bytes": 4096, "max_value_length": 50, "max_keys": 5, "max_depth": 3}


@pytest.fixture(scope="module")
def small_server(database_url: str) -> Iterator[Server]:
    """A second server on the test database, with small limits."""
    settings = Settings(database_url=database_url, api_key_cache_seconds=0, **SMALL)
    with running(settings) as started:
        yield started


@pytest.fixture
def small(api, small_server: Server) -> Iterator[KeepAlive]:
    """A write connection to the small server (the test's keys are in the shared database)."""
    connection = KeepAlive(small_server, api.keys["admin"])
    yield connection
    connection.close()


def rejected(reply, status: int, loc: list | None, says: str) -> None:
    assert reply.status == status, reply.raw[:300]
    error = reply.error()
    if loc is None:
        assert isinstance(error.detail, str) and says in error.detail, error.detail
    else:
        assert [d.loc for d in error.detail] == [loc], error.detail
        assert says in error.detail[0].msg, error.detail[0].msg


def test_a_declared_oversize_body_is_413_before_it_is_sent(api) -> None:
    """Only the headers go out: the 413 comes back at once, without waiting for 50 MB."""
    url = httpx.URL(api.server.base_url)
    assert url.host and url.port
    conn = http.client.HTTPConnection(url.host, url.port, timeout=10)
    conn.putrequest("POST", "/api/v1/events")
    conn.putheader("Authorization", f"Bearer {api.keys['write']}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(50 * MB))
    conn.endheaders()
    started = time.monotonic()
    response = conn.getresponse()
    body = json.loads(response.read())
    assert response.status == 413 and time.monotonic() - started < 5
    assert "16,777,216 bytes" in body["detail"] and body["request_id"]
    assert response.getheader("x-request-id") == body["request_id"]
    conn.close()


def test_a_50_mb_body_is_refused_and_the_connection_stays_usable(api, connect) -> None:
    writer = connect("write")
    body = b'{"lead_id": "L1", "type": "x", "properties": {"p": "' + b"x" * (50 * MB) + b'"}}'
    rejected(writer.send("POST", "/events", body), 413, None, "LEADSCORE_MAX_BODY_BYTES")
    writer.still_usable()


def test_a_chunked_body_is_counted_as_it_streams_in(api, small) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"id": "L1", "attributes": {"a": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}}'

    reply = small.send(
        "POST",
        "/leads",
        chunks(),
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    rejected(reply, 413, None, "4,096 bytes")
    small.still_usable()
    assert api.reader.get("/leads/L1").status_code == 404
    just_right = small.send("POST", "/leads", {"id": "L1", "attributes": {"a": "x" * 50}})
    assert just_right.status == 201, just_right.raw


def test_the_issues_oversized_values_are_refused_by_default(api, connect) -> None:
    api.lead(id="L1")
    writer = connect("write")
    ten_mb = {"id": "L1", "attributes": {"notes": "x" * (10 * MB)}}
    rejected(writer.send("POST", "/leads", ten_mb), 422, ["body", "attributes", "notes"],
             "10,485,760 characters, more than 65,536 (LEADSCORE_MAX_VALUE_LENGTH)")  # fmt: skip
    one_mb = {"lead_id": "L1", "type": "x", "properties": {"html": "x" * MB}}
    rejected(writer.send("POST", "/events", one_mb), 422, ["body", "properties", "html"],
             "1,048,576 characters")  # fmt: skip
    writer.still_usable()
    assert api.get("/leads/L1")["attributes"] == {}
    assert api.get("/leads/L1/events")["data"] == []


def test_value_key_and_depth_limits_name_the_field(api, small) -> None:
    assert small.send("POST", "/leads", {"id": "L1", "attributes": {"a": 1}}).status == 201
    cases = [
        ("/leads", {"id": "L1", "attributes": {"a": "x" * 51}}, ["body", "attributes", "a"],
         "51 characters, more than 50"),
        ("/leads", {"id": "L1", "attributes": {f"k{i}": i for i in range(6)}},
         ["body", "attributes"], "6 keys, more than 5 (LEADSCORE_MAX_KEYS)"),
        ("/leads", {"id": "L1", "attributes": {"k" * 201: 1}},
         ["body", "attributes", "k" * 201, "[key]"], "at most 200 characters"),
        ("/events", {"lead_id": "L1", "type": "t", "properties": {"p": {"q": "x" * 51}}},
         ["body", "properties", "p"], "at q: 51 characters"),
        ("/events", {"lead_id": "L1", "type": "t", "properties": {"p": {"x" * 51: 1}}},
         ["body", "properties", "p"], "characters, more than 50"),
        ("/events", {"lead_id": "L1", "type": "t", "properties": {"p": {"q": {"r": {}}}}},
         ["body", "properties", "p"], "at q.r: nested 4 levels deep, more than 3"),
        ("/events", {"lead_id": "L1", "type": "t", "properties": {"p": [[[1]]]}},
         ["body", "properties", "p"], "at [0][0]: nested 4 levels deep"),
        ("/events", {"lead_id": "L1", "type": "t", "properties": {"p": list(range(6))}},
         ["body", "properties", "p"], "6 entries, more than 5"),
        ("/events", {"lead_id": "L1", "type": "t", "properties": {f"k{i}": 1 for i in range(6)}},
         ["body", "properties"], "6 keys, more than 5"),
        ("/events", {"events": [{"lead_id": "L1", "type": "t"},
                                {"lead_id": "L1", "type": "t", "properties": {"p": "x" * 51}}]},
         ["body", "events", 1, "properties", "p"], "51 characters"),
    ]  # fmt: skip
    for path, body, loc, says in cases:
        rejected(small.send("POST", path, body), 422, loc, says)
        small.still_usable()
    fits = {"lead_id": "L1", "type": "t", "properties": {"p": {"q": [1, "x" * 50]}, "r": [[]]}}
    assert small.send("POST", "/events", fits).status == 201
    assert len(api.get("/leads/L1/events")["data"]) == 1


def test_a_lead_cannot_outgrow_the_attribute_count_by_merging(api, small) -> None:
    first = {"id": "L1", "attributes": {f"a{i}": i for i in range(5)}}
    assert small.send("POST", "/leads", first).status == 201
    more = {"id": "L1", "attributes": {"b": 1}, "owner": "ann"}
    rejected(small.send("POST", "/leads", more), 422, ["body", "attributes"],
             "would hold 6 attributes, more than 5")  # fmt: skip
    batch = {"leads": [{"id": "L2"}, more]}
    rejected(small.send("POST", "/leads", batch), 422, ["body", "leads", 1, "attributes"],
             "would hold 6")  # fmt: skip
    lead = api.get("/leads/L1")
    assert len(lead["attributes"]) == 5 and lead["owner"] is None
    assert api.reader.get("/leads/L2").status_code == 404
    assert small.send("POST", "/leads", {"id": "L1", "attributes": {"a0": "x"}}).status == 200


def test_a_realistic_10000_event_batch_fits_the_default_limits(api, connect) -> None:
    """Tracking-style events (full URL with UTM tags, referrer, user agent, ids) for 500
    leads: about 700 bytes each, 7 MB for 10,000 — under half of the 16 MiB default."""
    api.lead(id="L1")
    events = [
        {
            "id": str(uuid.uuid4()),
            "email": f"person{i % 500}@company.example",
            "type": "page_viewed",
            "occurred_at": "2026-01-31T09:30:00.000+0000",
            "source": "web",
            "properties": {
                "url": "https://www.example.com/pricing/enterprise?utm_source=google&utm_medium"
                "=cpc&utm_campaign=spring-2026-brand&utm_term=lead+scoring&utm_content=b",
                "referrer": "https://www.google.com/search?q=lead+scoring+software+open+source",
                "title": "Pricing — Enterprise plans | Example",
                "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15"
                " (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
                "session_id": str(uuid.uuid4()),
                "screen": "1512x982",
                "duration_ms": 48210 + i,
            },
        }
        for i in range(10_000)
    ]
    body = json.dumps({"events": events})
    assert 6 * MB < len(body) < Settings().max_body_bytes / 2
    reply = connect("write").send("POST", "/events", body)
    assert reply.status == 200, reply.raw[:300]
    assert reply.json()["stored"] == 10_000
