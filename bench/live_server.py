"""What bench/inbound.py and bench/tracking.py share: a fresh database per backend, the
example model and an admin key, one API server process (uvicorn) with a sources file, and a
light asyncio HTTP/1.1 load client, so that the load generator takes little of the CPU it
measures. Not a bench of its own."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "b2b-saas.yaml"
SERVER = (
    "import sys, uvicorn; from leadscore.api import create_app; "
    "uvicorn.run(create_app(), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')"
)
OK = frozenset({200, 201, 204})

Request = tuple[str, str, dict[str, str], bytes]
"""One request: (method, path, headers, body)."""


@contextmanager
def database(backend: str, postgres_url: str) -> Iterator[str | None]:
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
        return int(s.getsockname()[1])


@contextmanager
def server(url: str, sources: Path, env: Mapping[str, str] | None = None) -> Iterator[int]:
    """One API server process (scheduler off) with the sources file; yields its port."""
    port = free_port()
    environ = {
        **os.environ,
        "LEADSCORE_DATABASE_URL": url,
        "LEADSCORE_SCHEDULER_ENABLED": "false",
        "LEADSCORE_SOURCES_FILE": str(sources),
        **(env or {}),
    }
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=environ)
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


async def send_loop(port: int, requests: Iterator[Request], deadline: float, counts: dict) -> None:
    """One keep-alive connection sending requests until the deadline or their end; counts
    each status, and keeps the first answers of each status outside OK under "errors"."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            try:
                method, path, headers, body = next(requests)
            except StopIteration:  # a finite list of requests, all sent
                break
            head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            response = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in response.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            answer = await reader.readexactly(length)
            status = int(response[9:12])
            if status not in OK:
                counts.setdefault("errors", []).append((status, answer[:200]))
            counts[status] = counts.get(status, 0) + 1
    finally:
        writer.close()


def rate(
    port: int,
    requests: Iterator[Request],
    clients: int,
    seconds: float,
    ok: frozenset[int] = OK,
) -> float:
    """Requests per second answered with a status in `ok` by `clients` connections over
    `seconds`; any other answer stops the bench, quoted."""
    counts: dict = {}

    async def run() -> float:
        deadline = time.perf_counter() + seconds
        start = time.perf_counter()
        await asyncio.gather(*(send_loop(port, requests, deadline, counts) for _ in range(clients)))
        return time.perf_counter() - start

    elapsed = asyncio.run(run())
    bad = {status: n for status, n in counts.items() if status != "errors" and status not in ok}
    if bad:
        sys.exit(f"the server answered {bad}: {counts.get('errors', [])[:3]}")
    return sum(n for status, n in counts.items() if status in ok) / elapsed
