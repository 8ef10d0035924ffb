"""Rescoring many locked leads at once with the vectorised kernel (SPEC §4, §5; issue 14):
what `service.scoring.rescore` does for a batch of events, an import or any rescoring of
`scoring.KERNEL_MIN` leads or more. This module registers itself in `scoring.IN_BULK` when
imported (the package's `__init__` imports it), since it builds on `scoring`.

The same steps as the per-lead path, each in bulk: the leads' events are read as frames in
the caller's transaction (store/lead_event_frames.py), scored by `engine.kernel.score_frame`
(equal to the reference scorer bit for bit, with the overrides' points and the blended
probability as the bulk recompute passes them), the lifecycle is folded with the per-lead
path's own `scoring.lifecycle`, and the leads, their history rows (store/batch_scores.py)
and the outbox rows they fire (`scoring._fire`, the one definition) are written in bulk.

The fold needs the model's stage at each event time of a lead after its watermark and
before the scoring instant. For events stamped on arrival and scored at that instant (the
common case: docs/lifecycle.md) there is none, and the kernel's stage at `as_of` is all it
needs. A lead that needs more — a back-dated event, an event not settled at the scoring
instant, a replay — is handed, alone with the others like it, to the per-lead path at the
same `as_of`: its semantics stay exactly the reference's. The explanation is not stored:
service/queries.py derives it again, exactly, when the lead is read (as after a recompute).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from leadscore.core.explain import SCORED
from leadscore.core.model import Model
from leadscore.core.records import Event
from leadscore.engine.kernel import score_frame
from leadscore.engine.records import SHADOWED, typed_series
from leadscore.service import blending, monitoring, scoring
from leadscore.service.context import Context
from leadscore.service.scoring import Cause, Change, Snapshot
from leadscore.store import Connection, Row, batch_scores, lead_event_frames
from leadscore.store import overrides as stored_overrides
from leadscore.store.bulk_reads import ChunkReader
from leadscore.store.frames import EVENT_SCHEMA, attributes_frame


class _NeedsEvaluations(Exception):
    """The fold of a lead needs the model's stage at earlier times: the per-lead path's."""


def _no_evaluations(times: Sequence[int]) -> list[str | None]:
    if times:
        raise _NeedsEvaluations
    return []


def rescore(
    conn: Connection,
    ctx: Context,
    rows: Sequence[Row],
    as_of: int | None,
    cause: Cause,
    *,
    write_unchanged: bool = True,
    settle_at: int | None = None,
) -> list[Change]:
    """`scoring.rescore`'s contract, in bulk (see the module's docstring)."""
    active = ctx.models.active(conn)
    if active is None:
        return scoring.rescore(
            conn, ctx, rows, as_of, cause, write_unchanged=write_unchanged, kernel=False
        )
    version, model = active
    reader = ChunkReader(ctx.db, model)
    pks = np.array([row.pk for row in rows], dtype=np.int64)
    keys = np.unique(pks)
    every = stored_overrides.every(conn, keys.tolist())
    events, at_key = lead_event_frames.events_of(ctx.db, conn, reader, keys)
    event_leads = np.searchsorted(keys, pks)  # each lead's position in `keys`
    lead_of_key = np.empty(len(keys), dtype=np.int32)
    lead_of_key[event_leads] = np.arange(len(rows), dtype=np.int32)
    lead_index = lead_of_key[at_key]  # each event's position in `rows`
    occurred = events["occurred_at"].to_numpy()
    if as_of is None:
        as_of = ctx.now()
        if settle_at is not None and _settled(settle_at, as_of, rows, every, occurred):
            as_of = settle_at
    in_force = {pk: live for pk, o in every.items() if (live := stored_overrides.live_at(o, as_of))}
    blended_version, chances = _probabilities(conn, model, rows, events, lead_index, as_of)
    monitoring.keep_rescored(conn, blended_version, rows, chances, as_of, ctx.now())
    result = score_frame(
        _leads_frame(reader, rows),
        events,
        model,
        as_of,
        adjustments=_adjustments(rows, in_force),
        event_leads=lead_index,
        probabilities=chances,
    )
    scored = {name: result[name].to_list() for name in SCORED}

    later = _times_after_watermark(rows, version, as_of, cause, occurred, lead_index)
    changes: dict[int, Change] = {}
    kernel_rows, updates, history, fallback = [], [], [], []
    for i, row in enumerate(rows):
        try:
            moved_to = scoring.lifecycle(
                model, version, row, later.get(i, ()), scored["stage"][i], as_of, cause,
                _no_evaluations,
            )  # fmt: skip
        except _NeedsEvaluations:
            fallback.append(row)
            continue
        pin = scoring.newest_pin(in_force.get(row.pk, ()))
        pinned = pin.stage if pin is not None else None
        numbers = {name: scored[name][i] for name in SCORED if name != "stage"}
        change, update = scoring.settled(
            row, numbers, moved_to, pinned, version, as_of, _stored(row), write_unchanged
        )
        changes[row.pk] = change
        kernel_rows.append(row)
        if update is not None:
            updates.append(update)
        if change.changed:
            history.append(scoring.history_row(change, as_of, cause, moved_to.corrected_by))
    batch_scores.write_leads(ctx.db, conn, updates)
    batch_scores.add_history(ctx.db, conn, history)
    if _automations_live(conn, ctx):
        fired = [changes[row.pk] for row in kernel_rows]
        scoring._fire(conn, ctx, kernel_rows, fired, as_of, cause)
    if fallback:
        for change in scoring.rescore(
            conn, ctx, fallback, as_of, cause, write_unchanged=write_unchanged, kernel=False
        ):
            changes[change.lead_pk] = change
    return [changes[row.pk] for row in rows]


def _stored(row: Row) -> Snapshot | None:
    """`Snapshot.of(row)`, without its name lookups (once per lead of a batch)."""
    if row.model_version is None:
        return None
    return Snapshot(
        row.score, row.fit, row.engagement, row.grade, row.tier, row.stage, row.model_version
    )


def _automations_live(conn: Connection, ctx: Context) -> bool:
    """Whether any automation is live: else `firing.write` writes nothing, and building
    each lead's occasion for it would be the batch's largest cost."""
    active = ctx.automations.active(conn)
    return active is not None and bool(active[1].live())


def _leads_frame(reader: ChunkReader, rows: Sequence[Row]) -> pl.DataFrame:
    """The kernel's leads: id, email and the attributes the model reads, typed as the
    recompute types them (`engine.records.typed_series` of the JSON values)."""
    columns = [
        pl.Series("id", [row.id for row in rows], dtype=pl.String),
        pl.Series("email", [row.email for row in rows], dtype=pl.String),
    ]
    for key in reader.attributes:
        if key not in SHADOWED:
            columns.append(typed_series(key, [row.attributes.get(key) for row in rows]))
    return pl.DataFrame(columns)


def _adjustments(rows: Sequence[Row], in_force: Mapping[int, Sequence[Row]]) -> np.ndarray | None:
    """Per lead, the sum of its points overrides in force (`sum(points)`, in the order the
    per-lead path adds them); None when no lead has one."""
    if not any(o.kind == "points" for live in in_force.values() for o in live):
        return None
    return np.array(
        [sum(o.points for o in in_force.get(row.pk, ()) if o.kind == "points") for row in rows],
        dtype=np.float64,
    )


def _probabilities(
    conn: Connection,
    model: Model,
    rows: Sequence[Row],
    events: pl.DataFrame,
    lead_index: np.ndarray,
    as_of: int,
) -> tuple[int | None, np.ndarray | None]:
    """The blended probabilities (§7), from the frames `blending.for_stored` builds, and the
    predictive version they came from."""
    if model.blend is None:
        return None, None
    frame = attributes_frame(
        [row.id for row in rows], [row.email for row in rows], [row.attributes for row in rows]
    )
    table = pl.DataFrame(
        {
            "lead_id": frame["id"].gather(lead_index),
            "type": events["type"].cast(pl.String),
            "occurred_at": events["occurred_at"],
        },
        schema=EVENT_SCHEMA,
    )
    return blending.blended(conn, model, frame, table, as_of)


def _times_after_watermark(
    rows: Sequence[Row],
    version: int,
    as_of: int,
    cause: Cause,
    occurred: np.ndarray,
    lead_index: np.ndarray,
) -> dict[int, list[Event]]:
    """Per lead (index in `rows`), its event times that `scoring.lifecycle` folds: those in
    (the moment its fold starts from, `as_of`]. Every other event of the lead is at or
    before that moment, so the fold never looks at it."""
    floor = np.iinfo(np.int64).min
    lowest = np.array([_start_at(row, version, as_of, cause) for row in rows], dtype=np.int64)
    lowest[lowest == _NONE] = floor
    chosen = np.flatnonzero((occurred > lowest[lead_index]) & (occurred <= as_of))
    later: dict[int, list[Event]] = {}
    for i, t in zip(lead_index[chosen].tolist(), occurred[chosen].tolist(), strict=True):
        later.setdefault(i, []).append(Event("", t))  # the fold reads only the time
    return later


_NONE = np.iinfo(np.int64).max
"""`_start_at` of a fold from before every event (no base time)."""


def _start_at(row: Row, version: int, as_of: int, cause: Cause) -> int:
    """The moment `scoring.lifecycle` folds this lead's lifecycle from (`_NONE`: from before
    every event), decided as it decides it: afresh at `as_of` for a lead another model
    scored last, from the base for a replay, else from the watermark."""
    if row.model_version is not None and row.model_version != version:
        return as_of
    start_at: int | None = row.event_stage_at
    if cause.kind == "event" and start_at is not None:
        replay = cause.arrivals is None
        if cause.arrivals is not None:
            arrival = cause.arrivals.get(row.pk)
            replay = arrival is not None and scoring._back_dated(
                arrival.occurred_at, row.stage_base_at, start_at
            )
        if replay:
            start_at = row.stage_base_at
    return _NONE if start_at is None else start_at


def _settled(
    at: int,
    now: int,
    rows: Sequence[Row],
    overrides: Mapping[int, Sequence[Row]],
    occurred: np.ndarray,
) -> bool:
    """`scoring._settled`, with the leads' event times as one array."""
    if at > now or bool(np.any((occurred > at) & (occurred <= now))):
        return False
    return scoring._settled(at, now, rows, overrides, {})


scoring.IN_BULK[:] = [rescore]
