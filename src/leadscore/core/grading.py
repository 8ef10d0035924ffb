"""Grade, tier and stage of SPEC §2.5: first match in the order written."""

from __future__ import annotations

from collections.abc import Mapping

from leadscore.core.conditions import EvalContext
from leadscore.core.model import Model
from leadscore.core.records import Lead


def first_at_or_below(thresholds: Mapping[str, float], value: float) -> str | None:
    """The first name, in the order written, whose threshold ≤ value."""
    for name, threshold in thresholds.items():
        if threshold <= value:
            return name
    return None


def grade_for(model: Model, fit: float) -> str | None:
    return first_at_or_below(model.grades, fit)


def tier_for(model: Model, total: float) -> str | None:
    return first_at_or_below(model.tiers, total)


def stage_for(model: Model, lead: Lead, ctx: EvalContext, total: float) -> str | None:
    """The first stage whose `when` holds and whose `min_score` ≤ total; None when none does."""
    for stage in model.stages:
        if stage.min_score is not None and stage.min_score > total:
            continue
        if stage.when is not None and not stage.when.holds(lead.get, ctx):
            continue
        return stage.name
    return None
