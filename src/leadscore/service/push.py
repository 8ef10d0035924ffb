"""Scores out to a CRM (§8): each linked lead's out fields (score, grade, stage, owner, …)
written where they differ from what was last written to that record, in the vendor's batch
sizes — the push after a sync, and the plan the outbox's crm_update uses.

With `LEADSCORE_REQUIRE_CONSENT=basis` a lead without a lawful basis (`core.consent`) is not
pushed: the push counts it as `skipped_no_basis`, a crm_update about it writes nothing and
says so (docs/retention-and-consent.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from leadscore.connectors.base import (
    Connector,
    RateLimited,
    Update,
    UpdateResult,
    Value,
)
from leadscore.core.connectors import (
    changed,
    out_values,
)
from leadscore.service.connectors import Configured, registry
from leadscore.service.context import Context
from leadscore.service.sync_report import Progress, Report
from leadscore.store import Connection
from leadscore.store import connectors as stored
from leadscore.store import consent as stored_consent

PUSH_PAGE = 500


def lead_view(ctx: Context, values: dict[str, Any]) -> dict[str, Any]:
    """A lead's values as out fields read them (the link back included)."""
    return {**values, "url": f"{ctx.settings.public_url}/leads/{values['id']}"}


def without_basis(ctx: Context, conn: Connection, lead_pks: Iterable[int]) -> set[int]:
    """The leads among `lead_pks` that must not be pushed for want of a lawful basis (none
    unless LEADSCORE_REQUIRE_CONSENT=basis)."""
    if ctx.settings.require_consent != "basis":
        return set()
    return stored_consent.without_basis(conn, lead_pks)


def planned_updates(
    ctx: Context,
    conn: Connection,
    configured: Configured,
    lead_pks: Iterable[int],
    owner_ids: dict[str, str],
    *,
    only: Sequence[str] | None = None,
    key: Callable[[int, str, str], str] = lambda pk, obj, crm_id: f"{obj}/{crm_id}",
) -> tuple[list[Update], dict[int, list[str]]]:
    """The updates that bring these leads' linked records up to date (only changed fields;
    `only` limits to some leadscore values), and per lead the record keys it has."""
    pks = list(lead_pks)
    records = stored.for_leads(conn, configured.name, pks)
    values = stored.lead_values(conn, pks)
    updates: list[Update] = []
    linked: dict[int, list[str]] = {}
    m = configured.mapping
    for rec in records:
        lead = values.get(rec.lead_pk)
        linked.setdefault(rec.lead_pk, []).append(f"{rec.object}/{rec.crm_id}")
        if lead is None or lead["model_version"] is None:
            continue  # never scored: nothing to say yet
        wanted = out_values(lead_view(ctx, lead), rec.object, m, owner_ids)
        if only is not None:
            names = {f.crm for f in m.outbound(rec.object) if f.lead in only}
            wanted = {k: v for k, v in wanted.items() if k in names}
        diff = cast(dict[str, Value], changed(wanted, rec.written))
        if diff:
            updates.append(
                Update(rec.object, rec.crm_id, diff, key(rec.lead_pk, rec.object, rec.crm_id))
            )
    return updates, linked


def push_scores(
    ctx: Context,
    name: str,
    *,
    report: Report | None = None,
    progress: Progress | None = None,
) -> Report:
    """Write every linked lead's changed out fields to the CRM, a page of leads at a time.
    A rate limit longer than the connector waits in line ends the push (the next one goes
    on); a record the CRM refuses is counted and named."""
    reg = registry(ctx)
    configured = reg.get(name)
    report = report or Report(name)
    try:
        connector = reg.ready_to_write(name)
        wants_owner = any(
            f.lead == "owner"
            for f in [f for f in configured.mapping.fields if f.direction == "out"]
        )
        owner_ids = reg.owners(name) if wants_owner else {}
        _push(ctx, name, configured, connector, owner_ids, report, progress)
    except RateLimited as exc:
        report.counts["push stopped (rate limit)"] += 1
        report.error(
            f"push stopped: {exc.message} (the next push goes on in {exc.retry_after:.0f} s)"
        )
    return report


def _push(
    ctx: Context,
    name: str,
    configured: Configured,
    connector: Connector,
    owner_ids: dict[str, str],
    report: Report,
    progress: Progress | None,
) -> None:
    after = 0
    pushed = 0
    while True:
        with ctx.db.read() as conn:
            pks = stored.linked_leads(conn, name, after, PUSH_PAGE)
            if not pks:
                return
            held = without_basis(ctx, conn, pks)
            allowed = [pk for pk in pks if pk not in held]
            updates, _ = planned_updates(ctx, conn, configured, allowed, owner_ids)
        if held:
            report.counts["skipped_no_basis"] += len(held)
        after = pks[-1]
        if not updates:
            continue
        results = connector.update(updates)
        wait = _written(ctx, name, updates, results, report)
        pushed += len(updates)
        if wait is not None:  # the vendor asked us to stop for a while: the next push goes on
            report.counts["push stopped (rate limit)"] += 1
            report.error(f"push stopped: rate limited (the next push goes on in {wait:.0f} s)")
            return
        if progress is not None:
            progress("push", pushed)


def _written(
    ctx: Context,
    name: str,
    updates: Sequence[Update],
    results: Sequence[UpdateResult],
    report: Report,
) -> float | None:
    """Record what was written; the longest Retry-After among records deferred, if any."""
    by_key = {r.key: r for r in results}
    wait: float | None = None
    ok = []
    for update in updates:
        result = by_key.get(update.key)
        if result is not None and result.ok:
            ok.append((update.object, update.id, dict(update.fields)))
            report.counts["pushed"] += 1
        elif result is not None and result.retryable:
            report.counts["push deferred"] += 1  # not recorded as written: the next push
            if result.retry_after is not None:
                wait = max(wait or 0.0, result.retry_after)
        else:
            report.counts["push failed"] += 1
            why = result.message if result is not None else "no answer for this record"
            report.error(f"{update.object} {update.id}: {why}")
    now = ctx.now()
    ctx.db.transact(lambda conn: stored.record_written(conn, name, ok, now))
    return wait
