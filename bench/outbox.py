"""Benchmark of automations (SPEC §6, §10): outbox deliveries per second to a local receiver,
and `leadscore recompute` of the store with the example automations writing their outbox rows.

    .venv/bin/python bench/outbox.py [--deliveries 5000] [--runs 3] [--leads 1000000]
                                     [--store-runs 3] [--no-store] [--no-postgres]

Deliveries: N webhook rows (and, separately, N store actions: `add_to_list`) are put in the
outbox of a scratch SQLite file (and PostgreSQL), then one `outbox.Worker` delivers them to a
receiver on 127.0.0.1 (uvicorn in a child process, answering 200). The baseline, measured in
the same run: the same N signed POSTs sent straight to the receiver by a thread pool of the
worker's concurrency, with no database — the ceiling the worker's bookkeeping is compared to.

Recompute: the demo store of bench/batch.py (1,000,000 leads, ~20,000,000 events, cached under
bench/.cache/), every score forgotten before each run (the worst case: every lead is new, so
every threshold is crossed for the first time), recomputed by `leadscore recompute` in a child
process with automations off and then with `examples/automations.yaml` active. Medians of the
runs; the outbox rows written are counted.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import batch  # noqa: E402  (bench/batch.py: demo data, stores, child-process timing)

REPO = batch.REPO
AUTOMATIONS = REPO / "examples" / "automations.yaml"
SECRET = "whsec_YmVuY2htYXJrIHNlY3JldCBmb3IgbGVhZHNjb3Jl"

RECEIVER = """
import sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False)
"""

HOOK_ONLY = """
automations:
  - name: bench-hook
    when: {event_received: {type: demo_booked}}
    actions: [{webhook: {url_env: BENCH_HOOK_URL, secret_env: BENCH_HOOK_SECRET}}]
  - name: bench-list
    when: {lead_created: {}}
    actions: [{add_to_list: {list: bench}}]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_receiver() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    child = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return child, f"http://127.0.0.1:{port}/hook"
        except OSError:
            time.sleep(0.05)
    child.kill()
    raise SystemExit("the receiver did not start")


# --- deliveries ----------------------------------------------------------------------------


def fill(ctx, n: int, action: str) -> None:
    """n outbox rows of one action (`webhook` or `add_to_list`) for n leads."""
    from leadscore.core.timestamps import parse_timestamp
    from leadscore.service import automations
    from leadscore.service.inputs import LeadIn
    from leadscore.service.leads import upsert_leads
    from leadscore.store import outbox as stored
    from leadscore.testing import scratch

    scratch.empty(ctx.db)
    ctx.reset_caches()
    version = automations.upload(ctx, HOOK_ONLY, "bench", activate=False)["version"]
    for start in range(0, n, 1000):
        upsert_leads(ctx, [LeadIn(id=f"B{i}") for i in range(start, min(n, start + 1000))], "b")
    now = parse_timestamp("2026-12-01T00:00:00Z")
    index = 0 if action == "webhook" else 1
    name = "bench-hook" if action == "webhook" else "bench-list"
    trigger = {"kind": "event_received", "at": "2026-12-01T00:00:00Z", "before": None,
               "after": None, "event": {"id": "e", "type": "demo_booked"}}  # fmt: skip
    rows = [
        {
            "key": stored.key(pk, name, index, f"event:e{pk}"),
            "lead_pk": pk,
            "automation": name,
            "automations_version": version,
            "action_index": 0,
            "action": action,
            "occurrence": f"event:e{pk}",
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
            "trigger": trigger,
        }
        for pk in range(1, n + 1)
    ]
    ctx.db.transact(lambda conn: stored.add(ctx.db, conn, rows))


