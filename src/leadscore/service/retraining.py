"""Retraining with a champion/challenger decision (SPEC §7; issue 16): when enough new
outcomes arrived since the active predictive model (the champion) was trained, or its
features drifted, train a challenger from the store and let the newest outcomes judge the
two; the challenger becomes active only if it is better, and every decision — taken or not,
why, and the figures of both — is an audit entry (`predictive.retrain`) that
`GET /api/v1/predictive-models/retraining` lists.

The rule (`ml.champion`): the holdout is the newest `LEADSCORE_RETRAIN_HOLDOUT_SHARE` of the
leads with an outcome by outcome time (at least `LEADSCORE_RETRAIN_HOLDOUT_MIN`); the
challenger learns from the older ones only; both score the holdout, each lead as of its
outcome (events before it only, as in training); a challenger at least
`LEADSCORE_RETRAIN_MIN_AUC_GAIN` ROC AUC better wins, and within that margin a clearly lower
log loss decides. A winner is then refitted on every outcome, the holdout included (the
newest outcomes are the ones most like the leads it will score; the holdout judged the
recipe — features, estimator choice, calibration — on outcomes it had not seen), and that
refit is stored and activated, its card carrying the holdout figures. A losing challenger is
not stored; its figures stay in the decision. With no active model there is nothing to
judge against: a model trained on every outcome is activated if it trains.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import Connection

from leadscore.core.timestamps import format_timestamp
from leadscore.ml import champion as rule
from leadscore.ml.errors import MLInputError
from leadscore.ml.store_training import POSITIVE, History
from leadscore.service import audit as audit_log
from leadscore.service import drift, monitoring, predictions
from leadscore.service.context import Context
from leadscore.service.errors import Conflict
from leadscore.store import audit
from leadscore.store import predictive_models as stored_models
from leadscore.store import training as stored_training

log = logging.getLogger(__name__)

ACTION = "predictive.retrain"
DRIFT_DAYS = 30
"""The window of recent leads the drift check compares with the champion's training data."""
DRIFT_LIMIT = 5_000
"""The most recent leads the drift check reads."""
Progress = Callable[[float, str], None]
Decided = Callable[[Connection, dict[str, Any]], None]
"""Called with the decision (`Decision.as_dict`) inside the transaction that records it."""


@dataclass
class Decision:
    """One retraining run: what was decided (`activated`, `kept` or `skipped`), why, and the
    holdout figures of both models."""

    decision: str
    why: str
    run: str
    force: bool
    outcomes: int
    new_outcomes: int | None
    min_new_outcomes: int
    drifted: list[str] = field(default_factory=list)
    decayed: bool = False
    trigger: list[str] = field(default_factory=list)
    champion: dict[str, Any] | None = None
    challenger: dict[str, Any] | None = None
    holdout: dict[str, Any] | None = None
    min_auc_gain: float = 0.0
    active_version: int | None = None

    @property
    def activated(self) -> bool:
        return self.decision == "activated"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _drifted_features(ctx: Context, version: int) -> list[str]:
    """The champion's features whose drift passed its threshold over the recent leads; []
    for a version that cannot say (trained before drift reports: no profile), logged."""
    try:
        report = drift.drift_for_version(ctx, version, DRIFT_DAYS, DRIFT_LIMIT)
    except Conflict as exc:
        log.info("retraining: no drift report for version %s: %s", version, exc)
        return []
    return [str(d["feature"]) if isinstance(d, dict) else str(d) for d in report["drifted"]]


def _decayed(ctx: Context, version: int) -> bool:
    """Whether the champion's realised ROC AUC on the latest outcomes fell below its card's
    beyond the monitoring's margin and noise (service/monitoring.py), recomputed now."""
    figures = monitoring.performance(ctx, monitoring.PREDICTIVE, version, fresh=True)
    return bool(figures["decay"]["flagged"])


def retrain(
    ctx: Context,
    *,
    reason: str,
    actor: str = "scheduler",
    force: bool = False,
    now: int | None = None,
    folds: int | None = None,
    progress: Progress | None = None,
    on_decided: Decided | None = None,
) -> Decision:
    """Decide whether to retrain, and do it (see the module's docstring). `reason` says
    what started the run (`scheduled`, `api`, `cli`), `force` skips the trigger (new
    outcomes or drift) but never the comparison. The decision is recorded in the audit log
    as `predictive.retrain` by `actor`; returns it."""
    settings = ctx.settings
    told = progress or (lambda _fraction, _message: None)
    moment = ctx.now() if now is None else now
    told(0.02, "counting the outcomes since the active model was trained")
    with ctx.db.read() as conn:
        active = stored_models.find(conn)
        total = stored_training.count_decided(conn)
        new = (
            None if active is None else stored_training.leads_decided_since(conn, active.created_at)
        )
    decision = Decision(
        decision="skipped",
        why="",
        run=reason,
        force=force,
        outcomes=total,
        new_outcomes=new,
        min_new_outcomes=settings.retrain_min_new_outcomes,
        min_auc_gain=settings.retrain_min_auc_gain,
        active_version=None if active is None else active.version,
    )
    if active is None:
        decision.trigger = ["no active model"]
        return _first_model(ctx, decision, actor, moment, folds, told, on_decided)
    decision.champion = {"version": active.version}
    decision.drifted = _drifted_features(ctx, active.version)
    decision.decayed = _decayed(ctx, active.version)
    if new is not None and new >= settings.retrain_min_new_outcomes:
        decision.trigger.append("new outcomes")
    if decision.drifted:
        decision.trigger.append("drift")
    if decision.decayed:
        decision.trigger.append("decay")
    if force:
        decision.trigger.append("forced")
    if not decision.trigger:
        decision.why = (
            f"{new} new outcomes since version {active.version} was trained, fewer than "
            f"{settings.retrain_min_new_outcomes}, no drift and no decay: nothing to learn yet"
        )
        return _record(ctx, decision, actor, moment, on_decided)
    return _challenge(ctx, decision, active.version, actor, moment, folds, told, on_decided)


