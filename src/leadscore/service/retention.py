"""The event retention job (SPEC §9): delete events older than the configured limit and
rescore the leads that lost events.

The limit is `LEADSCORE_RETENTION_EVENTS_DAYS`, or per event type
`LEADSCORE_RETENTION_EVENTS_DAYS_BY_TYPE`; the cutoffs are fixed when a run starts. The run
walks the events in lead order (the (lead_pk, occurred_at) index) in batches of about
`batch_size` events, whole leads only. Each batch is one transaction: lock its leads (in key
order, as every rescoring does), delete their old events, rescore them (`scoring.rescore`,
which hands 64 leads or more to the kernel) at now — so no lead is ever left scored on
events that are gone, and the lock lasts one batch. A changed score gets a history row with
cause kind `retention`. An interrupted run keeps the batches it committed; the next run
finishes. The run ends with an audit record `retention.run` holding its counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from leadscore.core.timestamps import format_timestamp
from leadscore.service.context import Context
from leadscore.service.scoring import Cause, rescore
from leadscore.settings import Settings
from leadscore.store import Connection, audit
from leadscore.store import leads as stored_leads
from leadscore.store import retention as stored
from leadscore.store.retention import Cutoffs

DAY = 86_400_000_000
BATCH = 5_000
"""Events deleted per transaction (about: a batch holds whole leads)."""
ACTION = "retention.run"


@dataclass
class RetentionReport:
    """What a run deleted (or, dry, would delete) and rescored."""

    events: int = 0
    leads: int = 0
    changed: int = 0
    batches: int = 0
    dry_run: bool = False
    cutoffs: dict[str, str] = field(default_factory=dict)
    """Per event type (`*`: every other type), the time before which events go."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def configured(settings: Settings) -> bool:
    return settings.retention_set


def cutoff_times(settings: Settings, now: int) -> dict[str, int]:
    """Per event type name (`*`: the default), the epoch µs before which events go."""
    times = {
        name: now - int(days * DAY) for name, days in settings.retention_events_days_by_type.items()
    }
    if settings.retention_events_days is not None:
        times["*"] = now - int(settings.retention_events_days * DAY)
    return times


def _cutoffs(conn: Connection, times: dict[str, int]) -> Cutoffs:
    named = {name: t for name, t in times.items() if name != "*"}
    ids = stored.type_ids(conn, named)
    return Cutoffs({ids[name]: t for name, t in named.items() if name in ids}, times.get("*"))


def run(
    ctx: Context,
    *,
    dry_run: bool = False,
    actor: str = "retention",
    batch_size: int = BATCH,
    progress: Callable[[int], None] | None = None,
    between_batches: Callable[[], None] | None = None,
) -> RetentionReport:
    """Apply the retention policy now (nothing when none is set); `progress(n)` after each
    batch with the events it deleted, `between_batches()` after each commit (the scheduler
    renews its lease there). A dry run counts what would go and changes nothing."""
    now = ctx.now()
    times = cutoff_times(ctx.settings, now)
    report = RetentionReport(
        dry_run=dry_run, cutoffs={name: format_timestamp(t) for name, t in sorted(times.items())}
    )
    if not times:
        return report
    with ctx.db.read() as conn:
        cutoffs = _cutoffs(conn, times)
        if dry_run:
            report.events, report.leads = stored.count(conn, cutoffs)
            return report
    after = 0

    def batch(conn: Connection) -> tuple[int | None, int, int, int]:
        found = stored.next_batch(conn, cutoffs, after, batch_size)
        if not found:
            return None, 0, 0, 0
        per_lead: dict[int, int] = {}
        for _, lead_pk in found:
            per_lead[lead_pk] = per_lead.get(lead_pk, 0) + 1
        locked = stored_leads.lock(conn, per_lead)  # a lead erased meanwhile is not there
        gone = stored.delete_events(conn, [pk for pk, _ in found])
        rows = [locked[pk] for pk in sorted(locked)]
        refs = {
            pk: f"{n} event{'s' if n != 1 else ''} past retention" for pk, n in per_lead.items()
        }
        changes = rescore(conn, ctx, rows, None, Cause("retention", refs))
        return max(per_lead), gone, len(rows), sum(change.changed for change in changes)

    while True:
        last, gone, leads, changed = ctx.db.transact(batch)
        if last is None:
            break
        after = last
        report.events += gone
        report.leads += leads
        report.changed += changed
        report.batches += 1
        if progress is not None:
            progress(gone)
        if between_batches is not None:
            between_batches()
    ctx.db.transact(
        lambda conn: audit.record(
            conn,
            ctx.now(),
            actor,
            ACTION,
            None,
            events=report.events,
            leads=report.leads,
            changed=report.changed,
            batches=report.batches,
            cutoffs=report.cutoffs,
        )
    )
    return report


def pending(ctx: Context) -> int:
    """How many events the policy would delete now (the progress bar's total)."""
    times = cutoff_times(ctx.settings, ctx.now())
    if not times:
        return 0
    with ctx.db.read() as conn:
        return stored.count(conn, _cutoffs(conn, times))[0]
