"""`suggest`: new rule points and MQL/SQL thresholds from history, with the evidence.

1. Score every decided lead just before its outcome; read each rule's feature (`features`).
2. Fit an L2 logistic regression of converted on the features (`fitting`).
3. Turn coefficients into points, one scale per section (`points`).
4. Cross-validate steps 2–3 on folds of leads and score each held-out fold with the model
   fitted without it: the "after" AUC is never measured on the leads it was fitted to.
5. Rescore the history with the new model and choose thresholds (`thresholds`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from sklearn.model_selection import StratifiedKFold

from leadscore.core.evaluate import score_lead
from leadscore.core.model import Model
from leadscore.tuning.errors import TuningError
from leadscore.tuning.features import FeatureTable, feature_table
from leadscore.tuning.fitting import fit_logistic, folds_for
from leadscore.tuning.history import History
from leadscore.tuning.metrics import Band, auc, bands_for
from leadscore.tuning.points import GroupChange, RuleChange, apply, propose
from leadscore.tuning.replay import replay
from leadscore.tuning.thresholds import Threshold, choose

Progress = Callable[[int], None]
T = TypeVar("T")


@dataclass
class Suggestion:
    before: Model
    after: Model
    rules: list[RuleChange]
    groups: list[GroupChange]
    mql: Threshold
    sql: Threshold
    old_thresholds: dict[str, float | None]
    decided: int
    converted: int
    auc_before: float
    auc_after: float
    """In-sample: the suggested model on the leads it was fitted to."""
    auc_after_cv: float
    """Out of fold: each lead scored by a model fitted without it."""
    folds: int
    C: float
    bands_before: list[Band]
    bands_after: list[Band]
    weeks: float
    notes: list[str] = field(default_factory=list)

    @property
    def thresholds(self) -> dict[str, float]:
        """The new thresholds to write (a stage with none keeps its old value)."""
        return {t.stage: t.value for t in (self.mql, self.sql) if t.value is not None}


def check_labels(y: np.ndarray) -> None:
    """Both outcomes are needed, at least two of each to cross-validate."""
    if y.size == 0:
        raise TuningError("no decided leads: the outcomes file has no converted or lost lead")
    converted = int(y.sum())
    if converted == 0 or converted == y.size:
        word = "converted" if converted else "lost"
        raise TuningError(f"all {y.size} decided leads are {word}: both outcomes are needed")
    if min(converted, y.size - converted) < 2:
        raise TuningError("at least 2 converted and 2 lost leads are needed to cross-validate")


def suggest(
    model: Model,
    history: History,
    *,
    target_precision: float | None = None,
    capacity: float | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> Suggestion:
    """Everything `leadscore suggest` reports; writes nothing."""
    table = feature_table(model, history, progress)
    check_labels(table.y)
    fit = fit_logistic(table.X, table.y, seed)
    changes, groups = propose(model, table.specs, fit, table.X, table.y)
    after = apply(model, changes, groups)
    oof, folds = _out_of_fold(model, history, table, seed, progress)
    after_scores = _scores(after, history, progress)
    weighted = model.combine == "weighted"
    peaks = _peaks(after, history, progress) if capacity is not None else None
    mql, sql = choose(
        after_scores,
        table.y,
        weighted=weighted,
        target_precision=target_precision,
        capacity=capacity,
        peaks=peaks,
        weeks=history.weeks,
    )
    scale = "percent" if weighted else "quantile"
    return Suggestion(
        before=model,
        after=after,
        rules=changes,
        groups=groups,
        mql=mql,
        sql=sql,
        old_thresholds=old_thresholds(model),
        decided=int(table.y.size),
        converted=int(table.y.sum()),
        auc_before=auc(table.y, table.scores),
        auc_after=auc(table.y, after_scores),
        auc_after_cv=auc(table.y, oof),
        folds=folds,
        C=fit.C,
        bands_before=bands_for(table.scores, table.y, scale),
        bands_after=bands_for(after_scores, table.y, scale),
        weeks=history.weeks,
        notes=_stage_notes(model),
    )


def _out_of_fold(
    model: Model, history: History, table: FeatureTable, seed: int, progress: Progress | None
) -> tuple[np.ndarray, int]:
    """Each decided lead's score under the model suggested from the other folds."""
    folds = folds_for(table.y)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    leads = history.decided
    oof = np.zeros(table.y.size)
    for train, test in splitter.split(table.X, table.y):
        fit = fit_logistic(table.X[train], table.y[train], seed)
        changes, groups = propose(model, table.specs, fit, table.X[train], table.y[train])
        fold_model = apply(model, changes, groups)
        for i in test:
            lead = leads[i]
            events = history.events.get(lead.id, ())
            oof[i] = score_lead(fold_model, lead, events, history.stop(lead.id)).score
            if progress is not None:
                progress(1)
    return oof, folds


def _scores(model: Model, history: History, progress: Progress | None) -> np.ndarray:
    return np.array(
        [
            score_lead(model, lead, history.events.get(lead.id, ()), history.stop(lead.id)).score
            for lead in _ticking(history.decided, progress)
        ]
    )


def _peaks(model: Model, history: History, progress: Progress | None) -> np.ndarray:
    """Each lead's highest score at its event times (all leads: the SQL volume)."""
    return np.array(
        [
            replay(model, lead, history.events.get(lead.id, ()), history.stop(lead.id)).peak
            for lead in _ticking(history.leads, progress)
        ]
    )


def _ticking(items: Iterable[T], progress: Progress | None) -> Iterator[T]:
    for item in items:
        yield item
        if progress is not None:
            progress(1)


def old_thresholds(model: Model) -> dict[str, float | None]:
    """The first `min_score` of each stage named mql / sql (any case)."""
    found: dict[str, float | None] = {}
    for stage in model.stages:
        name = stage.name.lower()
        if name in ("mql", "sql") and name not in found:
            found[name] = stage.min_score
    return found


def _stage_notes(model: Model) -> list[str]:
    names = [s.name.lower() for s in model.stages]
    notes = [
        f"the model has no stage named {name}: its threshold is reported, not written"
        for name in ("mql", "sql")
        if name not in names
    ]
    if "mql" in names and "sql" in names and names.index("sql") > names.index("mql"):
        notes.append("stage sql is listed after mql: first match wins, so leads stop at mql")
    return notes
