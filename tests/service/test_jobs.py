"""The job runner (service/jobs.py) on SQLite and PostgreSQL: a worker that lost its job (the
lease expired and the job was recovered as failed, or the server stopped) keeps nothing."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Connection

from leadscore.service import jobs
from leadscore.store import jobs as stored
from leadscore.store.database import Row


def wait_for(ctx, job_id: str, status: str, message: str | None = None) -> Row:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = stored.read(ctx.db, job_id)
        if row.status == status and (message is None or row.message == message):
            return row
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} is {row.status}, not {status}")


def test_a_late_worker_cannot_finish_a_recovered_job(ctx) -> None:
    runner = jobs.Jobs(ctx, holder="this-process")
    release = threading.Event()
    finished: list[bool] = []

    def work(job: jobs.Handle) -> None:
        job.progress(0.5, "half way")
        release.wait(30)

        def keep(conn: Connection) -> None:
            try:
                job.succeed(conn, {"kept": True})
            except jobs.JobLost:
                finished.append(False)
                raise
            finished.append(True)

        ctx.db.transact(keep)

    job = runner.submit("train_predictive", {}, "tester", work)
    row = wait_for(ctx, job["id"], "running", "half way")
    assert row.progress == 0.5
    ctx.clock = lambda: row.expires_at + 1  # the lease runs out: the process looks dead
    assert jobs.recover(ctx) == 1
    release.set()
    while not finished:
        time.sleep(0.01)
    assert finished == [False]
    runner.stop()
    row = stored.read(ctx.db, job["id"])
    assert row.status == "failed" and row.result is None and "lease" in row.error


def test_stopping_fails_the_jobs_still_running(ctx) -> None:
    runner = jobs.Jobs(ctx, holder="stopping-process")
    runner.start()
    release = threading.Event()
    job = runner.submit("train_predictive", {}, "tester", lambda job: release.wait(30))
    wait_for(ctx, job["id"], "running")
    runner.stop(timeout=0.1)
    release.set()
    runner.stop()  # the worker ends (and its late finish keeps nothing)
    row = stored.read(ctx.db, job["id"])
    assert row.status == "failed" and row.error == jobs.STOPPED and row.active_kind is None


def test_one_job_of_a_kind_at_a_time(ctx) -> None:
    runner = jobs.Jobs(ctx)
    release = threading.Event()
    first = runner.submit("train_predictive", {}, "tester", lambda job: release.wait(30))
    try:
        runner.submit("train_predictive", {}, "tester", lambda job: None)
    except jobs.Busy as busy:
        assert busy.job["id"] == first["id"]
    else:
        raise AssertionError("a second job of the kind was queued")
    release.set()
    row = wait_for(ctx, first["id"], "failed")  # work that keeps no result fails its job
    assert row.error == "the job ended without a result"
    second = runner.submit("train_predictive", {}, "tester", lambda job: None)
    assert second["status"] == "queued" and second["id"] != first["id"]
    wait_for(ctx, second["id"], "failed")
    runner.stop()
