"""Benchmark of the models page's jobs: counting what activating a model version would change
(service/activation_preview.py) and backtesting two versions on the store's outcomes
(service/backtests.py), against `recompute` of the same store as the baseline measured in
the same run (the count scores every lead as a recompute does, without writing).

    .venv/bin/python bench/model_preview.py [--leads 100000] [--runs 3] [--backtest 2000]
                                             [--no-postgres]

The demo data (bench/.cache/, as bench/batch.py makes it) is loaded into an SQLite file and
the PostgreSQL database LEADSCORE_BENCH_POSTGRES_URL (…/leadscore_bench_preview), with its
outcomes, then scored once by the example model; a second version (other weights and
thresholds) is uploaded and never activated. Figures: medians of `--runs` runs, in process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))

import batch  # noqa: E402

from leadscore.service import activation_preview, backtests, scoring_models  # noqa: E402
from leadscore.service.context import Context  # noqa: E402
from leadscore.service.recompute import recompute  # noqa: E402
from leadscore.settings import Settings  # noqa: E402

SECOND = (
    batch.MODEL.read_text()
    .replace("weight: 0.4", "weight: 0.5", 1)
    .replace("weight: 0.6", "weight: 0.5", 1)
    .replace("min_score: 75", "min_score: 60", 1)
    .replace("min_score: 50", "min_score: 35", 1)
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backtest", type=int, default=2_000, help="decided leads replayed")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    data = batch.demo_data(args.leads, 0)
    print(f"machine: {batch.machine()}")
    stores = {"sqlite": f"sqlite:///{batch.CACHE / f'preview-{args.leads}.db'}"}
    if not args.no_postgres:
        os.environ.setdefault(
            "LEADSCORE_BENCH_POSTGRES_URL",
            "postgresql://postgres@127.0.0.1:5432/leadscore_bench_preview",
        )
        stores["postgresql"] = batch.postgres_url()
    for name, url in stores.items():
        measure(name, url, data, args)


def prepare(name: str, url: str, data: Path) -> Context:
    """The store loaded, scored by version 1, its outcomes in, version 2 uploaded."""
    n_leads = pl.scan_parquet(data / "leads.parquet").select(pl.len()).collect().item()
    batch.ensure_loaded(name, url, data, n_leads)
    ctx = Context.open(Settings(database_url=url))
    if len(scoring_models.list_versions(ctx)) < 2:
        print(f"  scoring every lead and loading the outcomes into {name} …", flush=True)
        recompute(ctx)
        outcomes = pl.read_parquet(data / "outcomes.parquet")
        with ctx.db.engine.begin() as conn:
            pks = dict(conn.exec_driver_sql("SELECT id, pk FROM leads").all())
            rows = [
                (pks[r["lead_id"]], r["outcome"], int(r["occurred_at"].timestamp() * 1e6), 0)
                for r in outcomes.iter_rows(named=True)
                if r["outcome"] in ("converted", "lost")
            ]
            mark = "%s" if ctx.db.is_postgres else "?"
            conn.connection.driver_connection.cursor().executemany(
                "INSERT INTO outcomes (lead_pk, outcome, occurred_at, created_at)"
                f" VALUES ({mark}, {mark}, {mark}, {mark})",
                rows,
            )
        scoring_models.upload(ctx, SECOND, "bench")
    return ctx


def timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def measure(name: str, url: str, data: Path, args: argparse.Namespace) -> None:
    ctx = prepare(name, url, data)
    leads = activation_preview.count_leads(ctx)
    newest = scoring_models.list_versions(ctx)[0]["version"]
    active = scoring_models.active_version(ctx)
    assert active is not None
    baseline, counted = [], []
    shown: dict = {}
    for _ in range(args.runs):
        seconds, _ = timed(lambda: recompute(ctx))  # nothing changed: reads and scores only
        baseline.append(seconds)
        seconds, shown = timed(lambda: activation_preview.preview(ctx, newest))
        counted.append(seconds)
    base, count = statistics.median(baseline), statistics.median(counted)
    print(f"\n{name}, {leads:,} leads, medians of {args.runs} runs:")
    print(f"  recompute (baseline, nothing to write)   {base:7.2f} s")
    changed = (shown["stages"]["changed"], shown["tiers"]["changed"])
    print(f"  count what activating v{newest} would change {count:7.2f} s"
          f"   ({count / base:.2f}× the baseline)")  # fmt: skip
    print(f"    → stage of {changed[0]:,} leads, tier of {changed[1]:,}")
    seconds, report = timed(lambda: backtests.run(ctx, [active, newest], limit=args.backtest))
    decided = report["decided"]  # type: ignore[index]
    print(f"  backtest v{active} vs v{newest} on {decided:,} decided leads  {seconds:7.2f} s"
          f"   ({seconds / decided * 1000:.1f} ms per lead for two versions)")  # fmt: skip
    ctx.close()


if __name__ == "__main__":
    main()
