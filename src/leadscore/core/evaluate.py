"""The reference scorer for one lead (SPEC §2.3–§2.6): written for clarity, the oracle that
every faster engine must match. Pure: no I/O, no clock; `as_of` is a parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from leadscore.core.conditions import EvalContext
from leadscore.core.explain import Adjustment, Contribution, ScoreResult, report
from leadscore.core.grading import grade_for, stage_for, tier_for
from leadscore.core.model import INF, EngagementRule, FitRule, Model, Section
from leadscore.core.records import Event, Lead


@dataclass
class RuleOutcome:
    """What one rule gave before any group or section clamp."""

    rule_id: str
    group: str | None
    occurrences: int
    raw: float
    capped: float


@dataclass
class SectionOutcome:
    rules: list[RuleOutcome] = field(default_factory=list)
    group_totals: dict[str, tuple[float, float]] = field(default_factory=dict)
    """group → (sum of its rules, clamped)."""
    summed: float = 0.0
    points: float = 0.0
    """The section's points after its own clamp."""


def score_lead(
    model: Model,
    lead: Lead,
    events: Iterable[Event],
    as_of: int,
    adjustments: Sequence[Adjustment] = (),
    probability: float | None = None,
) -> ScoreResult:
    """Score one lead at `as_of` (epoch µs). Events after `as_of` are ignored.

    `probability`: the lead's predicted probability of converting, blended into the total
    when the model says `predictive` (§7); without one the rule total stands."""
    past = sorted((e for e in events if e.occurred_at <= as_of), key=lambda e: e.occurred_at)
    ctx = EvalContext(as_of=as_of, events=past)
    fit = fit_outcome(model, [rule for rule in model.fit.rules if rule.when.holds(lead.get, ctx)])
    engagement = engagement_outcome(
        model, as_of, lambda _, rule: [e.occurred_at for e in past if matches(rule, e, ctx)]
    )
    totals = Totals.of(model, fit.points, engagement.points, adjustments, probability)
    contributions = explanation_lines(
        model,
        fit,
        engagement,
        adjustments,
        totals.unclamped,
        totals.total,
        totals.blend,
        probability,
    )
    return report(
        lead_id=lead.id,
        total=totals.total,
        fit=totals.fit,
        engagement=totals.engagement,
        fit_points=fit.points,
        engagement_points=engagement.points,
        contributions=contributions,
        decide=lambda score, fit_score: (
            grade_for(model, fit_score),
            tier_for(model, score),
            stage_for(model, lead, ctx, score),
        ),
    )


@dataclass(frozen=True, slots=True)
class Totals:
    """The section points combined (§2.5), blended (§7), adjusted and clamped: unrounded."""

    fit: float
    engagement: float
    blend: float | None
    """The predictive weight applied; None when no probability was blended."""
    unclamped: float
    """The total after the blend and the adjustments, before the final clamp."""
    total: float

    @classmethod
    def of(
        cls,
        model: Model,
        fit_points: float,
        engagement_points: float,
        adjustments: Sequence[Adjustment] = (),
        probability: float | None = None,
    ) -> Totals:
        fit_value, engagement_value, total = combine(model, fit_points, engagement_points)
        blend = None if probability is None else model.blend
        if blend is not None:
            assert probability is not None  # blend is None without a probability
            total = (1.0 - blend) * total + blend * (100.0 * probability)
        unclamped = total + sum(a.points for a in adjustments)
        total = max(0.0, min(100.0, unclamped)) if model.combine == "weighted" else unclamped
        return cls(fit_value, engagement_value, blend, unclamped, total)


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


# --- fit (§2.3) -------------------------------------------------------------------------


def fit_outcome(model: Model, held: Iterable[FitRule]) -> SectionOutcome:
    """The fit section from the rules whose `when` holds (in the model's order)."""
    outcome = SectionOutcome()
    for rule in held:
        outcome.rules.append(RuleOutcome(rule.id, rule.group, 1, rule.points, rule.points))
    _clamp_section(model, model.fit, outcome)
    return outcome


def _clamp_section(model: Model, section: Section, outcome: SectionOutcome) -> None:
    """Rule totals → group clamps → section sum → section clamp (§2.3, §2.4)."""
    grouped: dict[str, float] = dict.fromkeys(section.groups, 0.0)
    ungrouped = 0.0
    for rule in outcome.rules:
        if rule.group is None:
            ungrouped += rule.capped
        else:
            grouped[rule.group] += rule.capped
    summed = ungrouped
    for name, total in grouped.items():
        clamped = clamp(total, *section.groups[name].bounds)
        outcome.group_totals[name] = (total, clamped)
        summed += clamped
    outcome.summed = summed
    outcome.points = clamp(summed, *model.section_bounds(section))


# --- engagement (§2.4) ------------------------------------------------------------------


MatchingTimes = Callable[[int, EngagementRule], Sequence[int]]
"""(index, rule) → the times of the lead's events the rule matches, ascending, ≤ as_of."""


def engagement_outcome(model: Model, as_of: int, matching: MatchingTimes) -> SectionOutcome:
    """The engagement section at `as_of`, from each rule's matching event times."""
    outcome = SectionOutcome()
    for index, rule in enumerate(model.engagement.rules):
        times = matching(index, rule)
        if rule.inactive_for is not None:
            start = as_of - rule.inactive_for
            if times and start < times[-1]:  # ascending: the latest is the last
                continue
            occurrences, raw = 1, rule.points
        elif not times:
            continue  # nothing to award: rule_award would give (0, 0)
        else:
            occurrences, raw = rule_award(rule, times, as_of)
        if occurrences:
            capped = clamp(raw, *rule.bounds)
            outcome.rules.append(RuleOutcome(rule.id, rule.group, occurrences, raw, capped))
    _clamp_section(model, model.engagement, outcome)
    return outcome


