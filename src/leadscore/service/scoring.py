"""Rescoring stored leads: the one path every score change takes (events, lead updates,
outcomes, overrides, model activation, recompute).

Inside the caller's transaction, with the leads already locked: read their events and the
overrides in force, score them (`score_leads`: the model's compiled evaluator, exactly the
reference scorer's results), move their lifecycle stage, write the leads whose score changed
and a history row for each reported change.

The lifecycle is folded in event time (§4, docs/lifecycle.md, `core.lifecycle.fold_stage`
the reference). Each lead stores its base (stage, time) and the stage folded over its event
times up to a watermark. Events later than the watermark fold forward from the stored stage
(the model's stage at each new event time, then at now); an event at or before the
watermark (back-dated, arrived late) replays the fold from the base, and when that changes
the stage the forward-only rule alone would have kept, the history row is a `correction`
naming the event. The model's stages at a lead's event times come from one
`core.stages.stages_at` call (exactly the reference scorer's stages, without building each
explanation). The lead lock the callers hold serialises all of this per lead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from leadscore.core.automations import Occasion, State
from leadscore.core.compiled import compiled
from leadscore.core.explain import SCORED, Adjustment, ScoreResult
from leadscore.core.lifecycle import evaluation_times, fold, next_stage
from leadscore.core.model import Model
from leadscore.core.records import Event, Lead
from leadscore.core.stages import stages_at
from leadscore.core.timestamps import format_timestamp
from leadscore.service import blending, firing, monitoring
from leadscore.service.context import Context
from leadscore.store import Connection, Row
from leadscore.store import events as stored_events
from leadscore.store import history as stored_history
from leadscore.store import leads as stored_leads
from leadscore.store import overrides as stored_overrides


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The reported score of a lead: what history records and responses show."""

    score: float
    fit: float
    engagement: float
    grade: str | None
    tier: str | None
    stage: str | None
    model_version: int | None

    @classmethod
    def of(cls, row: Row) -> Snapshot | None:
        """The stored snapshot of a lead row; None for a lead never scored."""
        if row.model_version is None:
            return None
        return cls(**{name: getattr(row, name) for name in SCORED}, model_version=row.model_version)

    def reported(self) -> tuple[float, float, float, str | None]:
        """What makes a history row when it changes (§1: total, fit, engagement, stage)."""
        return (self.score, self.fit, self.engagement, self.stage)


@dataclass(frozen=True, slots=True)
class Change:
    """A lead's score before and after one rescoring."""

    lead_pk: int
    lead_id: str
    before: Snapshot | None
    after: Snapshot | None
    stage: str | None
    """The stage shown after rescoring (also set without an active model)."""

    @property
    def changed(self) -> bool:
        if self.after is None:
            return False
        return self.before is None or self.before.reported() != self.after.reported()

    def to_dict(self, **extra: object) -> dict[str, Any]:
        """The `lead` part of a write response: the new score, the previous one, the change."""
        after = asdict(self.after) if self.after else None
        before = asdict(self.before) if self.before else None
        delta = None
        if self.after is not None:
            delta = round(self.after.score - (self.before.score if self.before else 0.0), 2)
        return {
            "id": self.lead_id,
            **extra,
            **{name: after[name] if after else None for name in SCORED if name != "stage"},
            "stage": self.stage,
            "model_version": after["model_version"] if after else None,
            "changed": self.changed,
            "score_change": delta,
            "previous": before,
        }


@dataclass(frozen=True, slots=True)
class Arrival:
    """The earliest event a rescoring stored for a lead: the one that may reach back before
    the lead's folded lifecycle (and the cause of a correction)."""

    event_id: str
    type: str
    occurred_at: int

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.event_id,
            "type": self.type,
            "occurred_at": format_timestamp(self.occurred_at),
        }


@dataclass(frozen=True, slots=True)
class Cause:
    """Why leads were rescored: its kind, and a reference per lead pk or one for all.

    `arrivals` (kind `event`): per lead pk, the earliest event stored; None when unknown,
    and then a lead's lifecycle is replayed from its base (correct, slower). `created` and
    `stored` are what automations fire on besides score changes (§6)."""

    kind: str
    ref: str | Mapping[int, str] | None = None
    arrivals: Mapping[int, Arrival] | None = None
    created: frozenset[int] = frozenset()
    """The leads created in this transaction (automations' `lead_created`)."""
    stored: Mapping[int, Sequence[tuple[str, str]]] | None = None
    """Per lead pk, (id, type) of each event stored in this transaction (`event_received`)."""

    def for_lead(self, pk: int) -> str | None:
        if isinstance(self.ref, Mapping):
            return self.ref.get(pk)
        return self.ref


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """One lead's lifecycle after a rescoring: the stage and the columns that keep it."""

    stage: str | None
    columns: dict[str, object]
    """stage_base, stage_base_at, event_stage, event_stage_at."""
    corrected_by: Arrival | None
    """The back-dated event whose replay changed the stage the forward-only rule gave."""


