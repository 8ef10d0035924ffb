"""The scheduled recompute runs once per cron slot across processes (a database lease), and
a slot whose process died is taken over once its lease expires."""

from __future__ import annotations

import threading
import time

import pytest

from leadscore.core.timestamps import parse_timestamp
from leadscore.scheduler import LeaseLost, Scheduler, due_slot
from leadscore.service.context import Context
from leadscore.store import leases


def at(iso: str):
    moment = parse_timestamp(iso)
    return lambda: moment


@pytest.fixture
def pair(ctx, database_url):
    """Two schedulers on one database, as two server processes would have."""
    other = Context.open(ctx.settings)
    runs: list[str] = []

    def job(name):
        def run(renew):
            runs.append(name)
            time.sleep(0.05)
            renew()

        return run

    a = Scheduler(ctx, cron="0 3 * * *", job=job("a"), holder="a")
    b = Scheduler(other, cron="0 3 * * *", job=job("b"), holder="b")
    yield a, b, runs
    other.close()


def set_time(pair, iso: str) -> None:
    a, b, _ = pair
    a.ctx.clock = b.ctx.clock = at(iso)


def test_due_slot() -> None:
    now = parse_timestamp("2026-01-02T03:00:30Z")
    assert due_slot("0 3 * * *", now) == parse_timestamp("2026-01-02T03:00:00Z")
    assert due_slot("0 3 * * *", now - 60_000_000) == parse_timestamp("2026-01-01T03:00:00Z")


def test_each_slot_runs_once_whichever_process_wakes(pair) -> None:
    a, b, runs = pair
    set_time(pair, "2026-01-01T12:00:00Z")
    assert not a.tick() and not b.tick()  # a new installation waits for the next slot
    set_time(pair, "2026-01-02T03:00:30Z")
    assert a.tick() and not b.tick()
    set_time(pair, "2026-01-02T09:00:00Z")
    assert not a.tick() and not b.tick()
    set_time(pair, "2026-01-03T03:05:00Z")
    assert b.tick() and not a.tick()
    assert runs == ["a", "b"]


def test_two_processes_ticking_together_run_it_once(pair) -> None:
    a, b, runs = pair
    set_time(pair, "2026-01-01T12:00:00Z")
    a.tick()
    set_time(pair, "2026-01-02T03:00:30Z")
    start = threading.Barrier(2)
    ran = []

    def tick(scheduler) -> None:
        start.wait()
        ran.append(scheduler.tick())

    threads = [threading.Thread(target=tick, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ran) == [False, True] and len(runs) == 1


def test_a_dead_holder_s_slot_is_taken_over_after_its_lease_expires(pair) -> None:
    a, b, runs = pair
    set_time(pair, "2026-01-01T12:00:00Z")
    a.tick()
    set_time(pair, "2026-01-02T03:00:30Z")
    slot = due_slot(a.cron, a.ctx.now())
    assert leases.acquire(a.ctx.db, "recompute", "a", a.ctx.now(), a.ttl, slot)  # a dies here
    assert not b.tick()
    set_time(pair, "2026-01-02T03:11:00Z")  # the 10-minute lease has expired
    assert b.tick() and runs == ["b"]


def test_a_failed_run_is_retried_and_a_lost_lease_stops_the_job(pair) -> None:
    a, b, runs = pair
    set_time(pair, "2026-01-01T12:00:00Z")
    a.tick()
    set_time(pair, "2026-01-02T03:00:30Z")
    failing = Scheduler(a.ctx, cron=a.cron, job=lambda renew: 1 / 0, holder="c")
    with pytest.raises(ZeroDivisionError):
        failing.tick()
    assert b.tick() and runs == ["b"]  # the slot was not marked done

    def steal(renew) -> None:
        with a.ctx.db.write() as conn:
            conn.exec_driver_sql("UPDATE leases SET holder = 'thief'")
        renew()

    set_time(pair, "2026-01-03T03:00:30Z")
    with pytest.raises(LeaseLost):
        Scheduler(a.ctx, cron=a.cron, job=steal, holder="d").tick()


def test_the_loop_runs_the_recompute_in_the_background(ctx) -> None:
    ctx.settings = ctx.settings.model_copy(update={"scheduler_poll_seconds": 0.02})
    scheduler = Scheduler(ctx, cron="* * * * *")
    ctx.clock = at("2026-01-01T12:00:30Z")
    scheduler.tick()  # creates the lease; the next minute is due
    ctx.clock = at("2026-01-01T12:01:30Z")
    scheduler.start()
    deadline = time.monotonic() + 10
    while leases.read(ctx.db, "recompute").done_slot != parse_timestamp("2026-01-01T12:01:00Z"):
        assert time.monotonic() < deadline, "the scheduler did not run"
        time.sleep(0.02)
    scheduler.stop()
