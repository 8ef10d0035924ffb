"""The predictive model versions table (SPEC §7): one row per trained version, with its card
and meta as JSON, the fitted estimators as skops bytes, and which one is active.

The bytes are only stored and handed back here; turning them into a predictor (through the
trusted-type check) is `ml.store_model`'s job, and service/predictions.py joins the two.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from leadscore.store.tables import predictive_models

_SUMMARY = (
    predictive_models.c.version,
    predictive_models.c.name,
    predictive_models.c.created_at,
    predictive_models.c.created_by,
    predictive_models.c.active,
)


def find(conn: Connection, version: int | None = None) -> Row[Any, Any] | None:
    """`version` and `created_at` of `version`, or of the active version when None; None
    when there is no such version (or none is active)."""
    t = predictive_models
    query = select(t.c.version, t.c.created_at)
    query = query.where(t.c.active.is_(True) if version is None else t.c.version == version)
    return conn.execute(query.order_by(t.c.version.desc()).limit(1)).one_or_none()


def read(conn: Connection, version: int) -> Row[Any, Any, Any, Any, Any]:
    """`version`, `name`, `card`, `meta` and `artifact` (the skops bytes) of a version."""
    t = predictive_models
    return conn.execute(
        select(t.c.version, t.c.name, t.c.card, t.c.meta, t.c.artifact).where(
            t.c.version == version
        )
    ).one()


def insert_version(
    conn: Connection,
    *,
    name: str,
    created_at: int,
    created_by: str | None,
    card: dict[str, Any],
    meta: dict[str, Any],
    artifact: bytes,
) -> int:
    """Store a version, not active yet; returns its number."""
    version: int = conn.scalar(
        insert(predictive_models)
        .values(
            name=name,
            created_at=created_at,
            created_by=created_by,
            card=card,
            meta=meta,
            artifact=artifact,
            active=False,
        )
        .returning(predictive_models.c.version)
    )
    return version


def activate(conn: Connection, version: int) -> None:
    """Make `version` the only active predictive model."""
    t = predictive_models
    if conn.scalar(select(t.c.version).where(t.c.version == version)) is None:
        raise LookupError(f"no predictive model version {version}")
    conn.execute(update(t).where(t.c.active.is_(True)).values(active=False))
    conn.execute(update(t).where(t.c.version == version).values(active=True))


def list_versions(conn: Connection, *, with_cards: bool = False) -> list[dict[str, Any]]:
    """Every version, newest first: version, name, created_at (µs), created_by, active, and
    the card when asked."""
    t = predictive_models
    columns = (*_SUMMARY, t.c.card) if with_cards else _SUMMARY
    rows = conn.execute(select(*columns).order_by(t.c.version.desc()))
    return [dict(row._mapping) for row in rows]
