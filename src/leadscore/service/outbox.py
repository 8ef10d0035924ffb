"""The outbox worker (§6): claims due actions, does them, and records what happened.

Actions in the store (assign an owner, lists, a stage) are done in the transaction that
marks the row delivered: exactly once. Actions outside (e-mail, Slack, webhooks) are sent
between two transactions — the first keeps the payload so that every retry sends the same
bytes with the same message id, the second records the outcome: at least once, and the
receiver dedupes on the id. A failure is retried with exponential backoff and jitter
(`outbox_backoff_seconds`, doubling, capped, never sooner than a receiver's Retry-After)
until `outbox_max_attempts`; then, or at once for a permanent failure, the row is kept as
`failed`, visible and retryable. A worker that dies mid-delivery loses nothing: its lease
expires and another worker claims the row (and counts the attempt).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from leadscore.core.automations import EXTERNAL, Action, Automation
from leadscore.core.timestamps import format_timestamp
from leadscore.delivery import hooks, mail
from leadscore.service import actions, crm_updates, metrics
from leadscore.service.actions import ActionFailed
from leadscore.service.connectors import Registry
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, NotFound
from leadscore.store import Connection, Row, audit
from leadscore.store import connectors as stored_connectors
from leadscore.store import leads as stored_leads
from leadscore.store import outbox as stored
from leadscore.store.outbox import STATUSES as STATUSES

JITTER = random.Random()
"""Our own generator for retry jitter: threads that wait never touch the global `random`
state that user code (or a test framework) may have seeded."""

log = logging.getLogger("leadscore.outbox")

SECOND = 1_000_000


def backoff(
    attempt: int, base: float, cap: float, rng: Callable[[], float] = JITTER.random
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1, 2, …): base·2^(attempt-1),
    capped, with "equal jitter" (between half and all of it) so that receivers that were
    down are not hit by every retry at once."""
    delay = min(cap, base * 2.0 ** (attempt - 1))
    return float(delay / 2 + rng() * delay / 2)


class LeaseLost(RuntimeError):
    """The row is no longer ours (our lease expired and another worker took it)."""