def _first_model(
    ctx: Context,
    decision: Decision,
    actor: str,
    moment: int,
    folds: int | None,
    told: Progress,
    on_decided: Decided | None,
) -> Decision:
    """No champion: train on every outcome and activate it if it trains."""
    told(0.1, "no active model: training one on every outcome")

    def saved(conn: Connection, version: dict[str, Any]) -> None:
        summary = version["summary"]
        decision.decision = "activated"
        decision.active_version = version["version"]
        decision.challenger = {
            "version": version["version"],
            "rows": summary["rows"],
            "estimator": summary["estimator"],
            "roc_auc": summary["roc_auc"],
            "brier": summary["brier"],
            "figures": "cross-validated: there is no champion to compare on a holdout",
        }
        decision.why = f"no active model: version {version['version']}, trained on every outcome"
        _write(conn, decision, actor, moment, on_decided)

    try:
        predictions.train(
            ctx,
            actor=actor,
            folds=folds,
            activate=True,
            progress=_within(told, 0.1, 0.95),
            on_saved=saved,
        )
    except MLInputError as exc:
        decision.why = f"no active model, and none could be trained: {exc}"
        return _record(ctx, decision, actor, moment, on_decided)
    return decision


def _challenge(
    ctx: Context,
    decision: Decision,
    champion_version: int,
    actor: str,
    moment: int,
    folds: int | None,
    told: Progress,
    on_decided: Decided | None,
) -> Decision:
    """Train a challenger before the holdout cut, judge both on the holdout, and activate a
    winner refitted on every outcome."""
    from leadscore.ml.store_model import Predictor
    from leadscore.ml.store_training import train_from_history

    settings = ctx.settings
    told(0.05, "reading the store's leads, events and outcomes")
    with ctx.db.read() as conn:
        history = History(*stored_training.read_history(conn))
        champion = predictions.load_predictor(conn, champion_version)
    split = rule.cut(history.outcomes, settings.retrain_holdout_share, settings.retrain_holdout_min)
    if split is None:
        decision.decision = "kept"
        decision.why = (
            f"too few outcomes to judge a challenger: {history.outcomes.height} leads with an "
            f"outcome, and the holdout of the newest {settings.retrain_holdout_min} or more "
            f"must leave at least {settings.retrain_holdout_min} to learn from"
        )
        return _record(ctx, decision, actor, moment, on_decided)
    holdout_rows = _subset(history, split.holdout)
    y = (holdout_rows.outcomes["outcome"] == POSITIVE).to_numpy().astype(int)
    decision.holdout = {
        "rows": len(split.holdout),
        "converted": int(y.sum()),
        "first_outcome_at": None if split.starts_at is None else format_timestamp(split.starts_at),
        "last_outcome_at": format_timestamp(int(holdout_rows.outcomes["occurred_at"].max())),  # type: ignore[arg-type]
        "trained_on": len(split.train),
    }
    if not 0 < y.sum() < len(y):
        decision.decision = "kept"
        decision.why = "the holdout of the newest outcomes holds only one kind of outcome"
        return _record(ctx, decision, actor, moment, on_decided)

    told(0.1, f"training the challenger on the {len(split.train):,} older outcomes")
    trained_at = format_timestamp(moment - moment % 1_000_000)
    try:
        trained = train_from_history(
            _subset(history, split.train), trained_at=trained_at, folds=folds
        )
    except MLInputError as exc:
        decision.decision = "kept"
        decision.why = f"the challenger could not be trained on the older outcomes: {exc}"
        return _record(ctx, decision, actor, moment, on_decided)
    told(0.45, f"scoring the {len(split.holdout):,} newest outcomes with both models")
    challenger = Predictor(0, "challenger", trained.card, trained.meta, trained.model, trained.prep)
    decision.challenger = {
        **_figures(challenger, holdout_rows, y),
        "rows": len(split.train),
        "estimator": trained.card.get("model", {}).get("chosen"),
    }
    if champion is None:  # pragma: no cover - the active version vanished between two reads
        decision.champion = {"version": champion_version, "error": "no longer stored"}
        wins, why = True, "the champion is no longer stored"
    else:
        try:
            decision.champion = {
                "version": champion_version,
                **_figures(champion, holdout_rows, y),
                "rows": champion.card.get("data", {}).get("rows_used"),
                "estimator": champion.card.get("model", {}).get("chosen"),
            }
        except MLInputError as exc:  # e.g. a LightGBM model on a server without LightGBM
            decision.champion = {"version": champion_version, "error": str(exc)}
            wins, why = True, f"the champion cannot score on this server: {exc}"
        else:
            wins, why = rule.verdict(
                decision.champion, decision.challenger, settings.retrain_min_auc_gain
            )
    if not wins:
        decision.decision = "kept"
        decision.why = f"version {champion_version} stays active: {why}"
        return _record(ctx, decision, actor, moment, on_decided)

    told(0.55, f"refitting the winner on all {history.outcomes.height:,} outcomes")
    try:
        refit = train_from_history(history, trained_at=trained_at, folds=folds)
    except MLInputError as exc:  # pragma: no cover - the older part trained, the whole should
        decision.decision = "kept"
        decision.why = f"the challenger won ({why}) but its refit failed: {exc}"
        return _record(ctx, decision, actor, moment, on_decided)
    refit.card["retraining"] = {
        "champion": decision.champion,
        "challenger": decision.challenger,
        "holdout": decision.holdout,
        "why": why,
    }
    told(0.95, "storing and activating the new version")

    def work(conn: Connection) -> Decision:
        version = predictions.save_version(
            conn,
            model=refit.model,
            meta=refit.meta,
            card=refit.card,
            name=champion.name if champion is not None else predictions.DEFAULT_NAME,
            created_at=moment,
            created_by=actor,
            activate=True,
        )
        assert decision.challenger is not None
        decision.challenger["version"] = version
        decision.decision = "activated"
        decision.active_version = version
        decision.why = (
            f"version {version} (the challenger refitted on all {history.outcomes.height} "
            f"outcomes) replaces version {champion_version}: {why}"
        )
        _write(conn, decision, actor, moment, on_decided)
        return decision

    return ctx.db.transact(work)


