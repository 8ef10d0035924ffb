"""The failure scenarios of docs/reliability.md as functions of their size: the tests in this
folder run them small and assert on what they return, bench/reliability.py runs them large
and prints it. Everything is real: servers and workers are child processes killed with
SIGKILL, clients talk HTTP over sockets, the stores are SQLite files and PostgreSQL databases,
and what was stored is read back from the tables, not from the API that stored it.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from tests.reliability.stores import (
    T0,
    T1,
    Tally,
    count_scored_at,
    event_body,
    fill,
    half_written,
    history_counts,
    lead_attributes,
    lead_rows,
    opened,
    outbox_keys,
    outbox_statuses,
    prepare,
    stored_event_ids,
)

from leadscore.core.records import Event, Lead
from leadscore.core.timestamps import format_timestamp, parse_timestamp
from leadscore.service.context import Context
from leadscore.service.events import ingest_events
from leadscore.service.inputs import EventIn
from leadscore.service.recompute import recompute
from leadscore.settings import Settings

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def child_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a leadscore child process on `database_url`: no scheduler, no
    outbox worker inside the API (the worker scenario runs its own), our sources first."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH")) if p
        ),
        "LEADSCORE_DATABASE_URL": database_url,
        "LEADSCORE_SCHEDULER_ENABLED": "false",
        "LEADSCORE_WORKER_ENABLED": "false",
        **extra,
    }


# --- processes ----------------------------------------------------------------------------


class ServerProcess:
    """`uvicorn --factory leadscore.api.app:app_from_env` (what `leadscore serve` runs) as a
    child process on `database_url`."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            PYTHON, "-m", "uvicorn", "--factory", "leadscore.api.app:app_from_env",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
        ]  # fmt: skip
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command, env=child_env(database_url), stdout=out, stderr=out
            )
        self.log = log
        deadline = time.monotonic() + 180  # a loaded machine imports slowly
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                code = self.process.returncode
                raise RuntimeError(f"the server did not start ({code}): {log.read_text()[-2000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, open transactions die with the process."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)


def run_cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "leadscore.cli", *args],
        env=child_env(database_url, **env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


# --- 1. concurrent clients on one lead ----------------------------------------------------


def concurrent_clients(
    base_url: str,
    key: str,
    clients: int,
    events_per_client: int,
    lead_id: str = "L1",
    shared: int = 5,
) -> Tally:
    """`clients` threads, each with its own connection, post events for one lead at once.
    Every third client sends each of its events twice (a client retrying after a lost
    answer), and every client also posts the same `shared` ids (retries from several
    clients at once): each id must be stored once whoever sent it."""
    tally = Tally()
    lock = threading.Lock()
    start = threading.Barrier(clients)
    common = [event_body(f"shared-{k}", lead_id, k) for k in range(shared)]

    def client(c: int) -> None:
        mine = [event_body(f"c{c}-e{k}", lead_id, c + k) for k in range(events_per_client)]
        repeat = 2 if c % 3 == 0 else 1
        sends = [b for b in mine for _ in range(repeat)] + common
        with httpx.Client(
            base_url=base_url + "/api/v1",
            headers={"Authorization": f"Bearer {key}"},
            timeout=120,
        ) as http:
            start.wait()
            for body in sends:
                response = http.post("/events", json=body)
                with lock:
                    tally.sent += 1
                    tally.statuses[response.status_code] += 1
                    if response.status_code in (200, 201):
                        tally.acknowledged.add(body["id"])

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def offline_score(
    folder: Path, model: str, lead: Lead, events: Iterable[Event], as_of: str
) -> dict[str, str]:
    """`leadscore score` (the offline CLI, a child process) on the model and the exported
    lead and events: its output row."""
    (folder / "model.yaml").write_text(model)
    with (folder / "leads.jsonl").open("w") as out:
        out.write(json.dumps({"id": lead.id, "email": lead.email, **lead.attributes}) + "\n")
    with (folder / "events.jsonl").open("w") as out:
        for e in events:
            row = {
                "id": e.id,
                "lead_id": lead.id,
                "type": e.type,
                "occurred_at": format_timestamp(e.occurred_at),
                **({"source": e.source} if e.source else {}),
                **e.properties,
            }
            out.write(json.dumps(row) + "\n")
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "leadscore.cli",
            "score",
            "--model",
            str(folder / "model.yaml"),
            "--leads",
            str(folder / "leads.jsonl"),
            "--events",
            str(folder / "events.jsonl"),
            "--as-of",
            as_of,
        ],  # fmt: skip
        env=child_env("sqlite:///unused.db"),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"leadscore score failed: {done.stderr}")
    rows = list(csv.DictReader(done.stdout.splitlines()))
    assert len(rows) == 1, done.stdout
    return rows[0]


# --- 2a. kill -9 of the server during batched ingest ---------------------------------------


def batches(count: int, size: int, leads: int, prefix: str = "b") -> list[list[dict[str, Any]]]:
    """`count` batches of `size` events spread over `leads` leads; ids unique."""
    return [
        [event_body(f"{prefix}{b}-{j}", f"L{(b * size + j) % leads}", b + j) for j in range(size)]
        for b in range(count)
    ]


