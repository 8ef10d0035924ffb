"""The forward-only lifecycle of SPEC §4, as a pure function of stages.

The model's stage list, read bottom-up, is the forward order (…, lead → mql → sql): a stage
written higher is further along. `disqualified` applies at any time. A stage the model does
not name (opportunity, customer, lost: set by people or the CRM) is never changed by scoring,
and a stage pinned by a person wins over everything.

Order independence (§4, docs/lifecycle.md): the automatic stage is folded in event time.
From a base (the stage a lead had when the active model was activated or when a person or
the CRM set its stage, at that moment), `next_stage` is applied to the model's stage at each
distinct event time after the base, in time order, then at `as_of`. The result depends on the
set of events, never on the order in which they arrived. `fold_stage` is the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from leadscore.core.evaluate import score_lead
from leadscore.core.explain import Adjustment
from leadscore.core.model import Model
from leadscore.core.records import Event, Lead

DISQUALIFIED = "disqualified"


def rank(model: Model, stage: str) -> int | None:
    """Position in the forward order (higher is further), or None for a stage not in the model.

    A name written several times takes its highest position.
    """
    names = [s.name for s in model.stages]
    if stage not in names:
        return None
    return len(names) - names.index(stage)


def next_stage(
    model: Model, current: str | None, computed: str | None, pinned: str | None = None
) -> str | None:
    """The stage a lead moves to when scoring computes `computed` while it is at `current`."""
    if pinned is not None:
        return pinned
    if current is None or current == computed:
        return computed
    current_rank = rank(model, current)
    if current_rank is None and current != DISQUALIFIED:
        return current  # a person's or the CRM's stage
    if computed == DISQUALIFIED or current == DISQUALIFIED or computed is None:
        return computed if computed is not None else current
    computed_rank = rank(model, computed)
    if current_rank is None or computed_rank is None or computed_rank > current_rank:
        return computed
    demotes = any(s.name == current and s.demote for s in model.stages)
    return computed if demotes else current


@dataclass(frozen=True, slots=True)
class Fold:
    """A lead's lifecycle folded in event time."""

    event_stage: str | None
    """The stage folded over the event times up to `watermark` (the base if none)."""
    watermark: int | None
    """The latest event time folded (the base time if none; None: before every event)."""
    lifecycle: str | None
    """`next_stage(event_stage, the model's stage at as_of)`: the automatic/CRM stage."""
    shown: str | None
    """The lifecycle stage, or the pin when there is one."""


def evaluation_times(events: Iterable[Event], after: int | None, as_of: int) -> list[int]:
    """The distinct event times in (`after`, `as_of`], ascending (`after` None: no lower
    bound). Events that share a time are one evaluation point."""
    times = {e.occurred_at for e in events if e.occurred_at <= as_of}
    return sorted(t for t in times if after is None or t > after)


def fold(
    model: Model,
    start: str | None,
    times: Sequence[int],
    stage_at: Callable[[int], str | None],
) -> str | None:
    """`next_stage` folded from `start` over the model's stage at each of `times`."""
    stage = start
    for t in times:
        stage = next_stage(model, stage, stage_at(t))
    return stage


def fold_stage(
    model: Model,
    lead: Lead,
    events: Sequence[Event],
    base: str | None,
    base_time: int | None,
    as_of: int,
    pinned: str | None = None,
    *,
    adjustments_at: Callable[[int], Sequence[Adjustment]] | None = None,
    probability_at: Callable[[int], float | None] | None = None,
) -> Fold:
    """The reference lifecycle of one lead at `as_of` (the oracle of the live service and
    the recompute): from `base` at `base_time` (None: before every event), `next_stage`
    over the model's stage at each distinct event time in (`base_time`, `as_of`], in time
    order, each evaluated with the events that occurred by then; then at `as_of`. A pin wins.

    `adjustments_at(t)` gives the points overrides in force at t, `probability_at(t)` the
    blended probability at t (§7); both default to none."""

    def stage_at(t: int) -> str | None:
        adjustments = adjustments_at(t) if adjustments_at is not None else ()
        probability = probability_at(t) if probability_at is not None else None
        return score_lead(model, lead, events, t, adjustments, probability).stage

    times = evaluation_times(events, base_time, as_of)
    event_stage = fold(model, base, times, stage_at)
    watermark = times[-1] if times else base_time
    lifecycle = next_stage(model, event_stage, stage_at(as_of))
    return Fold(event_stage, watermark, lifecycle, lifecycle if pinned is None else pinned)
