"""Failure scenarios at scale (issue 15, docs/reliability.md): the scenarios of
tests/reliability/harness.py, run larger than `make test` runs them, printing their figures.

    .venv/bin/python bench/reliability.py [all|clients|ingest|recompute|worker|outage]
                                          [--no-postgres] [--no-sqlite] [sizes…]

- clients:   N clients × M events posted at once for ONE lead (every third client sends
             each event twice, all send 5 shared ids); the final score against the offline CLI.
- ingest:    batched ingest from 2 clients into a server process killed with SIGKILL K times
             and restarted on the same store; every batch resent at the end.
- recompute: `leadscore recompute` killed with SIGKILL K times mid-way, then rerun, against
             an uninterrupted recompute of an identical store.
- worker:    `leadscore worker` killed K times mid-delivery of R webhook rows.
- outage:    a private PostgreSQL cluster stopped for 3 s, O times, under C client threads;
             the time until an event is acknowledged again after each restart (median).

Every scenario prints: events sent, acknowledged, stored, lost (must be 0), duplicates (0),
kills survived, leads half-written or mismatched (0).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]

from tests.api.conftest import Api, running  # noqa: E402
from tests.reliability import harness, stores  # noqa: E402
from tests.reliability import outage as outages  # noqa: E402

from leadscore.settings import Settings  # noqa: E402
from leadscore.testing import scratch  # noqa: E402

POSTGRES_URL = os.environ.get(
    "LEADSCORE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def line(scenario: str, database: str, **figures: object) -> None:
    shown = "  ".join(f"{k.replace('_', ' ')}: {v}" for k, v in figures.items())
    print(f"{scenario:<10} {database:<10} {shown}", flush=True)


@contextmanager
def new_stores(database: str, folder: Path) -> Iterator[Callable[[str], str]]:
    """`new(name)`: an empty store of `database`."""
    with ExitStack() as stack:

        def new(name: str) -> str:
            if database == "sqlite":
                return f"sqlite:///{folder / name}.db"
            return stack.enter_context(scratch.scratch_postgres(POSTGRES_URL))

        yield new


def clients(
    database: str, new: Callable[[str], str], folder: Path, args: argparse.Namespace
) -> None:
    url = new("clients")
    as_of = "2026-03-01T00:00:00Z"
    with running(Settings(database_url=url, api_key_cache_seconds=60)) as server:
        api = Api(server)
        try:
            api.set_time(as_of)
            api.model(stores.MODEL)
            api.lead(id="L1", attributes={"industry": "software", "employees": 800})
            started = time.perf_counter()
            tally = harness.concurrent_clients(
                server.base_url, api.keys["write"], args.clients, args.events
            )
            seconds = time.perf_counter() - started
            lead = api.get("/leads/L1")
        finally:
            api.close()
    tally.count_stored(url)
    offline = harness.offline_score(
        folder,
        stores.MODEL,
        stores.stored_lead(url, "L1"),
        stores.stored_events(url)["L1"],
        as_of,
    )
    mismatched = int(
        [f"{lead[c]:.2f}" for c in ("score", "fit", "engagement")]
        != [offline["score"], offline["fit"], offline["engagement"]]
    )
    line(
        "clients", database,
        clients=args.clients, requests=tally.sent, acknowledged=len(tally.acknowledged),
        stored=tally.stored, lost=tally.lost, duplicates=tally.duplicates,
        statuses=dict(tally.statuses), score_mismatched=mismatched,
        half_written=len(stores.half_written(url)), seconds=f"{seconds:.1f}",
    )  # fmt: skip


def ingest(
    database: str, new: Callable[[str], str], folder: Path, args: argparse.Namespace
) -> None:
    url = new("ingest")
    report = harness.kill_during_ingest(
        url, folder / f"server-{database}.log", kills=args.kills,
        batches_per_round=args.batches, batch_size=args.batch_size, leads=args.leads,
    )  # fmt: skip
    t = report.tally
    line(
        "ingest", database,
        events_sent=t.sent, acknowledged=len(t.acknowledged), stored=t.stored, lost=t.lost,
        duplicates=t.duplicates, kills_survived=report.kills,
        batches_acked=report.batches_acknowledged, half_written=len(report.half_written),
        resend_stored_again=report.resend_stored_again,
        resend_changed_leads=len(report.resend_changed), resend_failures=report.resend_failures,
        lost_after_resend=report.final_lost,
        half_written_after_resend=len(report.final_half_written),
    )  # fmt: skip


def recompute(
    database: str, new: Callable[[str], str], folder: Path, args: argparse.Namespace
) -> None:
    report = harness.kill_recompute(
        new("interrupted"), new("clean"), leads=args.recompute_leads, events_per_lead=3,
        chunk=args.chunk, kills=args.recompute_kills,
    )  # fmt: skip
    line(
        "recompute", database,
        leads=report.leads, kills_survived=report.kills,
        rescored_at_each_kill=report.rescored_at_kills, half_written=len(report.half_written),
        rerun_exit=report.rerun_code,
        differ_from_uninterrupted=len(report.differs_from_uninterrupted),
        history_differs=len(report.history_differs),
    )  # fmt: skip


def worker(
    database: str, new: Callable[[str], str], folder: Path, args: argparse.Namespace
) -> None:
    report = harness.kill_worker(
        new("outbox"), folder / f"worker-{database}.log", rows=args.rows, kills=args.worker_kills
    )
    line(
        "worker", database,
        rows=report.rows, kills_survived=report.kills, statuses=dict(report.statuses),
        requests=report.requests, never_delivered=report.never_delivered,
        redelivered=report.redelivered, applied_twice=report.applied_twice,
    )  # fmt: skip


def outage(folder: Path, args: argparse.Namespace) -> None:
    binaries = outages.postgres_binaries()
    if binaries is None or os.geteuid() != 0:
        print("outage     postgresql skipped: needs root and /usr/lib/postgresql/*/bin")
        return
    pg = outages.PrivatePostgres(folder / "pg", binaries)
    try:
        settings = Settings(database_url=pg.url, api_key_cache_seconds=60)
        with running(settings) as server:
            api = Api(server)
            try:
                api.model(stores.MODEL)
                harness.create_leads(server.base_url, api.keys["write"], 20)
                report = outages.outage(
                    pg, server.base_url, api.keys["write"], args.outage_clients, args.outages
                )
            finally:
                api.close()
        t = report.tally.count_stored(pg.url)
    finally:
        pg.close()
    line(
        "outage", "postgresql",
        outages=report.outages, events_sent=t.sent, acknowledged=len(t.acknowledged),
        stored=t.stored, lost=t.lost, duplicates=t.duplicates, answered_503=report.answered_503,
        other_errors=dict(report.not_503), bad_503=len(report.bad_503),
        health_while_down=dict(report.health_down),
        recover_median_s=f"{harness.median(report.recover_seconds):.2f}",
        recover_max_s=f"{max(report.recover_seconds):.2f}",
    )  # fmt: skip


SCENARIOS = {"clients": clients, "ingest": ingest, "recompute": recompute, "worker": worker}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", default="all", choices=["all", *SCENARIOS, "outage"])
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--events", type=int, default=50, help="events per client")
    parser.add_argument("--kills", type=int, default=20, help="server kills during ingest")
    parser.add_argument("--batches", type=int, default=10, help="batches per server run")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--leads", type=int, default=500)
    parser.add_argument("--recompute-leads", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--recompute-kills", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1000, help="outbox webhook rows")
    parser.add_argument("--worker-kills", type=int, default=10)
    parser.add_argument("--outages", type=int, default=5)
    parser.add_argument("--outage-clients", type=int, default=8)
    args = parser.parse_args()
    # the outages are expected: their errors are counted above, not logged with tracebacks
    logging.getLogger("leadscore").setLevel(logging.CRITICAL)
    databases = [
        d for d, off in (("sqlite", args.no_sqlite), ("postgresql", args.no_postgres)) if not off
    ]
    chosen = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    with tempfile.TemporaryDirectory(prefix="leadscore-reliability-") as tmp:
        folder = Path(tmp)
        os.chmod(folder, 0o755)  # the private cluster's user must reach its folder
        for name in chosen:
            if name == "outage":
                continue
            for database in databases:
                with new_stores(database, folder) as new:
                    SCENARIOS[name](database, new, folder, args)
        if args.scenario in ("all", "outage") and not args.no_postgres:
            outage(folder, args)


if __name__ == "__main__":
    main()
