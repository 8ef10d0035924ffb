"""The dashboard's leads page with 1,000,000 leads in the store (issue 13: ≤ 500 ms p95 for
the first page and filtered pages), on SQLite and PostgreSQL.

    .venv/bin/python bench/dashboard_leads.py [--leads 1000000] [--runs 20] [--only sqlite|postgres]

Builds once, then reuses, a store of synthetic scored leads (names, companies, sources,
owners, scores, tiers and stages drawn with a fixed seed; no events, which the list does not
read): `bench/.cache/dashboard_leads/leads.sqlite` and the PostgreSQL database
`leadscore_bench_leads` (or $LEADSCORE_BENCH_LEADS_URL). Then it starts `leadscore serve` on
each, logs a viewer in over HTTP as a browser does, and times each request `--runs` times
after two warm-up requests: median and p95 in milliseconds, and the ratio of the p95 to the
baseline's (the login form: a page that reads no lead) measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "bench" / ".cache" / "dashboard_leads"
TARGET_MS = 500
PASSWORD = "bench pass phrase"
EMAIL = "viewer@bench.local"
FIRST = ["Ana", "Jan", "Maria", "Piotr", "Ioana", "Marko", "Elena", "Tomasz", "Milica", "Andrei",
         "Katarzyna", "Nikola", "Gabriela", "Stefan", "Zofia", "Luka", "Irina", "Pavel", "Eva",
         "Mihai"]  # fmt: skip
LAST = ["Kowalski", "Nowak", "Popescu", "Ionescu", "Petrovic", "Jovanovic", "Wisniewski",
        "Dumitru", "Nikolic", "Lewandowski", "Stan", "Markovic", "Zielinski", "Radu", "Ilic",
        "Wojcik", "Matei", "Djordjevic", "Kaminski", "Constantin"]  # fmt: skip
WORDS = ["Cedar", "Nova", "Blue", "Iron", "Silver", "Delta", "Apex", "Green", "Vertex", "Orbit",
         "Pixel", "Quartz", "Summit", "Harbor", "Falcon", "Lumen", "Atlas", "Cobalt", "Maple",
         "Zenith"]  # fmt: skip
KINDS = ["Analytics", "Soft", "Systems", "Labs", "Logistics", "Foods", "Media", "Bank"]
SOURCES = ["web", "webinar", "paid_search", "referral", "event", "partner", "social", "email"]
RARE = "Zenith Quartz Bank 0042"
"""One company only: the rare search term."""


def leads_frame(n: int, seed: int = 13) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    first = np.array(FIRST)[rng.integers(0, len(FIRST), n)]
    last = np.array(LAST)[rng.integers(0, len(LAST), n)]
    company_no = rng.integers(0, n // 4 + 1, n)
    company = pl.Series(
        [
            f"{WORDS[c % 20]} {WORDS[c // 20 % 20]} {KINDS[c // 400 % 8]} {c // 3200:04}"
            for c in company_no
        ]  # fmt: skip
    )
    score = np.round(np.clip(rng.gamma(2.0, 14.0, n), 0, 100), 1)
    fit = np.round(score * rng.uniform(0.3, 0.7, n), 1)
    tier = np.where(score >= 70, "hot", np.where(score >= 40, "warm", "cold"))
    grade = np.array(["D", "C", "B", "A"])[np.clip((fit // 12).astype(int), 0, 3)]
    stage = np.where(score >= 70, "sql", np.where(score >= 40, "mql", "lead"))
    owner = np.array([f"owner{i:02}" for i in range(30)])[rng.integers(0, 30, n)]
    owner = np.where(rng.random(n) < 0.2, None, owner)
    source = np.array(SOURCES)[rng.integers(0, len(SOURCES), n)]
    created = 1_700_000_000_000_000 + rng.integers(0, 2 * 365 * 86_400, n) * 1_000_000
    updated = created + rng.integers(0, 30 * 86_400, n) * 1_000_000
    ids = pl.Series([f"L{i:07}" for i in range(1, n + 1)])
    frame = pl.DataFrame(
        {
            "id": ids,
            "first_name": first,
            "last_name": last,
            "company": company,
            "source": source,
        }
    )
    email = (
        frame["first_name"].str.to_lowercase()
        + "."
        + frame["last_name"].str.to_lowercase()
        + "."
        + ids.str.slice(1)
        + "@"
        + frame["company"].str.to_lowercase().str.replace_all(" ", "")
        + ".example"
    )
    attributes = frame.select(
        pl.struct("first_name", "last_name", "company", "source").struct.json_encode()
    ).to_series()
    return pl.DataFrame(
        {
            "id": ids,
            "email": email,
            "external_ids": pl.Series(["{}"] * n),
            "attributes": attributes,
            "owner": owner,
            "source": source,
            "stage": stage,
            "lifecycle_stage": stage,
            "score": score,
            "fit": fit,
            "engagement": np.round(score - fit, 1),
            "grade": grade,
            "tier": tier,
            "model_version": np.ones(n, dtype=np.int64),
            "scored_at": updated,
            "created_at": created,
            "updated_at": updated,
        }
    )


def ensure_store(name: str, url: str, n: int) -> None:
    """The store at `url` with `n` leads and the viewer, built once."""
    sys.path.insert(0, str(REPO / "bench"))
    import store_data  # the bulk loader of bench/batch.py

    from leadscore.service import users
    from leadscore.service.context import Context
    from leadscore.settings import Settings
    from leadscore.store.tables import model_versions

    ctx = Context.open(Settings(database_url=url))
    with ctx.db.engine.connect() as conn:
        have = conn.exec_driver_sql("SELECT count(*) FROM leads").scalar()
    if have != n:
        print(f"  {name}: loading {n:,} leads (once; cached)…", flush=True)
        started = time.perf_counter()
        frame = leads_frame(n)
        with ctx.db.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM leads")
            conn.exec_driver_sql("DELETE FROM model_versions")
            conn.execute(
                model_versions.insert().values(
                    version=1,
                    name="bench",
                    yaml=(REPO / "examples" / "b2b-saas.yaml").read_text(),
                    created_at=0,
                    active=True,
                    activated_at=0,
                )
            )
            store_data._bulk(ctx, conn, "leads", tuple(frame.columns), frame)
        if ctx.db.is_postgres:  # autovacuum's statistics; SQLite runs without ANALYZE
            with ctx.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("ANALYZE leads")
        print(f"  {name}: loaded in {time.perf_counter() - started:.0f} s", flush=True)
    with contextlib.suppress(Exception):  # the viewer of an earlier run
        users.create_user(ctx, EMAIL, PASSWORD, "viewer")
    ctx.db.dispose()


def postgres_url() -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = os.environ.get(
        "LEADSCORE_BENCH_LEADS_URL", "postgresql://postgres@127.0.0.1:5432/leadscore_bench_leads"
    )
    target = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                           {"n": target.database}):  # fmt: skip
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    return url


def _scratch(name: str) -> str:
    """An empty store for the insert timing (not the cached million)."""
    if name == "sqlite":
        (CACHE / "insert.sqlite").unlink(missing_ok=True)
        return f"sqlite:///{CACHE / 'insert.sqlite'}"
    os.environ.setdefault(
        "LEADSCORE_BENCH_LEADS_URL", "postgresql://postgres@127.0.0.1:5432/leadscore_bench_leads"
    )
    saved = os.environ["LEADSCORE_BENCH_LEADS_URL"]
    os.environ["LEADSCORE_BENCH_LEADS_URL"] = saved.rsplit("/", 1)[0] + "/leadscore_bench_insert"
    try:
        return postgres_url()
    finally:
        os.environ["LEADSCORE_BENCH_LEADS_URL"] = saved


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "LEADSCORE_DATABASE_URL": url}
    command = [str(REPO / ".venv" / "bin" / "leadscore"), "serve", "--port", str(port),
               "--no-scheduler"]  # fmt: skip
    log = (CACHE / "serve.log").open("ab")  # the server's access log, out of the table's way
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/login", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def log_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=True)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    done = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    assert done.status_code == 200 and "leads-table" in done.text, done.status_code
    return client


def cases(n: int) -> list[tuple[str, str, dict[str, str]]]:
    from leadscore.service.cursors import encode_cursor

    deep = encode_cursor("leads:-score", 20.0, n // 2)  # past about half the leads
    return [
        ("baseline: the login form", "/login", {}),
        ("first page (hottest first)", "/leads", {}),
        ("sort: newest", "/leads", {"sort": "-created_at"}),
        ("sort: recently updated", "/leads", {"sort": "-updated_at"}),
        ("stage = mql", "/leads", {"stage": "mql"}),
        ("tier = hot", "/leads", {"tier": "hot"}),
        ("tier = cold", "/leads", {"tier": "cold"}),
        ("grade = C (no index)", "/leads", {"grade": "C"}),
        ("owner = owner07", "/leads", {"owner": "owner07"}),
        ("score 40 to 60", "/leads", {"min": "40", "max": "60"}),
        ("source = webinar", "/leads", {"source": "webinar"}),
        (
            "stage + owner + source",
            "/leads",
            {"stage": "sql", "owner": "owner07", "source": "webinar"},
        ),  # fmt: skip
        ("source = webinar, newest", "/leads", {"source": "webinar", "sort": "-created_at"}),
        ("search, rare: one company", "/leads", {"q": RARE}),
        ("search, two letters (not searched)", "/leads", {"q": "zq"}),
        ("search, rare: one e-mail", "/leads", {"q": f"{n // 3:07}@"}),
        ("search, common: 'nowak'", "/leads", {"q": "nowak"}),
        ("search + tier = hot", "/leads", {"q": "nowak", "tier": "hot"}),
        ("deep page (cursor mid-list)", "/leads", {"cursor": deep}),
    ]


def measure(client: httpx.Client, path: str, params: dict[str, str], runs: int) -> list[float]:
    """`runs` timings after two warm-up requests (three when a request takes seconds)."""
    headers = {"HX-Request": "true"} if path == "/leads" else {}  # the table, as htmx asks
    times: list[float] = []
    for i in range(runs + 2):
        started = time.perf_counter()
        answer = client.get(path, params=params, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        assert answer.status_code == 200, (path, params, answer.status_code)
        if i >= 2:
            times.append(elapsed)
        if len(times) == 3 and min(times) > 5000:
            break
    return times


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def run(name: str, url: str, n: int, runs: int) -> list[dict[str, object]]:
    ensure_store(name, url, n)
    process, base = serve(url)
    rows: list[dict[str, object]] = []
    try:
        client = log_in(base)
        baseline = None
        for label, path, params in cases(n):
            times = measure(client, path, params, runs)
            found = client.get(path, params=params, headers={"HX-Request": "true"})
            shown = found.text.count('<td data-label="Lead">') if path == "/leads" else 0
            row = {"backend": name, "case": label, "median_ms": statistics.median(times),
                   "p95_ms": p95(times), "rows": shown}  # fmt: skip
            baseline = baseline or row["p95_ms"]
            row["ratio"] = row["p95_ms"] / baseline
            rows.append(row)
            mark = "" if path != "/leads" or row["p95_ms"] <= TARGET_MS else "  ← over 500 ms"
            print(f"  {name:8} {label:32} median {row['median_ms']:7.1f} ms   p95 "
                  f"{row['p95_ms']:7.1f} ms   ×{row['ratio']:5.1f}   {shown:3} rows{mark}",
                  flush=True)  # fmt: skip
    finally:
        process.terminate()
        process.wait(30)
    return rows


def insert_cost(name: str, url: str, n: int = 100_000, runs: int = 3) -> None:
    """What the search index costs a bulk insert of `n` leads into an empty store: with the
    index (SQLite: the FTS5 table's triggers; PostgreSQL: the trigram GIN index) against
    without it, medians of `runs`."""
    sys.path.insert(0, str(REPO / "bench"))
    import store_data

    from leadscore.service.context import Context
    from leadscore.settings import Settings

    frame = leads_frame(n, seed=7).drop("model_version")
    ctx = Context.open(Settings(database_url=url))
    results = {}
    for indexed in (True, False):
        times = []
        for _run in range(runs):
            with ctx.db.engine.begin() as conn:
                conn.exec_driver_sql("DELETE FROM leads")
            with ctx.db.engine.begin() as conn:
                if not indexed:  # dropped inside the transaction: rolled back below
                    for statement in WITHOUT[ctx.db.engine.dialect.name]:
                        conn.exec_driver_sql(statement)
                started = time.perf_counter()
                store_data._bulk(ctx, conn, "leads", tuple(frame.columns), frame)
                times.append(time.perf_counter() - started)
                if not indexed:
                    conn.rollback()
        results[indexed] = statistics.median(times)
    with ctx.db.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM leads")
    ctx.db.dispose()
    with_index, without = results[True], results[False]
    print(f"  {name:8} insert of {n:,} leads: {n / with_index:9,.0f} leads/s with the search"
          f" index, {n / without:9,.0f} without (×{with_index / without:.1f} the time)",
          flush=True)  # fmt: skip


WITHOUT = {
    "sqlite": [f"DROP TRIGGER leads_search_{t}" for t in ("insert", "update", "delete")],
    "postgresql": ["DROP INDEX ix_leads_search"],
}
"""The search index dropped for the comparison (in the transaction that is rolled back)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument(
        "--insert-cost",
        action="store_true",
        help="also time a bulk insert with and without the search index",
    )
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    stores = {
        "sqlite": f"sqlite:///{CACHE / f'leads-{args.leads}.sqlite'}",
        "postgres": None,
    }
    results = []
    for name in ("sqlite", "postgres"):
        if args.only and args.only != name:
            continue
        url = stores[name] or postgres_url()
        results += run(name, url, args.leads, args.runs)
        if args.insert_cost:
            insert_cost(name, _scratch(name))
    over = [r for r in results if r["case"] != "baseline: the login form" and
            float(r["p95_ms"]) > TARGET_MS]  # type: ignore[arg-type]  # fmt: skip
    print(json.dumps({"leads": args.leads, "runs": args.runs, "over_target": len(over)}))


if __name__ == "__main__":
    main()