@dataclass
class KillReport:
    tally: Tally
    kills: int = 0
    batches_acknowledged: int = 0
    half_written: list[str] = field(default_factory=list)
    resend_changed: list[str] = field(default_factory=list)
    resend_stored_again: int = 0
    resend_failures: int = 0
    final_lost: int = 0
    final_half_written: list[str] = field(default_factory=list)


def post_batch(http: httpx.Client, batch: list[dict[str, Any]]) -> httpx.Response | None:
    try:
        return http.post("/events", json={"events": batch})
    except httpx.TransportError:
        return None  # the server died mid-request: not acknowledged


def kill_during_ingest(
    database_url: str,
    log: Path,
    kills: int,
    batches_per_round: int,
    batch_size: int,
    leads: int,
    senders: int = 2,
    seed: int = 15,
) -> KillReport:
    """Rounds of batched ingest from `senders` client threads into a server process; each
    round but the last ends with SIGKILL of the server at a random moment, and the next
    starts a new server on the same store. Then the checks of docs/reliability.md."""
    rng = random.Random(seed)
    key = prepare(database_url, leads)
    every = batches((kills + 1) * batches_per_round, batch_size, leads)
    acked: set[int] = set()
    report = KillReport(Tally())
    lock = threading.Lock()
    for round_ in range(kills + 1):
        server = ServerProcess(database_url, log)
        todo = list(range(round_ * batches_per_round, (round_ + 1) * batches_per_round))
        done_in_round = threading.Event()

        def send(
            todo: list[int] = todo, base: str = server.url, done: threading.Event = done_in_round
        ) -> None:
            with httpx.Client(
                base_url=base + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=60
            ) as http:
                while True:
                    with lock:
                        if not todo:
                            return
                        b = todo.pop(0)
                        report.tally.sent += len(every[b])
                    response = post_batch(http, every[b])
                    if response is None:
                        done.set()
                        return
                    with lock:
                        report.tally.statuses[response.status_code] += 1
                        if response.status_code == 200:
                            acked.add(b)
                            report.tally.acknowledged.update(e["id"] for e in every[b])

        threads = [threading.Thread(target=send) for _ in range(senders)]
        for thread in threads:
            thread.start()
        if round_ < kills:
            # somewhere in the middle of the round's batches, usually inside a request
            target = rng.randint(1, max(1, batches_per_round - senders - 1))
            while len([b for b in acked if b >= round_ * batches_per_round]) < target:
                time.sleep(0.001)
            time.sleep(rng.uniform(0, 0.05))
            server.kill()
            report.kills += 1
        for thread in threads:
            thread.join()
        if round_ == kills:
            break
    # the last round's server is up: check the store, then resend everything
    report.tally.count_stored(database_url)
    report.batches_acknowledged = len(acked)
    report.half_written = half_written(database_url)
    before = lead_rows(database_url)
    with httpx.Client(
        base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as http:
        for b in sorted(acked):
            response = http.post("/events", json={"events": every[b]})
            if response.status_code != 200:
                report.resend_failures += 1
            else:
                report.resend_stored_again += response.json()["stored"]
        after = lead_rows(database_url)
        report.resend_changed = [lead for lead in before if before[lead] != after[lead]]
        for b in range(len(every)):
            if b not in acked:
                response = http.post("/events", json={"events": every[b]})
                if response.status_code != 200:
                    report.resend_failures += 1
    server.kill()
    rows = stored_event_ids(database_url)
    report.final_lost = sum(1 for batch in every for e in batch if rows[e["id"]] != 1)
    report.final_half_written = half_written(database_url)
    return report


# --- 2b. kill -9 of `leadscore recompute` -------------------------------------------------


@dataclass
class RecomputeKill:
    leads: int
    kills: int = 0
    rescored_at_kills: list[int] = field(default_factory=list)
    half_written: list[str] = field(default_factory=list)
    rerun_code: int = -1
    rerun_output: str = ""
    differs_from_uninterrupted: list[str] = field(default_factory=list)
    history_differs: list[str] = field(default_factory=list)


def kill_recompute(
    interrupted_url: str, clean_url: str, leads: int, events_per_lead: int, chunk: int, kills: int
) -> RecomputeKill:
    """Two identical stores scored at T0. On the first, `leadscore recompute --as-of T1` is
    killed with SIGKILL `kills` times, each once it has committed some chunks (leads scored
    at T1 appear), then run to the end; on the second it runs once, uninterrupted."""
    for url in (interrupted_url, clean_url):
        fill(url, leads, events_per_lead)
    report = RecomputeKill(leads)
    env = {"LEADSCORE_RECOMPUTE_CHUNK_SIZE": str(chunk)}
    for _ in range(kills):
        before = count_scored_at(interrupted_url, T1)
        process = subprocess.Popen(
            [PYTHON, "-m", "leadscore.cli", "recompute", "--as-of", T1],
            env=child_env(interrupted_url, **env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        with opened(interrupted_url) as ctx:  # one connection, polled every 2 ms
            while process.poll() is None and count_scored_at(ctx, T1) == before:
                time.sleep(0.002)
        if process.poll() is not None:
            raise RuntimeError(
                f"recompute ended before it could be killed: {process.stderr.read().decode()}"
                if process.stderr
                else "recompute ended before it could be killed"
            )
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        if process.stderr:
            process.stderr.close()
        report.kills += 1
        report.rescored_at_kills.append(count_scored_at(interrupted_url, T1))
        report.half_written += half_written(interrupted_url)
    rerun = run_cli(interrupted_url, "recompute", "--as-of", T1, **env)
    report.rerun_code = rerun.returncode
    report.rerun_output = (rerun.stdout + rerun.stderr).strip()
    # the same recompute, in this process (what `leadscore recompute` calls), uninterrupted
    settings = Settings(database_url=clean_url, recompute_chunk_size=chunk)
    with Context.open(settings) as ctx:
        recompute(ctx, parse_timestamp(T1))
    got, want = lead_rows(interrupted_url), lead_rows(clean_url)
    report.differs_from_uninterrupted = [lead for lead in want if got.get(lead) != want[lead]]
    got_h, want_h = history_counts(interrupted_url), history_counts(clean_url)
    report.history_differs = [lead for lead in want if got_h[lead] != want_h[lead]]
    report.half_written += half_written(interrupted_url)
    return report


# --- 2c. kill -9 of the outbox worker ----------------------------------------------------


class Receiver:
    """A webhook receiver on 127.0.0.1 that applies each delivery once: it keys what it
    applies by the `webhook-id` header (the outbox row's id, the same on every attempt) and
    answers 200 to a repeat without applying it again."""

    def __init__(self, delay: float = 0.01) -> None:
        self.received: list[str] = []
        self.applied: Counter[str] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                key = self.headers.get("webhook-id", "")
                time.sleep(delay)  # work in progress: a kill lands mid-delivery
                with receiver.lock:
                    receiver.received.append(key)
                    if key not in receiver.applied:
                        receiver.applied[key] += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


WEBHOOKS = """
automations:
  - name: demo-hook
    when: {event_received: {type: demo_booked}}
    actions:
      - webhook: {url_env: RELIABILITY_HOOK_URL, secret_env: RELIABILITY_HOOK_SECRET}
"""
HOOK_SECRET = "whsec_cmVsaWFiaWxpdHkgdGVzdCBzZWNyZXQgMjQgYnl0ZXM="


@dataclass
class WorkerKills:
    rows: int
    kills: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    never_delivered: int = 0
    applied_twice: int = 0
    redelivered: int = 0


def kill_worker(
    database_url: str, log: Path, rows: int, kills: int, delay: float = 0.01, seed: int = 15
) -> WorkerKills:
    """`rows` webhook actions in the outbox; `leadscore worker` processes are killed with
    SIGKILL `kills` times while deliveries are in flight, then one runs until all is
    delivered."""
    rng = random.Random(seed)
    receiver = Receiver(delay)
    from leadscore.service import automations

    prepare(database_url, rows)
    with opened(database_url) as ctx:
        automations.upload(ctx, WEBHOOKS, "reliability", activate=True)
        bodies = [
            EventIn(lead_id=f"L{i}", id=f"demo-{i}", type="demo_booked", occurred_at=T0)
            for i in range(rows)
        ]
        for start in range(0, rows, 1000):
            ingest_events(ctx, bodies[start : start + 1000])
    report = WorkerKills(rows=sum(outbox_statuses(database_url).values()))
    env = child_env(
        database_url,
        RELIABILITY_HOOK_URL=receiver.url,
        RELIABILITY_HOOK_SECRET=HOOK_SECRET,
        LEADSCORE_OUTBOX_LEASE_SECONDS="1",
        LEADSCORE_OUTBOX_POLL_SECONDS="0.1",
        LEADSCORE_OUTBOX_BATCH_SIZE="20",
    )

    def start() -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(
                [PYTHON, "-m", "leadscore.cli", "worker"], env=env, stdout=out, stderr=out
            )

    try:
        for _ in range(kills):
            seen = receiver.count()
            worker = start()
            target = seen + rng.randint(1, max(1, rows // (kills + 1)))
            deadline = time.monotonic() + 120
            while receiver.count() < target:
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the worker stopped delivering: {log.read_text()[-2000:]}")
                time.sleep(0.002)
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
            report.kills += 1
        worker = start()
        deadline = time.monotonic() + 300
        while outbox_statuses(database_url).get("delivered", 0) < report.rows:
            if worker.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    finally:
        receiver.close()
    report.statuses = outbox_statuses(database_url)
    expected = outbox_keys(database_url)
    report.requests = len(receiver.received)
    report.never_delivered = len(expected - set(receiver.received))
    report.applied_twice = sum(1 for n in receiver.applied.values() if n > 1)
    report.redelivered = report.requests - len(set(receiver.received))
    return report


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def create_leads(base_url: str, key: str, leads: int) -> None:
    with httpx.Client(
        base_url=base_url + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as http:
        body = {"leads": [{"id": f"L{i}", "attributes": lead_attributes(i)} for i in range(leads)]}
        http.post("/leads", json=body).raise_for_status()
