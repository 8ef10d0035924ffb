"""Choosing the owner of a lead (SPEC §6 `assign_owner`), with no I/O: who among a team's
members gets the next lead, and which team or person a lead's territory gives it to.

- **Round-robin**: the next member after the one assigned last (the team's cursor), in
  position order, wrapping around, skipping members who are inactive or at capacity. A
  cursor that is no longer a member starts the turn at the first member.
- **Least-loaded**: the member with the fewest open leads among the active members below
  capacity; a tie goes to the earlier position.
- **Territories**: an ordered list of rules, each a condition on the lead (the condition
  language of the model, read like fit rules) and a team or a single owner; the first rule
  whose condition holds decides, else the action's default.

A member's load is their number of open leads: owned, and not at a closed stage
(`CLOSED_STAGES`). Capacity caps the load: a member with `load >= capacity` gets no more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from leadscore.core.conditions import Condition, EvalContext
from leadscore.core.records import Lead

Strategy = Literal["round_robin", "least_loaded"]
STRATEGIES: tuple[Strategy, ...] = ("round_robin", "least_loaded")
CLOSED_STAGES = ("customer", "lost", "disqualified")
"""Stages at which a lead no longer counts towards its owner's load."""


@dataclass(frozen=True)
class Candidate:
    """A team member as assignment sees them, in team order."""

    id: str
    active: bool
    capacity: int | None
    """The most open leads they may own; None: no cap."""
    load: int
    """Their open leads now."""

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.load >= self.capacity

    @property
    def available(self) -> bool:
        return self.active and not self.full


@dataclass(frozen=True)
class Choice:
    """The member chosen (None: nobody can take the lead) and why, in words for the audit
    log and for the automation's run history."""

    owner: str | None
    reason: str


def choose(candidates: Sequence[Candidate], strategy: str, cursor: str | None = None) -> Choice:
    """The member who gets the next lead by `strategy`; `cursor` is the member round-robin
    chose last (ignored by least-loaded)."""
    if strategy == "round_robin":
        return round_robin(candidates, cursor)
    if strategy == "least_loaded":
        return least_loaded(candidates)
    raise ValueError(f"unknown strategy {strategy!r}; one of {', '.join(STRATEGIES)}")


def round_robin(candidates: Sequence[Candidate], cursor: str | None) -> Choice:
    blocked = _blocked(candidates)
    if blocked is not None:
        return blocked
    ids = [c.id for c in candidates]
    start = ids.index(cursor) + 1 if cursor in ids else 0
    n = len(candidates)
    for step in range(n):
        candidate = candidates[(start + step) % n]
        if candidate.available:
            return Choice(candidate.id, "round-robin")
    raise AssertionError("unreachable: _blocked found an available member")


def least_loaded(candidates: Sequence[Candidate]) -> Choice:
    blocked = _blocked(candidates)
    if blocked is not None:
        return blocked
    best = min((c for c in candidates if c.available), key=lambda c: c.load)  # first of ties
    return Choice(best.id, "least-loaded")


def _blocked(candidates: Sequence[Candidate]) -> Choice | None:
    """Why no member can take a lead, or None when one can."""
    if not candidates:
        return Choice(None, "the team has no members")
    active = [c for c in candidates if c.active]
    if not active:
        return Choice(None, "no member is active")
    if all(c.full for c in active):
        return Choice(None, "every active member is at capacity")
    return None


@dataclass(frozen=True)
class Territory:
    """A territory rule: leads for which `when` holds go to `team` (chosen among its members
    by the action's strategy) or to one `owner`, exactly one of the two."""

    when: Condition
    team: str | None = None
    owner: str | None = None

    def __post_init__(self) -> None:
        if (self.team is None) == (self.owner is None):
            raise ValueError("a territory names exactly one of team or owner")


def territory_of(
    territories: Sequence[Territory], lead: Lead, as_of: int
) -> tuple[int, Territory] | None:
    """(index, territory) of the first territory whose condition holds for the lead at
    `as_of`, or None."""
    context = EvalContext(as_of=as_of)
    for index, territory in enumerate(territories):
        if territory.when.holds(lead.get, context):
            return index, territory
    return None
