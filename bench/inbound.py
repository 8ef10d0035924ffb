"""Benchmark mapped inbound webhooks (issue 17): deliveries per second through a real server.

Run `python bench/inbound.py` from the repository root (`--backend sqlite` to skip
PostgreSQL, `--postgres-url` to point elsewhere; PostgreSQL is skipped with a message when it
does not answer). For each backend a fresh database gets the example model and a sources file
with the Calendly preset, then one `leadscore` server process (uvicorn) is loaded by
`--clients` keep-alive connections from a light asyncio client:

1. webhook: Calendly `invitee.created` deliveries to POST /api/v1/sources/webhooks/calendly,
   each signed as Calendly signs (HMAC-SHA256 over `t.body`), each a new invitee: signature
   check + JSON mapping + lead upsert + event + rescore, one transaction per delivery;
2. baseline: the same bookings as plain POST /api/v1/events with an API key (the event
   creates the lead, is stored and rescored), measured alternately with 1. in the same run.

Each figure is the median of `--runs` runs (each run's figure is printed too), with the
ratio webhook / baseline; the load average is printed at the start and at each backend's
end, since other work on the machine moves every figure.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

from live_server import Request, database, prepare, rate, server

ANSWERED = frozenset({200, 201})
"""A delivery stored (201, or 200 for a batch); anything else stops the bench."""
SIGNING_KEY = "bench-calendly-signing-key"
SOURCES = "webhooks:\n  calendly: {preset: calendly, secret: env:BENCH_CALENDLY_KEY}\n"


def booking(n: int, tag: str) -> dict:
    """A Calendly invitee.created delivery for a new invitee (the preset's documented
    fields: event, created_at, payload.email/uri/scheduled_event/tracking)."""
    return {
        "event": "invitee.created",
        "created_at": "2026-12-01T09:00:05.000000Z",
        "created_by": "https://api.calendly.com/users/BENCH",
        "payload": {
            "email": f"invitee-{tag}-{n}@bench.example",
            "first_name": "Bench",
            "last_name": f"Invitee {n}",
            "uri": f"https://api.calendly.com/scheduled_events/B/invitees/{tag}-{n}",
            "rescheduled": False,
            "scheduled_event": {
                "name": "30 Minute Demo",
                "start_time": "2026-12-10T15:00:00.000000Z",
                "uri": "https://api.calendly.com/scheduled_events/B",
            },
            "tracking": {"utm_source": "linkedin", "utm_campaign": "bench"},
        },
    }


def webhook_requests(tag: str) -> Iterator[Request]:
    """Signed Calendly deliveries, each a new invitee."""
    for n in itertools.count():
        body = json.dumps(booking(n, tag)).encode()
        stamp = str(int(time.time()))
        mac = hmac.new(SIGNING_KEY.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        headers = {
            "Calendly-Webhook-Signature": f"t={stamp},v1={mac.hexdigest()}",
            "Content-Type": "application/json",
        }
        yield "POST", "/api/v1/sources/webhooks/calendly", headers, body


def event_requests(tag: str, key: str) -> Iterator[Request]:
    """The same bookings as plain events with an API key (the baseline)."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    for n in itertools.count():
        event = {
            "email": f"event-{tag}-{n}@bench.example",
            "type": "demo_booked",
            "occurred_at": "2026-12-01T09:00:05Z",
            "source": "calendly",
            "properties": {"meeting": "30 Minute Demo", "utm_source": "linkedin"},
        }
        yield "POST", "/api/v1/events", headers, json.dumps(event).encode()


def throughput(port: int, requests: Iterator[Request], clients: int, seconds: float) -> float:
    """Requests per second answered 200/201 by `clients` connections over `seconds`."""
    return rate(port, requests, clients, seconds, ANSWERED)


def bench_backend(backend: str, options) -> dict | None:
    with ExitStack() as stack:
        url = stack.enter_context(database(backend, options.postgres_url))
        if url is None:
            return None
        key = prepare(url)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-src-")))
        (folder / "sources.yaml").write_text(SOURCES, "utf-8")
        environ = {"BENCH_CALENDLY_KEY": SIGNING_KEY}
        port = stack.enter_context(server(url, folder / "sources.yaml", environ))
        throughput(port, webhook_requests("warm"), options.clients, 1.0)
        throughput(port, event_requests("warm", key), options.clients, 1.0)
        hooks, plain = [], []
        for run in range(options.runs):  # alternately, so that both see the same load
            tag = f"r{run}"
            hooks.append(throughput(port, webhook_requests(tag), options.clients, options.seconds))
            plain.append(
                throughput(port, event_requests(tag, key), options.clients, options.seconds)
            )
    print(f"  {backend}: webhook deliveries/s runs: {', '.join(f'{v:,.0f}' for v in hooks)}")
    print(f"  {backend}: plain events/s runs: {', '.join(f'{v:,.0f}' for v in plain)}")
    print(f"  {backend}: load average {os.getloadavg()[0]:.1f} at the end", flush=True)
    return {
        "hooks": statistics.median(hooks),
        "plain": statistics.median(plain),
        "ratio": statistics.median(hooks) / statistics.median(plain),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "LEADSCORE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1/test"
        ),
        help="any database on the server; a scratch database is created there and dropped",
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP connections")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of a run")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    backends = ("sqlite", "postgres") if options.backend == "both" else (options.backend,)
    print(
        f"mapped inbound webhooks (Calendly preset), {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}, Python {platform.python_version()}, "
        f"{options.clients} clients, medians of {options.runs} runs of {options.seconds:g} s"
    )
    results = {b: r for b in backends if (r := bench_backend(b, options)) is not None}
    print()
    print(f"{'':52}" + "".join(f"{b:>12}" for b in results))
    rows = (
        ("webhook deliveries/s (check+upsert+event+rescore)", "hooks", "{:>12,.0f}"),
        ("baseline POST /events/s (API key)", "plain", "{:>12,.0f}"),
        ("webhook / baseline", "ratio", "{:>12.2f}"),
    )
    for label, key, cell in rows:
        print(f"{label:52}" + "".join(cell.format(results[b][key]) for b in results))


if __name__ == "__main__":
    main()
