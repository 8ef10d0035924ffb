"""The choice of an owner (core.assignment), exhaustively with hypothesis: round-robin is fair
and follows the team's order from its cursor, least-loaded picks a minimum, and neither ever
picks an inactive or full member; territories pick the first rule that holds."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadscore.core.assignment import (
    STRATEGIES,
    Candidate,
    Territory,
    choose,
    least_loaded,
    round_robin,
    territory_of,
)
from leadscore.core.conditions import parse_condition
from leadscore.core.records import Lead

SETTINGS = settings(max_examples=300, deadline=None)


@st.composite
def teams(draw, min_size: int = 0, max_size: int = 8) -> list[Candidate]:
    """Members in team order, with distinct ids, any activity, capacity and load."""
    n = draw(st.integers(min_size, max_size))
    return [
        Candidate(
            id=f"o{i}",
            active=draw(st.booleans()),
            capacity=draw(st.none() | st.integers(0, 5)),
            load=draw(st.integers(0, 6)),
        )
        for i in range(n)
    ]


def cursors(team: list[Candidate]) -> st.SearchStrategy[str | None]:
    return st.none() | st.just("gone") | st.sampled_from([c.id for c in team] or ["gone"])


def assign_many(team: list[Candidate], strategy: str, times: int, cursor=None) -> list[str]:
    """Assign `times` leads one after the other, each adding to the chosen member's load
    (as the store's count of open leads would) and moving the cursor."""
    chosen = []
    for _ in range(times):
        choice = choose(team, strategy, cursor)
        if choice.owner is None:
            break
        chosen.append(choice.owner)
        cursor = choice.owner
        team = [replace(c, load=c.load + 1) if c.id == choice.owner else c for c in team]
    return chosen


@SETTINGS
@given(st.data(), teams(), st.sampled_from(STRATEGIES))
def test_never_an_inactive_or_full_member_and_none_only_when_nobody_can(
    data, team, strategy
) -> None:
    cursor = data.draw(cursors(team))
    choice = choose(team, strategy, cursor)
    available = [c for c in team if c.active and (c.capacity is None or c.load < c.capacity)]
    if not available:
        assert choice.owner is None
        if not team:
            assert choice.reason == "the team has no members"
        elif not any(c.active for c in team):
            assert choice.reason == "no member is active"
        else:
            assert choice.reason == "every active member is at capacity"
    else:
        assert choice.owner in {c.id for c in available}


@SETTINGS
@given(st.data(), teams(min_size=1), st.integers(1, 6))
def test_round_robin_without_caps_gives_each_active_member_k_of_k_times_n(data, team, k) -> None:
    team = [replace(c, capacity=None) for c in team]
    active = [c.id for c in team if c.active]
    chosen = assign_many(team, "round_robin", k * len(active), data.draw(cursors(team)))
    assert len(chosen) == k * len(active)
    assert Counter(chosen) == dict.fromkeys(active, k) or not active
    # in team order, cycling: every window of len(active) holds each active member once
    for start in range(len(chosen) - len(active) + 1):
        assert sorted(chosen[start : start + len(active)]) == sorted(active)


@SETTINGS
@given(st.data(), teams(min_size=1))
def test_round_robin_takes_the_next_available_member_after_the_cursor(data, team) -> None:
    cursor = data.draw(cursors(team))
    choice = round_robin(team, cursor)
    ids = [c.id for c in team]
    start = ids.index(cursor) + 1 if cursor in ids else 0
    order = team[start:] + team[:start]  # wrapping, the cursor's own turn last
    expected = next((c.id for c in order if c.active and not c.full), None)
    assert choice.owner == expected


@SETTINGS
@given(teams(min_size=1), st.integers(1, 40))
def test_round_robin_with_caps_fills_everyone_and_never_overfills(team, times) -> None:
    chosen = assign_many(team, "round_robin", times)
    counts = Counter(chosen)
    for c in team:
        assert counts[c.id] == 0 or c.active
        if c.capacity is not None:
            assert c.load + counts[c.id] <= max(c.capacity, c.load)
    room = sum(
        times if c.capacity is None else max(c.capacity - c.load, 0) for c in team if c.active
    )
    assert len(chosen) == min(times, room)  # it stops only when everyone is full


@SETTINGS
@given(teams(min_size=1))
def test_least_loaded_picks_a_minimum_and_the_first_of_ties(team) -> None:
    choice = least_loaded(team)
    available = [c for c in team if c.available]
    if not available:
        assert choice.owner is None
        return
    lowest = min(c.load for c in available)
    assert choice.owner == next(c.id for c in available if c.load == lowest)


@SETTINGS
@given(teams(min_size=1), st.integers(1, 30))
def test_least_loaded_keeps_loads_level(team, times) -> None:
    team = [replace(c, capacity=None, active=True, load=0) for c in team]
    chosen = assign_many(team, "least_loaded", times)
    counts = Counter(chosen)
    loads = [counts[c.id] for c in team]
    assert max(loads) - min(loads) <= 1
    assert loads == sorted(loads, reverse=True)  # ties go to the earlier position


def test_round_robin_skips_inactive_and_full_members_in_order() -> None:
    team = [
        Candidate("a", True, None, 9),
        Candidate("b", False, None, 0),
        Candidate("c", True, 2, 2),
        Candidate("d", True, 3, 0),
    ]
    assert round_robin(team, "a").owner == "d"
    assert round_robin(team, "d").owner == "a"
    assert round_robin(team, "nobody").owner == "a"
    assert round_robin(team, None).owner == "a"
    assert choose(team, "least_loaded").owner == "d"


def test_an_unknown_strategy_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown strategy 'random'; one of round_robin"):
        choose([Candidate("a", True, None, 0)], "random")


def condition(raw: dict):
    errors: list = []
    parsed = parse_condition(raw, "when", errors)
    assert errors == []
    return parsed


def test_the_first_territory_that_holds_decides() -> None:
    rules = [
        Territory(condition({"field": "country", "in": ["DE", "AT", "CH"]}), team="dach"),
        Territory(condition({"field": "employees", "gte": 1000}), owner="ent@x.com"),
        Territory(condition({"field": "industry", "equals": "software"}), team="tech"),
    ]
    as_of = 1_767_225_600_000_000

    def routed(**attributes):
        found = territory_of(rules, Lead("L1", None, attributes), as_of)
        return None if found is None else (found[0], found[1].team or found[1].owner)

    assert routed(country=" de ", employees=5000) == (0, "dach")  # first match wins
    assert routed(country="FR", employees="1,000") is None  # "1,000" is not a number
    assert routed(country="FR", employees="1000", industry="software") == (1, "ent@x.com")
    assert routed(industry="SOFTWARE") == (2, "tech")
    assert routed() is None
    assert territory_of([], Lead("L1"), as_of) is None


def test_a_territory_names_exactly_one_of_team_or_owner() -> None:
    when = condition({"field": "country", "equals": "DE"})
    with pytest.raises(ValueError, match="exactly one of team or owner"):
        Territory(when)
    with pytest.raises(ValueError, match="exactly one of team or owner"):
        Territory(when, team="t", owner="o")
