"""Measure `service.events.ingest_events` with one batch of events, in process (issue 14).

A fresh database (SQLite, or PostgreSQL with `--backend postgres`) gets the example model and
the demo data (`--leads`, ~20 events each; the import time is printed too), then
`--runs` batches of `--batch` events over random leads (no `occurred_at`: stamped on arrival,
as bench/service.py sends them) go through `ingest_events`; each run's events/s is printed
and the median. `--profile FILE` writes a cProfile of one more batch.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import random
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from service import database, event_body, load  # noqa: E402 - bench/service.py's setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1/test")
    parser.add_argument("--leads", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", help="write a cProfile of one more batch here")
    options = parser.parse_args()

    from leadscore.service.context import Context
    from leadscore.service.events import ingest_events
    from leadscore.service.inputs import EventIn
    from leadscore.settings import Settings

    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs", flush=True)
    with ExitStack() as stack:
        url = stack.enter_context(database(options.backend, options.postgres_url))
        start = time.perf_counter()
        lead_ids, _ = load(url, options.leads)
        print(f"{options.leads:,} demo leads imported in {time.perf_counter() - start:.2f} s")
        rng = random.Random(7)
        with Context.open(Settings(database_url=url)) as ctx:
            ingest_events(ctx, [EventIn(**event_body(rng, lead_ids)) for _ in range(50)])
            rates = []
            for _ in range(options.runs):
                items = [EventIn(**event_body(rng, lead_ids)) for _ in range(options.batch)]
                start = time.perf_counter()
                ingest_events(ctx, items)
                took = time.perf_counter() - start
                rates.append(options.batch / took)
                print(f"  {options.batch:,} events in {took * 1e3:.0f} ms: {rates[-1]:,.0f}/s")
            print(f"median {statistics.median(rates):,.0f} events/s")
            if options.profile:
                items = [EventIn(**event_body(rng, lead_ids)) for _ in range(options.batch)]
                profiler = cProfile.Profile()
                profiler.runcall(ingest_events, ctx, items)
                profiler.dump_stats(options.profile)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
