"""Rescoring stored leads: the one path every score change takes (events, lead updates,
outcomes, overrides, model activation, recompute).

Inside the caller's transaction, with the leads already locked: read their events and the
overrides in force, score them with the reference scorer (`score_leads`, the one function a
faster engine will replace), move their lifecycle stage (`core.lifecycle.next_stage`), write
the leads whose score changed and a history row for each reported change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from leadscore.core.evaluate import score_lead
from leadscore.core.explain import SCORED, Adjustment, ScoreResult
from leadscore.core.lifecycle import next_stage
from leadscore.core.model import Model
from leadscore.core.records import Event, Lead
from leadscore.core.timestamps import format_timestamp
from leadscore.service import blending
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
class Cause:
    """Why leads were rescored: its kind, and a reference per lead pk or one for all."""

    kind: str
    ref: str | Mapping[int, str] | None = None

    def for_lead(self, pk: int) -> str | None:
        if isinstance(self.ref, Mapping):
            return self.ref.get(pk)
        return self.ref


def score_leads(
    model: Model,
    records: Sequence[Lead],
    events: Mapping[str, Sequence[Event]],
    adjustments: Mapping[str, Sequence[Adjustment]],
    as_of: int,
    probabilities: Sequence[float] | np.ndarray | None = None,
) -> list[ScoreResult]:
    """Score leads with the reference scorer (§2), blending `probabilities` (one per lead,
    NaN: none) when the model says `predictive` (§7)."""
    chances = [None] * len(records) if probabilities is None else probabilities
    return [
        score_lead(
            model,
            lead,
            events.get(lead.id, ()),
            as_of,
            adjustments.get(lead.id, ()),
            None if p is None or math.isnan(p) else float(p),
        )
        for lead, p in zip(records, chances, strict=True)
    ]


def rescore(
    conn: Connection,
    ctx: Context,
    rows: Sequence[Row],
    as_of: int | None,
    cause: Cause,
    *,
    write_unchanged: bool = True,
) -> list[Change]:
    """Rescore locked lead rows (read with `store.leads.SCORING_COLUMNS`) at `as_of`.

    `as_of=None` means now, read here, after the caller locked the leads: a time taken
    before waiting for a lock could precede an event another transaction committed
    meanwhile, and that event would be missing from the score.

    With `write_unchanged` every lead row is rewritten (its explanation is fresh); without
    it (recompute), only leads whose snapshot or stage changed are written.
    """
    if not rows:
        return []
    as_of = ctx.now() if as_of is None else as_of
    active = ctx.models.active(conn)
    pks = [row.pk for row in rows]
    in_force = stored_overrides.in_force(conn, pks, as_of)
    if active is None:
        return _stage_only(conn, rows, in_force, as_of, write_unchanged)
    version, model = active
    by_pk = stored_events.for_leads(conn, ctx.event_types, pks)
    records, events, adjustments = [], {}, {}
    for row in rows:
        records.append(Lead(row.id, row.email, row.attributes))
        events[row.id] = by_pk.get(row.pk, ())
        adjustments[row.id] = [
            Adjustment(f"override:{o.pk}", o.points, o.reason)
            for o in in_force.get(row.pk, ())
            if o.kind == "points"
        ]
    chances = blending.for_stored(conn, model, rows, by_pk, as_of)
    results = score_leads(model, records, events, adjustments, as_of, chances)

    changes, updates, history = [], [], []
    for row, result in zip(rows, results, strict=True):
        pin = newest_pin(in_force.get(row.pk, ()))
        pinned = pin.stage if pin is not None else None
        lifecycle = next_stage(model, row.lifecycle_stage, result.stage)
        shown = next_stage(model, row.lifecycle_stage, result.stage, pinned)
        scored = {name: getattr(result, name) for name in SCORED if name != "stage"}
        after = Snapshot(**scored, stage=shown, model_version=version)
        change = Change(row.pk, row.id, Snapshot.of(row), after, shown)
        changes.append(change)
        moved = (lifecycle, pinned) != (row.lifecycle_stage, row.pinned_stage)
        if write_unchanged or moved or change.before != after:
            updates.append(
                {
                    "pk": row.pk,
                    **scored,
                    "stage": shown,
                    "lifecycle_stage": lifecycle,
                    "pinned_stage": pinned,
                    "model_version": version,
                    "explanation": explanation(result, in_force.get(row.pk, ()), pin, as_of),
                    "scored_at": as_of,
                }
            )
        if change.changed:
            history.append(_history_row(change, as_of, cause))
    stored_leads.write_scores(conn, updates)
    stored_history.record(conn, history)
    return changes


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


def _history_row(change: Change, at: int, cause: Cause) -> dict[str, Any]:
    after = change.after
    assert after is not None  # only a change that `changed` makes a history row
    return {
        "lead_pk": change.lead_pk,
        "at": at,
        **{name: getattr(after, name) for name in SCORED},
        "model_version": after.model_version,
        "cause_kind": cause.kind,
        "cause_ref": cause.for_lead(change.lead_pk),
    }