def deliveries(name: str, url: str, hook: str, n: int, runs: int) -> dict:
    from leadscore.delivery import hooks
    from leadscore.service import outbox
    from leadscore.service.context import Context
    from leadscore.settings import Settings

    os.environ["BENCH_HOOK_URL"], os.environ["BENCH_HOOK_SECRET"] = hook, SECRET
    settings = Settings(database_url=url, mail_dir=tempfile.mkdtemp())
    figures: dict[str, object] = {}
    with Context.open(settings) as ctx:
        payload = {"id": "ob_1", "type": "lead.event_received", "lead": {"id": "B1"}}
        for action in ("webhook", "add_to_list"):
            measured = []
            for _ in range(runs):
                fill(ctx, n, action)
                with outbox.Worker(ctx) as worker:
                    started = time.perf_counter()
                    done = worker.run_until_idle()
                    measured.append(time.perf_counter() - started)
                assert done == n, (done, n)
                counts = outbox.counts(ctx)
                assert counts["delivered"] == n, counts
            rate = n / batch.median(measured)
            figures[f"{name}_{action}_per_s"] = rate
            print(f"  {name}: {action:12} {rate:8,.0f} rows/s  (runs: "
                  f"{', '.join(f'{n / s:,.0f}' for s in measured)})")  # fmt: skip
        # The ceiling: the same signed POSTs, no database, the worker's concurrency.
        measured = []
        with (
            hooks.new_client(settings) as client,
            ThreadPoolExecutor(settings.outbox_concurrency) as pool,
        ):
            for _ in range(runs):
                started = time.perf_counter()
                list(pool.map(lambda i: hooks.post_webhook(client, hook, SECRET, f"ob_{i}",
                                                           payload, now=int(time.time())),
                              range(n)))  # fmt: skip
                measured.append(time.perf_counter() - started)
        ceiling = n / batch.median(measured)
        figures[f"{name}_ceiling_per_s"] = ceiling
        ratio = figures[f"{name}_webhook_per_s"] / ceiling  # type: ignore[operator]
        print(f"  {name}: bare POSTs  {ceiling:8,.0f} /s (same receiver, no outbox)"
              f"  → the worker reaches {ratio:.0%} of it")  # fmt: skip
    return figures


# --- the recompute with automations ---------------------------------------------------------


def scratch_postgres_url() -> str:
    """A database of its own for the deliveries (emptied each run), beside the bench store."""
    os.environ.setdefault(
        "LEADSCORE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/leadscore_bench"
    )
    store = os.environ["LEADSCORE_BENCH_POSTGRES_URL"]
    os.environ["LEADSCORE_BENCH_POSTGRES_URL"] = store.rsplit("/", 1)[0] + "/leadscore_outbox"
    try:
        return batch.postgres_url()
    finally:
        os.environ["LEADSCORE_BENCH_POSTGRES_URL"] = store


def recompute_with_automations(name: str, url: str, data: Path, n_leads: int, runs: int) -> dict:
    import store_data
    from sqlalchemy import text

    from leadscore.service import automations
    from leadscore.service.context import Context
    from leadscore.service.owners import OwnerIn, TeamIn, create_owner, create_team, list_owners
    from leadscore.settings import Settings

    batch.ensure_loaded(name, url, data, n_leads)
    command = [sys.executable, "-m", "leadscore.cli", "recompute", "--as-of", batch.AS_OF]
    env = {**os.environ, "LEADSCORE_DATABASE_URL": url}
    with Context.open(Settings(database_url=url)) as ctx:
        known = {o["id"] for o in list_owners(ctx)}
        for owner, team in (("a@bench.example", "sales"), ("b@bench.example", "sales-cee")):
            if owner not in known:
                create_owner(ctx, OwnerIn(id=owner, name=owner, email=owner), "bench")
                create_team(ctx, TeamIn(name=team, members=[owner]), "bench")
        version = automations.upload(ctx, AUTOMATIONS.read_text(), "bench")["version"]
    figures: dict[str, object] = {}
    for label, active in (("off", None), ("on", version)):
        measured, rows = [], 0
        for _ in range(runs):
            with Context.open(Settings(database_url=url)) as ctx:
                automations.activate(ctx, active, "bench")
                with ctx.db.engine.begin() as conn:
                    conn.execute(text("DELETE FROM outbox"))
            store_data.reset_scores(url)
            measured.append(batch.run(command, env=env))
            with Context.open(Settings(database_url=url)) as ctx, ctx.db.read() as conn:
                rows = conn.scalar(text("SELECT count(*) FROM outbox"))
        seconds = batch.median([m[0] for m in measured])
        figures[f"recompute_{name}_automations_{label}_s"] = seconds
        figures[f"recompute_{name}_automations_{label}_rows"] = rows
        print(f"  {name}, automations {label:3}: {seconds:6.1f} s (runs: "
              f"{', '.join(f'{m[0]:.1f}' for m in measured)}), peak "
              f"{max(m[1] for m in measured):.2f} GB, {rows:,} outbox rows")  # fmt: skip
    off = figures[f"recompute_{name}_automations_off_s"]
    on = figures[f"recompute_{name}_automations_on_s"]
    print(f"  {name}: the outbox rows cost {on - off:+.1f} s ({on / off - 1:+.0%});"  # type: ignore[operator]
          f" target ≤ 60 s with them")  # fmt: skip
    with Context.open(Settings(database_url=url)) as ctx:
        automations.activate(ctx, None, "bench")
    return figures


