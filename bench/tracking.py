"""Benchmark website tracking (issue 17): beacons per second through a real server.

Run `python bench/tracking.py` from the repository root (`--backend sqlite` to skip
PostgreSQL). For each backend a fresh database gets the example model, a sources file with
one tracked site (no rate limit to speak of: one client IP sends everything), and one
`leadscore` server process (uvicorn, scheduler off); then `--clients` keep-alive connections
from a light asyncio client send, in turn within each run:

1. baseline: GET /health (the framework, the guard and one database read);
2. baseline: POST /api/v1/events, one event of a known lead (ingest + rescore);
3. anonymous page views (a beacon checked — key, Origin, User-Agent, rate limit, fields —
   then the visitor upserted and the beacon stored on it);
4. page views of identified visitors (the same checks, then written as the lead's event
   and the lead rescored: the path of every beacon after a form submission);
5. robots' beacons (HeadlessChrome: answered 204 after the key and Origin checks, nothing
   stored).

Each figure is the median of `--runs` runs; the workloads alternate within a run so that the
machine's other load touches each alike.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from live_server import Request, database, prepare, rate, send_loop, server

KEY = "pk_bench_site_000001"
ORIGIN = "https://www.example.com"
SOURCES = f"""
tracking:
  sites:
    www:
      key: {KEY}
      allowed_origins: [{ORIGIN}]
      consent: not_required
      rate_limit: 1000000
"""
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0.0.0 Safari/537.36"
)
HEADLESS = CHROME.replace("Chrome/", "HeadlessChrome/")
PAGES = ("/pricing", "/pricing/enterprise", "/blog/mql-vs-sql", "/features", "/contact")


_ids = itertools.count()


def beacon(visitor: str, rng: random.Random, **fields: object) -> bytes:
    body = {
        "site": KEY,
        "id": f"bench-{next(_ids):012d}",
        "type": "page_view",
        "visitor": visitor,
        "consent": "not_required",
        "url": ORIGIN + rng.choice(PAGES),
        "title": "A page",
        "referrer": "https://www.google.com/",
        **fields,
    }
    return json.dumps(body).encode()


def beacons(visitors: list[str], agent: str, seed: int) -> Iterator[Request]:
    rng = random.Random(seed)
    headers = {"Origin": ORIGIN, "User-Agent": agent, "Content-Type": "text/plain"}
    while True:
        yield "POST", "/api/v1/sources/track", headers, beacon(rng.choice(visitors), rng)


def health() -> Iterator[Request]:
    while True:
        yield "GET", "/health", {}, b""


def events(key: str, emails: list[str], seed: int) -> Iterator[Request]:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    while True:
        body = {"email": rng.choice(emails), "type": "page_viewed", "properties": {"url": "/x"}}
        yield "POST", "/api/v1/events", headers, json.dumps(body).encode()


def identify(port: int, visitors: list[str]) -> list[str]:
    """A form submission per visitor: each becomes a lead; their e-mails."""
    rng = random.Random(0)
    emails = [f"{v}@bench.example.com" for v in visitors]
    headers = {"Origin": ORIGIN, "User-Agent": CHROME, "Content-Type": "text/plain"}
    forms = iter(
        [
            ("POST", "/api/v1/sources/track", headers, beacon(v, rng, type="form_submit", email=e))
            for v, e in zip(visitors, emails, strict=True)
        ]
    )
    counts: dict = {}

    asyncio.run(send_loop(port, forms, time.perf_counter() + 600, counts))
    if set(counts) != {204}:
        sys.exit(f"identifying the visitors failed: {counts}")
    return emails


def bench_backend(backend: str, options: argparse.Namespace) -> dict[str, float] | None:
    print(f"\n{backend}: load average {os.getloadavg()[0]:.1f}")
    with (
        database(backend, options.postgres_url) as url,
        tempfile.TemporaryDirectory() as folder,
    ):
        if url is None:
            return None
        key = prepare(url)
        sources = Path(folder) / "sources.yaml"
        sources.write_text(SOURCES)
        with server(url, sources) as port:
            known = [f"known-visitor-{i:05d}" for i in range(options.identified)]
            emails = identify(port, known)
            anonymous = [f"anon-visitor-{i:06d}" for i in range(options.visitors)]
            workloads = {
                "health": health(),
                "events": events(key, emails, 1),
                "anonymous": beacons(anonymous, CHROME, 2),
                "identified": beacons(known, CHROME, 3),
                "bots": beacons(anonymous, HEADLESS, 4),
            }
            runs: dict[str, list[float]] = {name: [] for name in workloads}
            for run in range(options.runs):
                for name, requests in workloads.items():
                    figure = rate(port, requests, options.clients, options.seconds)
                    runs[name].append(figure)
                print(
                    f"  run {run + 1}: "
                    + ", ".join(f"{name} {values[-1]:,.0f}/s" for name, values in runs.items())
                )
    print(f"  load average {os.getloadavg()[0]:.1f}")
    return {name: statistics.median(values) for name, values in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "LEADSCORE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1/test"
        ),
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP connections")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of a run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--visitors", type=int, default=2_000, help="anonymous visitors")
    parser.add_argument("--identified", type=int, default=200, help="identified visitors")
    options = parser.parse_args()
    backends = ("sqlite", "postgres") if options.backend == "both" else (options.backend,)
    print(
        f"website tracking, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{options.clients} clients, medians of {options.runs} runs of {options.seconds:g} s"
    )
    results = {b: r for b in backends if (r := bench_backend(b, options)) is not None}
    print()
    print(f"{'requests per second':44}" + "".join(f"{b:>12}" for b in results))
    rows = (
        ("GET /health (baseline)", "health"),
        ("POST /api/v1/events, one event (baseline)", "events"),
        ("beacons, anonymous page views", "anonymous"),
        ("beacons, identified visitors (lead events)", "identified"),
        ("beacons, robots (dropped)", "bots"),
    )
    for label, key in rows:
        print(f"{label:44}" + "".join(f"{results[b][key]:>12,.0f}" for b in results))


if __name__ == "__main__":
    main()
