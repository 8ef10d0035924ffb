"""The single-event shortcut (api/shortcut.py) answers exactly what the route answers, and
takes only the requests the route would have served: over HTTP, each request is sent once the
usual way (its key not yet verified, so it goes through FastAPI) and once through the shortcut
(the key just verified), and the two answers must be the same; and in front of a stand-in for
the rest of the app, every other request passes through untouched."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from tests.api.conftest import MODEL, Api, Server, running

from leadscore.api import create_app
from leadscore.api.shortcut import EventsShortcut
from leadscore.service import keys
from leadscore.settings import Settings
from leadscore.testing import scratch


@pytest.fixture
def cached(database_url: str) -> Iterator[Server]:
    """A server that trusts a verified key for a minute (the session's server never does)."""
    with running(Settings(database_url=database_url, api_key_cache_seconds=60)) as started:
        yield started


@pytest.fixture
def api(cached: Server) -> Iterator[Api]:
    scratch.empty(cached.ctx.db)
    cached.ctx.reset_caches()
    clients = Api(cached)
    clients.set_time("2026-01-01T00:00:00Z")
    clients.model(MODEL)
    yield clients
    clients.close()


def _posted(api: Api, usual: bool, body: bytes) -> httpx.Response:
    if usual:  # the key must be read again: FastAPI's dependencies do it, then cache it
        api.ctx.key_cache.clear()
    else:
        assert api.ctx.key_cache, "the key should be verified by now"
    headers = {"Content-Type": "application/json"}
    return api.writer.post("/events", content=body, headers=headers)


def _same(usual: httpx.Response, short: httpx.Response, mine: str, theirs: str) -> None:
    """Equal answers, once the ids that differ on purpose (leads, events, request) are set
    aside."""
    assert short.status_code == usual.status_code, short.text
    skip = {"x-request-id", "date"}
    assert {k: v for k, v in short.headers.items() if k not in skip} == {
        k: v for k, v in usual.headers.items() if k not in skip
    }
    first, second = usual.json(), short.json()
    for body, rid in (
        (first, usual.headers["x-request-id"]),
        (second, short.headers["x-request-id"]),
    ):
        if isinstance(body, dict) and "request_id" in body:
            assert body.pop("request_id") == rid
    assert json.loads(json.dumps(second).replace(theirs, mine)) == first


CASES = {
    "one event": lambda lead, n: {"lead_id": lead, "type": "demo_booked", "id": f"{lead}-e{n}"},
    "the same again": lambda lead, n: {
        "lead_id": lead,
        "type": "demo_booked",
        "id": f"{lead}-e{n - 1}",
    },
    "a batch": lambda lead, n: {
        "events": [
            {"lead_id": lead, "type": "email_opened", "id": f"{lead}-b{n}"},
            {
                "lead_id": lead,
                "type": "page_viewed",
                "id": f"{lead}-p{n}",
                "properties": {"url": "/pricing"},
            },
        ]
    },
    "an unknown lead": lambda lead, n: {"lead_id": f"{lead}-nobody", "type": "demo_booked"},
    "a bad field": lambda lead, n: {"lead_id": lead, "type": 5, "occurred_at": "yesterday"},
    "a bad batch": lambda lead, n: {"events": [{"lead_id": lead, "type": "x"}, {"type": 1}]},
    "another lead's event id": lambda lead, n: {
        "lead_id": lead,
        "type": "demo_booked",
        "id": "shared-id",
    },
}

STATUS = {
    "one event": 201,
    "the same again": 200,
    "a batch": 200,
    "an unknown lead": 404,
    "a bad field": 422,
    "a bad batch": 422,
    "another lead's event id": 409,
}


def test_the_shortcut_answers_what_the_route_answers(api: Api) -> None:
    for lead in ("usual", "short"):
        api.lead(id=lead, attributes={"industry": "software"})
    api.lead(id="third")
    api.event(lead_id="third", type="email_opened", id="shared-id")
    for n, (case, make) in enumerate(CASES.items()):
        usual = _posted(api, True, json.dumps(make("usual", n)).encode())
        short = _posted(api, False, json.dumps(make("short", n)).encode())
        assert usual.status_code == STATUS[case], (case, usual.text)
        _same(usual, short, "usual", "short")
    for raw in (b"{not json", b"[]", b'{"lead_id": "usual", "type": "\\u0000"}'):
        _same(_posted(api, True, raw), _posted(api, False, raw), "usual", "short")
    usual, short = api.get("/leads/usual"), api.get("/leads/short")
    assert usual["score"] == short["score"] > 0


class _Rest:
    """Stands in for the app under the shortcut: notes each request that reaches it."""

    def __init__(self) -> None:
        self.reached: list[str] = []

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        self.reached.append(f"{scope['method']} {scope['path']}")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_the_shortcut_takes_only_what_the_route_would_serve(api: Api) -> None:
    api.lead(id="A")
    reader = keys.create_key(api.ctx, "a-reader", "read")
    for key in (api.keys["write"], reader):
        assert keys.authenticate(api.ctx, key) is not None  # both verified: in the cache
    app = create_app(context=api.ctx, scheduler=False, worker=False)  # (no writer: a thread)

    def request(method: str, path: str, auth: str | None, query: bytes = b"") -> bool:
        """Whether the shortcut answered it itself."""
        rest = _Rest()
        shortcut = EventsShortcut(rest, "/api/v1/events")
        headers = [(b"authorization", auth.encode())] if auth else []
        body = json.dumps({"lead_id": "A", "type": "email_opened"}).encode()
        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "query_string": query,
            "root_path": "",
            "headers": [*headers, (b"content-type", b"application/json")],
            "app": app,
        }
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        asyncio.run(shortcut(scope, receive, send))  # type: ignore[arg-type]
        assert sent[0]["status"] in (200, 201, 204)
        return not rest.reached

    writer = f"Bearer {api.keys['write']}"
    assert request("POST", "/api/v1/events", writer)
    assert request("POST", "/api/v1/events", f"bearer   {api.keys['write']}")
    assert not request("POST", "/api/v1/events", writer, b"stag=mql")
    assert not request("POST", "/api/v1/events/", writer)
    assert not request("GET", "/api/v1/events", writer)
    assert not request("POST", "/api/v1/events", f"Bearer {reader}")  # a 403, as usual
    assert not request("POST", "/api/v1/events", "Bearer lsk_unknown")  # read it: a 401
    assert not request("POST", "/api/v1/events", f"Basic {api.keys['write']}")
    assert not request("POST", "/api/v1/events", None)
    assert not request("POST", "/api/v1/outcomes", writer)
