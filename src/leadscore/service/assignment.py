"""The `assign_owner` action (SPEC §6): give a lead an owner — one person, or a member of a
team chosen by round-robin or least-loaded, the team or person picked by territory rules.

The automation worker calls `assign_owner` inside its own transaction (`conn`). What it
reads it locks, so that concurrent assignments on PostgreSQL take turns instead of choosing
past each other: the lead's row first (two assignments of one lead: the second sees the
first's owner), then the team's row before its round-robin cursor is read, then its members'
owner rows in key order before their loads are counted (a person in two teams is never
pushed past their capacity by both at once). SQLite runs one writer at a time.

Errors: `UnknownTeam` and `UnknownOwner` are permanent (the automation names something that
does not exist); `NoOwnerAvailable` is not: a member may come back or close a lead, so the
worker retries later. An unknown strategy, or a team and an owner both given, is `Invalid`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leadscore.core.assignment import STRATEGIES, Candidate, Territory, choose, territory_of
from leadscore.core.records import Lead
from leadscore.service.errors import Invalid, NotFound, Problem, ServiceError
from leadscore.service.owners import UnknownOwner, UnknownTeam
from leadscore.store import Connection, audit
from leadscore.store import leads as stored_leads
from leadscore.store import owners as stored

__all__ = [
    "Assignment",
    "NoOwnerAvailable",
    "Territory",
    "UnknownOwner",
    "UnknownTeam",
    "assign_owner",
    "check_targets",
]


ACTOR_LENGTH = 200
"""Longest actor the audit log holds."""


@dataclass(frozen=True)
class Assignment:
    """What `assign_owner` did."""

    owner: str | None
    """The lead's owner after the call."""
    assigned: bool
    """Whether this call set it."""
    reason: str
    """Why, in words: "round-robin in team sales", "already owned by x (reassign: false)"."""


class NoOwnerAvailable(ServiceError):
    """Every candidate is inactive or at capacity, or the team has no members: the worker
    retries later."""


def assign_owner(
    conn: Connection,
    lead_pk: int,
    *,
    team: str | None,
    owner: str | None,
    strategy: str,
    territories: Sequence[Territory],
    reassign: bool,
    now: int,
    actor: str,
) -> Assignment:
    """Give the lead an owner: the first territory whose condition holds picks a team or a
    person, else `team` or `owner` (at most one of them; neither: the lead stays as it is).
    A team's member is chosen by `strategy` (round_robin or least_loaded) among its active
    members below capacity. A lead with an owner keeps it unless `reassign`. Writes the
    lead's owner and updated_at and an audit row (`lead.assign`, by `actor`)."""
    if strategy not in STRATEGIES:
        choices = ", ".join(STRATEGIES)
        raise Invalid([Problem(("strategy",), f"unknown strategy {strategy!r}; one of {choices}")])
    if team is not None and owner is not None:
        raise Invalid([Problem(("owner",), "give a team or an owner, not both")])
    if not 1 <= len(actor) <= ACTOR_LENGTH:
        raise Invalid([Problem(("actor",), f"must be 1 to {ACTOR_LENGTH} characters")])
    lead = stored.lead_to_assign(conn, lead_pk)
    if lead is None:
        raise NotFound(f"no lead with key {lead_pk}")
    if lead.owner is not None and not reassign:
        return Assignment(lead.owner, False, f"already owned by {lead.owner} (reassign: false)")
    matched = territory_of(territories, Lead(lead.id, lead.email, lead.attributes), now)
    where = ""
    if matched is not None:
        index, territory = matched
        team, owner, where = territory.team, territory.owner, f" (territory {index + 1})"
    if owner is not None:
        chosen, reason = _the_owner(conn, owner, lead.owner)
    elif team is not None:
        chosen, reason = _from_team(conn, team, strategy)
    else:
        return Assignment(lead.owner, False, "no territory matched and no default team or owner")
    reason += where
    if chosen == lead.owner:
        return Assignment(chosen, False, f"{reason}: already the owner")
    stored_leads.change(conn, lead_pk, now, owner=chosen)
    audit.record(
        conn, now, actor, "lead.assign", lead.id, owner=chosen, previous=lead.owner, reason=reason
    )
    return Assignment(chosen, True, reason)


def _the_owner(conn: Connection, owner_id: str, current: str | None) -> tuple[str, str]:
    row = stored.owner(conn, owner_id, lock=True)
    if row is None:
        raise UnknownOwner(owner_id)
    if owner_id == current:
        return owner_id, f"owner {owner_id}"
    if not row.active:
        raise NoOwnerAvailable(f"owner {owner_id} is inactive")
    load = stored.loads(conn, [owner_id])[owner_id]
    if row.capacity is not None and load >= row.capacity:
        raise NoOwnerAvailable(
            f"owner {owner_id} is at capacity ({load} open leads, capacity {row.capacity})"
        )
    return owner_id, f"owner {owner_id}"


def _from_team(conn: Connection, name: str, strategy: str) -> tuple[str, str]:
    team = stored.team(conn, name, lock=True)
    if team is None:
        raise UnknownTeam(name)
    stored.lock_members(conn, team.pk)
    members = stored.members(conn, [team.pk])[team.pk]
    loads = stored.loads(conn, [m.id for m in members])
    candidates = [Candidate(m.id, bool(m.active), m.capacity, loads[m.id]) for m in members]
    cursor = next((m.id for m in members if m.pk == team.rr_last_owner), None)
    choice = choose(candidates, strategy, cursor)
    if choice.owner is None:
        raise NoOwnerAvailable(f"no owner available in team {name}: {choice.reason}")
    if strategy == "round_robin":
        stored.set_cursor(conn, team.pk, next(m.pk for m in members if m.id == choice.owner))
    return choice.owner, f"{choice.reason} in team {name}"


def check_targets(
    conn: Connection, *, team: str | None, owner: str | None, territories: Sequence[Territory]
) -> None:
    """Raise UnknownTeam or UnknownOwner for the first team or owner an assign_owner action
    names (its default or a territory's) that does not exist: to check an automation when it
    is saved rather than when it first runs."""
    teams = [t.team for t in territories if t.team is not None] + ([team] if team else [])
    people = [t.owner for t in territories if t.owner is not None] + ([owner] if owner else [])
    for name in teams:
        if stored.team(conn, name) is None:
            raise UnknownTeam(name)
    found = stored.owners_by_id(conn, people)
    for owner_id in people:
        if owner_id not in found:
            raise UnknownOwner(owner_id)
