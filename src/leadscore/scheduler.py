"""The scheduled recompute (§4) and the other cron jobs of `serve` (automations, CRM syncs,
retention, retraining): a small cron loop inside the server process, guarded by a
database lease so that several processes never run it twice.

Every `scheduler_poll_seconds` the loop asks which scheduled time (`recompute_cron`, UTC) is
the latest one due; if no process has completed it, it takes the lease, recomputes every lead
(renewing the lease between batches), and records the slot as done. A process that dies
mid-run lets its lease expire; the next one to poll takes over the slot.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from croniter import croniter

from leadscore.core.timestamps import format_timestamp, to_micros
from leadscore.service import digests, outbox
from leadscore.service.context import Context
from leadscore.service.recompute import RecomputeReport, recompute
from leadscore.store import leases

log = logging.getLogger("leadscore.scheduler")

JOB = "recompute"
AUTOMATIONS_JOB = "automations"
CONNECTORS_JOB = "connectors"
RETENTION_JOB = "retention"
RETRAINING_JOB = "retraining"
MONITORING_JOB = "monitoring"


class LeaseLost(RuntimeError):
    """Our lease expired and another process took the job over."""


def due_slot(expression: str, now: int) -> int:
    """The latest time before `now` (epoch µs) that the cron expression names."""
    moment = datetime.fromtimestamp(now / 1_000_000, UTC)
    return to_micros(croniter(expression, moment).get_prev(datetime))


class Scheduler:
    """Runs `job` (default: a recompute of every lead) once per cron slot across processes."""

    def __init__(
        self,
        ctx: Context,
        cron: str | None = None,
        job: Callable[[Callable[[], None]], object] | None = None,
        holder: str | None = None,
        name: str = JOB,
    ) -> None:
        self.ctx = ctx
        self.name = name
        self.cron = cron or ctx.settings.recompute_cron
        self.job = job or self._recompute
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.ttl = int(ctx.settings.lease_seconds * 1_000_000)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the loop ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="leadscore-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduled %s failed; it is retried at the next poll", self.name)
            self._stop.wait(self.ctx.settings.scheduler_poll_seconds)

    def tick(self) -> bool:
        """Run the job if a slot is due and this process wins the lease; True if it ran."""
        now = self.ctx.now()
        slot = due_slot(self.cron, now)
        if not leases.acquire(self.ctx.db, self.name, self.holder, now, self.ttl, slot):
            return False
        log.info("scheduled %s for %s starts", self.name, format_timestamp(slot))
        done = None
        try:
            self.job(self._renew)
            done = slot
        finally:
            leases.release(self.ctx.db, self.name, self.holder, self.ctx.now(), done)
        return True

    def _renew(self) -> None:
        if self._stop.is_set():
            raise LeaseLost("the scheduler is stopping")
        if not leases.renew(self.ctx.db, self.name, self.holder, self.ctx.now(), self.ttl):
            raise LeaseLost(f"lease {self.name!r} was taken over")

    @classmethod
    def automations(cls, ctx: Context) -> Scheduler:
        """The automations' upkeep, every minute: the daily digests that fell due, and the
        pruning of delivered outbox rows past their retention."""

        def job(_renew: Callable[[], None]) -> object:
            written = digests.write_due(ctx)
            pruned = outbox.prune(ctx)
            if written or pruned:
                log.info(
                    "automations: %d digest rows written, %d outbox rows pruned", written, pruned
                )
            return written

        return cls(ctx, cron="* * * * *", job=job, name=AUTOMATIONS_JOB)

    @classmethod
    def connectors(cls, ctx: Context) -> Scheduler:
        """The CRM syncs (§8), checked every minute: each connector whose `sync_every` has
        passed since its last sync started is synced (people, deals, then the push). The
        lease renews between pages, so a long sync is never run twice at once."""

        def job(renew: Callable[[], None]) -> object:
            from leadscore.service import sync

            ran = 0
            for name in sync.due(ctx):
                try:
                    report = sync.sync(ctx, name, progress=lambda _obj, _n: renew())
                except LeaseLost:
                    raise
                except Exception as exc:  # noqa: BLE001 - recorded as a failed run; next one retries
                    log.warning("scheduled %s sync failed: %s", name, exc)
                    continue
                ran += 1
                log.info("scheduled %s sync: %s", name, dict(report.counts))
            return ran

        return cls(ctx, cron="* * * * *", job=job, name=CONNECTORS_JOB)

    @classmethod
    def retention(cls, ctx: Context) -> Scheduler | None:
        """The event retention job (service/retention.py) at `LEADSCORE_RETENTION_CRON`
        (daily at 03:00 by default when a retention is set); None when it is off. The lease
        renews between its batches."""
        cron = ctx.settings.retention_schedule
        if cron is None:
            return None

        def job(renew: Callable[[], None]) -> object:
            from leadscore.service import retention

            report = retention.run(ctx, actor="scheduler", between_batches=renew)
            log.info(
                "scheduled retention: %d events deleted, %d leads rescored, %d changed",
                report.events,
                report.leads,
                report.changed,
            )
            return report

        return cls(ctx, cron=cron, job=job, name=RETENTION_JOB)

    @classmethod
    def retraining(cls, ctx: Context) -> Scheduler | None:
        """The predictive model's retraining with a champion/challenger decision
        (service/retraining.py) at `LEADSCORE_RETRAIN_CRON`; None when it is unset (off by
        default). The lease renews between the run's steps."""
        cron = ctx.settings.retrain_cron
        if cron is None:
            return None

        def job(renew: Callable[[], None]) -> object:
            from leadscore.service import retraining

            decision = retraining.retrain(
                ctx, reason="scheduled", actor="scheduler", progress=lambda _f, _m: renew()
            )
            log.info("scheduled retraining: %s: %s", decision.decision, decision.why)
            return decision

        return cls(ctx, cron=cron, job=job, name=RETRAINING_JOB)

    @classmethod
    def monitoring(cls, ctx: Context) -> Scheduler | None:
        """The models' realised figures recomputed from the outcomes (service/monitoring.py)
        at `LEADSCORE_MONITORING_CRON` (daily at 03:15 by default); None when it is off."""
        cron = ctx.settings.monitoring_schedule
        if cron is None:
            return None

        def job(_renew: Callable[[], None]) -> object:
            from leadscore.service import monitoring

            counts = monitoring.refresh_all(ctx)
            log.info("scheduled monitoring: %s", counts)
            return counts

        return cls(ctx, cron=cron, job=job, name=MONITORING_JOB)

    def _recompute(self, between_batches: Callable[[], None]) -> RecomputeReport:
        report = recompute(self.ctx, between_batches=between_batches)
        log.info("scheduled recompute: %d leads, %d changed", report.leads, report.changed)
        return report
