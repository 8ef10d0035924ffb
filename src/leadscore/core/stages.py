"""The model's stage of one lead at many times, cheaply (the lifecycle fold's inner loop,
docs/lifecycle.md).

`stages_at` gives, for every t, exactly `score_lead(model, lead, events, t, …).stage`: the
same functions of core/evaluate.py on the same values in the same order, so the results are
bit-identical, not close. The work lives in the model's compiled evaluator
(`core.compiled.CompiledModel.stages_at`), which does once what does not depend on t: the
events are sorted once, each engagement rule whose `where` does not read the time is matched
against each event once (through the rules indexed by event type, with compiled conditions),
and the fit section is evaluated once when none of its conditions reads the time. Per t
remain the windows, expiry and decay (`rule_award`), the clamps, the combination, the blend,
the adjustments, the rounding of §2.5 and the stage conditions; a `no_event` whose `where`
reads no time looks up its events' times (found once) instead of scanning them. No
explanation is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from leadscore.core.compiled import compiled
from leadscore.core.explain import Adjustment
from leadscore.core.model import Model
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
    return compiled(model).stages_at(lead, events, times, adjustments_at, probability_at)


__all__ = ["stages_at"]
