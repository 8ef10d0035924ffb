"""The database unavailable (docs/reliability.md): a PostgreSQL cluster of the scenario's own,
stopped and started under load while clients post events."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tests.reliability.harness import free_port
from tests.reliability.stores import Tally, event_body


def postgres_binaries() -> Path | None:
    """The folder of initdb and pg_ctl, or None."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


class PrivatePostgres:
    """A PostgreSQL cluster of our own in `folder` on a free port, run by the postgres OS
    user (trust auth), that a test may stop and start: never the shared server."""

    def __init__(self, folder: Path, binaries: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.bin = binaries
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["chown", "postgres", str(folder)], check=True)
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )
        self.start()

    def _as_postgres(self, *args: str) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {done.stdout}{done.stderr}")

    def start(self) -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.folder / "log"),
            "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop"
        )

    def close(self) -> None:
        with suppress(RuntimeError):
            self.stop()


@dataclass
class Outage:
    tally: Tally
    outages: int = 0
    answered_503: int = 0
    not_503: Counter[int] = field(default_factory=Counter)
    bad_503: list[str] = field(default_factory=list)
    health_down: Counter[int] = field(default_factory=Counter)
    recover_seconds: list[float] = field(default_factory=list)


def outage(
    pg: PrivatePostgres,
    base_url: str,
    key: str,
    clients: int,
    outages: int,
    down_seconds: float = 3.0,
    leads: int = 20,
) -> Outage:
    """`clients` threads post single events (new ids; a refused one is sent again until
    acknowledged) while PostgreSQL is stopped `outages` times for `down_seconds`. Every
    answer but 2xx must be a 503 with the error model and Retry-After; after each restart
    the time until an event is acknowledged again is measured."""
    report = Outage(Tally())
    lock = threading.Lock()
    stop = threading.Event()
    auth = {"Authorization": f"Bearer {key}"}

    def check(response: httpx.Response) -> None:
        with lock:
            report.tally.statuses[response.status_code] += 1
            if response.status_code == 503:
                report.answered_503 += 1
                body = response.json()
                if (
                    "unavailable" not in str(body.get("detail"))
                    or not body.get("request_id")
                    or not response.headers.get("retry-after")
                ):
                    report.bad_503.append(response.text[:200])
            elif response.status_code not in (200, 201):
                report.not_503[response.status_code] += 1

    def client(c: int) -> None:
        k = 0
        with httpx.Client(base_url=base_url + "/api/v1", headers=auth, timeout=30) as http:
            while not stop.is_set():
                body = event_body(f"o{c}-{k}", f"L{(c + k) % leads}", k)
                with lock:
                    report.tally.sent += 1
                while True:  # until acknowledged: resending the same id is safe
                    response = http.post("/events", json=body)
                    check(response)
                    if response.status_code in (200, 201):
                        with lock:
                            report.tally.acknowledged.add(body["id"])
                        break
                    time.sleep(float(response.headers.get("retry-after", "1")) / 10)
                k += 1
                time.sleep(0.005)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    try:
        with httpx.Client(base_url=base_url + "/api/v1", headers=auth, timeout=30) as probe:
            for n in range(outages):
                time.sleep(1.0)
                pg.stop()
                report.outages += 1
                down_until = time.monotonic() + down_seconds
                while time.monotonic() < down_until:
                    report.health_down[probe.get("/health").status_code] += 1
                    time.sleep(0.2)
                pg.start()
                back = time.monotonic()
                k = 0
                while True:
                    response = probe.post("/events", json=event_body(f"probe{n}-{k}", "L0", k))
                    check(response)
                    if response.status_code in (200, 201):
                        report.recover_seconds.append(time.monotonic() - back)
                        with lock:
                            report.tally.sent += 1
                            report.tally.acknowledged.add(f"probe{n}-{k}")
                        break
                    if time.monotonic() - back > 60:
                        raise RuntimeError("the API did not recover within 60 s")
                    k += 1
                    time.sleep(0.01)
            time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    return report
