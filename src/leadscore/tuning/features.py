"""Rule features from explanations: what each rule "saw" for a lead, independent of its points.

A fit or inactivity rule is 1 when it holds, else 0. An event rule is its capped contribution
÷ its points: the decayed, capped number of occurrences. Scaling a rule's points and caps by
the same positive ratio leaves its feature unchanged, so a regression on these features says
how many points each rule deserves. Features are read from the reference scorer's own
explanation, so they follow every detail of §2.4 (decay, expiry, windows, `once`, caps).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from leadscore.core.evaluate import score_lead
from leadscore.core.explain import ScoreResult
from leadscore.core.model import EngagementRule, Model
from leadscore.tuning.history import History


@dataclass(frozen=True, slots=True)
class RuleSpec:
    id: str
    section: str
    """fit or engagement."""
    kind: str
    """fit, event or inactivity."""
    index: int
    """Position in its section's rules."""
    points: float
    group: str | None
    min: float | None = None
    max: float | None = None


def rule_specs(model: Model) -> list[RuleSpec]:
    """Every rule of the model, fit first, in the order written."""
    specs = [
        RuleSpec(r.id, "fit", "fit", i, r.points, r.group) for i, r in enumerate(model.fit.rules)
    ]
    for i, rule in enumerate(model.engagement.rules):
        kind = "inactivity" if rule.inactive_for is not None else "event"
        specs.append(
            RuleSpec(rule.id, "engagement", kind, i, rule.points, rule.group, rule.min, rule.max)
        )
    return specs


def probe_model(model: Model) -> Model:
    """The model with each 0-point event rule worth 1 point, uncapped, so that its
    occurrences can be counted; every other rule is unchanged."""

    def silent(rule: EngagementRule) -> bool:
        return rule.points == 0 and rule.inactive_for is None

    if not any(silent(r) for r in model.engagement.rules):
        return model
    rules = [
        r.model_copy(update={"points": 1.0, "min": None, "max": None}) if silent(r) else r
        for r in model.engagement.rules
    ]
    return model.model_copy(
        update={"engagement": model.engagement.model_copy(update={"rules": rules})}
    )


def features_of(result: ScoreResult, specs: Sequence[RuleSpec], probe: Model) -> list[float]:
    """One feature per rule from a score's explanation under the probe model."""
    lines = {c.id: c for c in result.contributions if c.kind == "rule"}
    points = {r.id: r.points for r in probe.engagement.rules}
    row = []
    for spec in specs:
        line = lines.get(spec.id)
        if line is None:
            row.append(0.0)
        elif spec.kind != "event":
            row.append(1.0)
        else:
            row.append(line.capped / points[spec.id])
    return row


@dataclass(frozen=True)
class FeatureTable:
    lead_ids: list[str]
    X: np.ndarray
    """Decided leads × rules (in `specs` order)."""
    y: np.ndarray
    """1 converted, 0 lost."""
    scores: np.ndarray
    """The model's own total score of each lead at the same moment."""
    specs: list[RuleSpec]


def feature_table(
    model: Model, history: History, progress: Callable[[int], None] | None = None
) -> FeatureTable:
    """Score every decided lead just before its outcome; keep its score and rule features."""
    specs = rule_specs(model)
    probe = probe_model(model)
    ids, rows, scores = [], [], []
    for lead in history.decided:
        events, at = history.events.get(lead.id, ()), history.stop(lead.id)
        result = score_lead(model, lead, events, at)
        probed = result if probe is model else score_lead(probe, lead, events, at)
        ids.append(lead.id)
        rows.append(features_of(probed, specs, probe))
        scores.append(result.score)
        if progress is not None:
            progress(1)
    y = np.array(history.labels(), dtype=int)
    X = np.array(rows, dtype=float).reshape(len(ids), len(specs))
    return FeatureTable(ids, X, y, np.array(scores, dtype=float), specs)