def score_leads(
    model: Model,
    records: Sequence[Lead],
    events: Mapping[str, Sequence[Event]],
    adjustments: Mapping[str, Sequence[Adjustment]],
    as_of: int,
    probabilities: Sequence[float] | np.ndarray | None = None,
) -> list[ScoreResult]:
    """Score leads (§2) with the model's compiled evaluator (exactly the reference scorer's
    results, `core.compiled`), blending `probabilities` (one per lead, NaN: none) when the
    model says `predictive` (§7)."""
    chances = [None] * len(records) if probabilities is None else probabilities
    evaluator = compiled(model)
    return [
        evaluator.score(
            lead,
            events.get(lead.id, ()),
            as_of,
            adjustments.get(lead.id, ()),
            _probability(p),
        )
        for lead, p in zip(records, chances, strict=True)
    ]


def _probability(p: float | None) -> float | None:
    """A blended probability as the scorer takes it (NaN: none)."""
    return None if p is None or math.isnan(p) else float(p)


KERNEL_MIN = 64
"""From this many leads on, `rescore` scores them together with the vectorised kernel
(service/kernel_rescore.py): below it the kernel's fixed costs outweigh the per-lead path."""
IN_BULK: list[Callable[..., list[Change]]] = []
"""The bulk path, `kernel_rescore.rescore`, registered here when that module is imported (by
this package's `__init__`): it builds on this module, which therefore cannot import it."""


def rescore(
    conn: Connection,
    ctx: Context,
    rows: Sequence[Row],
    as_of: int | None,
    cause: Cause,
    *,
    write_unchanged: bool = True,
    settle_at: int | None = None,
    kernel: bool = True,
) -> list[Change]:
    """Rescore locked lead rows (read with `store.leads.SCORING_COLUMNS`) at `as_of`.

    `as_of=None` means now, read here, after the caller locked the leads: a time taken
    before waiting for a lock could precede an event another transaction committed
    meanwhile, and that event would be missing from the score.

    With `write_unchanged` every lead row is rewritten (its explanation is fresh); without
    it (recompute), only leads whose snapshot or stage changed are written.

    `KERNEL_MIN` leads or more go through the kernel (`kernel=False`: never), with the same
    results; the leads' explanations are then derived when read (service/queries.py).
    """
    if not rows:
        return []
    if kernel and IN_BULK and len(rows) >= KERNEL_MIN:
        return IN_BULK[0](
            conn, ctx, rows, as_of, cause, write_unchanged=write_unchanged, settle_at=settle_at
        )
    active = ctx.models.active(conn)
    pks = [row.pk for row in rows]
    every = stored_overrides.every(conn, pks)
    by_pk = stored_events.for_leads(conn, ctx.event_types, pks) if active is not None else {}
    if as_of is None:
        as_of = ctx.now()
        if settle_at is not None and _settled(settle_at, as_of, rows, every, by_pk):
            as_of = settle_at
    in_force = {pk: live for pk, o in every.items() if (live := stored_overrides.live_at(o, as_of))}
    if active is None:
        changes = _stage_only(conn, rows, in_force, as_of, write_unchanged)
        _fire(conn, ctx, rows, changes, as_of, cause)
        return changes
    version, model = active
    records, events, adjustments = [], {}, {}
    for row in rows:
        records.append(Lead(row.id, row.email, row.attributes))
        events[row.id] = by_pk.get(row.pk, ())
        adjustments[row.id] = [
            _adjustment(o) for o in in_force.get(row.pk, ()) if o.kind == "points"
        ]
    blended_version, chances = blending.blended_stored(conn, model, rows, by_pk, as_of)
    monitoring.keep_rescored(conn, blended_version, rows, chances, as_of, ctx.now())
    results = score_leads(model, records, events, adjustments, as_of, chances)

    changes, updates, history = [], [], []
    for row, record, result in zip(rows, records, results, strict=True):
        pin = newest_pin(in_force.get(row.pk, ()))
        pinned = pin.stage if pin is not None else None

        def adjustments_at(t: int, row: Row = row) -> list[Adjustment]:
            """The points overrides in force at event time t."""
            live = stored_overrides.live_at(every.get(row.pk, ()), t)
            return [_adjustment(o) for o in live if o.kind == "points"]

        def stages(times: Sequence[int], row: Row = row, record: Lead = record) -> list[str | None]:
            """The model's stage at each event time, with what was in force then."""
            blended = None
            if model.blend is not None:
                chances = blending.probabilities_at(conn, model, row, events[row.id], times)
                blended = dict(zip(times, map(_probability, chances), strict=True)).__getitem__
            return stages_at(model, record, events[row.id], times, adjustments_at, blended)

        moved_to = lifecycle(
            model, version, row, events[row.id], result.stage, as_of, cause, stages
        )
        scored = {name: getattr(result, name) for name in SCORED if name != "stage"}
        change, update = settled(
            row, scored, moved_to, pinned, version, as_of, Snapshot.of(row), write_unchanged
        )
        changes.append(change)
        if update is not None:
            update["explanation"] = explanation(result, in_force.get(row.pk, ()), pin, as_of)
            updates.append(update)
        if change.changed:
            history.append(history_row(change, as_of, cause, moved_to.corrected_by))
    stored_leads.write_scores(conn, updates)
    stored_history.record(conn, history)
    _fire(conn, ctx, rows, changes, as_of, cause)
    return changes