def _within(told: Progress, start: float, end: float) -> Progress:
    """Progress of a step that spans [start, end] of the run."""
    return lambda fraction, message: told(start + (end - start) * fraction, message)


def _subset(history: History, ids: list[str]) -> History:
    """The part of `history` about the leads `ids`, outcomes in the order of `ids`."""
    wanted = pl.DataFrame({"lead_id": ids}, schema={"lead_id": pl.String})
    outcomes = wanted.join(history.outcomes, on="lead_id", how="left", maintain_order="left")
    leads = wanted.rename({"lead_id": "id"}).join(
        history.leads, on="id", how="left", maintain_order="left"
    )
    events = history.events.filter(pl.col("lead_id").is_in(ids))
    return History(leads=leads, outcomes=outcomes, events=events)


def _figures(model: Any, rows: History, y: Any) -> dict[str, Any]:
    """ROC AUC, PR AUC, log loss and Brier score of `model` on `rows`, each lead scored as
    of its outcome's time (events before it only)."""
    from leadscore.ml import metrics

    cutoffs = rows.outcomes.select("lead_id", pl.col("occurred_at").alias("cutoff"))
    scored = model.predict_at(rows.leads, rows.events, cutoffs, with_reasons=False)
    p = scored["probability"].to_numpy()
    figures = metrics.summary(y, p)
    keep = ("roc_auc", "pr_auc", "log_loss", "brier", "calibration_error")
    return {k: None if figures[k] is None else round(float(figures[k]), 6) for k in keep}


def _record(
    ctx: Context, decision: Decision, actor: str, moment: int, on_decided: Decided | None
) -> Decision:
    ctx.db.transact(lambda conn: _write(conn, decision, actor, moment, on_decided))
    return decision


def _write(
    conn: Connection, decision: Decision, actor: str, moment: int, on_decided: Decided | None
) -> None:
    target = None if decision.active_version is None else str(decision.active_version)
    details = decision.as_dict()
    audit.record(conn, moment, actor, ACTION, target, **details)
    log.info("retraining (%s): %s: %s", decision.run, decision.decision, decision.why)
    if on_decided is not None:
        on_decided(conn, {**details, "decided_at": format_timestamp(moment), "actor": actor})


def decisions(ctx: Context, *, cursor: str | None = None, limit: int = 20) -> dict[str, Any]:
    """The recorded decisions, newest first, one page, and the cursor of the next: the audit
    log's `predictive.retrain` entries (service/audit.py pages them), without the client IP."""
    page = audit_log.entries(ctx, action=ACTION, cursor=cursor, limit=limit)
    data = [
        {"id": e["id"], "decided_at": e["at"], "actor": e["actor"], **e["details"]}
        for e in page["data"]
    ]
    return {"data": data, "next_cursor": page["next_cursor"]}
