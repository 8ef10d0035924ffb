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
import asyncio
import hashlib
import hmac
import itertools
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "b2b-saas.yaml"
SERVER = (
    "import sys, uvicorn; from leadscore.api import create_app; "
    "uvicorn.run(create_app(), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')"
)
SIGNING_KEY = "bench-calendly-signing-key"
SOURCES = "webhooks:\n  calendly: {preset: calendly, secret: env:BENCH_CALENDLY_KEY}\n"


@contextmanager
def database(backend: str, postgres_url: str):
    """A fresh, migrated database URL of the backend (None: PostgreSQL does not answer)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="leadscore-bench-") as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    from leadscore.testing import scratch

    try:
        with scratch.scratch_postgres(postgres_url) as url:
            yield url
    except scratch.Unavailable as exc:
        print(f"  postgres: skipped, {exc}", flush=True)
        yield None


def prepare(url: str) -> str:
    """The example model, active, and an admin key (returned)."""
    from leadscore.service import keys, scoring_models
    from leadscore.service.context import Context
    from leadscore.settings import Settings

    with Context.open(Settings(database_url=url)) as ctx:
        version = scoring_models.upload(ctx, EXAMPLE.read_text(), "bench")["version"]
        scoring_models.activate(ctx, version, "bench")
        return keys.create_key(ctx, f"bench-{os.getpid()}-{time.time_ns()}", "admin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(url: str, sources: Path):
    """One API server process (scheduler off) with the sources file; yields its port."""
    port = free_port()
    env = {
        **os.environ,
        "LEADSCORE_DATABASE_URL": url,
        "LEADSCORE_SCHEDULER_ENABLED": "false",
        "LEADSCORE_SOURCES_FILE": str(sources),
        "BENCH_CALENDLY_KEY": SIGNING_KEY,
    }
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit("the API server did not start")
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(30)


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


def webhook_requests(tag: str):
    """(request head lines, body) of signed Calendly deliveries, each a new invitee."""
    for n in itertools.count():
        body = json.dumps(booking(n, tag)).encode()
        stamp = str(int(time.time()))
        mac = hmac.new(SIGNING_KEY.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        head = (
            "POST /api/v1/sources/webhooks/calendly HTTP/1.1\r\nHost: bench\r\n"
            f"Calendly-Webhook-Signature: t={stamp},v1={mac.hexdigest()}\r\n"
        )
        yield head, body


def event_requests(tag: str, key: str):
    """The same bookings as plain events with an API key (the baseline)."""
    head = f"POST /api/v1/events HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n"
    for n in itertools.count():
        event = {
            "email": f"event-{tag}-{n}@bench.example",
            "type": "demo_booked",
            "occurred_at": "2026-12-01T09:00:05Z",
            "source": "calendly",
            "properties": {"meeting": "30 Minute Demo", "utm_source": "linkedin"},
        }
        yield head, json.dumps(event).encode()


async def _post_loop(port: int, requests, deadline: float, counts: dict) -> None:
    """One keep-alive connection posting until the deadline (a minimal HTTP/1.1 client)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            head, body = next(requests)
            tail = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            writer.write(f"{head}{tail}".encode() + body)
            response = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in response.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            answer = await reader.readexactly(length)
            status = int(response[9:12])
            if status not in (200, 201):
                counts.setdefault("errors", []).append((status, answer[:200]))
            counts[status] = counts.get(status, 0) + 1
    finally:
        writer.close()


def throughput(port: int, requests, clients: int, seconds: float) -> float:
    """Requests per second answered 200/201 by `clients` connections over `seconds`."""
    counts: dict = {}

    async def run() -> float:
        deadline = time.perf_counter() + seconds
        start = time.perf_counter()
        await asyncio.gather(
            *(_post_loop(port, requests, deadline, counts) for _ in range(clients))
        )
        return time.perf_counter() - start

    elapsed = asyncio.run(run())
    if counts.get("errors"):
        sys.exit(f"the server answered errors: {counts['errors'][:3]}")
    return sum(n for status, n in counts.items() if status in (200, 201)) / elapsed


def bench_backend(backend: str, options) -> dict | None:
    with ExitStack() as stack:
        url = stack.enter_context(database(backend, options.postgres_url))
        if url is None:
            return None
        key = prepare(url)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-src-")))
        (folder / "sources.yaml").write_text(SOURCES, "utf-8")
        port = stack.enter_context(server(url, folder / "sources.yaml"))
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
