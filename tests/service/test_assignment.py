"""`assign_owner` (service/assignment.py), the contract the automation worker calls inside its
transaction, on SQLite and PostgreSQL: it never takes a lead from its owner unless told to,
routes by territory, respects capacity and activity (NoOwnerAvailable when nobody can take a
lead, so that the worker retries), names unknown teams and owners, audits what it does, and
two threads assigning at once on one team still give a perfect round-robin."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

from leadscore.core.conditions import parse_condition
from leadscore.service import owners
from leadscore.service.assignment import (
    Assignment,
    NoOwnerAvailable,
    Territory,
    UnknownOwner,
    UnknownTeam,
    assign_owner,
    check_targets,
)
from leadscore.service.context import Context
from leadscore.service.errors import Invalid, NotFound
from leadscore.service.inputs import LeadIn
from leadscore.service.leads import upsert_leads
from leadscore.store import leads as stored_leads
from leadscore.store.tables import audit_log, leads

NOW = 1_767_225_600_000_000  # 2026-01-01


def when(raw: dict):
    errors: list = []
    condition = parse_condition(raw, "when", errors)
    assert errors == []
    return condition


def add_leads(ctx: Context, *items: dict) -> dict[str, int]:
    """Create leads (no model is active: they stay unscored); their keys by id."""
    upsert_leads(ctx, [LeadIn(**item) for item in items], "test")
    with ctx.db.read() as conn:
        return stored_leads.pks_by_id(conn, [item["id"] for item in items])


def add_owner(ctx: Context, owner_id: str, **fields) -> None:
    owners.create_owner(ctx, owners.OwnerIn(id=owner_id, name=owner_id, **fields), "test")


def add_team(ctx: Context, name: str, *members: str) -> None:
    owners.create_team(ctx, owners.TeamIn(name=name, members=list(members)), "test")


def assign(ctx: Context, pk: int, **options) -> Assignment:
    arguments = {
        "team": None,
        "owner": None,
        "strategy": "round_robin",
        "territories": (),
        "reassign": False,
        "now": NOW,
        "actor": "automation:route",
    }
    arguments.update(options)
    return ctx.db.transact(lambda conn: assign_owner(conn, pk, **arguments))


def owner_of(ctx: Context, pk: int) -> tuple[str | None, int]:
    with ctx.db.read() as conn:
        row = conn.execute(select(leads.c.owner, leads.c.updated_at).where(leads.c.pk == pk))
        return tuple(row.one())


def assignments(ctx: Context) -> list[tuple[str, dict]]:
    """(lead id, details) of every lead.assign audit row, in the order they were written."""
    with ctx.db.read() as conn:
        query = (
            select(audit_log.c.target, audit_log.c.details, audit_log.c.actor)
            .where(audit_log.c.action == "lead.assign")
            .order_by(audit_log.c.pk)
        )
        return [(target, details) for target, details, _ in conn.execute(query)]


def test_round_robin_assigns_in_team_order_audits_and_stamps_the_lead(ctx) -> None:
    for name in ("ann", "bob", "cy"):
        add_owner(ctx, name)
    add_team(ctx, "sales", "bob", "ann", "cy")
    pks = add_leads(ctx, *({"id": f"L{i}"} for i in range(5)))
    done = [assign(ctx, pks[f"L{i}"], team="sales") for i in range(5)]
    assert [d.owner for d in done] == ["bob", "ann", "cy", "bob", "ann"]
    assert all(d.assigned and d.reason == "round-robin in team sales" for d in done)
    assert owner_of(ctx, pks["L0"]) == ("bob", NOW)
    audited = assignments(ctx)
    assert [lead for lead, _ in audited] == [f"L{i}" for i in range(5)]
    assert audited[0][1] == {
        "owner": "bob",
        "previous": None,
        "reason": "round-robin in team sales",
    }
    assert owners.get_team(ctx, "sales")["last_assigned"] == "ann"


def test_a_lead_with_an_owner_keeps_it_unless_reassign(ctx) -> None:
    add_owner(ctx, "ann")
    add_owner(ctx, "bob")
    add_team(ctx, "sales", "ann", "bob")
    pks = add_leads(ctx, {"id": "L1", "owner": "zed"}, {"id": "L2", "owner": "ann"})
    with ctx.db.read() as conn:
        before = conn.scalar(select(leads.c.updated_at).where(leads.c.pk == pks["L1"]))
    kept = assign(ctx, pks["L1"], team="sales")
    assert kept == Assignment("zed", False, "already owned by zed (reassign: false)")
    kept = assign(ctx, pks["L1"], owner="bob", territories=[])
    assert kept.owner == "zed" and not kept.assigned
    assert owner_of(ctx, pks["L1"]) == ("zed", before) and assignments(ctx) == []
    assert owners.get_team(ctx, "sales")["last_assigned"] is None  # no turn was used

    moved = assign(ctx, pks["L1"], team="sales", reassign=True)
    assert moved == Assignment("ann", True, "round-robin in team sales")
    assert assignments(ctx)[0][1]["previous"] == "zed"
    again = assign(ctx, pks["L2"], owner="ann", reassign=True)
    assert again == Assignment("ann", False, "owner ann: already the owner")


def test_territories_route_by_country_industry_and_size_else_the_default_team(ctx) -> None:
    for name in ("dana", "dirk", "eve", "tom", "gus"):
        add_owner(ctx, name)
    add_team(ctx, "dach", "dana", "dirk")
    add_team(ctx, "tech", "tom")
    add_team(ctx, "general", "gus")
    territories = [
        Territory(when({"field": "country", "in": ["DE", "AT", "CH"]}), team="dach"),
        Territory(when({"field": "employees", "gte": 1000}), owner="eve"),
        Territory(
            when(
                {
                    "all": [
                        {"field": "industry", "equals": "software"},
                        {"field": "employees", "lt": 1000},
                    ]
                }
            ),
            team="tech",
        ),
    ]
    pks = add_leads(
        ctx,
        {"id": "de", "attributes": {"country": "de", "employees": 5000}},
        {"id": "big", "attributes": {"country": "US", "employees": "25000"}},
        {"id": "sw", "attributes": {"country": "US", "industry": "Software", "employees": 40}},
        {"id": "ch", "attributes": {"country": "CH"}},
        {"id": "other", "attributes": {"country": "FR", "industry": "retail"}},
        {"id": "bare"},
    )
    order = ("de", "big", "sw", "ch", "other", "bare")
    routed = {
        lead: assign(ctx, pks[lead], team="general", territories=territories) for lead in order
    }
    assert {lead: a.owner for lead, a in routed.items()} == {
        "de": "dana",
        "big": "eve",
        "sw": "tom",
        "ch": "dirk",
        "other": "gus",
        "bare": "gus",
    }
    assert routed["de"].reason == "round-robin in team dach (territory 1)"
    assert routed["big"].reason == "owner eve (territory 2)"
    assert routed["other"].reason == "round-robin in team general"
    nowhere = add_leads(ctx, {"id": "x", "attributes": {"country": "FR"}})["x"]
    left = assign(ctx, nowhere, territories=territories)
    assert left == Assignment(None, False, "no territory matched and no default team or owner")


def test_capacity_is_respected_until_everyone_is_full_then_no_owner_is_available(ctx) -> None:
    add_owner(ctx, "ann", capacity=2)
    add_owner(ctx, "bob", capacity=1)
    add_owner(ctx, "cy", active=False)
    add_team(ctx, "sales", "ann", "bob", "cy")
    pks = add_leads(
        ctx,
        {"id": "old", "owner": "ann"},
        {"id": "won", "owner": "bob", "stage": "customer"},  # closed: not counted
        *({"id": f"L{i}"} for i in range(4)),
    )
    first = [assign(ctx, pks[f"L{i}"], team="sales").owner for i in range(2)]
    assert first == ["ann", "bob"]  # ann had 1 open lead, now 2: full; bob 0 (won is closed), now 1
    with pytest.raises(NoOwnerAvailable, match="team sales: every active member is at capacity"):
        assign(ctx, pks["L2"], team="sales")
    with pytest.raises(NoOwnerAvailable, match="team sales: every active member is at capacity"):
        assign(ctx, pks["L2"], team="sales", strategy="least_loaded")
    with pytest.raises(NoOwnerAvailable, match=r"owner ann is at capacity \(2 open leads"):
        assign(ctx, pks["L2"], owner="ann")
    with pytest.raises(NoOwnerAvailable, match="owner cy is inactive"):
        assign(ctx, pks["L2"], owner="cy")
    assert owner_of(ctx, pks["L2"])[0] is None  # nothing written by the failed attempts

    upsert_leads(ctx, [LeadIn(id="old", stage="lost")], "test")  # ann closes a lead
    assert assign(ctx, pks["L2"], team="sales").owner == "ann"
    owners.update_owner(ctx, "bob", owners.OwnerChange(capacity=None), "test")
    assert assign(ctx, pks["L3"], team="sales", strategy="least_loaded").owner == "bob"


def test_deactivated_owners_keep_their_leads_and_get_no_new_ones(ctx) -> None:
    add_owner(ctx, "ann")
    add_owner(ctx, "bob")
    add_team(ctx, "sales", "ann", "bob")
    pks = add_leads(ctx, *({"id": f"L{i}"} for i in range(4)))
    assert assign(ctx, pks["L0"], team="sales").owner == "ann"
    owners.set_active(ctx, "ann", False, "test")
    assert [assign(ctx, pks[f"L{i}"], team="sales").owner for i in (1, 2)] == ["bob", "bob"]
    assert owner_of(ctx, pks["L0"])[0] == "ann"
    assert owners.get_owner(ctx, "ann")["open_leads"] == 1
    owners.set_active(ctx, "bob", False, "test")
    with pytest.raises(NoOwnerAvailable, match="no member is active"):
        assign(ctx, pks["L3"], team="sales")
    owners.set_active(ctx, "ann", True, "test")
    assert assign(ctx, pks["L3"], team="sales").owner == "ann"


def test_least_loaded_picks_the_fewest_open_leads_ties_by_position(ctx) -> None:
    for name in ("ann", "bob", "cy"):
        add_owner(ctx, name)
    add_team(ctx, "sales", "ann", "bob", "cy")
    pks = add_leads(
        ctx,
        {"id": "a1", "owner": "ann"},
        {"id": "a2", "owner": "ann"},
        {"id": "c1", "owner": "cy"},
        {"id": "b1", "owner": "bob", "stage": "disqualified"},
        *({"id": f"L{i}"} for i in range(4)),
    )
    chosen = [assign(ctx, pks[f"L{i}"], team="sales", strategy="least_loaded") for i in range(4)]
    assert [c.owner for c in chosen] == ["bob", "bob", "cy", "ann"]
    assert chosen[0].reason == "least-loaded in team sales"


def test_unknown_teams_owners_leads_and_bad_options_are_named(ctx) -> None:
    add_owner(ctx, "ann")
    add_team(ctx, "empty")
    pk = add_leads(ctx, {"id": "L1", "attributes": {"country": "DE"}})["L1"]
    with pytest.raises(UnknownTeam, match="no team 'nope'") as raised:
        assign(ctx, pk, team="nope")
    assert raised.value.name == "nope" and isinstance(raised.value, NotFound)
    with pytest.raises(UnknownOwner, match="no owner 'ghost'"):
        territories = [Territory(when({"field": "country", "equals": "DE"}), owner="ghost")]
        assign(ctx, pk, team="empty", territories=territories)
    with pytest.raises(NoOwnerAvailable, match="team empty: the team has no members"):
        assign(ctx, pk, team="empty")
    with pytest.raises(Invalid, match="strategy: unknown strategy 'random'"):
        assign(ctx, pk, team="empty", strategy="random")
    with pytest.raises(Invalid, match="owner: give a team or an owner, not both"):
        assign(ctx, pk, team="empty", owner="ann")
    with pytest.raises(NotFound, match="no lead with key 999"):
        assign(ctx, 999, owner="ann")

    def check(**options) -> None:
        with ctx.db.read() as conn:
            check_targets(conn, **{"team": None, "owner": None, "territories": (), **options})

    check(team="empty", owner="ann")
    with pytest.raises(UnknownTeam, match="'emea'"):
        check(territories=[Territory(when({"field": "x", "exists": True}), team="emea")])
    with pytest.raises(UnknownOwner, match="'ghost'"):
        check(team="empty", owner="ghost")


def test_the_worker_s_rolled_back_transaction_leaves_no_assignment(ctx) -> None:
    add_owner(ctx, "ann")
    add_team(ctx, "sales", "ann")
    pk = add_leads(ctx, {"id": "L1"})["L1"]

    def work(conn) -> None:
        done = assign_owner(
            conn,
            pk,
            team="sales",
            owner=None,
            strategy="round_robin",
            territories=(),
            reassign=False,
            now=NOW,
            actor="a",
        )
        assert done.owner == "ann"
        raise RuntimeError("the worker failed after the action")

    with pytest.raises(RuntimeError):
        ctx.db.transact(work)
    assert owner_of(ctx, pk)[0] is None and assignments(ctx) == []
    assert owners.get_team(ctx, "sales")["last_assigned"] is None


def test_two_threads_assigning_200_leads_at_once_give_a_perfect_round_robin(ctx) -> None:
    members = ["ann", "bob", "cy", "dee"]
    for name in members:
        add_owner(ctx, name)
    add_team(ctx, "sales", *members)
    pks = add_leads(ctx, *({"id": f"L{i:03d}"} for i in range(200)))
    other = Context.open(ctx.settings)  # another process: its own engine and connections
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def worker(context: Context, part: list[int]) -> None:
        start.wait()
        try:
            for pk in part:
                assert assign(context, pk, team="sales").assigned
        except BaseException as exc:  # reported below
            failures.append(exc)

    ordered = sorted(pks.values())
    threads = [
        threading.Thread(target=worker, args=(context, ordered[i::2]))
        for i, context in enumerate((ctx, other))
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        other.close()
    assert not failures, failures
    chosen = [details["owner"] for _, details in assignments(ctx)]
    assert len(chosen) == 200
    assert Counter(chosen) == dict.fromkeys(members, 50)
    assert all(a != b for a, b in zip(chosen, chosen[1:], strict=False)), "chosen twice in a row"
    assert chosen == members * 50  # the team's order, from the first member, without a gap
    with ctx.db.read() as conn:
        owned = Counter(conn.scalars(select(leads.c.owner)))
    assert owned == dict.fromkeys(members, 50)