@dataclass
class Worker:
    ctx: Context
    holder: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )
    rng: Callable[[], float] = JITTER.random

    def __post_init__(self) -> None:
        settings = self.ctx.settings
        self._pool = ThreadPoolExecutor(
            settings.outbox_concurrency, thread_name_prefix="outbox-delivery"
        )
        # A bad LEADSCORE_SMTP_URL stops the worker (and `serve`) at once, not at the first
        # e-mail: DeliveryError names what is wrong, never the password.
        mail.MailSettings.from_settings(settings)
        self._client = hooks.new_client(settings)
        self._connectors = Registry(self.ctx)  # its own clients: the sync thread has others

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()
        self._connectors.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the loop ---------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim one batch of due actions and do them; how many were claimed."""
        settings = self.ctx.settings
        now = self.ctx.now()
        lease = int(settings.outbox_lease_seconds * SECOND)
        with self.ctx.db.read() as conn:
            if not stored.any_due(conn, now):
                return 0
        rows = self.ctx.db.transact(
            lambda conn: stored.claim(conn, self.holder, now, lease, settings.outbox_batch_size)
        )
        internal = [row for row in rows if row.action not in EXTERNAL]
        crm = [row for row in rows if row.action == "crm_update"]
        external = [row for row in rows if row.action in EXTERNAL and row.action != "crm_update"]
        if internal:
            self._internal(internal)
        if crm:
            self._crm(crm)
        if external:
            self._external(external)
        return len(rows)

    def run_until_idle(self, max_rounds: int = 10_000) -> int:
        """Work until nothing is due now; how many actions were claimed in all."""
        total = 0
        for _ in range(max_rounds):
            done = self.run_once()
            if done == 0:
                break
            total += done
        return total

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set, waiting `outbox_poll_seconds` whenever idle."""
        while not stop.is_set():
            try:
                if self.run_once() == 0:
                    stop.wait(self.ctx.settings.outbox_poll_seconds)
            except Exception:  # noqa: BLE001 - a database blip must not end the worker
                log.exception("outbox worker: a batch failed; its rows return when leases end")
                stop.wait(self.ctx.settings.outbox_poll_seconds)

    # --- a batch of actions ------------------------------------------------------------

    def _action(self, conn: Connection, row: Row) -> tuple[Automation, Action]:
        automations = self.ctx.automations.file(conn, row.automations_version)
        automation = automations.named(row.automation)
        if automation is None or row.action_index >= len(automation.actions):
            raise ActionFailed(
                f"automations version {row.automations_version} has no action"
                f" {row.automation}[{row.action_index}]",
                retryable=False,
            )
        return automation, automation.actions[row.action_index]

    def _each(
        self, conn: Connection, rows: list[Row], do: Callable[[Row], None]
    ) -> list[tuple[Row, ActionFailed]]:
        """`do(row)` for each row in a savepoint of its own, so that one row's failure undoes
        only that row's writes; the failures, to be recorded."""
        failures: list[tuple[Row, ActionFailed]] = []
        for row in rows:
            if row.attempts > self.ctx.settings.outbox_max_attempts:
                failures.append((row, ActionFailed("claimed too often without an outcome")))
                continue
            savepoint = conn.begin_nested()
            try:
                do(row)
            except ActionFailed as exc:
                savepoint.rollback()
                failures.append((row, exc))
            except LeaseLost:
                savepoint.rollback()
                log.warning("outbox row %s: lease lost; another worker has it", row.pk)
            except Exception:  # noqa: BLE001 - recorded on the row, then retried
                savepoint.rollback()
                log.exception("outbox row %s (%s) failed unexpectedly", row.pk, row.action)
                failures.append((row, ActionFailed("unexpected error (see the server log)")))
            else:
                savepoint.commit()
        return failures

    def _internal(self, rows: list[Row]) -> None:
        """Store actions: each done in the transaction that marks it delivered (one
        transaction for the batch, a savepoint per action)."""
        now = self.ctx.now()

        def work(conn: Connection) -> list[tuple[Row, ActionFailed]]:
            def do(row: Row) -> None:
                automation, action = self._action(conn, row)
                result = actions.internal(conn, self.ctx, row, automation, action, now)
                if not stored.delivered(conn, row.pk, self.holder, now, result):
                    raise LeaseLost(row.pk)

            return self._each(conn, rows, do)

        failures = self.ctx.db.transact(work)
        if failures:
            self.ctx.db.transact(lambda conn: self._record(conn, failures, []))

    def _crm(self, rows: list[Row]) -> None:
        """CRM writes: every row of the batch in as few vendor calls as its batch size allows
        (service.crm_updates); outcomes and what was written recorded in one transaction."""
        failures: list[tuple[Row, ActionFailed]] = []
        pairs: list[tuple[Row, Action]] = []
        with self.ctx.db.read() as conn:
            for row in rows:
                if row.attempts > self.ctx.settings.outbox_max_attempts:
                    failures.append((row, ActionFailed("claimed too often without an outcome")))
                    continue
                try:
                    pairs.append((row, self._action(conn, row)[1]))
                except ActionFailed as exc:
                    failures.append((row, exc))
        result = crm_updates.deliver(self.ctx, self._connectors, pairs)
        now = self.ctx.now()

        def record(conn: Connection) -> None:
            for name, written in result.written.items():
                stored_connectors.record_written(conn, name, written, now)
            self._record(conn, failures + result.failures, result.done)

        self.ctx.db.transact(record)

    def _external(self, rows: list[Row]) -> None:
        """Outside actions: payloads kept (one transaction), sent concurrently, outcomes
        recorded (one transaction)."""
        ready: dict[int, tuple[Automation, Action, dict[str, Any]]] = {}
        limit = self.ctx.settings.outbox_max_attempts

        def prepare(conn: Connection) -> list[tuple[Row, ActionFailed]]:
            """Payloads built (reads only) and kept in two statements for the batch."""
            ready.clear()
            failures: list[tuple[Row, ActionFailed]] = []
            built: dict[int, dict[str, Any]] = {}
            for row in rows:
                if row.attempts > limit:
                    failures.append((row, ActionFailed("claimed too often without an outcome")))
                    continue
                try:
                    automation, action = self._action(conn, row)
                    if row.payload is None:
                        built[row.pk] = actions.payload(conn, self.ctx, row, automation)
                    ready[row.pk] = (automation, action, row.payload)
                except ActionFailed as exc:
                    failures.append((row, exc))
                except (KeyError, TypeError, ValueError, LookupError):  # a payload bug
                    log.exception("outbox row %s: its payload could not be built", row.pk)
                    failures.append((row, ActionFailed("unexpected error (see the server log)")))
            kept = stored.keep_payloads(conn, self.holder, built)
            for pk in built:
                if pk in kept:
                    automation, action, _ = ready[pk]
                    ready[pk] = (automation, action, kept[pk])
                else:
                    log.warning("outbox row %s: lease lost; another worker has it", pk)
                    del ready[pk]
            return failures

        failures = self.ctx.db.transact(prepare)

        def send(row: Row) -> tuple[Row, dict[str, Any] | ActionFailed]:
            automation, action, payload = ready[row.pk]
            try:
                return row, actions.external(
                    self.ctx, self._client, row, automation, action, payload
                )
            except ActionFailed as exc:
                return row, exc
            except Exception:  # noqa: BLE001 - recorded on the row, then retried
                log.exception("outbox row %s (%s) failed unexpectedly", row.pk, row.action)
                return row, ActionFailed("unexpected error (see the server log)")

        sent = list(self._pool.map(send, [row for row in rows if row.pk in ready]))
        done = [(row, result) for row, result in sent if not isinstance(result, ActionFailed)]
        failures += [(row, result) for row, result in sent if isinstance(result, ActionFailed)]
        self.ctx.db.transact(lambda conn: self._record(conn, failures, done))

    def _record(
        self,
        conn: Connection,
        failures: list[tuple[Row, ActionFailed]],
        done: list[tuple[Row, dict[str, Any]]],
    ) -> None:
        """Acknowledge deliveries; schedule retries (backoff, jitter, Retry-After) or keep
        rows as failed. A row whose lease was lost meanwhile is left to its new holder."""
        settings = self.ctx.settings
        now = self.ctx.now()
        acknowledged = stored.delivered_many(
            conn, self.holder, now, [(row.pk, result) for row, result in done]
        )
        if acknowledged < len(done):
            log.warning(
                "outbox: %d rows delivered after their lease was lost", len(done) - acknowledged
            )
        for row, exc in failures:
            message = f"attempt {row.attempts}: {exc.message}"
            if exc.retryable and row.attempts < settings.outbox_max_attempts:
                wait = backoff(
                    row.attempts,
                    settings.outbox_backoff_seconds,
                    settings.outbox_backoff_max_seconds,
                    self.rng,
                )
                at = now + int(max(wait, exc.retry_after or 0.0) * SECOND)
                stored.again_at(conn, row.pk, self.holder, now, at, message)
                metrics.DELIVERY_FAILURES.labels(row.action, "retry").inc()
            else:
                stored.failed(conn, row.pk, self.holder, now, message, exc.result)
                metrics.DELIVERY_FAILURES.labels(row.action, "failed").inc()


