"""Predictive model versions as the store keeps them, and the predictor other code scores
leads with.

A version is stored (store/predictive_models.py) as the model card and the preparation as
JSON, and the fitted estimators as skops bytes; `build_predictor` loads those bytes only
through the trusted-type check of `ml.artifact` (never an arbitrary pickle). Versions never
change, so a loaded `Predictor` is cached per version for the life of the process (`CACHE`);
which version is active is read from the database on every call, by the service.

Importing this module does not import scikit-learn: that happens on the first load.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from leadscore.ml import aggregates
from leadscore.ml.errors import MLInputError
from leadscore.ml.store_training import ID, Preparation, feature_frame


@dataclass
class Predictor:
    """A stored predictive model, ready to score leads."""

    version: int
    name: str
    card: dict[str, Any]
    meta: dict[str, Any]
    model: dict[str, Any]
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

    def drift(self, leads: pl.DataFrame, events: pl.DataFrame | None, as_of: int) -> dict[str, Any]:
        """The drift report (`ml.drift`) of `leads` and `events` as `predict` reads them at
        `as_of`; `drift.NoProfileError` for a version trained before profiles existed."""
        from leadscore.ml import drift
        from leadscore.ml.features import FeatureSpec, transform

        profile = drift.profile_of(self.meta, f"predictive model version {self.version}")
        if "id" not in leads.columns:
            raise MLInputError("leads need an `id` column")
        spec = FeatureSpec.from_dict(self.meta["spec"])
        cutoffs = aggregates.with_cutoff(leads["id"], as_of)
        frame = feature_frame(self.prep, leads, events, cutoffs)
        return drift.report(profile, spec, frame, transform(frame, spec, as_of=None))


class PredictorCache:
    """Loaded predictors by a key the caller chooses."""

    def __init__(self) -> None:
        self._items: dict[tuple[Any, ...], Predictor] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Predictor | None:
        return self._items.get(key)

    def put(self, key: tuple[Any, ...], predictor: Predictor) -> None:
        with self._lock:
            self._items[key] = predictor

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


CACHE = PredictorCache()
"""Loaded predictors by (database, version, created_at): a database emptied and refilled
(tests) reuses version numbers, so the creation time is part of the key."""


def build_predictor(
    version: int, name: str, card: dict[str, Any], meta: dict[str, Any], artifact_bytes: bytes
) -> Predictor:
    """The predictor of a stored version, from its row; `MLInputError` for an artifact
    that fails the trusted-type check or needs LightGBM where it is not installed."""
    from leadscore.ml import artifact

    where = f"predictive model version {version}"
    artifact.require_lightgbm(meta, where)
    model = artifact.loads(artifact_bytes, where)
    return Predictor(
        version=version,
        name=name,
        card=card,
        meta=meta,
        model=model,
        prep=Preparation.from_dict(meta["store"]),
    )


def stored_form(
    model: dict[str, Any], meta: dict[str, Any], card: dict[str, Any]
) -> dict[str, Any]:
    """`card`, `meta` (JSON-ready) and `artifact` (skops bytes) of a trained model: what a
    stored version keeps."""
    from leadscore.ml import artifact

    return {
        "card": artifact.clean_json(card),
        "meta": artifact.clean_json(meta),
        "artifact": artifact.dumps(model),
    }


def card_summary(card: dict[str, Any]) -> dict[str, Any]:
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
