"""Monitoring as outcomes arrive (issue 16, SPEC §7): keep each lead's probability as it was
before its outcome, and compute, store and serve the models' realised figures.

When a snapshot is written (`prediction_snapshots`, one row per lead and predictive version):
- the live rescoring (service/scoring.py, service/kernel_rescore.py), when the scoring model
  blends a predictive model: the lead's probability just computed, replacing the version's
  stored one (one upsert statement per rescoring, none without a blended predictive model),
  until the lead's first outcome freezes it;
- an outcome recorded while a predictive model is active: the active version's probability
  as of the outcome's time (its events strictly before it, the training cutoff) is stored
  when the lead has no snapshot of that version taken at or before the outcome; a snapshot
  already taken before the outcome is kept. Either way the row is then frozen.
The figures (ml/monitoring.py) use each lead's first outcome and its snapshot taken at or
before it. The rule model's figures use the tier of the lead's newest score-history row
strictly before its first outcome (the band sales saw), per scoring model version.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from leadscore.core.timestamps import format_timestamp
from leadscore.ml import monitoring
from leadscore.ml.errors import MLInputError
from leadscore.service.context import Context
from leadscore.service.errors import NotFound
from leadscore.store import Connection
from leadscore.store import events as stored_events
from leadscore.store import model_versions as stored_rule_models
from leadscore.store import monitoring as stored
from leadscore.store import predictive_models as stored_models
from leadscore.store.database import Row

log = logging.getLogger(__name__)

PREDICTIVE = "predictive"
RULES = "rules"


# --- snapshots -------------------------------------------------------------------------------


def keep_rescored(
    conn: Connection,
    version: int | None,
    rows: Sequence[Row],
    probabilities: np.ndarray | None,
    as_of: int,
    now: int,
) -> None:
    """The live rescoring's snapshots: the probabilities it blended (NaN: none)."""
    if version is None or probabilities is None:
        return
    chances = {
        row.pk: float(p) for row, p in zip(rows, probabilities, strict=True) if np.isfinite(p)
    }
    stored.keep_latest(conn, version, chances, as_of, now)


def keep_at_outcomes(
    conn: Connection, ctx: Context, leads: Mapping[int, Row], first_at: Mapping[int, int], now: int
) -> None:
    """At recorded outcomes (lead pk → the earliest new outcome time): freeze each lead's
    pre-outcome snapshot of the active predictive version, computing it where missing."""
    from leadscore.service import predictions

    if not first_at:
        return
    try:
        predictor = predictions.load_predictor(conn)
    except MLInputError as exc:
        log.warning("no prediction snapshots at outcomes: %s", exc)
        return
    if predictor is None:
        return
    version = predictor.version
    have = stored.of_leads(conn, version, list(first_at))
    missing = []
    for pk, at in first_at.items():
        row = have.get(pk)
        if row is not None and row.outcome_at is not None:
            continue  # an earlier outcome froze it
        if row is not None and row.scored_at <= at:
            stored.freeze(conn, version, pk, at)
        else:
            missing.append(pk)
    if not missing:
        return
    import polars as pl

    rows = [leads[pk] for pk in missing]
    by_pk = stored_events.for_leads(conn, ctx.event_types, missing)
    frame, events = predictions.lead_frames(rows, by_pk)
    cutoffs = pl.DataFrame(
        {"lead_id": [r.id for r in rows], "cutoff": [first_at[r.pk] for r in rows]},
        schema={"lead_id": pl.String, "cutoff": pl.Int64},
    )
    try:
        table = predictor.predict_at(frame, events, cutoffs, with_reasons=False)
    except MLInputError as exc:
        log.warning("no prediction snapshots at outcomes: %s", exc)
        return
    for row, p in zip(rows, table["probability"].to_list(), strict=True):
        if p is None:
            continue
        at = first_at[row.pk]
        stored.freeze(conn, version, row.pk, at, probability=float(p), scored_at=at, now=now)


# --- figures ---------------------------------------------------------------------------------


def _card_auc(card: Mapping[str, Any]) -> float | None:
    value = (card.get("metrics") or {}).get("roc_auc")
    return float(value) if isinstance(value, int | float) else None


def _predictive_windows(conn: Connection, version: int, now: int) -> list[dict[str, Any]]:
    rows = stored.predictive_rows(conn, version)
    return monitoring.predictive_windows(
        [r.probability for r in rows],
        [r.outcome == "converted" for r in rows],
        [r.occurred_at for r in rows],
        now,
    )


def _rule_windows(conn: Connection, version: int, now: int) -> list[dict[str, Any]]:
    rows = [r for r in stored.rule_rows(conn) if r.model_version == version]
    return monitoring.rule_windows(
        [r.tier for r in rows],
        [r.outcome == "converted" for r in rows],
        [r.occurred_at for r in rows],
        now,
    )


def _exists(conn: Connection, kind: str, version: int) -> dict[str, Any]:
    """The version's card (predictive) or an empty one; NotFound when there is no such
    version."""
    if kind == PREDICTIVE:
        if stored_models.find(conn, version) is None:
            raise NotFound(f"no predictive model version {version}")
        return dict(stored_models.read(conn, version).card)
    if stored_rule_models.get(conn, version) is None:
        raise NotFound(f"no model version {version}")
    return {}


def refresh(ctx: Context, kind: str, version: int) -> None:
    """Recompute a model version's windows now and store them."""
    now = ctx.now()

    def work(conn: Connection) -> None:
        _exists(conn, kind, version)
        compute = _predictive_windows if kind == PREDICTIVE else _rule_windows
        stored.replace_figures(conn, kind, version, compute(conn, version, now), now)

    ctx.db.transact(work)


def performance(ctx: Context, kind: str, version: int, *, fresh: bool = False) -> dict[str, Any]:
    """A version's stored figures (computed now when `fresh`, or when none are stored yet),
    with the decay flag for a predictive version."""
    with ctx.db.read() as conn:
        _exists(conn, kind, version)
        known = stored.computed(conn, kind, version)
    if fresh or not known:
        refresh(ctx, kind, version)
    with ctx.db.read() as conn:
        card = _exists(conn, kind, version)
        windows, computed_at = stored.figures(conn, kind, version)
    out: dict[str, Any] = {
        "version": version,
        "computed_at": None if computed_at is None else format_timestamp(computed_at),
        "windows": [_timed(w) for w in windows],
    }
    if kind == PREDICTIVE:
        auc = _card_auc(card)
        out["card_roc_auc"] = auc
        out["decay"] = monitoring.decay(windows, auc)
    return out


def _timed(window: dict[str, Any]) -> dict[str, Any]:
    return {
        **window,
        "start": format_timestamp(window["start"]),
        "end": format_timestamp(window["end"]),
    }


def refresh_all(ctx: Context) -> dict[str, int]:
    """The scheduled job: every predictive version with snapshots (and the active one) and
    every scoring model version that scored a lead before its outcome."""
    with ctx.db.read() as conn:
        active = stored_models.find(conn)
        predictive = set(stored.snapshot_versions(conn))
        if active is not None:
            predictive.add(int(active.version))
        rules = {int(r.model_version) for r in stored.rule_rows(conn) if r.model_version}
    for version in sorted(predictive):
        refresh(ctx, PREDICTIVE, version)
    for version in sorted(rules):
        refresh(ctx, RULES, version)
    return {PREDICTIVE: len(predictive), RULES: len(rules)}
