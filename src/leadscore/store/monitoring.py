"""The stored side of monitoring (issue 16): the pre-outcome probability snapshots, the
(probability or band, outcome, time) rows the figures are computed from, and the figures as
last computed. service/monitoring.py decides when each is written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from leadscore.store.database import Row
from leadscore.store.tables import (
    model_performance,
    outcomes,
    prediction_snapshots,
    score_history,
)

_KEEP_LATEST: dict[str, Any] = {}
"""The live rescoring's upsert, built once per dialect (building a statement costs about a
millisecond: this one runs on the event path)."""


def _keep_latest_statement(dialect_name: str) -> Any:
    statement = _KEEP_LATEST.get(dialect_name)
    if statement is None:
        t = prediction_snapshots
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        insert_ = dialect.insert(t)
        statement = insert_.on_conflict_do_update(
            index_elements=[t.c.lead_pk, t.c.model_version],
            set_={
                "probability": insert_.excluded.probability,
                "scored_at": insert_.excluded.scored_at,
                "recorded_at": insert_.excluded.recorded_at,
                "source": insert_.excluded.source,
            },
            where=and_(t.c.outcome_at.is_(None), t.c.scored_at <= insert_.excluded.scored_at),
        )
        _KEEP_LATEST[dialect_name] = statement
    return statement


def keep_latest(
    conn: Connection, version: int, probabilities: Mapping[int, float], at: int, now: int
) -> None:
    """The live rescoring's snapshot: each lead's probability at `at`, replacing the stored
    one of this version unless the lead's outcome froze it (or it is newer). One statement."""
    if not probabilities:
        return
    conn.execute(
        _keep_latest_statement(conn.dialect.name),
        [
            {
                "lead_pk": pk,
                "model_version": version,
                "probability": p,
                "scored_at": at,
                "recorded_at": now,
                "source": "rescore",
            }
            for pk, p in probabilities.items()
        ],
    )


def of_leads(conn: Connection, version: int, pks: Sequence[int]) -> dict[int, Row]:
    """The stored snapshots of `version` for these leads, by lead pk."""
    if not pks:
        return {}
    t = prediction_snapshots
    query = select(t).where(t.c.model_version == version, t.c.lead_pk.in_(sorted(set(pks))))
    return {row.lead_pk: row for row in conn.execute(query)}


def freeze(
    conn: Connection,
    version: int,
    lead_pk: int,
    outcome_at: int,
    *,
    probability: float | None = None,
    scored_at: int | None = None,
    now: int | None = None,
) -> None:
    """Mark a lead's snapshot as its pre-outcome one (`outcome_at`); with a `probability`,
    write that one (as of `scored_at`, source `outcome`) in its place or as a new row."""
    t = prediction_snapshots
    if probability is None:
        conn.execute(
            update(t)
            .where(t.c.lead_pk == lead_pk, t.c.model_version == version)
            .values(outcome_at=outcome_at)
        )
        return
    conn.execute(delete(t).where(t.c.lead_pk == lead_pk, t.c.model_version == version))
    conn.execute(
        insert(t).values(
            lead_pk=lead_pk,
            model_version=version,
            probability=probability,
            scored_at=scored_at,
            recorded_at=now,
            source="outcome",
            outcome_at=outcome_at,
        )
    )


def _first_outcomes() -> Any:
    """Each lead's first outcome: lead_pk, outcome, occurred_at (the label and cutoff of
    training, store/training.py)."""
    first = (
        select(outcomes.c.lead_pk, func.min(outcomes.c.occurred_at).label("cutoff"))
        .group_by(outcomes.c.lead_pk)
        .subquery()
    )
    return (
        select(
            outcomes.c.lead_pk,
            func.max(outcomes.c.outcome).label("outcome"),  # converted < lost: lost wins a tie
            outcomes.c.occurred_at,
        )
        .join(
            first,
            and_(first.c.lead_pk == outcomes.c.lead_pk, first.c.cutoff == outcomes.c.occurred_at),
        )
        .group_by(outcomes.c.lead_pk, outcomes.c.occurred_at)
        .subquery()
    )


def predictive_rows(conn: Connection, version: int) -> list[Row]:
    """(probability, outcome, occurred_at) of every lead with an outcome and a snapshot of
    `version` taken at or before that outcome."""
    s, o = prediction_snapshots, _first_outcomes()
    query = (
        select(s.c.probability, o.c.outcome, o.c.occurred_at)
        .join(o, o.c.lead_pk == s.c.lead_pk)
        .where(s.c.model_version == version, s.c.scored_at <= o.c.occurred_at)
        .order_by(o.c.occurred_at, s.c.lead_pk)
    )
    return list(conn.execute(query))


def snapshot_versions(conn: Connection) -> list[int]:
    t = prediction_snapshots
    return [int(v) for v in conn.scalars(select(t.c.model_version).distinct())]


def rule_rows(conn: Connection) -> list[Row]:
    """(model_version, tier, outcome, occurred_at) of every lead with an outcome and a score
    before it: the tier of its newest history row strictly before its first outcome."""
    h, o = score_history, _first_outcomes()
    newest = (
        select(h.c.pk)
        .where(h.c.lead_pk == o.c.lead_pk, h.c.at < o.c.occurred_at)
        .order_by(h.c.at.desc(), h.c.pk.desc())
        .limit(1)
        .correlate(o)
        .scalar_subquery()
    )
    query = (
        select(h.c.model_version, h.c.tier, o.c.outcome, o.c.occurred_at)
        .select_from(o)
        .join(h, h.c.pk == newest)
        .order_by(o.c.occurred_at, o.c.lead_pk)
    )
    return list(conn.execute(query))


def replace_figures(
    conn: Connection, kind: str, version: int, windows: Sequence[dict[str, Any]], now: int
) -> None:
    """Store a model's windows (each with its `window` name) in place of the previous ones."""
    t = model_performance
    conn.execute(delete(t).where(t.c.kind == kind, t.c.version == version))
    if windows:
        conn.execute(
            insert(t),
            [
                {
                    "kind": kind,
                    "version": version,
                    "window": w["window"],
                    "position": i,
                    "figures": w,
                    "computed_at": now,
                }
                for i, w in enumerate(windows)
            ],
        )


def figures(conn: Connection, kind: str, version: int) -> tuple[list[dict[str, Any]], int | None]:
    """The stored windows of a model in their order, and when they were computed (None:
    never)."""
    t = model_performance
    rows = conn.execute(
        select(t.c.figures, t.c.computed_at)
        .where(t.c.kind == kind, t.c.version == version)
        .order_by(t.c.position)
    ).all()
    return [dict(r.figures) for r in rows], (rows[0].computed_at if rows else None)


def computed(conn: Connection, kind: str, version: int) -> bool:
    t = model_performance
    query = select(t.c.version).where(t.c.kind == kind, t.c.version == version).limit(1)
    return conn.scalar(query) is not None
