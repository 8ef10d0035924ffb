"""Benchmark of the event retention job (service/retention.py): deleting old events from a
scored store in batches and rescoring their leads in the same transactions.

    .venv/bin/python bench/retention.py [--leads 100000] [--days 180] [--runs 3]
                                        [--batch 5000] [--postgres]

The demo data (bench/.cache/, as bench/batch.py makes it: ~20 events a lead, so 100,000 leads
hold ~2,000,000 events) is loaded into an SQLite file once and scored at the data's end by the
example model; each run works on a fresh copy of it (on PostgreSQL, with --postgres: a
database made from it as a template), with the clock at the data's end and
LEADSCORE_RETENTION_EVENTS_DAYS=--days. Figures: events deleted per second and leads
rescored per second, medians of --runs runs, in process; and a check that no event older
than the cutoff is left.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import batch  # noqa: E402

from leadscore.core.timestamps import parse_timestamp  # noqa: E402
from leadscore.service import retention  # noqa: E402
from leadscore.service.context import Context  # noqa: E402
from leadscore.service.recompute import recompute  # noqa: E402
from leadscore.settings import Settings  # noqa: E402

END = parse_timestamp(f"{batch.END}T00:00:00Z")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--days", type=float, default=180.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=retention.BATCH)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    args = parser.parse_args()
    data = batch.demo_data(args.leads, 0)
    print(f"machine: {batch.machine()}")
    template = batch.CACHE / f"retention-{args.leads}.db"
    prepare("sqlite", f"sqlite:///{template}", data, args.leads)
    figures = {"sqlite": measure_sqlite(template, args)}
    if args.postgres:
        figures["postgresql"] = measure_postgres(data, args)
    print()
    for name, runs in figures.items():
        summarise(name, runs)


def prepare(name: str, url: str, data: Path, n_leads: int) -> None:
    """The store loaded and scored at the data's end, once."""
    batch.ensure_loaded(name, url, data, n_leads)
    ctx = Context.open(Settings(database_url=url))
    with ctx.db.engine.connect() as conn:
        unscored = conn.exec_driver_sql(
            "SELECT count(*) FROM leads WHERE model_version IS NULL"
        ).scalar()
    if unscored:
        print(f"  scoring {unscored:,} leads in {name} …", flush=True)
        recompute(ctx, END)
    if ctx.db.is_sqlite:
        with ctx.db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    ctx.close()


def one_run(url: str, args: argparse.Namespace) -> dict[str, float]:
    settings = Settings(database_url=url, retention_events_days=args.days)
    ctx = Context.open(settings)
    ctx.clock = lambda: END
    started = time.perf_counter()
    report = retention.run(ctx, batch_size=args.batch, actor="bench")
    seconds = time.perf_counter() - started
    cutoff = END - int(args.days * retention.DAY)
    with ctx.db.engine.connect() as conn:
        left = conn.exec_driver_sql(
            f"SELECT count(*) FROM events WHERE occurred_at < {cutoff}"
        ).scalar()
        kept = conn.exec_driver_sql("SELECT count(*) FROM events").scalar()
    ctx.close()
    assert left == 0, f"{left} events older than the cutoff were left"
    run = {
        "seconds": seconds,
        "events": report.events,
        "leads": report.leads,
        "changed": report.changed,
        "batches": report.batches,
        "kept": kept,
        "events_per_s": report.events / seconds,
        "leads_per_s": report.leads / seconds,
    }
    print(
        f"  {report.events:,} events of {report.leads:,} leads deleted in {seconds:.1f} s"
        f" ({report.batches:,} batches, {report.changed:,} scores changed, {kept:,} events"
        f" kept): {run['events_per_s']:,.0f} events/s, {run['leads_per_s']:,.0f} leads/s",
        flush=True,
    )
    return run


def measure_sqlite(template: Path, args: argparse.Namespace) -> list[dict[str, float]]:
    print(f"\nsqlite: retention of {args.days:g} days, batches of {args.batch:,} events")
    runs = []
    for i in range(args.runs):
        copy = template.with_name(f"retention-run-{i}.db")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, copy)
        try:
            runs.append(one_run(f"sqlite:///{copy}", args))
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{copy}{suffix}").unlink(missing_ok=True)
    return runs


def measure_postgres(data: Path, args: argparse.Namespace) -> list[dict[str, float]]:
    import os

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    os.environ.setdefault(
        "LEADSCORE_BENCH_POSTGRES_URL",
        f"postgresql://postgres@127.0.0.1:5432/leadscore_bench_retention_{args.leads}",
    )
    base = batch.postgres_url()
    prepare("postgresql", base, data, args.leads)
    target = make_url(base).set(drivername="postgresql+psycopg")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    print(f"\npostgresql: retention of {args.days:g} days, batches of {args.batch:,} events")
    runs = []
    try:
        for i in range(args.runs):
            name = f"{target.database}_run{i}"
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{target.database}"'))
            try:
                url = target.set(database=name).render_as_string(hide_password=False)
                runs.append(one_run(url, args))
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()
    return runs


def summarise(name: str, runs: list[dict[str, float]]) -> None:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(
        f"{name}: median of {len(runs)} runs: {med('seconds'):.1f} s for {med('events'):,.0f}"
        f" events of {med('leads'):,.0f} leads = {med('events_per_s'):,.0f} events deleted/s,"
        f" {med('leads_per_s'):,.0f} leads rescored/s"
    )


if __name__ == "__main__":
    main()