def live_events(name: str, url: str, n: int) -> dict:
    """In process: one event at a time through `ingest_events` (the live path, lock → store →
    rescore → history → outbox), with automations off and with the example file on; p50 and
    p99 of n events each, over the demo leads of `leadscore init-demo`-like data."""
    import random
    import statistics

    from leadscore import demo
    from leadscore.service import automations, scoring_models
    from leadscore.service.context import Context
    from leadscore.service.events import ingest_events
    from leadscore.service.imports import import_file
    from leadscore.service.inputs import EventIn
    from leadscore.service.owners import OwnerIn, TeamIn, create_owner, create_team
    from leadscore.settings import Settings
    from leadscore.testing import scratch

    figures: dict[str, object] = {}
    with Context.open(Settings(database_url=url, mail_dir=tempfile.mkdtemp())) as ctx:
        scratch.empty(ctx.db)
        ctx.reset_caches()
        scoring_models.activate(
            ctx, scoring_models.upload(ctx, batch.MODEL.read_text(), "b")["version"], "b"
        )
        with tempfile.TemporaryDirectory() as folder:
            data = demo.generate(2000, 7)
            ids = data.leads["id"].to_list()
            paths = demo.write(data, folder)
            for kind in ("leads", "events"):
                import_file(ctx, kind, paths[kind])
        for owner, team in (("a@bench.example", "sales"), ("b@bench.example", "sales-cee")):
            create_owner(ctx, OwnerIn(id=owner, name=owner, email=owner), "bench")
            create_team(ctx, TeamIn(name=team, members=[owner]), "bench")
        version = automations.upload(ctx, AUTOMATIONS.read_text(), "bench")["version"]
        rng = random.Random(11)
        types = ["page_viewed", "email_opened", "webinar_attended", "demo_booked"]
        for label, active in (("off", None), ("on", version)):
            automations.activate(ctx, active, "bench")
            times = []
            for i in range(n):
                event = EventIn(id=f"{label}-{i}", lead_id=rng.choice(ids), type=rng.choice(types))
                started = time.perf_counter()
                ingest_events(ctx, [event])
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            p50, p99 = statistics.median(times), times[int(len(times) * 0.99)]
            figures[f"live_{name}_{label}_p50_ms"] = p50
            figures[f"live_{name}_{label}_p99_ms"] = p99
            print(f"  {name}, automations {label:3}: p50 {p50:.2f} ms, p99 {p99:.2f} ms"
                  f" ({n:,} single events)")  # fmt: skip
        automations.activate(ctx, None, "bench")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--store-runs", type=int, default=3)
    parser.add_argument("--no-store", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-deliveries", action="store_true")
    parser.add_argument("--live", type=int, default=2000, help="single events, 0: none")
    args = parser.parse_args()
    print(f"machine: {batch.machine()}")
    figures: dict[str, object] = {}
    if not args.no_deliveries:
        receiver, hook = start_receiver()
        try:
            print(f"\noutbox deliveries, {args.deliveries:,} rows, median of {args.runs} runs:")
            with tempfile.TemporaryDirectory() as folder:
                stores = [("sqlite", f"sqlite:///{folder}/outbox.db")]
                if not args.no_postgres:
                    stores.append(("postgres", scratch_postgres_url()))
                for name, url in stores:
                    figures |= deliveries(name, url, hook, args.deliveries, args.runs)
        finally:
            receiver.terminate()
            receiver.wait(10)
    if args.live:
        print("\nlive ingest of single events, in process, automations off then on:")
        stores = [("sqlite", f"sqlite:///{tempfile.mkdtemp()}/live.db")]
        if not args.no_postgres:
            stores.append(("postgres", scratch_postgres_url()))
        for name, url in stores:
            figures |= live_events(name, url, args.live)
    if not args.no_store:
        data = batch.demo_data(args.leads, 0)
        print(f"\n`leadscore recompute`, {args.leads:,} leads, automations off then on:")
        stores = [("sqlite", f"sqlite:///{batch.CACHE / f'store-{args.leads}-s0.db'}")]
        if not args.no_postgres:
            stores.append(("postgres", batch.postgres_url()))
        for name, url in stores:
            figures |= recompute_with_automations(name, url, data, args.leads, args.store_runs)


if __name__ == "__main__":
    main()
