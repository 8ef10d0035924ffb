"""Benchmark of the CRM connectors (issue 12, SPEC §8): a full sync of N contacts from the
local HubSpot server and the write-back (push) of N scores, in records per second and API
calls per 1,000 records.

    .venv/bin/python bench/connectors.py [--contacts 100000] [--runs 3] [--postgres]

Each run starts a fresh `FakeHubSpot` on 127.0.0.1 (real sockets) holding N contacts and an
empty store (an SQLite file, or a scratch PostgreSQL database with --postgres) with a model
active, then times `leadscore sync hubspot --full --no-push` (people in, leads scored) and
then the push of every score. The baseline, measured in the same run against the same
server: the connector alone reading all N contacts and writing N updates, with no database —
the ceiling the service's work is compared to. Medians of the runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from leadscore.connectors.base import FieldSpec, Update
from leadscore.service import connectors, push, scoring_models, sync
from leadscore.service.context import Context
from leadscore.settings import Settings
from leadscore.testing import scratch
from leadscore.testing.fakes.hubspot import FakeHubSpot

MODEL = """
name: bench
fit:
  weight: 0.6
  max: 100
  rules:
    - {id: vp, when: {field: job_title, contains: VP}, points: 50}
    - {id: software, when: {field: industry, equals: software}, points: 30}
    - {id: big, when: {field: employees, gte: 500}, points: 20}
engagement:
  weight: 0.4
  max: 100
  rules:
    - {id: demo, event: demo_booked, points: 100}
grades: {A: 75, B: 50, C: 0}
tiers: {hot: 70, warm: 40, cold: 0}
stages:
  - {name: sql, min_score: 70}
  - {name: mql, min_score: 40}
  - {name: lead}
"""

INDUSTRIES = ("software", "retail", "banking", "manufacturing")
TITLES = ("VP Sales", "Engineer", "CTO", "Analyst", "VP Marketing")


def seeded(n: int, burst_limit: int | None) -> FakeHubSpot:
    fake = FakeHubSpot() if burst_limit is None else FakeHubSpot(burst_limit=burst_limit)
    fake.start()
    for i in range(n):
        fake.add_person(
            f"contact{i}@example.com",
            {
                "firstname": f"First{i}",
                "lastname": f"Last{i}",
                "jobtitle": TITLES[i % len(TITLES)],
                "industry": INDUSTRIES[i % len(INDUSTRIES)],
                "numemployees": str(10 + (i * 37) % 5_000),
                "country": "Poland",
            },
        )
    return fake


def baseline(fake: FakeHubSpot, n: int) -> tuple[float, float, int, int]:
    """(read records/s, update records/s, read calls, update calls): the connector alone, the
    same fields read and the same property written as the service does."""
    fields = {"contacts": ["firstname", "lastname", "jobtitle", "industry", "numemployees"]}
    client = fake.connector(fields=fields)
    start = time.perf_counter()
    ids = [r.id for page in client.read("contacts", None) for r in page.records]
    read_s = time.perf_counter() - start
    read_calls = client.http.calls
    client.ensure_fields("contacts", [FieldSpec("leadscore_score", "leadscore score", "number")])
    updates = [Update("contacts", i, {"leadscore_score": 1.0}, i) for i in ids]
    before = client.http.calls
    start = time.perf_counter()
    results = client.update(updates)
    write_s = time.perf_counter() - start
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    client.close()
    return n / read_s, n / write_s, read_calls, client.http.calls - before


def one_run(n: int, database_url: str, workdir: Path, burst_limit: int | None) -> dict[str, float]:
    fake = seeded(n, burst_limit)
    try:
        base_read, base_write, base_read_calls, base_write_calls = baseline(fake, n)
        (workdir / "connectors.yaml").write_text(
            f"hubspot:\n  base_url: {fake.url}\n  sync_every: null\n  push: false\n"
            "  deals: false\n",
            "utf-8",
        )
        (workdir / "secrets.json").write_text(json.dumps({"hubspot": fake.secrets()}), "utf-8")
        settings = Settings(
            database_url=database_url,
            connectors_file=str(workdir / "connectors.yaml"),
            secrets_file=str(workdir / "secrets.json"),
        )
        with Context.open(settings) as ctx:
            scratch.empty(ctx.db)
            ctx.reset_caches()
            version = scoring_models.upload(ctx, MODEL, "bench")["version"]
            scoring_models.activate(ctx, version, "bench")
            start = time.perf_counter()
            report = sync.sync(ctx, "hubspot", full=True, push=False)
            sync_s = time.perf_counter() - start
            assert report.counts["created"] == n, report.as_dict()
            client = connectors.registry(ctx).ready_to_write("hubspot")
            calls = client.http.calls
            start = time.perf_counter()
            pushed = push.push_scores(ctx, "hubspot")
            push_s = time.perf_counter() - start
            push_calls = client.http.calls - calls
            assert pushed.counts["pushed"] == n, pushed.as_dict()
            connectors.registry(ctx).close()
        return {
            "sync/s": n / sync_s,
            "sync calls/1k": report.counts["api calls"] * 1000 / n,
            "push/s": n / push_s,
            "push calls/1k": push_calls * 1000 / n,
            "client read/s": base_read,
            "client read calls/1k": base_read_calls * 1000 / n,
            "client write/s": base_write,
            "client write calls/1k": base_write_calls * 1000 / n,
        }
    finally:
        fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="lift HubSpot's 190 calls / 10 s from the fake (our own ceiling)",
    )
    args = parser.parse_args()
    results = []
    burst = 10**9 if args.no_rate_limit else None
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for run in range(args.runs):
            if args.postgres:
                with scratch.scratch_postgres("postgresql://postgres@127.0.0.1:5432/test") as url:
                    results.append(one_run(args.contacts, url, workdir, burst))
            else:
                url = f"sqlite:///{workdir / f'bench{run}.db'}"
                results.append(one_run(args.contacts, url, workdir, burst))
            print(f"run {run + 1}: " + ", ".join(f"{k} {v:,.1f}" for k, v in results[-1].items()))
            sys.stdout.flush()
    backend = "PostgreSQL" if args.postgres else "SQLite"
    limit = "no rate limit" if args.no_rate_limit else "HubSpot's 190 calls / 10 s"
    print(f"\n{args.contacts:,} contacts, {backend}, {limit}, medians of {args.runs} runs:")
    median = {k: statistics.median(r[k] for r in results) for k in results[0]}
    for key, value in median.items():
        print(f"  {key:<24} {value:>12,.1f}")
    print(f"  sync / client read      {median['sync/s'] / median['client read/s']:>12.2f}")
    print(f"  push / client write     {median['push/s'] / median['client write/s']:>12.2f}")


if __name__ == "__main__":
    main()
