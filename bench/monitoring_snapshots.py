"""Benchmark what the prediction snapshots (issue 16, service/monitoring.py) add to the live
event path: the in-process latency of `service.events.ingest_events` for one event on a
random lead without an outcome, under a scoring model that blends the active predictive model
(each rescoring computes a probability and upserts one snapshot row), with the snapshot write
on and off, runs alternating; and under a model that blends nothing (no snapshot work).

Run `python bench/monitoring_snapshots.py` from the repository root (SQLite file; add
`--postgres-url URL` for PostgreSQL). It trains a model on the demo data first (~15-30 s).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from leadscore import demo  # noqa: E402
from leadscore.core.timestamps import parse_timestamp  # noqa: E402
from leadscore.service import events, monitoring, predictions, scoring_models  # noqa: E402
from leadscore.service.context import Context  # noqa: E402
from leadscore.service.imports import import_file  # noqa: E402
from leadscore.service.inputs import EventIn  # noqa: E402
from leadscore.settings import Settings  # noqa: E402
from leadscore.testing import scratch  # noqa: E402

RULES = """
fit:
  weight: 0.5
  max: 30
  rules:
    - {id: big, points: 30, when: {field: employees, gte: 200}}
engagement:
  weight: 0.5
  max: 50
  rules:
    - {id: demo, event: demo_booked, points: 40}
    - {id: open, event: email_opened, points: 5}
tiers: {hot: 60, warm: 35, cold: 0}
stages:
  - {name: sql, min_score: 60}
  - {name: lead}
"""
BLENDED = RULES.replace("tiers:", "predictive: {model: active, weight: 0.5}\ntiers:")


def latencies(ctx: Context, lead_ids: list[str], n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        item = EventIn(lead_id=rng.choice(lead_ids), type="email_opened")
        start = time.perf_counter()
        events.ingest_events(ctx, [item])
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres-url")
    parser.add_argument("--events", type=int, default=200, help="events per run")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--upsert-only", action="store_true", help="skip the event runs")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="leadscore-bench-"))
    url = args.postgres_url or f"sqlite:///{folder}/bench.db"
    with Context.open(Settings(database_url=url)) as ctx:
        scratch.empty(ctx.db)
        moment = parse_timestamp("2026-01-01T00:00:00Z")
        ctx.clock = lambda: moment
        data = demo.generate(600, seed=21, end="2026-01-01")
        paths = demo.write(data, folder)
        for kind in ("leads", "events", "outcomes"):
            import_file(ctx, kind, paths[kind])
        if args.upsert_only:
            upsert_cost(ctx, args.events * 5)
            return
        predictions.train(ctx, actor="bench", folds=3)
        decided = set(data.outcomes["lead_id"].to_list())
        open_leads = [i for i in data.leads["id"].to_list() if i not in decided]
        print(f"load average {os.getloadavg()[0]:.1f}; {len(open_leads)} leads without outcome")
        keep = monitoring.keep_rescored
        for label, text in (("blends nothing", RULES), ("blends the model", BLENDED)):
            scoring_models.activate(ctx, scoring_models.upload(ctx, text, "bench")["version"], "b")
            for run in range(args.runs):
                modes = ("on", "off") if run % 2 == 0 else ("off", "on")
                for mode in modes:
                    monitoring.keep_rescored = keep if mode == "on" else (lambda *_a: None)
                    ms = latencies(ctx, open_leads, args.events, seed=run)
                    q = statistics.quantiles(ms, n=100)
                    print(
                        f"{label:17} snapshots {mode:3}: p50 {q[49]:6.2f} ms  p99 {q[98]:6.2f} ms"
                    )
            monitoring.keep_rescored = keep
        upsert_cost(ctx, args.events * 5)
        print(f"load average {os.getloadavg()[0]:.1f}")


def upsert_cost(ctx: Context, n: int) -> None:
    """The snapshot statement alone: `store.monitoring.keep_latest` of one lead, inside a
    write transaction that already writes (as the event path does: here, an update of the
    lead row), against the same transaction without it."""
    from sqlalchemy import select, update

    from leadscore.store import monitoring as stored
    from leadscore.store.tables import leads

    with ctx.db.read() as conn:
        pks = [int(pk) for pk in conn.scalars(select(leads.c.pk).limit(100))]
    for run in range(4):
        for mode in ("on", "off") if run % 2 == 0 else ("off", "on"):
            ms = []
            for i in range(n):
                start = time.perf_counter()
                with ctx.db.write() as conn:
                    pk = pks[i % len(pks)]
                    conn.execute(update(leads).where(leads.c.pk == pk).values(updated_at=i))
                    if mode == "on":
                        stored.keep_latest(conn, 1, {pk: 0.5}, i, i)
                ms.append((time.perf_counter() - start) * 1000)
            q = statistics.quantiles(ms, n=100)
            print(
                f"one-lead transaction, upsert {mode:3}: p50 {q[49]:6.3f} ms  p99 {q[98]:6.3f} ms"
            )


if __name__ == "__main__":
    main()