def _fire(
    conn: Connection,
    ctx: Context,
    rows: Sequence[Row],
    changes: Sequence[Change],
    at: int,
    cause: Cause,
) -> None:
    """Write the outbox rows of the automations these changes fire (§6), in this
    transaction. Nothing to look up when nothing moved, nothing was created, no event
    stored: the hot path of an event that changes no score pays no query."""
    stored = cause.stored or {}
    occasions = []
    for row, change in zip(rows, changes, strict=True):
        events = tuple(stored.get(row.pk, ()))
        created = row.pk in cause.created
        before, after = _state(change.before), _state(change.after)
        if not (before != after or created or events or change.stage != row.stage):
            continue
        occasions.append(
            (
                row.pk,
                Occasion(
                    Lead(row.id, row.email, row.attributes),
                    row.owner,
                    at,
                    before,
                    after,
                    stage_before=row.stage,
                    stage_after=change.stage,
                    created=created,
                    events=events,
                ),
            )
        )
    firing.write(conn, ctx, occasions, ctx.now())


def _state(snapshot: Snapshot | None) -> State | None:
    if snapshot is None:
        return None
    return State(
        snapshot.score,
        snapshot.fit,
        snapshot.engagement,
        snapshot.grade,
        snapshot.tier,
        snapshot.stage,
    )


def lifecycle(
    model: Model,
    version: int,
    row: Row,
    events: Sequence[Event],
    model_stage: str | None,
    as_of: int,
    cause: Cause,
    stages: Callable[[Sequence[int]], Sequence[str | None]],
) -> Lifecycle:
    """The lead's lifecycle at `as_of` (the model's stage then: `model_stage`), folded in
    event time from what the row keeps (see the module's docstring). `stages(times)` gives
    the model's stage at each of `times` (all of a lead's in one call: `core.stages`)."""
    if row.model_version is not None and row.model_version != version:
        # Another model scored it last: its stage then is the base for this model (as
        # activation sets it; this catches a lead the activation's recompute skipped).
        base, base_at = row.lifecycle_stage, as_of
        start, start_at = base, base_at
    else:
        base, base_at = row.stage_base, row.stage_base_at
        start, start_at = row.event_stage, row.event_stage_at
    arrival = None
    replay = False
    if cause.kind == "event" and start_at is not None:
        if cause.arrivals is None:
            replay = True
        else:
            arrival = cause.arrivals.get(row.pk)
            replay = arrival is not None and _back_dated(arrival.occurred_at, base_at, start_at)
    if replay:
        start, start_at = base, base_at

    times = evaluation_times(events, start_at, as_of)
    earlier = [t for t in times if t != as_of]  # the stage at as_of is known
    computed = dict(zip(earlier, stages(earlier), strict=True))
    computed[as_of] = model_stage
    event_stage = fold(model, start, times, computed.__getitem__)
    stage = next_stage(model, event_stage, model_stage)
    corrected_by = None
    if (
        replay
        and arrival is not None
        and stage != next_stage(model, row.lifecycle_stage, model_stage)
    ):
        corrected_by = arrival
    columns = {
        "stage_base": base,
        "stage_base_at": base_at,
        "event_stage": event_stage,
        "event_stage_at": times[-1] if times else start_at,
    }
    return Lifecycle(stage, columns, corrected_by)


def _settled(
    at: int,
    now: int,
    rows: Sequence[Row],
    overrides: Mapping[int, Sequence[Row]],
    events: Mapping[int, Sequence[Event]],
) -> bool:
    """Whether scoring these locked leads at `at` (an instant just past, when the request's
    events were stamped) gives what scoring them at `now` would: nothing stored for them
    lies in (`at`, `now`] — no event, no override's start, expiry or removal, no earlier
    scoring or fold. Then the request's own events fall at the scoring time itself, and the
    lifecycle fold needs no evaluation of its own for them (docs/lifecycle.md)."""
    if at > now:
        return False

    def moved(moment: int | None) -> bool:
        return moment is not None and at < moment <= now

    for row in rows:
        if moved(row.scored_at) or moved(row.stage_base_at) or moved(row.event_stage_at):
            return False
        if any(moved(e.occurred_at) for e in events.get(row.pk, ())):
            return False
        for o in overrides.get(row.pk, ()):
            if moved(o.created_at) or moved(o.expires_at) or moved(o.deleted_at):
                return False
    return True


