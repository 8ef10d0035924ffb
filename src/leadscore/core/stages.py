"""The model's stage of one lead at many times, cheaply (the lifecycle fold's inner loop,
docs/lifecycle.md).

`stages_at` gives, for every t, exactly `score_lead(model, lead, events, t, …).stage`: the
same functions of core/evaluate.py on the same values in the same order, so the results are
bit-identical, not close. What does not depend on t is done once: the events are sorted
once, each engagement rule whose `where` does not read the time is matched against each
event once (at t only the prefix of its matching times up to t is taken), and the fit
section is evaluated once when none of its conditions reads the time. Per t remain the
windows, expiry and decay (`rule_award`), the clamps, the combination, the blend, the
adjustments, the rounding of §2.5 and the stage conditions; a `no_event` whose `where` reads
no time looks up its events' times (found once) instead of scanning them. No explanation is
built.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence

from leadscore.core.conditions import EvalContext, NoEvent, walk
from leadscore.core.evaluate import (
    SectionOutcome,
    Totals,
    engagement_outcome,
    fit_outcome,
    matches,
)
from leadscore.core.explain import Adjustment, round2
from leadscore.core.grading import stage_for
from leadscore.core.model import EngagementRule, Model
from leadscore.core.records import Event, Lead


def stages_at(
    model: Model,
    lead: Lead,
    events: Iterable[Event],
    times: Sequence[int],
    adjustments_at: Callable[[int], Sequence[Adjustment]] | None = None,
    probability_at: Callable[[int], float | None] | None = None,
) -> list[str | None]:
    """The model's stage (§2.5) of `lead` at each of `times`, in their order: for each t,
    `score_lead(model, lead, events, t, adjustments_at(t), probability_at(t)).stage`.

    `adjustments_at(t)`: the points overrides in force at t (default none);
    `probability_at(t)`: the probability blended at t (default none)."""
    if not times:
        return []
    # A stable sort, as score_lead's: events of one time keep their order among themselves.
    ordered = sorted(events, key=lambda e: e.occurred_at)
    moments = [e.occurred_at for e in ordered]
    seen = ordered[: bisect_right(moments, max(times))]
    anytime = EvalContext(as_of=max(times), events=seen)  # for what reads neither

    fit_rules = model.fit.rules
    fit_fixed = [
        None if rule.when.depends_on_time() else rule.when.holds(lead.get, anytime)
        for rule in fit_rules
    ]
    fixed_fit: SectionOutcome | None = None
    if all(held is not None for held in fit_fixed):
        fixed_fit = fit_outcome(
            model, [r for r, held in zip(fit_rules, fit_fixed, strict=True) if held]
        )
    matched: list[list[int] | None] = [
        None
        if _depends_on_time(rule)
        else [e.occurred_at for e in seen if matches(rule, e, anytime)]
        for rule in model.engagement.rules
    ]

    looked_for = {
        id(node): [e.occurred_at for e in seen if _looks_for(node, e, anytime)]
        for stage in model.stages
        if stage.when is not None
        for node in walk(stage.when)
        if isinstance(node, NoEvent) and (node.where is None or not node.where.depends_on_time())
    }

    stages: list[str | None] = []
    for t in times:
        past = seen[: bisect_right(moments, t)]
        ctx = EvalContext(as_of=t, events=past, looked_for=looked_for)
        fit = fixed_fit
        if fit is None:
            fit = fit_outcome(
                model,
                [
                    rule
                    for rule, held in zip(fit_rules, fit_fixed, strict=True)
                    if (rule.when.holds(lead.get, ctx) if held is None else held)
                ],
            )

        def matching(
            index: int, rule: EngagementRule, t: int = t, ctx: EvalContext = ctx
        ) -> list[int]:
            known = matched[index]
            if known is None:
                return [e.occurred_at for e in ctx.events if matches(rule, e, ctx)]
            return known[: bisect_right(known, t)]

        engagement = engagement_outcome(model, t, matching)
        adjustments = adjustments_at(t) if adjustments_at is not None else ()
        probability = probability_at(t) if probability_at is not None else None
        totals = Totals.of(model, fit.points, engagement.points, adjustments, probability)
        # As explain.report: the stage compares the reported (rounded) total.
        stages.append(stage_for(model, lead, ctx, round2(totals.total)))
    return stages


def _looks_for(node: NoEvent, event: Event, ctx: EvalContext) -> bool:
    """Whether `event` is one the `no_event` node looks for (its `where` reads no time)."""
    return event.type in node.types and (node.where is None or node.where.holds(event.get, ctx))


def _depends_on_time(rule: EngagementRule) -> bool:
    """Whether the rule's match of one event may change with the time (its `where` reads it)."""
    return rule.where is not None and rule.where.depends_on_time()


__all__ = ["stages_at"]
