"""Background jobs: work too long for a request (training a predictive model) runs in a
worker thread of the serving process, and its state is a row in the database
(store/jobs.py) that any process can read.

`Jobs` is the worker side: `train_predictive` queues a job (one of a kind at a time per
database, else `Busy` naming the job in the way) and runs it in a thread; a heartbeat thread
renews the lease of every job this process holds. A job whose lease expires — its process
died or hung — is failed by the next process that starts or reads jobs (`recover`), so no job
stays `running` forever, and a late worker can no longer finish it (its model is rolled back).
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from leadscore.connectors.base import ConnectorError
from leadscore.core.timestamps import format_timestamp
from leadscore.ml.errors import MLInputError
from leadscore.service import predictions
from leadscore.service.connectors import ConfigurationError, registry
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, NotFound
from leadscore.store import jobs as stored
from leadscore.store.database import Row
from leadscore.tuning.errors import TuningError

log = logging.getLogger("leadscore.jobs")

TRAIN_PREDICTIVE = "train_predictive"
RETRAIN_PREDICTIVE = "retrain_predictive"
PREVIEW = "model_preview"
BACKTEST = "model_backtest"
EXPIRED = (
    "the process running this job stopped renewing its lease (it died or hung);"
    " the job was abandoned and nothing it did was kept"
)
STOPPED = "the server stopped before the job finished; nothing it did was kept"


class Busy(Conflict):
    """A job of the same kind is queued or running (409); `job` is it, as `describe` says."""

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(
            f"a {job['kind']} job is already {job['status']}: {job['id']}"
            f" (GET /api/v1/jobs/{job['id']}); one runs at a time"
        )
        self.job = job


class JobLost(RuntimeError):
    """This process no longer holds the job (its lease expired, or the server is stopping)."""


def describe(row: Row) -> dict[str, Any]:
    """A job as the API shows it."""

    def when(micros: int | None) -> str | None:
        return None if micros is None else format_timestamp(micros)

    return {
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "progress": row.progress,
        "message": row.message,
        "params": row.params,
        "created_by": row.created_by,
        "created_at": format_timestamp(row.created_at),
        "started_at": when(row.started_at),
        "finished_at": when(row.finished_at),
        "result": row.result,
        "error": row.error,
    }


def recover(ctx: Context) -> int:
    """Fail every queued or running job whose lease expired; how many."""
    count = stored.expire(ctx.db, ctx.now(), EXPIRED)
    if count:
        log.warning("%d job(s) abandoned by a stopped process marked failed", count)
    return count


def _recover_if_stale(ctx: Context) -> None:
    if stored.stale(ctx.db, ctx.now()):  # a read first: polls seldom need to write
        recover(ctx)


def get(ctx: Context, job_id: str) -> dict[str, Any]:
    """One job (a job whose lease expired is failed first)."""
    _recover_if_stale(ctx)
    row = stored.read(ctx.db, job_id)
    if row is None:
        raise NotFound(f"no job {job_id!r}")
    return describe(row)


def recent(ctx: Context, limit: int = 20, kind: str | None = None) -> list[dict[str, Any]]:
    """The newest jobs first (a job whose lease expired is failed first)."""
    _recover_if_stale(ctx)
    return [describe(row) for row in stored.recent(ctx.db, limit, kind)]


Work = Callable[["Handle"], None]


class Handle:
    """What a running job's work may do: report progress, and finish inside the transaction
    that keeps its result (so that a job it no longer holds keeps nothing)."""

    def __init__(self, jobs: Jobs, job_id: str) -> None:
        self.jobs = jobs
        self.job_id = job_id

    def progress(self, fraction: float, message: str) -> None:
        ctx = self.jobs.ctx
        if self.jobs.stopping.is_set():
            raise JobLost(STOPPED)
        held = stored.report(
            ctx.db, self.job_id, self.jobs.holder, ctx.now(), self.jobs.ttl, fraction, message
        )
        if not held:
            raise JobLost(f"job {self.job_id} is no longer held by this process")

    def succeed(self, conn: Connection, result: dict[str, Any]) -> None:
        now = self.jobs.ctx.now()
        if not stored.finish(conn, self.job_id, self.jobs.holder, now, result=result):
            raise JobLost(f"job {self.job_id} is no longer held by this process")


class Jobs:
    """Runs this process's jobs in worker threads (start it, and stop it when serving ends)."""

    def __init__(self, ctx: Context, holder: str | None = None) -> None:
        self.ctx = ctx
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.ttl = int(ctx.settings.lease_seconds * 1_000_000)
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._heartbeat: threading.Thread | None = None

    def start(self) -> None:
        """Recover abandoned jobs and start renewing our leases."""
        recover(self.ctx)
        self._heartbeat = threading.Thread(
            target=self._renew, name="leadscore-jobs-heartbeat", daemon=True
        )
        self._heartbeat.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Wait up to `timeout` for running jobs; fail those still running (their late
        results are then rolled back)."""
        self.stopping.set()
        for thread in list(self._threads):
            thread.join(timeout)
        if self._heartbeat is not None:
            self._heartbeat.join(timeout)
        stored.abandon(self.ctx.db, self.holder, self.ctx.now(), STOPPED)

    # --- the use cases -------------------------------------------------------------------

    def train_predictive(
        self,
        *,
        actor: str,
        name: str,
        exclude: list[str],
        activate: bool,
        folds: int | None,
    ) -> dict[str, Any]:
        """Queue the training of a predictive model from the store, run it in a worker
        thread, and return the job (queued). Raises `Busy` while another one is queued or
        running. The job's result is the new version, as GET /predictive-models lists it;
        data that cannot train a model fails the job with the reason."""
        params: dict[str, Any] = {
            "name": name,
            "exclude": exclude,
            "activate": activate,
            "folds": folds,
        }

        def work(job: Handle) -> None:
            predictions.train(
                self.ctx,
                actor=actor,
                name=name,
                exclude=exclude,
                activate=activate,
                folds=folds,
                progress=job.progress,
                on_saved=job.succeed,
            )

        return self.submit(TRAIN_PREDICTIVE, params, actor, work)

    def retrain_predictive(self, *, actor: str, force: bool) -> dict[str, Any]:
        """Queue a retraining with a champion/challenger decision (service/retraining.py)
        and run it in a worker thread; one at a time per database. The job's result is the
        decision, recorded in the audit log in the same transaction."""
        from leadscore.service import retraining

        def work(job: Handle) -> None:
            retraining.retrain(
                self.ctx,
                reason="api",
                actor=actor,
                force=force,
                progress=job.progress,
                on_decided=job.succeed,
            )

        return self.submit(RETRAIN_PREDICTIVE, {"force": force}, actor, work)

    def sync_connector(self, *, actor: str, name: str, full: bool) -> dict[str, Any]:
        """Queue a sync of CRM connector `name` (§8) and run it in a worker thread; one sync
        of a connector at a time. The job's result is the sync's report (counts, errors)."""
        from leadscore.service import sync

        registry(self.ctx).get(name)  # an unknown or unconfigured connector: 404 at once

        def work(job: Handle) -> None:
            report = sync.sync(
                self.ctx,
                name,
                full=full,
                progress=lambda obj, n: job.progress(0.0, f"{obj}: {n:,} records"),
            )
            self.ctx.db.transact(lambda conn: job.succeed(conn, report.as_dict()))

        return self.submit(f"sync_{name}", {"connector": name, "full": full}, actor, work)

    def preview_activation(self, *, actor: str, version: int, kind: str) -> dict[str, Any]:
        """Queue the count of what activating `version` (or, kind `rollback`, rolling it
        back) would change (service/activation_preview.py); one per version and kind at a
        time: asked again while it runs, `Busy` names the running one."""
        from leadscore.service import activation_preview

        activation_preview.check(self.ctx, version, kind)  # NotFound / Conflict at once

        def work(job: Handle) -> None:
            result = activation_preview.preview(self.ctx, version, kind, progress=job.progress)
            self.ctx.db.transact(lambda conn: job.succeed(conn, result))

        params = {"version": version, "kind": kind}
        return self.submit(f"{PREVIEW}_{kind}_{version}", params, actor, work)

    def backtest_versions(
        self, *, actor: str, versions: list[int], start: int | None, end: int | None
    ) -> dict[str, Any]:
        """Queue a backtest of stored model versions on the store's history
        (service/backtests.py); one at a time per database."""
        from leadscore.service import backtests, scoring_models

        for version in versions:
            scoring_models.model_of(self.ctx, version)  # NotFound at once

        def work(job: Handle) -> None:
            result = backtests.run(self.ctx, versions, start, end, progress=job.progress)
            result["period"] = backtests.describe_period(start, end)
            self.ctx.db.transact(lambda conn: job.succeed(conn, result))

        params = {"versions": versions, "start": start, "end": end}
        return self.submit(BACKTEST, params, actor, work)

    def analytics_figures(self, *, actor: str, span: Any) -> dict[str, Any]:
        """Queue the analytics page's figures for a period and version
        (service/analytics_snapshots.py); one computation at a time per database: asked
        while one runs, `Busy` names it (the page then follows that one)."""
        from leadscore.service import analytics_snapshots

        def work(job: Handle) -> None:
            job.progress(0.0, "reading the period's leads")
            result = analytics_snapshots.compute(self.ctx, span)
            self.ctx.db.transact(lambda conn: job.succeed(conn, result))

        params = analytics_snapshots.params(span)
        return self.submit(analytics_snapshots.KIND, params, actor, work)

    def submit(self, kind: str, params: dict[str, Any], actor: str, work: Work) -> dict[str, Any]:
        """Queue a job of `kind` and run `work` in a thread; `work` must call
        `Handle.succeed` in the transaction that keeps its result."""
        if self.stopping.is_set():
            raise RuntimeError("the job runner is stopped")
        job_id = uuid.uuid4().hex
        created, row = stored.create(
            self.ctx.db,
            job_id=job_id,
            kind=kind,
            params=params,
            created_by=actor,
            now=self.ctx.now(),
            holder=self.holder,
            ttl=self.ttl,
            expired=EXPIRED,
        )
        if not created:
            raise Busy(describe(row))
        thread = threading.Thread(  # in the submitter's context: its audit origin (client IP)
            target=contextvars.copy_context().run,
            args=(self._run, job_id, work),
            name=f"leadscore-job-{job_id[:8]}",
            daemon=True,
        )
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return describe(row)

    # --- the worker ----------------------------------------------------------------------

    def _run(self, job_id: str, work: Work) -> None:
        ctx = self.ctx
        if not stored.start(ctx.db, job_id, self.holder, ctx.now(), self.ttl):
            return
        try:
            work(Handle(self, job_id))
            error = "the job ended without a result"  # kept only if work did not succeed
        except JobLost as lost:
            log.warning("job %s abandoned: %s", job_id, lost)
            return
        except MLInputError as exc:
            error = str(exc)
        except ConnectorError as exc:  # the vendor's answer, or a connection that failed
            error = exc.message
        except ConfigurationError as exc:  # a missing secret, a bad connectors file
            error = str(exc)
        except TuningError as exc:  # a backtest's history that cannot judge a model
            error = str(exc)
        except Exception as exc:  # any other failure ends the job, with its reason
            log.exception("job %s failed", job_id)
            error = f"internal error: {type(exc).__name__}: {exc}"
        failed = ctx.db.transact(
            lambda conn: stored.finish(conn, job_id, self.holder, ctx.now(), error=error)
        )
        if failed:
            log.warning("job %s failed: %s", job_id, error)

    def _renew(self) -> None:
        interval = self.ctx.settings.lease_seconds / 4
        while not self.stopping.wait(interval):
            try:
                stored.renew(self.ctx.db, self.holder, self.ctx.now(), self.ttl)
            except Exception:  # the database may be away for a moment; try again later
                log.exception("could not renew the leases of this process's jobs")
