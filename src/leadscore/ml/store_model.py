"""Predictive model versions in the store, and the predictor other code scores leads with.

A version is one row of `predictive_models`: the model card and the preparation as JSON, and
the fitted estimators as skops bytes, loaded only through the trusted-type check of
`ml.artifact` (never an arbitrary pickle). Versions never change, so a loaded `Predictor` is
cached per version for the life of the process; which version is active is read from the
database on every call, so an activation in one process is seen by all.

Importing this module does not import scikit-learn: that happens on the first load.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import polars as pl
from sqlalchemy import Connection, insert, select, update

from leadscore.ml import aggregates
from leadscore.ml.errors import MLInputError
from leadscore.ml.store_training import ID, Preparation, feature_frame
from leadscore.store.tables import predictive_models

_SUMMARY = (
    predictive_models.c.version,
    predictive_models.c.name,
    predictive_models.c.created_at,
    predictive_models.c.created_by,
    predictive_models.c.active,
)


@dataclass
class Predictor:
    """A stored predictive model, ready to score leads."""

    version: int
    name: str
    card: dict
    meta: dict
    model: dict
    prep: Preparation

    def predict(self, leads: pl.DataFrame, events: pl.DataFrame | None, as_of: int) -> pl.DataFrame:
        """`lead_id`, `probability` (0..1), `score` (0..100) and `reasons` (a list of
        phrases, up to three pushing up then three pushing down), one row per row of
        `leads` (`id` plus attribute columns, optional `email`), in its order. `events`
        (`lead_id`, `type`, `occurred_at` µs) count only before `as_of` (epoch µs)."""
        if "id" not in leads.columns:
            raise MLInputError("leads need an `id` column")
        cutoffs = aggregates.with_cutoff(leads["id"], as_of)
        return self.predict_at(leads, events, cutoffs)

    def predict_at(
        self,
        leads: pl.DataFrame,
        events: pl.DataFrame | None,
        cutoffs: pl.DataFrame,
        *,
        with_reasons: bool = True,
    ) -> pl.DataFrame:
        """As `predict`, with a cutoff per lead (`cutoffs`: `lead_id`, `cutoff` µs, in the
        order of `leads`), e.g. each lead's outcome time in a backtest."""
        from leadscore.ml import explain
        from leadscore.ml.features import FeatureSpec
        from leadscore.ml.predict import probabilities

        spec = FeatureSpec.from_dict(self.meta["spec"])
        frame = feature_frame(self.prep, leads, events, cutoffs)
        X, p = probabilities(self.model, self.meta, spec, frame, as_of=None)
        out = pl.DataFrame(
            {
                "lead_id": frame[ID],
                "probability": pl.Series(np.round(p, 6), dtype=pl.Float64),
                "score": pl.Series(np.floor(100 * p + 0.5).astype(np.int64)),
            }
        )
        if not with_reasons:
            return out
        contrib = explain.contributions(self.model, X, spec, self.meta["explain"])
        phrases = explain.describe_values(frame, X, spec)
        for feature, values in zip(spec.features, phrases, strict=True):
            never = aggregates.missing_phrase(feature.name)
            if never is not None:
                missing = f"{feature.name} missing"
                values[:] = [never if v == missing else v for v in values]
        reasons = explain.reason_lists(contrib, phrases)
        return out.with_columns(reasons=pl.Series(reasons, dtype=pl.List(pl.String)))


class _Cache:
    def __init__(self) -> None:
        self._items: dict[tuple, Predictor] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Predictor | None:
        return self._items.get(key)

    def put(self, key: tuple, predictor: Predictor) -> None:
        with self._lock:
            self._items[key] = predictor

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


CACHE = _Cache()
"""Loaded predictors by (database, version, created_at): a database emptied and refilled
(tests) reuses version numbers, so the creation time is part of the key."""


def load_predictor(conn: Connection, version: int | None = None) -> Predictor | None:
    """The predictor of `version`, or of the active version when None; None when there is
    no such version (or none is active)."""
    t = predictive_models
    query = select(t.c.version, t.c.created_at)
    query = query.where(t.c.active.is_(True) if version is None else t.c.version == version)
    row = conn.execute(query.order_by(t.c.version.desc()).limit(1)).one_or_none()
    if row is None:
        return None
    key = (conn.engine.url.render_as_string(hide_password=True), row.version, row.created_at)
    cached = CACHE.get(key)
    if cached is not None:
        return cached
    predictor = _load(conn, row.version)
    CACHE.put(key, predictor)
    return predictor


def _load(conn: Connection, version: int) -> Predictor:
    from leadscore.ml import artifact

    t = predictive_models
    row = conn.execute(
        select(t.c.version, t.c.name, t.c.card, t.c.meta, t.c.artifact).where(
            t.c.version == version
        )
    ).one()
    where = f"predictive model version {version}"
    artifact.require_lightgbm(row.meta, where)
    model = artifact.loads(row.artifact, where)
    return Predictor(
        version=row.version,
        name=row.name,
        card=row.card,
        meta=row.meta,
        model=model,
        prep=Preparation.from_dict(row.meta["store"]),
    )


def save_version(
    conn: Connection,
    *,
    model: dict,
    meta: dict,
    card: dict,
    name: str,
    created_at: int,
    created_by: str | None,
    activate: bool = True,
) -> int:
    """Store a trained model as a new version (active unless `activate` is False)."""
    from leadscore.ml import artifact

    version = conn.scalar(
        insert(predictive_models)
        .values(
            name=name,
            created_at=created_at,
            created_by=created_by,
            card=artifact.clean_json(card),
            meta=artifact.clean_json(meta),
            artifact=artifact.dumps(model),
            active=False,
        )
        .returning(predictive_models.c.version)
    )
    if activate:
        activate_version(conn, version)
    return version


def activate_version(conn: Connection, version: int) -> None:
    """Make `version` the only active predictive model."""
    t = predictive_models
    if conn.scalar(select(t.c.version).where(t.c.version == version)) is None:
        raise LookupError(f"no predictive model version {version}")
    conn.execute(update(t).where(t.c.active.is_(True)).values(active=False))
    conn.execute(update(t).where(t.c.version == version).values(active=True))


def list_versions(conn: Connection, *, with_cards: bool = False) -> list[dict]:
    """Every version, newest first: version, name, created_at (µs), created_by, active, and
    the card when asked."""
    t = predictive_models
    columns = (*_SUMMARY, t.c.card) if with_cards else _SUMMARY
    rows = conn.execute(select(*columns).order_by(t.c.version.desc()))
    return [dict(row._mapping) for row in rows]


def card_summary(card: dict) -> dict:
    """The figures a list shows: rows, conversion rate, chosen estimator, ROC AUC, PR AUC,
    Brier score (cross-validated)."""
    m = card.get("metrics", {})
    return {
        "rows": card.get("data", {}).get("rows_used"),
        "positive_rate": card.get("data", {}).get("positive_rate"),
        "estimator": card.get("model", {}).get("chosen"),
        "roc_auc": m.get("roc_auc"),
        "pr_auc": m.get("pr_auc"),
        "brier": m.get("brier"),
        "trained_at": card.get("trained_at"),
    }