class OutboxThread:
    """The worker on a daemon thread of the server process (`leadscore serve`)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        worker = Worker(self.ctx)  # a bad setting fails here, in the caller

        def work() -> None:
            with worker:
                worker.run(self._stop)

        self._thread = threading.Thread(target=work, name="outbox-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


# --- what people see and do -----------------------------------------------------------


def row_dict(row: Row, *, detail: bool = False) -> dict[str, Any]:
    def time(value: int | None) -> str | None:
        return None if value is None else format_timestamp(value)

    data: dict[str, Any] = {
        "id": row.pk,
        "lead_id": row.lead_id,
        "automation": row.automation,
        "automations_version": row.automations_version,
        "action": row.action,
        "action_index": row.action_index,
        "occurrence": row.occurrence,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": time(row.next_attempt_at) if row.status == "pending" else None,
        "created_at": time(row.created_at),
        "updated_at": time(row.updated_at),
        "delivered_at": time(row.delivered_at),
        "last_error": row.last_error,
        "trigger": row.trigger,
    }
    if detail:
        data["payload"] = row.payload
        data["result"] = row.result
    return data


def list_rows(
    ctx: Context,
    *,
    status: str | None = None,
    automation: str | None = None,
    lead_id: str | None = None,
    after: int | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of outbox rows, newest first, and the key to continue after (None: the end)."""
    with ctx.db.read() as conn:
        return _page(conn, status, automation, lead_id, after, limit)


