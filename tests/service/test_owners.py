"""Managing owners and teams (service/owners.py) on SQLite and PostgreSQL: ids and team names
are unique (409 naming the field), unknown members are each named and nothing is written,
updates change only what is sent, and loads count open leads only."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from leadscore.service import owners
from leadscore.service.errors import Conflict, Invalid, NotFound
from leadscore.service.inputs import LeadIn
from leadscore.service.leads import upsert_leads
from leadscore.store.tables import audit_log, team_members, teams

NOW = 1_767_225_600_000_000  # 2026-01-01


def test_owners_are_created_once_changed_by_key_and_listed_with_their_load(ctx) -> None:
    ctx.clock = lambda: NOW
    made = owners.create_owner(
        ctx,
        owners.OwnerIn(id=" sam@yourco.com ", name=" Sam Ray ", email="Sam@YourCo.com", capacity=3),
        "admin",
    )
    assert made == {
        "id": "sam@yourco.com",
        "name": "Sam Ray",
        "email": "sam@yourco.com",
        "active": True,
        "capacity": 3,
        "open_leads": 0,
        "teams": [],
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    with pytest.raises(Conflict, match="an owner with id 'sam@yourco.com' exists") as raised:
        owners.create_owner(ctx, owners.OwnerIn(id="sam@yourco.com", name="Other"), "admin")
    assert raised.value.loc == ("body", "id")

    upsert_leads(
        ctx,
        [
            LeadIn(id="L1", owner="sam@yourco.com"),
            LeadIn(id="L2", owner="sam@yourco.com", stage="lost"),
            LeadIn(id="L3", owner="sam@yourco.com", stage="opportunity"),
        ],
        "test",
    )
    ctx.clock = lambda: NOW + 1
    changed = owners.update_owner(
        ctx, "sam@yourco.com", owners.OwnerChange(capacity=None, email=None), "admin"
    )
    assert changed["capacity"] is None and changed["email"] is None
    assert changed["name"] == "Sam Ray" and changed["active"] is True  # not sent: kept
    assert changed["open_leads"] == 2 and changed["updated_at"] == "2026-01-01T00:00:00.000001Z"
    assert owners.set_active(ctx, "sam@yourco.com", False, "admin")["active"] is False
    assert owners.get_owner(ctx, "sam@yourco.com")["open_leads"] == 2  # keeps the leads
    owners.create_owner(ctx, owners.OwnerIn(id="ann", name="Ann"), "admin")
    assert [o["id"] for o in owners.list_owners(ctx)] == ["ann", "sam@yourco.com"]
    with pytest.raises(owners.UnknownOwner, match="no owner 'nobody'"):
        owners.update_owner(ctx, "nobody", owners.OwnerChange(name="x"), "admin")
    with pytest.raises(NotFound, match="no owner 'nobody'"):
        owners.get_owner(ctx, "nobody")
    with ctx.db.read() as conn:
        query = select(audit_log.c.action).where(audit_log.c.action.like("owner.%"))
        actions = list(conn.scalars(query.order_by(audit_log.c.pk)))
    assert actions == ["owner.create", "owner.update", "owner.update", "owner.create"]


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        ({"id": "a/b", "name": "x"}, ("id",), "cannot contain '/'"),
        ({"id": "..", "name": "x"}, ("id",), "cannot contain '/' or be '.' or '..'"),
        ({"id": " ", "name": "x"}, ("id",), "white space"),
        ({"id": "x" * 201, "name": "x"}, ("id",), "at most 200 characters"),
        ({"id": "a", "name": "x", "capacity": -1}, ("capacity",), "greater than or equal to 0"),
        ({"id": "a", "name": "x", "capacity": True}, ("capacity",), "valid integer"),
        ({"id": "a", "name": "x", "email": "nope"}, ("email",), "not an e-mail address"),
        ({"id": "a", "name": "x", "team": "t"}, ("team",), "Extra inputs"),
    ],
)
def test_bad_owners_are_refused_naming_the_field(body, loc, message) -> None:
    with pytest.raises(ValidationError) as raised:
        owners.OwnerIn.model_validate(body, strict=True)
    errors = raised.value.errors()
    assert [e["loc"] for e in errors] == [loc] and message in errors[0]["msg"]


def test_an_owner_change_cannot_null_a_name_or_activity() -> None:
    for field in ("name", "active"):
        with pytest.raises(ValidationError, match="cannot be null"):
            owners.OwnerChange.model_validate({field: None}, strict=True)
    assert owners.OwnerChange.model_validate({"capacity": 3.0}, strict=True).capacity == 3


def test_teams_hold_owners_in_order_and_name_every_unknown_member(ctx) -> None:
    for name in ("ann", "bob", "cy"):
        owners.create_owner(ctx, owners.OwnerIn(id=name, name=name.title()), "admin")
    with pytest.raises(owners.UnknownOwner, match="no owners 'x', 'y'") as raised:
        owners.create_team(ctx, owners.TeamIn(name="sales", members=["ann", "x", "y"]), "admin")
    assert [p.loc for p in raised.value.problems] == [
        ("body", "members", 1),
        ("body", "members", 2),
    ]
    with ctx.db.read() as conn:
        assert conn.scalar(select(func.count()).select_from(teams)) == 0  # nothing written

    team = owners.create_team(ctx, owners.TeamIn(name="sales", members=["cy", "ann"]), "admin")
    assert [m["id"] for m in team["members"]] == ["cy", "ann"]
    assert team["members"][0] == {
        "id": "cy",
        "name": "Cy",
        "active": True,
        "capacity": None,
        "open_leads": 0,
    }
    with pytest.raises(Conflict, match="a team named 'sales' exists"):
        owners.create_team(ctx, owners.TeamIn(name="sales"), "admin")
    with pytest.raises(ValidationError, match="'ann' is named twice"):
        owners.TeamIn.model_validate({"name": "t", "members": ["ann", "ann"]}, strict=True)
    with pytest.raises(Invalid, match="'bob' is named twice"):
        owners.set_members(ctx, "sales", ["bob", "bob"], "admin")

    assert [
        m["id"] for m in owners.set_members(ctx, "sales", ["bob", "cy", "ann"], "admin")["members"]
    ] == [
        "bob",
        "cy",
        "ann",
    ]
    assert [m["id"] for m in owners.add_member(ctx, "sales", "ann", "admin")["members"]] == [
        "bob",
        "cy",
        "ann",
    ]
    assert [m["id"] for m in owners.remove_member(ctx, "sales", "cy", "admin")["members"]] == [
        "bob",
        "ann",
    ]
    assert [m["id"] for m in owners.add_member(ctx, "sales", "cy", "admin")["members"]] == [
        "bob",
        "ann",
        "cy",
    ]
    with pytest.raises(NotFound, match="'x' is not a member|no owner 'x'"):
        owners.remove_member(ctx, "sales", "x", "admin")
    owners.create_team(ctx, owners.TeamIn(name="emea", members=["ann"]), "admin")
    with pytest.raises(NotFound, match="'bob' is not a member of team 'emea'"):
        owners.remove_member(ctx, "emea", "bob", "admin")
    with pytest.raises(owners.UnknownTeam, match="no team 'apac'"):
        owners.set_members(ctx, "apac", [], "admin")
    assert [t["name"] for t in owners.list_teams(ctx)] == ["emea", "sales"]
    assert owners.get_owner(ctx, "ann")["teams"] == ["emea", "sales"]
    assert owners.set_members(ctx, "emea", [], "admin")["members"] == []
    with ctx.db.read() as conn:
        assert conn.scalar(select(func.count()).select_from(team_members)) == 3
