"""`backtest`: replay history under several models (and predictive scores) and compare them.

Per column: ROC AUC of the score just before each outcome against converted; conversion by
score band; the share of all leads that ever reached MQL (or SQL, which is above it) and SQL,
replayed at each event time up to the outcome or the data end (`replay`); and the median
days from first reaching SQL to conversion. A scores file (a predictive model's output) has
one score per lead and no stages: it joins the AUC and band comparison only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from leadscore.core.evaluate import score_lead
from leadscore.core.model import Model
from leadscore.tuning.errors import TuningError
from leadscore.tuning.history import DAY_US, History
from leadscore.tuning.metrics import Band, auc, bands_for
from leadscore.tuning.replay import Trace, replay

Progress = Callable[[int], None]


@dataclass
class Column:
    name: str
    kind: str
    """model or scores."""
    scored: int
    """Decided leads with a score in this column."""
    auc: float
    bands: list[Band]
    reached: dict[str, int] | None = None
    """mql / sql → leads that reached it (None for a scores file)."""
    stages: tuple[str, ...] = ()
    """Which of mql / sql the model has."""
    days_to_convert: float | None = None
    """Median days from first reaching SQL to conversion."""
    converted_via_sql: int = 0

    def to_dict(self, leads: int) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "scored": self.scored,
            "auc": round(self.auc, 6),
            "bands": [b.to_dict() for b in self.bands],
        }
        if self.reached is not None:
            data["qualification"] = {
                stage: {"leads": self.reached[stage], "rate": round(self.reached[stage] / leads, 6)}
                if stage in self.stages
                else None
                for stage in ("mql", "sql")
            }
            data["median_days_sql_to_conversion"] = (
                None if self.days_to_convert is None else round(self.days_to_convert, 3)
            )
            data["converted_via_sql"] = self.converted_via_sql
        return data


@dataclass
class Backtest:
    leads: int
    decided: int
    converted: int
    start: int
    end: int
    columns: list[Column]


def backtest(
    history: History,
    models: Sequence[tuple[str, Model]],
    scores: Sequence[tuple[str, Mapping[str, float]]] = (),
    progress: Progress | None = None,
) -> Backtest:
    """Compare `models` and score columns on the same history."""
    y = np.array(history.labels(), dtype=int)
    if y.size == 0:
        raise TuningError("no decided leads: the outcomes file has no converted or lost lead")
    if y.sum() in (0, y.size):
        word = "converted" if y.sum() else "lost"
        raise TuningError(f"all {y.size} decided leads are {word}: both outcomes are needed")
    columns = [_model_column(name, model, history, y, progress) for name, model in models]
    columns += [_scores_column(name, values, history) for name, values in scores]
    return Backtest(
        len(history.leads), int(y.size), int(y.sum()), history.start, history.end, columns
    )


def _model_column(
    name: str, model: Model, history: History, y: np.ndarray, progress: Progress | None
) -> Column:
    stages = tuple(s for s in ("mql", "sql") if s in {x.name.lower() for x in model.stages})
    until = stages[-1] if stages else None  # sql, else mql: nothing higher to look for
    final = []
    reached = dict.fromkeys(("mql", "sql"), 0)
    days = []
    for lead in history.leads:
        events, stop = history.events.get(lead.id, ()), history.stop(lead.id)
        trace = replay(model, lead, events, stop, until) if stages else Trace()
        if "sql" in trace.first:
            reached["sql"] += 1
        if "sql" in trace.first or "mql" in trace.first:
            reached["mql"] += 1
        outcome = history.outcomes.get(lead.id)
        if outcome is not None:
            final.append(score_lead(model, lead, events, stop).score)
            if outcome.converted and "sql" in trace.first:
                days.append((outcome.at - trace.first["sql"]) / DAY_US)
        if progress is not None:
            progress(1)
    scores = np.array(final)
    scale = "percent" if model.combine == "weighted" else "quantile"
    return Column(
        name,
        "model",
        int(y.size),
        auc(y, scores),
        bands_for(scores, y, scale),
        reached,
        stages,
        float(np.median(days)) if days else None,
        len(days),
    )


def _scores_column(name: str, values: Mapping[str, float], history: History) -> Column:
    pairs = [
        (values[lead.id], history.outcomes[lead.id].converted)
        for lead in history.decided
        if lead.id in values
    ]
    if not pairs:
        raise TuningError(f"{name}: no decided lead has a score in this file")
    scores = np.array([p[0] for p in pairs], dtype=float)
    y = np.array([p[1] for p in pairs], dtype=int)
    if y.sum() in (0, y.size):
        raise TuningError(f"{name}: the scored decided leads all have the same outcome")
    if scores.min() >= 0 and scores.max() <= 1:
        scale = "probability"
    elif scores.min() >= 0 and scores.max() <= 100:
        scale = "percent"
    else:
        scale = "quantile"
    return Column(name, "scores", int(y.size), auc(y, scores), bands_for(scores, y, scale))
