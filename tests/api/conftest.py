"""A real server per backend (SQLite file, scratch PostgreSQL database), reached over a socket.

Each backend gets one uvicorn server in a thread for the whole session; every test starts
from empty tables, fresh API keys (admin, write, read) and a clock the test may set.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from tests import secrets_registry
from tests.conftest import skip_or_fail

from leadscore.api import create_app, schemas
from leadscore.core.timestamps import parse_timestamp
from leadscore.service import keys
from leadscore.service.context import Context, wall_clock
from leadscore.settings import Settings
from leadscore.testing import scratch

POSTGRES_URL = os.environ.get(
    "LEADSCORE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

MODEL = """
name: test
fit:
  weight: 0.5
  max: 50
  rules:
    - {id: sw, when: {field: industry, equals: software}, points: 25}
    - {id: big, when: {field: employees, gte: 500}, points: 25}
engagement:
  weight: 0.5
  max: 100
  rules:
    - {id: pricing, event: page_viewed, where: {field: url, contains: /pricing}, points: 30}
    - {id: open, event: email_opened, points: 10, half_life: 10d}
    - {id: demo, event: demo_booked, points: 60, expires_after: 30d}
    - {id: unsub, event: email_unsubscribed, points: -100}
grades: {A: 75, B: 50, C: 0}
tiers: {hot: 70, warm: 40, cold: 0}
stages:
  - name: disqualified
    when: {field: job_title, matches: student}
  - {name: sql, min_score: 70}
  - {name: mql, min_score: 40}
  - {name: lead}
"""


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'leadscore.db'}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        with scratch.scratch_postgres(POSTGRES_URL) as url:
            yield url
    except scratch.Unavailable as exc:
        skip_or_fail(f"{exc} (set LEADSCORE_TEST_POSTGRES_URL)")


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database_url(request) -> str:
    return request.getfixturevalue(f"{request.param}_url")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    base_url: str
    ctx: Context


@contextmanager
def running(settings: Settings) -> Iterator[Server]:
    """A uvicorn server in a thread, serving the app over these settings, until the block
    ends. E-mails automations send go to a temporary folder unless the settings name one;
    failed authentications are not limited unless the settings set a limit."""
    if "mail_dir" not in settings.model_fields_set:
        settings = settings.model_copy(
            update={"mail_dir": tempfile.mkdtemp(prefix="leadscore-mail-")}
        )
    if "auth_fail_limit" not in settings.model_fields_set:  # tests send many wrong keys
        settings = settings.model_copy(update={"auth_fail_limit": 0})
    ctx = Context.open(settings)
    app = create_app(context=ctx, scheduler=False)
    port = free_port()
    # uvicorn's records (access log included) go to the root logger's handlers, which the
    # session captures and scans for secrets (tests/conftest.py)
    # A keep-alive connection is closed after 75 s idle, not uvicorn's 5: on a loaded CI
    # machine a pooled connection idle for 5 s could be closed by the server just as a client
    # thread sent on it, and the client saw "connection reset by peer" (a race of keep-alive,
    # not of the code under test).
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, log_level=None, timeout_keep_alive=75
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the API server did not start")
        time.sleep(0.01)
    try:
        yield Server(f"http://127.0.0.1:{port}", ctx)
    finally:
        uv.should_exit = True
        thread.join(10)
        ctx.close()


@pytest.fixture(scope="session")
def server(database_url: str) -> Iterator[Server]:
    with running(Settings(database_url=database_url, api_key_cache_seconds=0)) as started:
        yield started


class Api:
    """Clients for one test: `admin`, `writer`, `reader` (keys with those scopes), `anon`."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.ctx = server.ctx
        base = server.base_url + "/api/v1"
        self.keys = {
            scope: keys.create_key(self.ctx, f"{scope}-key", scope)
            for scope in ("admin", "write", "read")
        }
        secrets_registry.register(*self.keys.values())
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)

        def client(key: str | None) -> httpx.Client:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return httpx.Client(base_url=base, headers=headers, timeout=60, limits=limits)

        self.admin = client(self.keys["admin"])
        self.writer = client(self.keys["write"])
        self.reader = client(self.keys["read"])
        self.anon = client(None)

    def close(self) -> None:
        for c in (self.admin, self.writer, self.reader, self.anon):
            c.close()

    def set_time(self, iso: str) -> int:
        """Freeze the server's clock (epoch µs returned)."""
        moment = parse_timestamp(iso)
        self.ctx.clock = lambda: moment
        return moment

    def model(self, text: str = MODEL, activate: bool = True) -> dict:
        response = self.admin.post(
            "/models",
            params={"activate": activate},
            content=text,
            headers={"Content-Type": "application/yaml"},
        )
        assert response.status_code == 201, response.text
        return response.json()

    def event(self, **body) -> dict:
        response = self.writer.post("/events", json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def lead(self, **body) -> dict:
        response = self.writer.post("/leads", json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def get(self, path: str, **params) -> dict:
        response = self.reader.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def api(server: Server) -> Iterator[Api]:
    scratch.empty(server.ctx.db)
    server.ctx.reset_caches()
    server.ctx.clock = wall_clock
    clients = Api(server)
    yield clients
    clients.close()
    server.ctx.clock = wall_clock


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    def json(self) -> object:
        return json.loads(self.raw)

    def error(self) -> schemas.Error:
        """The body as the error model, checked against its schema and the X-Request-ID."""
        assert self.headers.get("content-type") == "application/json", self.raw[:200]
        error = schemas.Error.model_validate_json(self.raw)
        assert error.request_id == self.headers["x-request-id"]
        return error


class KeepAlive:
    """One HTTP/1.1 connection kept open across requests (http.client on one socket): to prove
    that a response — an error, even a 500, included — leaves the connection usable. Paths
    are sent as given (percent-encode them), under /api/v1 unless they start with //."""

    def __init__(self, server: Server, key: str | None = None) -> None:
        url = httpx.URL(server.base_url)
        assert url.host and url.port
        self.conn = http.client.HTTPConnection(url.host, url.port, timeout=120)
        self.conn.connect()
        self.socket = self.conn.sock
        self.auth = {"Authorization": f"Bearer {key}"} if key else {}

    def send(
        self,
        method: str,
        path: str,
        body: bytes | str | object | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        url = path[1:] if path.startswith("//") else "/api/v1" + path
        sent = {**self.auth, **(headers or {})}
        if isinstance(body, dict | list):
            body = json.dumps(body)
            sent.setdefault("Content-Type", "application/json")
        chunked = sent.get("Transfer-Encoding") == "chunked"  # body: an iterable of bytes
        self.conn.request(method, url, body=body, headers=sent, encode_chunked=chunked)  # type: ignore[arg-type]
        response = self.conn.getresponse()
        raw = response.read()
        reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, raw)
        assert self.conn.sock is self.socket, f"{method} {path}: the server closed the connection"
        return reply

    def still_usable(self) -> None:
        """The next request on the same connection gets its answer."""
        reply = self.send("GET", "/health")
        assert reply.status == 200, reply.raw

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def connect(api: Api) -> Iterator[Callable[[str | None], KeepAlive]]:
    """`connect(scope)`: a KeepAlive connection with the test's key of that scope (None: no
    key), closed after the test."""
    opened: list[KeepAlive] = []

    def connection(scope: str | None) -> KeepAlive:
        opened.append(KeepAlive(api.server, None if scope is None else api.keys[scope]))
        return opened[-1]

    yield connection
    for each in opened:
        each.close()
