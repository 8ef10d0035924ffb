"""Real receivers on 127.0.0.1 for the delivery tests: an HTTP server whose answers a test
scripts, SMTP servers (aiosmtpd) in plain, STARTTLS and implicit-TLS modes with AUTH, and a
private certificate authority made at test time (trustme)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# --- the lead and digest payloads the outbox worker passes ----------------------------------

LEAD: dict[str, Any] = {
    "id": "L1",
    "email": "a@b.pl",
    "name": "Anna Nowak",
    "company": "Acme",
    "owner": "jan@demo.example",
    "score": 87.5,
    "fit": 40.0,
    "engagement": 47.5,
    "grade": "A",
    "tier": "hot",
    "stage": "MQL",
    "previous": {"score": 80.0, "tier": "warm", "stage": "lead"},
    "reasons": [
        {"rule": "demo_booked", "section": "engagement", "points": 30.0},
        {"rule": "pricing_page", "section": "engagement", "points": 12.5},
        {"rule": "software_industry", "section": "fit", "points": 25.0},
        {"rule": "unsubscribed", "section": "engagement", "points": -10.0},
    ],
    "url": "http://127.0.0.1:8000/leads/L1",
}

NOTIFY: dict[str, Any] = {
    "id": "ob_42",
    "type": "lead.score_crossed",
    "timestamp": "2026-12-07T10:00:00Z",
    "automation": {"name": "hot-lead-alert", "version": 3},
    "trigger": {
        "kind": "score_crossed",
        "description": "score crossed 85 upwards",
        "field": "score",
        "threshold": 85,
        "direction": "up",
    },
    "lead": LEAD,
    "event": {"id": "e1", "type": "demo_booked", "occurred_at": "2026-12-07T09:59:00Z"},
}


def digest(leads: list[dict[str, Any]], owner: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "ob_43",
        "type": "digest.daily",
        "timestamp": "2026-12-07T10:00:00Z",
        "automation": {"name": "morning-digest", "version": 1},
        "owner": owner,
        "window": {"from": "2026-12-06T10:00:00Z", "to": "2026-12-07T10:00:00Z"},
        "leads": leads,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- an HTTP receiver -----------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Answer = tuple[int, dict[str, str], bytes]
Respond = Callable[[Request, int], Answer]
"""What the receiver answers to a request, given how many it received before it."""


@dataclass
class Receiver:
    url: str
    requests: list[Request] = field(default_factory=list)


def answer(status: int, body: bytes | str = b"", **headers: str) -> Answer:
    data = body.encode() if isinstance(body, str) else body
    return status, {k.replace("_", "-"): v for k, v in headers.items()}, data


def fails_then_succeeds(failures: int, status: int = 503) -> Respond:
    def respond(_: Request, attempt: int) -> Answer:
        if attempt < failures:
            return answer(status, f"down for maintenance ({attempt + 1})")
        return answer(200, '{"received":true}', content_type="application/json")

    return respond


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """`receiver(respond, delay=0)`: an HTTP server on 127.0.0.1 that records every request
    and answers as `respond` says, after `delay` seconds; stopped when the test ends."""
    servers: list[ThreadingHTTPServer] = []

    def start(respond: Respond, delay: float = 0.0) -> Receiver:
        stop = threading.Event()
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = Request(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                with lock:
                    attempt = len(found.requests)
                    found.requests.append(request)
                if delay and stop.wait(delay):
                    return
                status, headers, body = respond(request, attempt)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.stop_event = stop  # type: ignore[attr-defined]
        found = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks/leadscore")
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return found

    yield start
    for server in servers:
        server.stop_event.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()


# --- TLS ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext
    """Trusts the test CA and checks the host name, like the default context does."""


@pytest.fixture(scope="session")
def tls() -> Tls:
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Tls(server, client)


# --- SMTP servers ---------------------------------------------------------------------------

USER, PASSWORD = "leadscore@demo.example", "p@ss w:rd/%?#"
"""Credentials with the characters a URL must encode."""
UTF8_PASSWORD = "zażółć gęślą jaźń"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    over_tls: bool
    authenticated_as: str | None


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it accepts. `data_replies` are answered to DATA,
    one per message, before it accepts; `unknown` recipients are refused with 550."""

    data_replies: list[str] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)
    messages: list[Received] = field(default_factory=list)
    mechanisms: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown:
            return f"550 5.1.1 <{address}>: recipient address rejected: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_replies:
            return self.data_replies.pop(0)
        login = session.auth_data.login.decode() if session.authenticated else None
        self.messages.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content,
                server.transport.get_extra_info("ssl_object") is not None,
                login,
            )
        )
        return "250 2.0.0 OK: queued"

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        self.mechanisms.append(mechanism)
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == USER.encode()
            and auth_data.password in (PASSWORD.encode(), UTF8_PASSWORD.encode())
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@pytest.fixture
def smtp_server(tls: Tls) -> Iterator[Callable[..., Inbox]]:
    """`smtp_server(mode, inbox=None, **options)`: an aiosmtpd server on 127.0.0.1 in mode
    `plain`, `starttls` (STARTTLS required, then AUTH required) or `tls` (implicit TLS, AUTH
    required); stopped when the test ends."""
    controllers: list[Controller] = []

    def start(mode: str, inbox: Inbox | None = None, **options: Any) -> Inbox:
        inbox = inbox or Inbox()
        inbox.port = free_port()
        kwargs: dict[str, Any] = {"authenticator": inbox.authenticator, **options}
        if mode == "starttls":
            kwargs.update(tls_context=tls.server, require_starttls=True, auth_required=True)
        elif mode == "tls":
            # aiosmtpd does not see the implicit TLS below it, so it need not ask for STARTTLS
            kwargs.update(ssl_context=tls.server, auth_required=True, auth_require_tls=False)
        elif mode != "plain":
            raise ValueError(mode)
        controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **kwargs)
        controller.start()
        controllers.append(controller)
        return inbox

    yield start
    for controller in controllers:
        controller.stop()
