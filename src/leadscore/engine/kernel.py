"""`score_frame`: the reference scorer of core/evaluate.py for whole tables (SPEC §5).

Every step mirrors the reference with the same floating-point operations in the same order
(rule totals in rule order, groups in declaration order, `100.0 * points / max`,
`weight * fit + weight * engagement`, Python's `min`/`max` for clamps), so that the results
are equal to the reference bit for bit; rounding is Python's `round(x, 2)` exactly
(engine/rounding.py). Inputs are Polars frames:

- leads: `id`, optional `email`, attribute columns of any type;
- events: `lead_id`, `type`, `occurred_at` (Int64 epoch µs, Datetime, Date or ISO text),
  optional `id` and `source`, property columns (`url` or `properties.url`).

Events are taken as given: the §3 rule that a repeated event id counts once is applied by the
readers (engine/frames.py) and by the Spark job before scoring. Events of unknown leads and
events after `as_of` are ignored.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl

from leadscore.core.conditions import NoEvent
from leadscore.core.model import INF, Model, Section
from leadscore.engine.compile import Compiler
from leadscore.engine.engagement import EventTable, engagement_rules, no_event
from leadscore.engine.explain import explanation_column
from leadscore.engine.fields import (
    Frame,
    collect,
    event_table,
    lead_columns,
    lead_lookup,
    schema_of,
    text_ids,
)
from leadscore.engine.outcomes import RuleResult, SectionResult
from leadscore.engine.rounding import first_at_or_below, round2
from leadscore.engine.schema import SCORE_SCHEMA


def score_frame(
    leads: Frame,
    events: Frame | None,
    model: Model,
    as_of: int,
    explain: bool = False,
    *,
    adjustments: np.ndarray | None = None,
    event_leads: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
) -> pl.DataFrame:
    """Score every lead at `as_of` (epoch µs); one row per lead, in the order of `leads`.

    Columns: lead_id, score, fit, engagement, grade, tier, stage; with `explain`, also
    fit_points, engagement_points and `explanation` (a list of structs, the contributions of
    core/evaluate.py in the same order).

    `adjustments` (the store's recompute): per lead, the sum of its manual adjustments'
    points, computed as the reference computes it (`sum(points)`); they add to the total
    before the final clamp. `event_leads`: the index in `leads` of each event's lead, for a
    caller that already knows it (the store reads events by lead key); events then need no
    `lead_id` column. `probabilities`: per lead, the predicted probability blended into the
    total when the model says `predictive` (§7); NaN where a lead has none.
    """
    if explain and adjustments is not None:
        raise ValueError("explanations with adjustments are the reference scorer's job")
    leads_frame = collect(leads, lead_columns(model, schema_of(leads).names()))
    ids = text_ids(leads_frame["id"]) if "id" in leads_frame.columns else None
    if ids is None:
        raise ValueError("the leads frame has no id column")
    if ids.null_count():
        raise ValueError("every lead needs a non-empty id")
    if ids.is_duplicated().any():
        raise ValueError(f"lead id {ids.filter(ids.is_duplicated())[0]!r} repeats")
    n = len(ids)
    tables: list[EventTable] = []

    def resolve_no_event(node: NoEvent) -> np.ndarray:
        return no_event(tables[0], node)

    compiler = Compiler(lead_lookup(leads_frame, ids), n, as_of, resolve_no_event)
    # Leads and events are independent until the stages: on two threads (numpy and Polars
    # release the GIL for array work), fit runs while the events are prepared.
    with ThreadPoolExecutor(max_workers=2) as pool:
        fitting = pool.submit(_fit, model, compiler, n)
        tables.append(event_table(events, ids, model, as_of, event_leads))
        rules = engagement_rules(model, tables[0], pool)
        fit = fitting.result()
    engagement = _section(model, model.engagement, rules, n)
    assert fit.points is not None and engagement.points is not None  # _section sets them
    fit_value, engagement_value, total, unclamped = combine(model, fit.points, engagement.points)
    blend = _blend(model, probabilities, n)
    if blend is not None:
        weight, blended, p = blend
        unclamped = np.where(blended, (1.0 - weight) * unclamped + weight * (100.0 * p), unclamped)
        total = clamp(unclamped + 0.0, 0.0, 100.0)
    if adjustments is not None:
        unclamped = unclamped + np.asarray(adjustments, dtype=np.float64)
        total = clamp(unclamped, 0.0, 100.0) if model.combine == "weighted" else unclamped
    score, fit_score, engagement_score = round2(total), round2(fit_value), round2(engagement_value)
    output = {
        "lead_id": ids,
        "score": score,
        "fit": fit_score,
        "engagement": engagement_score,
        "grade": _names(list(model.grades), first_at_or_below(model.grades, fit_score)),
        "tier": _names(list(model.tiers), first_at_or_below(model.tiers, score)),
        "stage": _names([s.name for s in model.stages], _stages(model, compiler, score)),
    }
    frame = pl.DataFrame(output, schema=SCORE_SCHEMA)
    if explain:
        frame = frame.with_columns(
            fit_points=pl.Series(fit.points, dtype=pl.Float64),
            engagement_points=pl.Series(engagement.points, dtype=pl.Float64),
            explanation=explanation_column(model, fit, engagement, total, unclamped, blend),
        )
    return frame


# --- sections -----------------------------------------------------------------------------


def _fit(model: Model, compiler: Compiler, n: int) -> SectionResult:
    rules = []
    masks = compiler.evaluate_all([rule.when for rule in model.fit.rules])
    for rule, holds in zip(model.fit.rules, masks, strict=True):
        rules.append(
            RuleResult(
                rule.id, rule.group, holds.astype(np.int64), np.where(holds, rule.points, 0.0)
            )
        )
    return _section(model, model.fit, rules, n)


def clamp(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """`max(low, min(high, value))` with Python's tie and NaN behaviour."""
    inner = values if high == INF else np.where(values < high, values, high)
    return inner if low == -INF else np.where(inner > low, inner, low)


def _section(model: Model, section: Section, rules: list[RuleResult], n: int) -> SectionResult:
    """Rule caps → group clamps → section sum → section clamp, in the reference's order."""
    result = SectionResult(rules=rules, capped=[])
    bounds = {r.id: r.bounds for r in getattr(section, "rules", []) if hasattr(r, "bounds")}
    grouped = {name: np.zeros(n) for name in section.groups}
    ungrouped = np.zeros(n)
    for rule in rules:
        capped = rule.raw  # 0.0 where the rule did not count
        if rule.rule_id in bounds and bounds[rule.rule_id] != (-INF, INF):
            capped = np.where(rule.occurrences > 0, clamp(rule.raw, *bounds[rule.rule_id]), 0.0)
        result.capped.append(capped)
        # 0.0 + x == x and x + 0.0 == x: adding the rules that did not count changes nothing.
        total = ungrouped if rule.group is None else grouped[rule.group]
        np.add(total, capped, out=total)
    summed = ungrouped
    for name, total in grouped.items():
        clamped = clamp(total, *section.groups[name].bounds)
        result.groups[name] = (total, clamped)
        summed = summed + clamped
    result.summed = summed
    result.points = clamp(summed, *model.section_bounds(section))
    return result


def combine(
    model: Model, fit_points: np.ndarray, engagement_points: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(fit, engagement, total, unclamped) as evaluate.combine and score_lead give them."""
    if model.combine == "sum":
        total = fit_points + engagement_points
        unclamped = total + 0.0
        return fit_points, engagement_points, unclamped, unclamped
    # Weighted: both sections have a weight and a max (core.model.cross_field_errors).
    assert model.fit.max is not None and model.engagement.max is not None
    assert model.fit.weight is not None and model.engagement.weight is not None
    fit = 100.0 * fit_points / model.fit.max
    engagement = 100.0 * engagement_points / model.engagement.max
    total = model.fit.weight * fit + model.engagement.weight * engagement
    unclamped = total + 0.0
    return fit, engagement, clamp(unclamped, 0.0, 100.0), unclamped


def _blend(
    model: Model, probabilities: np.ndarray | None, n: int
) -> tuple[float, np.ndarray, np.ndarray] | None:
    """(weight, which leads are blended, their probabilities) or None (`Model.blend`)."""
    if model.blend is None or probabilities is None:
        return None
    p = np.asarray(probabilities, dtype=np.float64)
    if len(p) != n:
        raise ValueError("probabilities must give one value (or NaN) per lead")
    blended = ~np.isnan(p)
    return model.blend, blended, np.where(blended, p, 0.0)


def _stages(model: Model, compiler: Compiler, score: np.ndarray) -> np.ndarray:
    out = np.full(len(score), -1, dtype=np.int64)
    whens = [stage.when for stage in model.stages if stage.when is not None]
    holds = iter(compiler.evaluate_all(whens))
    masks = [None if stage.when is None else next(holds) for stage in model.stages]
    for i in reversed(range(len(model.stages))):
        stage = model.stages[i]
        ok = np.ones(len(score), dtype=bool)
        if stage.min_score is not None:
            ok &= ~(stage.min_score > score)
        if masks[i] is not None:
            ok &= masks[i]
        out[ok] = i
    return out


def _names(names: list[str], index: np.ndarray) -> pl.Series:
    lookup = pl.Series(names + [None], dtype=pl.String)
    return lookup.gather(np.where(index < 0, len(names), index))