def matches(rule: EngagementRule, event: Event, ctx: EvalContext) -> bool:
    """Whether `event` is of the rule's types and satisfies its `where`."""
    if rule.event is not None and event.type not in rule.event:
        return False
    return rule.where is None or rule.where.holds(event.get, ctx)


def rule_award(rule: EngagementRule, times: Sequence[int], as_of: int) -> tuple[int, float]:
    """(awards counted, raw points) of an event rule over its matching times (sorted, ≤ as_of)."""
    if rule.expires_after is not None:
        times = [t for t in times if as_of - t < rule.expires_after]
    if rule.count is None:
        awarded = list(times)
    else:
        awarded = count_windows(times, rule.count.at_least, rule.count.within)
    if rule.once:
        awarded = awarded[:1]
    return len(awarded), sum(decayed(rule.points, as_of - t, rule.half_life) for t in awarded)


def count_windows(times: Sequence[int], at_least: int, within: int) -> list[int]:
    """Greedy count windows of §2.4: the time of the N-th occurrence of each awarding window."""
    awards: list[int] = []
    start = 0
    while start + at_least - 1 < len(times):
        last = times[start + at_least - 1]
        if last - times[start] <= within:
            awards.append(last)
            start += at_least
        else:
            start += 1
    return awards


def decayed(points: float, age: int, half_life: int | None) -> float:
    """points × 0.5^(age ÷ half_life); undecayed without a half-life."""
    if half_life is None:
        return points
    result: float = points * 0.5 ** (age / half_life)  # float ** float is typed Any
    return result


# --- combination (§2.5) -----------------------------------------------------------------


def scale(model: Model, section: Section) -> float:
    """Factor from a section's points to its share of the total."""
    if model.combine == "sum":
        return 1.0
    assert section.max is not None  # required when combine is weighted (cross_field_errors)
    return (section.weight or 0.0) * 100.0 / section.max


def combine(
    model: Model, fit_points: float, engagement_points: float
) -> tuple[float, float, float]:
    """(fit, engagement, total before adjustments and the final clamp)."""
    if model.combine == "sum":
        return fit_points, engagement_points, fit_points + engagement_points
    # Weighted: both sections have a weight and a max (cross_field_errors requires them).
    assert model.fit.max is not None and model.engagement.max is not None
    assert model.fit.weight is not None and model.engagement.weight is not None
    fit = 100.0 * fit_points / model.fit.max
    engagement = 100.0 * engagement_points / model.engagement.max
    return fit, engagement, model.fit.weight * fit + model.engagement.weight * engagement


def explanation_lines(
    model: Model,
    fit: SectionOutcome,
    engagement: SectionOutcome,
    adjustments: Sequence[Adjustment],
    unclamped: float,
    total: float,
    blend: float | None = None,
    probability: float | None = None,
) -> list[Contribution]:
    """Every rule's share of the total, and each clamp's, adding up to the total (§2.6).
    Blended, the rules' lines shrink by (1 − weight) and a `predictive` line adds the rest."""
    lines: list[Contribution] = []
    for name, section, outcome in (
        ("fit", model.fit, fit),
        ("engagement", model.engagement, engagement),
    ):
        factor = scale(model, section)
        if blend is not None:
            factor = factor * (1.0 - blend)
        group_cuts = {
            g: after - before
            for g, (before, after) in outcome.group_totals.items()
            if after != before
        }
        section_cut = outcome.points - outcome.summed
        for rule in outcome.rules:
            cut_by = []
            if rule.capped != rule.raw:
                cut_by.append("rule")
            if rule.group in group_cuts and _against(group_cuts[rule.group], rule.capped):
                cut_by.append(f"group:{rule.group}")
            if section_cut and _against(section_cut, rule.capped):
                cut_by.append(name)
            lines.append(
                Contribution(
                    kind="rule",
                    id=rule.rule_id,
                    section=name,
                    group=rule.group,
                    occurrences=rule.occurrences,
                    raw=rule.raw,
                    capped=rule.capped,
                    cut_by=tuple(cut_by),
                    score=rule.capped * factor,
                )
            )
        for group, delta in group_cuts.items():
            lines.append(
                Contribution(
                    kind="cap",
                    id=f"group:{group}",
                    section=name,
                    group=group,
                    raw=outcome.group_totals[group][0],
                    capped=outcome.group_totals[group][1],
                    score=delta * factor,
                )
            )
        if section_cut:
            lines.append(
                Contribution(
                    kind="cap",
                    id=name,
                    section=name,
                    raw=outcome.summed,
                    capped=outcome.points,
                    score=section_cut * factor,
                )
            )
    if blend is not None:
        # A blend comes from the model's `predictive` section and a lead's probability.
        assert model.predictive is not None and probability is not None
        lines.append(
            Contribution(
                kind="predictive",
                id=f"model:{model.predictive.model}",
                raw=probability,
                capped=probability,
                score=blend * (100.0 * probability),
            )
        )
    for adjustment in adjustments:
        lines.append(
            Contribution(
                kind="adjustment",
                id=adjustment.id,
                raw=adjustment.points,
                capped=adjustment.points,
                score=adjustment.points,
                reason=adjustment.reason,
            )
        )
    if total != unclamped:
        lines.append(
            Contribution(
                kind="cap", id="total", raw=unclamped, capped=total, score=total - unclamped
            )
        )
    return lines


def _against(cut: float, contribution: float) -> bool:
    """A clamp that lowered a total cut the positive contributions, and vice versa."""
    return (cut < 0 < contribution) or (contribution < 0 < cut)


__all__ = ["score_lead", "rule_award", "count_windows", "decayed", "scale", "clamp", "INF"]
