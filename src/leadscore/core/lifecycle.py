"""The forward-only lifecycle of SPEC §4, as a pure function of stages.

The model's stage list, read bottom-up, is the forward order (…, lead → mql → sql): a stage
written higher is further along. `disqualified` applies at any time. A stage the model does
not name (opportunity, customer, lost: set by people or the CRM) is never changed by scoring,
and a stage pinned by a person wins over everything.
"""

from __future__ import annotations

from leadscore.core.model import Model

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
