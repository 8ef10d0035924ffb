"""Benchmark the lifecycle in event time (docs/lifecycle.md): what a late, back-dated event
costs against an event in time order, for a lead with N events.

Run `python bench/lifecycle.py` from the repository root. On a fresh SQLite file with the
example model, for each N (`--events`, default 10, 100, 1000) one lead gets N events (one
batch, one a minute, in time order); then, alternately, an event after all the others (the
fold goes forward: one extra evaluation) and one back-dated before most of them (the fold is
replayed from the base: one evaluation per distinct event time) are ingested in process
(`service.events.ingest_events`), and the medians of their latencies are printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "b2b-saas.yaml"
MINUTE = 60_000_000
KINDS = (
    ("page_viewed", {"url": "/pricing"}),
    ("email_opened", {"campaign": "Newsletter"}),
    ("content_downloaded", {"content_type": "case_study"}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=7, help="events of each kind per N")
    args = parser.parse_args()

    from leadscore.core.timestamps import format_timestamp, parse_timestamp
    from leadscore.service import scoring_models
    from leadscore.service.context import Context
    from leadscore.service.events import ingest_events
    from leadscore.service.inputs import EventIn, LeadIn
    from leadscore.service.leads import upsert_leads
    from leadscore.settings import Settings

    start = parse_timestamp("2026-01-01T00:00:00Z")
    print("back-dated event vs event in time order, one lead with N events, SQLite, ms")
    print(f"{'N':>6} {'in order p50':>14} {'back-dated p50':>16} {'ratio':>7}")
    with tempfile.TemporaryDirectory(prefix="leadscore-bench-") as folder:
        settings = Settings(database_url=f"sqlite:///{folder}/bench.db")
        with Context.open(settings) as ctx:
            version = scoring_models.upload(ctx, EXAMPLE.read_text(), "bench")["version"]
            scoring_models.activate(ctx, version, "bench")
            for n in args.events:
                lead_id = f"lead-{n}"
                upsert_leads(
                    ctx, [LeadIn(id=lead_id, attributes={"industry": "software"})], "bench"
                )

                def event(i: int, at: int, lead_id: str = lead_id) -> EventIn:
                    kind, properties = KINDS[i % len(KINDS)]
                    return EventIn(
                        lead_id=lead_id,
                        type=kind,
                        properties=properties,
                        occurred_at=format_timestamp(at),
                    )

                ctx.clock = lambda n=n: start + (n + 10 * args.runs + 10) * MINUTE
                ingest_events(ctx, [event(i, start + i * MINUTE) for i in range(n)])
                forward, replayed = [], []
                for k in range(args.runs):
                    late = event(k, start + (n + 1 + k) * MINUTE)
                    began = time.perf_counter()
                    ingest_events(ctx, [late])
                    forward.append(time.perf_counter() - began)
                    back = event(k, start + k * MINUTE + 1)  # before most events
                    began = time.perf_counter()
                    ingest_events(ctx, [back])
                    replayed.append(time.perf_counter() - began)
                ahead, behind = statistics.median(forward), statistics.median(replayed)
                print(f"{n:>6} {ahead * 1e3:>14.1f} {behind * 1e3:>16.1f} {behind / ahead:>7.1f}")


if __name__ == "__main__":
    main()
