"""Rescoring every lead (§4 scheduled recompute, model activation): decay, expiry and
inactivity change scores without new events.

Leads are taken in key order in batches (`recompute_batch_size`, 1,000 by default), one
transaction per batch, so locks stay short and an interrupted run keeps every batch it
committed; running it again simply finishes the job (unchanged leads are not rewritten).
Only leads whose reported score or stage changed are written, each with a history row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from leadscore.service.context import Context
from leadscore.service.scoring import Cause, rescore
from leadscore.store import leads as stored_leads
from leadscore.store.tables import leads


@dataclass(frozen=True)
class RecomputeReport:
    leads: int
    changed: int
    batches: int


def count_leads(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return conn.scalar(select(func.count()).select_from(leads))


def recompute(
    ctx: Context,
    as_of: int | None = None,
    *,
    cause_kind: str = "recompute",
    cause_ref: str | None = None,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    between_batches: Callable[[], None] | None = None,
) -> RecomputeReport:
    """Rescore all leads at `as_of` (default: the time each batch runs).

    `between_batches` is called after each commit (the scheduler renews its lease there).
    """
    size = batch_size or ctx.settings.recompute_batch_size
    cause = Cause(cause_kind, cause_ref)
    after_pk, total, changed, batches = 0, 0, 0, 0

    def batch(conn: Connection) -> tuple[int | None, int, int]:
        rows = stored_leads.lock_page(conn, after_pk, size)
        if not rows:
            return None, 0, 0
        moment = ctx.now() if as_of is None else as_of
        changes = rescore(conn, ctx, rows, moment, cause, write_unchanged=False)
        return rows[-1].pk, len(rows), sum(c.changed for c in changes)

    while True:
        last_pk, n, n_changed = ctx.db.transact(batch)
        if last_pk is None:
            break
        after_pk, total, changed, batches = last_pk, total + n, changed + n_changed, batches + 1
        if progress is not None:
            progress(n)
        if between_batches is not None:
            between_batches()
    return RecomputeReport(total, changed, batches)