def page_and_counts(
    ctx: Context,
    *,
    status: str | None = None,
    automation: str | None = None,
    lead_id: str | None = None,
    after: int | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int | None, Mapping[str, int]]:
    """A page and the counts by status, read in one snapshot so that they agree: a caller
    waiting for "nothing pending or delivering" must not see a row still delivering."""
    with ctx.db.read() as conn:
        rows, last = _page(conn, status, automation, lead_id, after, limit)
        return rows, last, stored.counts(conn)


def _page(
    conn: Connection,
    status: str | None,
    automation: str | None,
    lead_id: str | None,
    after: int | None,
    limit: int,
) -> tuple[list[dict[str, Any]], int | None]:
    lead_pk = None
    if lead_id is not None:
        found = stored_leads.pks_by_id(conn, [lead_id])
        if lead_id not in found:  # a filter that matches nothing: an empty page
            return [], None
        lead_pk = found[lead_id]
    rows = stored.page(
        conn,
        status=status,
        automation=automation,
        lead_pk=lead_pk,
        after=after,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return [row_dict(r) for r in rows], rows[-1].pk if more and rows else None


def get_row(ctx: Context, pk: int) -> dict[str, Any]:
    with ctx.db.read() as conn:
        row = stored.get(conn, pk)
    if row is None:
        raise NotFound(f"no outbox row {pk}")
    return row_dict(row, detail=True)


def retry(ctx: Context, pk: int, actor: str) -> dict[str, Any]:
    """Put a failed row back to pending, due now, with its attempts counted afresh."""
    now = ctx.now()

    def work(conn: Connection) -> Row:
        row = stored.get(conn, pk)
        if row is None:
            raise NotFound(f"no outbox row {pk}")
        if not stored.retry(conn, pk, now):
            raise Conflict(f"outbox row {pk} is {row.status}: only a failed row is retried")
        audit.record(conn, now, actor, "outbox.retry", str(pk), automation=row.automation)
        again = stored.get(conn, pk)
        assert again is not None
        return again

    return row_dict(ctx.db.transact(work), detail=True)


def failed_ids(ctx: Context) -> list[int]:
    with ctx.db.read() as conn:
        return stored.failed_pks(conn)


def counts(ctx: Context) -> Mapping[str, int]:
    with ctx.db.read() as conn:
        return stored.counts(conn)


def prune(ctx: Context, batch: int = 10_000) -> int:
    """Delete delivered rows older than the retention, in batches; how many."""
    before = ctx.now() - int(ctx.settings.outbox_retention_days * 86_400 * SECOND)
    total = 0
    while True:
        gone = ctx.db.transact(lambda conn: stored.prune(conn, before, batch))
        total += gone
        if gone < batch:
            return total
