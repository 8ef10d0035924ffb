"""What SQLite's `secure_delete` (on for every connection since issue 15, for GDPR erasure)
costs the live path and the recompute, and what an erasure costs.

    .venv/bin/python bench/secure_delete.py [--leads 5000] [--events 1000] [--runs 5]

One SQLite store gets the example model and the demo data (`--leads`, ~20 events each). Then,
alternating `secure_delete` ON and OFF (a connect listener after ours switches it off; the
pool is emptied between runs, so every connection has the setting of its run):

1. in-process latency of `service.events.ingest_events` for one event on a random lead,
   p50 and p99 over `--events` events;
2. batches: 1,000 events over random leads per `ingest_events` call, events/s;
3. the erasure of one lead with its events (`service.gdpr.erase_lead`, the TRUNCATE
   checkpoint included), milliseconds.

Each figure is the median of `--runs` runs, printed with the load average (other work on
the machine moves every figure).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import event

from leadscore import demo
from leadscore.service import gdpr, scoring_models
from leadscore.service.context import Context
from leadscore.service.events import ingest_events
from leadscore.service.imports import import_file
from leadscore.service.inputs import EventIn
from leadscore.settings import Settings
from leadscore.store import leads as stored_leads

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "b2b-saas.yaml"


def switch(ctx: Context, on: bool) -> None:
    """Every new connection gets secure_delete `on`; the pool is emptied."""
    engine = ctx.db.engine
    for listener in getattr(ctx, "_bench_listeners", []):
        event.remove(engine, "connect", listener)

    def pragma(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.execute(f"PRAGMA secure_delete={'ON' if on else 'OFF'}")

    event.listen(engine, "connect", pragma)
    ctx._bench_listeners = [pragma]  # type: ignore[attr-defined]
    engine.dispose()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == int(on)


def single(ctx: Context, ids: list[str], n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        item = EventIn(lead_id=random.choice(ids), type="page_viewed", properties={"url": "/p"})
        started = time.perf_counter()
        ingest_events(ctx, [item])
        times.append(time.perf_counter() - started)
    times.sort()
    return times[len(times) // 2] * 1000, times[int(len(times) * 0.99)] * 1000


def batch(ctx: Context, ids: list[str], batches: int = 5) -> float:
    items = [
        [EventIn(lead_id=random.choice(ids), type="email_opened") for _ in range(1000)]
        for _ in range(batches)
    ]
    started = time.perf_counter()
    for part in items:
        ingest_events(ctx, part)
    return batches * 1000 / (time.perf_counter() - started)


def erase_one(ctx: Context) -> float:
    email = f"erase-{uuid.uuid4().hex[:8]}@example.org"
    ingest_events(ctx, [EventIn(email=email, type="page_viewed") for _ in range(20)])
    with ctx.db.read() as conn:
        pk = stored_leads.pks_by_email(conn, [email])[email]
        lead_id = stored_leads.by_pk(conn, pk).id
    started = time.perf_counter()
    gdpr.erase_lead(ctx, lead_id, "bench")
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=5_000)
    parser.add_argument("--events", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    random.seed(7)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        ctx = Context.open(Settings(database_url=url))
        version = scoring_models.upload(ctx, EXAMPLE.read_text(), "bench")["version"]
        scoring_models.activate(ctx, version, "bench")
        paths = demo.write(demo.generate(args.leads, seed=1), Path(tmp))
        for kind in ("leads", "events", "outcomes"):
            import_file(ctx, kind, paths[kind])
        with ctx.db.read() as conn:
            ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM leads")]
        print(f"load average at start: {os.getloadavg()[0]:.2f}")
        figures: dict[bool, dict[str, list[float]]] = {True: {}, False: {}}
        for run in range(args.runs):
            for on in (True, False) if run % 2 == 0 else (False, True):
                switch(ctx, on)
                p50, p99 = single(ctx, ids, args.events)
                rate = batch(ctx, ids)
                erase = erase_one(ctx)
                row = {"p50 ms": p50, "p99 ms": p99, "batch ev/s": rate, "erase ms": erase}
                for name, value in row.items():
                    figures[on].setdefault(name, []).append(value)
                shown = ", ".join(f"{k} {v:,.2f}" for k, v in row.items())
                print(f"run {run + 1} secure_delete={'ON ' if on else 'OFF'}: {shown}")
        for on in (True, False):
            medians = {k: statistics.median(v) for k, v in figures[on].items()}
            shown = ", ".join(f"{k} {v:,.2f}" for k, v in medians.items())
            print(f"median secure_delete={'ON ' if on else 'OFF'}: {shown}")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
        ctx.close()


if __name__ == "__main__":
    main()
