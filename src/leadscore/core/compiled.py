"""A model compiled once into a per-lead evaluator: the live path's scorer (issue 14).

`score_lead` (core/evaluate.py) is the oracle, written for clarity: it tests every
engagement rule's condition tree against every event. `CompiledModel` gives exactly its
results — the same `ScoreResult`, contributions included, bit for bit — at a fraction of the
cost, because what depends only on the model is done once per model:

- the rules are indexed by event type, so an event is tested only against the rules of its
  type (and those that take any type), in one pass over the lead's events;
- every condition is a closure (`core.compiled_conditions`) instead of a tree walked per
  event, with its operands normalised once.

The rest — windows, expiry, decay, rule/group/section clamps, the combination, the blend,
the adjustments, the contributions and the rounding — is the reference's own functions on
the same values in the same order (`engagement_outcome`, `fit_outcome`, `Totals`,
`explanation_lines`, `report`), so nothing there can drift. `stages_at` (the lifecycle fold's
inner loop, docs/lifecycle.md) is here too, on the same compiled pieces.

`compiled(model)` keeps one evaluator per model object (the service's models are parsed once
per stored version and kept, see `store.model_versions.ModelCache`).
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from leadscore.core.compiled_conditions import (
    Predicate,
    compile_condition,
    event_getter,
    lead_getter,
    looks_for,
)
from leadscore.core.conditions import EvalContext, NoEvent, walk
from leadscore.core.evaluate import (
    SectionOutcome,
    Totals,
    engagement_outcome,
    explanation_lines,
    fit_outcome,
)
from leadscore.core.explain import Adjustment, ScoreResult, report, round2
from leadscore.core.grading import grade_for, tier_for
from leadscore.core.model import EngagementRule, FitRule, Model
from leadscore.core.records import Event, Lead

_time = attrgetter("occurred_at")

Matcher = tuple[int, Predicate | None]
"""(index of an engagement rule, its compiled `where` or None)."""


@dataclass(frozen=True, slots=True)
class _Stage:
    name: str
    min_score: float | None
    when: Predicate | None


class CompiledModel:
    """One model's evaluator. Build with `compiled(model)`, which caches it per model."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.fit: tuple[tuple[FitRule, Predicate, bool], ...] = tuple(
            (rule, compile_condition(rule.when, lead_getter), rule.when.depends_on_time())
            for rule in model.fit.rules
        )
        """(rule, its condition, whether that reads the time)."""
        rules = model.engagement.rules
        self.rules: tuple[EngagementRule, ...] = tuple(rules)
        wheres = [
            None if rule.where is None else compile_condition(rule.where, event_getter)
            for rule in rules
        ]
        self.wheres: tuple[Predicate | None, ...] = tuple(wheres)
        self.any_type: tuple[Matcher, ...] = tuple(
            (i, wheres[i]) for i, rule in enumerate(rules) if rule.event is None
        )
        """The rules that match an event of any type (an `inactive_for` without `event`)."""
        by_type: dict[str, list[int]] = {}
        for i, rule in enumerate(rules):
            for name in dict.fromkeys(rule.event or ()):  # a type listed twice counts once
                by_type.setdefault(name, []).append(i)
        any_type = [i for i, _ in self.any_type]
        self.by_type: dict[str, tuple[Matcher, ...]] = {
            name: tuple((i, wheres[i]) for i in sorted([*indices, *any_type]))
            for name, indices in by_type.items()
        }
        """Event type → the rules an event of that type is tested against."""
        self.timed: tuple[bool, ...] = tuple(
            rule.where is not None and rule.where.depends_on_time() for rule in rules
        )
        """Per rule: whether its match of one event may change with the time."""
        self.stages: tuple[_Stage, ...] = tuple(
            _Stage(
                s.name,
                s.min_score,
                None if s.when is None else compile_condition(s.when, lead_getter),
            )
            for s in model.stages
        )
        self.no_events: tuple[tuple[int, Callable[[Event, EvalContext], bool]], ...] = tuple(
            (id(node), looks_for(node))
            for stage in model.stages
            if stage.when is not None
            for node in walk(stage.when)
            if isinstance(node, NoEvent)
            and (node.where is None or not node.where.depends_on_time())
        )
        """(id, test) of the `no_event` nodes whose events can be found once for all times."""

    # --- one lead at one time -----------------------------------------------------------

    def score(
        self,
        lead: Lead,
        events: Iterable[Event],
        as_of: int,
        adjustments: Sequence[Adjustment] = (),
        probability: float | None = None,
    ) -> ScoreResult:
        """Exactly `score_lead(model, lead, events, as_of, adjustments, probability)`."""
        model = self.model
        past = sorted((e for e in events if e.occurred_at <= as_of), key=_time)
        ctx = EvalContext(as_of=as_of, events=past)
        fit = fit_outcome(model, [rule for rule, when, _ in self.fit if when(lead, ctx)])
        times = self._matching(past, ctx)
        engagement = engagement_outcome(model, as_of, lambda index, _: times[index])
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
                self.stage(lead, ctx, score),
            ),
        )

    def _matching(self, past: Sequence[Event], ctx: EvalContext) -> list[list[int]]:
        """Per engagement rule, the times of the events it matches (ascending as `past`)."""
        times: list[list[int]] = [[] for _ in self.rules]
        by_type, any_type = self.by_type, self.any_type
        for event in past:
            for index, where in by_type.get(event.type, any_type):
                if where is None or where(event, ctx):
                    times[index].append(event.occurred_at)
        return times

    def stage(self, lead: Lead, ctx: EvalContext, total: float) -> str | None:
        """`grading.stage_for`: the first stage whose `when` holds and whose `min_score` ≤
        total; None when none does."""
        for stage in self.stages:
            if stage.min_score is not None and stage.min_score > total:
                continue
            if stage.when is not None and not stage.when(lead, ctx):
                continue
            return stage.name
        return None

    # --- one lead at many times ---------------------------------------------------------

    def stages_at(
        self,
        lead: Lead,
        events: Iterable[Event],
        times: Sequence[int],
        adjustments_at: Callable[[int], Sequence[Adjustment]] | None = None,
        probability_at: Callable[[int], float | None] | None = None,
    ) -> list[str | None]:
        """The model's stage (§2.5) of `lead` at each of `times`, in their order: for each
        t, `score_lead(model, lead, events, t, adjustments_at(t), probability_at(t)).stage`.

        What does not depend on t is done once: the events are sorted once, each rule whose
        `where` reads no time is matched against each event once (at t only the prefix of
        its matching times up to t is taken), the fit section is evaluated once when none
        of its conditions reads the time, and a `no_event` whose `where` reads no time finds
        its events' times once. Per t remain the windows, expiry and decay, the clamps, the
        combination, the blend, the adjustments, the rounding and the stage conditions. No
        explanation is built."""
        if not times:
            return []
        model = self.model
        # A stable sort, as score_lead's: events of one time keep their order among themselves.
        ordered = sorted(events, key=_time)
        moments = [e.occurred_at for e in ordered]
        seen = ordered[: bisect_right(moments, max(times))]
        anytime = EvalContext(as_of=max(times), events=seen)  # for what reads neither

        fit_fixed = [None if timed else when(lead, anytime) for _, when, timed in self.fit]
        fixed_fit: SectionOutcome | None = None
        if all(held is not None for held in fit_fixed):
            fixed_fit = fit_outcome(
                model,
                [rule for (rule, _, _), held in zip(self.fit, fit_fixed, strict=True) if held],
            )
        matched = self._matching(seen, anytime)  # right for the rules that read no time
        looked_for = {
            key: [e.occurred_at for e in seen if test(e, anytime)] for key, test in self.no_events
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
                        for (rule, when, _), held in zip(self.fit, fit_fixed, strict=True)
                        if (when(lead, ctx) if held is None else held)
                    ],
                )

            def matching(
                index: int, rule: EngagementRule, t: int = t, ctx: EvalContext = ctx
            ) -> list[int]:
                if self.timed[index]:
                    where = self.wheres[index]
                    assert where is not None  # timed only with a `where`
                    return [
                        e.occurred_at
                        for e in ctx.events
                        if (rule.event is None or e.type in rule.event) and where(e, ctx)
                    ]
                known = matched[index]
                return known[: bisect_right(known, t)]

            engagement = engagement_outcome(model, t, matching)
            adjustments = adjustments_at(t) if adjustments_at is not None else ()
            probability = probability_at(t) if probability_at is not None else None
            totals = Totals.of(model, fit.points, engagement.points, adjustments, probability)
            # As explain.report: the stage compares the reported (rounded) total.
            stages.append(self.stage(lead, ctx, round2(totals.total)))
        return stages


_CACHE: dict[int, CompiledModel] = {}
_CACHE_SIZE = 32
_LOCK = threading.Lock()


def compiled(model: Model) -> CompiledModel:
    """The evaluator of this model object, compiled on first use. A few recent models are
    kept (the entry holds its model, so an id cannot be reused while it is cached)."""
    found = _CACHE.get(id(model))
    if found is not None and found.model is model:
        return found
    evaluator = CompiledModel(model)
    with _LOCK:
        _CACHE[id(model)] = evaluator
        while len(_CACHE) > _CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
    return evaluator


__all__ = ["CompiledModel", "compiled"]