def _back_dated(occurred_at: int, base_at: int | None, watermark: int) -> bool:
    """An event at or before the watermark, after the base: the fold must be replayed. (At
    the watermark too: events that share a time are one evaluation point.)"""
    return occurred_at <= watermark and (base_at is None or occurred_at > base_at)


def _adjustment(row: Row) -> Adjustment:
    return Adjustment(f"override:{row.pk}", row.points, row.reason)


def explanation(
    result: ScoreResult, overrides: Sequence[Row], pin: Row | None, as_of: int
) -> dict[str, Any]:
    """The stored explanation: the core's (§2.6) plus the model's own stage and the
    overrides in force (§4: overrides are shown in the explanation)."""
    explained = result.explained()
    return {
        "as_of": format_timestamp(as_of),
        "model_stage": explained["stage"],
        "pinned_stage": None if pin is None else pin.stage,
        "fit_points": explained["fit_points"],
        "engagement_points": explained["engagement_points"],
        "contributions": explained["contributions"],
        "overrides": [override_dict(o) for o in overrides],
    }


def override_dict(row: Row) -> dict[str, Any]:
    return {
        "id": row.pk,
        "kind": row.kind,
        "points": row.points,
        "stage": row.stage,
        "reason": row.reason,
        "author": row.author,
        "created_at": format_timestamp(row.created_at),
        "expires_at": None if row.expires_at is None else format_timestamp(row.expires_at),
    }


def newest_pin(overrides: Sequence[Row]) -> Row | None:
    """The newest stage pin in force."""
    pins = [o for o in overrides if o.kind == "stage"]
    return pins[-1] if pins else None


def _stage_only(
    conn: Connection,
    rows: Sequence[Row],
    in_force: Mapping[int, Sequence[Row]],
    as_of: int,
    write_unchanged: bool,
) -> list[Change]:
    """Without an active model nothing is scored; the shown stage still follows pins and
    the stages people set."""
    changes, updates = [], []
    for row in rows:
        pin = newest_pin(in_force.get(row.pk, ()))
        pinned = pin.stage if pin is not None else None
        shown = pinned if pinned is not None else row.lifecycle_stage
        changes.append(Change(row.pk, row.id, None, None, shown))
        if write_unchanged or (shown, pinned) != (row.stage, row.pinned_stage):
            updates.append({"pk": row.pk, "stage": shown, "pinned_stage": pinned})
    stored_leads.write_scores(conn, updates)
    return changes


def settled(
    row: Row,
    numbers: Mapping[str, Any],
    moved_to: Lifecycle,
    pinned: str | None,
    version: int,
    as_of: int,
    before: Snapshot | None,
    write_unchanged: bool,
) -> tuple[Change, dict[str, Any] | None]:
    """One rescored lead's change and the row to write for it (None: nothing moved and
    `write_unchanged` is off), from its new numbers (score, fit, engagement, grade, tier) and
    lifecycle: what the per-lead path and the kernel path (service/kernel_rescore.py) share."""
    shown = moved_to.stage if pinned is None else pinned
    after = Snapshot(**numbers, stage=shown, model_version=version)
    change = Change(row.pk, row.id, before, after, shown)
    kept = {name: getattr(row, name) for name in moved_to.columns}
    moved = (moved_to.stage, pinned) != (row.lifecycle_stage, row.pinned_stage)
    if not (write_unchanged or moved or kept != moved_to.columns or change.before != after):
        return change, None
    update = {
        "pk": row.pk,
        **numbers,
        "stage": shown,
        "lifecycle_stage": moved_to.stage,
        "pinned_stage": pinned,
        **moved_to.columns,
        "model_version": version,
        "scored_at": as_of,
    }
    return change, update


def history_row(
    change: Change, at: int, cause: Cause, corrected_by: Arrival | None = None
) -> dict[str, Any]:
    after = change.after
    assert after is not None  # only a change that `changed` makes a history row
    return {
        "lead_pk": change.lead_pk,
        "at": at,
        **{name: getattr(after, name) for name in SCORED},
        "model_version": after.model_version,
        "cause_kind": "correction" if corrected_by else cause.kind,
        "cause_ref": corrected_by.event_id if corrected_by else cause.for_lead(change.lead_pk),
        "cause_event": corrected_by.to_dict() if corrected_by else None,
    }
