"""Writing fired automations into the outbox, in the transaction of the change (§6).

Live rescoring hands every changed lead here as an `Occasion`; the bulk recompute first
selects with Polars the leads whose change can fire an automation at all (the same crossing
tests, vectorised), then runs the one definition, `core.automations.firings`, on those
only. Either way each firing becomes one outbox row per action, unique by (lead,
automation, action, occurrence): a change seen twice writes its rows once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from leadscore.core.automations import Automation, Firing, Occasion, State, firings, needs_lead
from leadscore.core.records import Lead
from leadscore.service.context import Context
from leadscore.store import Connection
from leadscore.store import leads as stored_leads
from leadscore.store import outbox as stored_outbox


def write(
    conn: Connection, ctx: Context, occasions: Sequence[tuple[int, Occasion]], now: int
) -> int:
    """Write the outbox rows the occasions (lead pk, occasion) fire; how many."""
    if not occasions:
        return 0
    active = ctx.automations.active(conn)
    if active is None:
        return 0
    version, automations = active
    live = automations.live()
    if not live:
        return 0
    rows = [
        row
        for pk, occasion in occasions
        for firing in firings(live, occasion)
        for row in outbox_rows(pk, version, firing, now)
    ]
    stored_outbox.add(ctx.db, conn, rows)
    return len(rows)


def outbox_rows(
    lead_pk: int | None, version: int, firing: Firing, now: int
) -> list[dict[str, Any]]:
    """One pending row per action of a firing."""
    name = firing.automation.name
    return [
        {
            "key": stored_outbox.key(lead_pk, name, index, firing.occurrence),
            "lead_pk": lead_pk,
            "automation": name,
            "automations_version": version,
            "action_index": index,
            "action": action.kind,
            "occurrence": firing.occurrence,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
            "trigger": firing.trigger,
        }
        for index, action in enumerate(firing.automation.actions)
    ]


# --- the bulk recompute -------------------------------------------------------------------


def _before(name: str) -> pl.Expr:
    """A score column before the change; null for a lead never scored (no snapshot)."""
    return pl.when(pl.col("model_version").is_null()).then(None).otherwise(pl.col(name))


def _moved(
    old: pl.Expr, new: pl.Expr, from_: Iterable[str] | None, to: Iterable[str] | None
) -> pl.Expr:
    changed = ~old.eq_missing(new)
    if from_ is not None:
        changed &= old.is_in(list(from_))
    if to is not None:
        changed &= new.is_in(list(to))
    return changed


def could_fire(automation: Automation) -> pl.Expr | None:
    """The recompute rows (old columns and `new_…` ones) whose change `automation`'s trigger
    may fire on; None for triggers a recompute never fires (lead_created, event_received,
    schedule). Exactly `core.automations`'s tests, so nothing fires that it would not."""
    when = automation.when
    if (crossing := when.score_crossed) is not None:
        before, after = _before(crossing.on), pl.col(f"new_{crossing.on}")
        if crossing.direction == "up":
            return (after >= crossing.threshold) & (
                before.is_null() | (before < crossing.threshold)
            )
        return (after < crossing.threshold) & before.is_not_null() & (before >= crossing.threshold)
    if (moved := when.tier_changed) is not None:
        return _moved(_before("tier"), pl.col("new_tier"), moved.from_, moved.to)
    if (moved := when.stage_changed) is not None:
        return _moved(pl.col("stage"), pl.col("new_stage"), moved.from_, moved.to)
    return None


def bulk_rows(conn: Connection, ctx: Context, rows: pl.DataFrame, now: int) -> list[dict[str, Any]]:
    """The outbox rows a recompute chunk's changes fire (written with the chunk, for the
    leads the chunk really writes: store/bulk_writes.py)."""
    active = ctx.automations.active(conn)
    if active is None or rows.height == 0:
        return []
    version, automations = active
    tests = [(a, test) for a in automations.live() if (test := could_fire(a)) is not None]
    if not tests:
        return []
    candidates = rows.filter(pl.any_horizontal(test for _, test in tests))
    if candidates.height == 0:
        return []
    live = [a for a, _ in tests]
    leads = {}
    if needs_lead(live):  # else the conditions read only the new score
        leads = stored_leads.owners_and_attributes(conn, candidates["pk"].to_list())
    out: list[dict[str, Any]] = []
    for row in candidates.iter_rows(named=True):
        pk = row["pk"]
        owner, attributes = leads.get(pk, (None, {}))
        before = None
        if row["model_version"] is not None:
            before = State(
                row["score"], row["fit"], row["engagement"], row["grade"], row["tier"], row["stage"]
            )
        after = State(
            row["new_score"],
            row["new_fit"],
            row["new_engagement"],
            row["new_grade"],
            row["new_tier"],
            row["new_stage"],
        )
        occasion = Occasion(
            Lead(row["id"], row["email"], attributes),
            owner,
            row["scored_at_new"],
            before,
            after,
            stage_before=row["stage"],
            stage_after=row["new_stage"],
        )
        for firing in firings(live, occasion):
            out.extend(outbox_rows(pk, version, firing, now))
    return out
