"""Owners, teams and lists over a real socket, on SQLite and PostgreSQL: admin keys manage
owners and teams, write keys change list membership, read keys read (401/403 otherwise);
duplicates are 409s, unknown names 404s naming them, bad bodies 422s naming each field; list
members page with a cursor and export as CSV that the csv module reads back."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from leadscore.api import schemas
from leadscore.core.conditions import parse_condition
from leadscore.service.assignment import Territory, assign_owner
from leadscore.store import leads as stored_leads

ENDPOINTS = [  # method, path, body, the scope it needs
    ("GET", "/owners", None, "read"),
    ("GET", "/owners/ann", None, "read"),
    ("GET", "/teams", None, "read"),
    ("GET", "/teams/sales", None, "read"),
    ("GET", "/lists", None, "read"),
    ("GET", "/lists/hot/members", None, "read"),
    ("GET", "/lists/hot/members.csv", None, "read"),
    ("POST", "/owners", {"id": "zed", "name": "Zed"}, "admin"),
    ("PATCH", "/owners/ann", {"capacity": 5}, "admin"),
    ("POST", "/teams", {"name": "t2"}, "admin"),
    ("PUT", "/teams/sales/members", {"members": ["ann"]}, "admin"),
    ("POST", "/lists/hot/members", {"lead_ids": ["L1"]}, "write"),
    ("DELETE", "/lists/hot/members/L1", None, "write"),
]


def setup(api) -> None:
    api.lead(id="L1")
    assert api.admin.post("/owners", json={"id": "ann", "name": "Ann"}).status_code == 201
    assert api.admin.post("/teams", json={"name": "sales", "members": ["ann"]}).status_code == 201
    assert api.writer.post("/lists/hot/members", json={"lead_ids": ["L1"]}).status_code == 200


@pytest.mark.parametrize(("method", "path", "body", "scope"), ENDPOINTS)
def test_every_endpoint_needs_a_key_with_its_scope(api, method, path, body, scope) -> None:
    setup(api)
    missing = api.anon.request(method, path, json=body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    allowed = {scope, "admin"}
    for name, client in (("read", api.reader), ("write", api.writer), ("admin", api.admin)):
        status = client.request(method, path, json=body).status_code
        if name in allowed:
            assert status in (200, 201), (name, status)
        else:
            assert status == 403, (name, status)


def test_owners_are_added_read_changed_and_never_duplicated(api) -> None:
    api.set_time("2026-01-01T00:00:00Z")
    made = api.admin.post(
        "/owners",
        json={"id": "sam@yourco.com", "name": "Sam", "email": "Sam@YourCo.com", "capacity": 2},
    )
    assert made.status_code == 201, made.text
    assert schemas.Owner.model_validate(made.json()).email == "sam@yourco.com"
    again = api.admin.post("/owners", json={"id": "sam@yourco.com", "name": "Other"})
    assert again.status_code == 409
    assert again.json()["detail"][0]["loc"] == ["body", "id"]
    assert "an owner with id 'sam@yourco.com' exists" in again.json()["detail"][0]["msg"]

    api.lead(id="L1", owner="sam@yourco.com")
    api.lead(id="L2", owner="sam@yourco.com", stage="customer")
    shown = api.get("/owners/sam@yourco.com")
    assert shown["open_leads"] == 1 and shown["capacity"] == 2 and shown["teams"] == []
    changed = api.admin.patch("/owners/sam@yourco.com", json={"capacity": None, "active": False})
    assert changed.status_code == 200, changed.text
    assert changed.json()["capacity"] is None and changed.json()["active"] is False
    assert changed.json()["name"] == "Sam" and changed.json()["email"] == "sam@yourco.com"
    assert api.get("/leads/L1")["owner"] == "sam@yourco.com"  # a deactivated owner keeps leads
    assert [o["id"] for o in api.get("/owners")] == ["sam@yourco.com"]

    missing = api.admin.patch("/owners/nobody", json={"name": "x"})
    assert missing.status_code == 404 and missing.json()["detail"] == "no owner 'nobody'"
    assert api.reader.get("/owners/nobody").json()["detail"] == "no owner 'nobody'"


@pytest.mark.parametrize(
    ("method", "path", "body", "locs"),
    [
        ("POST", "/owners", {"id": "a/b", "name": "x"}, [["body", "id"]]),
        (
            "POST",
            "/owners",
            {"id": "a", "name": " ", "capacity": -1},
            [["body", "name"], ["body", "capacity"]],
        ),
        ("POST", "/owners", {"id": "a", "name": "x", "capacity": "3"}, [["body", "capacity"]]),
        ("POST", "/owners", {"name": "x", "colour": "red"}, [["body", "id"], ["body", "colour"]]),
        ("PATCH", "/owners/ann", {"name": None}, [["body", "name"]]),
        ("PATCH", "/owners/ann", {"active": "no"}, [["body", "active"]]),
        ("POST", "/teams", {"name": "t", "members": ["ann", "ann"]}, [["body", "members"]]),
        ("PUT", "/teams/sales/members", ["ann"], [["body"]]),
        ("POST", "/lists/hot/members", {"lead_ids": []}, [["body", "lead_ids"]]),
        ("POST", "/lists/hot/members", {"lead_ids": ["L1"], "kind": "drip"}, [["body", "kind"]]),
        ("POST", "/lists/%20/members", {"lead_ids": ["L1"]}, [["path", "name"]]),
    ],
)
def test_bad_bodies_are_422s_naming_each_field_and_write_nothing(
    api, method, path, body, locs
) -> None:
    setup(api)
    before = (api.get("/owners"), api.get("/teams"), api.get("/lists"))
    response = api.admin.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert [d["loc"] for d in response.json()["detail"]] == locs
    assert (api.get("/owners"), api.get("/teams"), api.get("/lists")) == before


def test_teams_keep_their_members_in_order_and_name_unknown_ones(api) -> None:
    for name in ("ann", "bob", "cy"):
        api.admin.post("/owners", json={"id": name, "name": name.title()})
    unknown = api.admin.post("/teams", json={"name": "sales", "members": ["ann", "x", "bob", "y"]})
    assert unknown.status_code == 404
    assert [(d["loc"], d["msg"]) for d in unknown.json()["detail"]] == [
        (["body", "members", 1], "no owner 'x'"),
        (["body", "members", 3], "no owner 'y'"),
    ]
    assert api.get("/teams") == []
    made = api.admin.post("/teams", json={"name": " sales ", "members": ["cy", "ann"]})
    assert made.status_code == 201, made.text
    team = schemas.Team.model_validate(made.json())
    assert team.name == "sales" and [m.id for m in team.members] == ["cy", "ann"]
    assert api.admin.post("/teams", json={"name": "sales"}).status_code == 409

    put = api.admin.put("/teams/sales/members", json={"members": ["bob", "ann", "cy"]})
    assert [m["id"] for m in put.json()["members"]] == ["bob", "ann", "cy"]
    assert api.get("/teams/sales") == put.json()
    assert api.get("/owners/ann")["teams"] == ["sales"]
    gone = api.admin.put("/teams/nope/members", json={"members": []})
    assert gone.status_code == 404 and gone.json()["detail"] == "no team 'nope'"
    assert api.reader.get("/teams/nope").status_code == 404

    api.lead(id="L1", attributes={"country": "DE"})
    with api.ctx.db.read() as conn:
        lead_pk = stored_leads.pks_by_id(conn, ["L1"])["L1"]
    errors: list = []
    territory = Territory(
        parse_condition({"field": "country", "equals": "de"}, "w", errors), team="sales"
    )
    done = api.ctx.db.transact(
        lambda conn: assign_owner(
            conn,
            lead_pk,
            team=None,
            owner=None,
            strategy="round_robin",
            territories=[territory],
            reassign=False,
            now=api.ctx.now(),
            actor="automation:route",
        )
    )
    assert done.owner == "bob" and api.get("/leads/L1")["owner"] == "bob"
    assert api.get("/teams/sales")["last_assigned"] == "bob"
    assert api.get("/owners/bob")["open_leads"] == 1


def test_lists_are_filled_by_id_paged_exported_and_emptied(api) -> None:
    api.set_time("2026-01-01T00:00:00Z")
    for i in range(5):
        api.lead(
            id=f"L{i}",
            email=f"p{i}@example.com",
            attributes={"first_name": f"P{i}", "company": "Acme, Inc."},
        )
    added = api.writer.post(
        "/lists/Q1 webinar/members", json={"lead_ids": ["L3", "L1", "nope", "zip"], "by": "sam"}
    )
    assert added.status_code == 404
    assert [d["loc"] for d in added.json()["detail"]] == [
        ["body", "lead_ids", 2],
        ["body", "lead_ids", 3],
    ]
    assert api.get("/lists") == []
    added = api.writer.post(
        "/lists/Q1 webinar/members", json={"lead_ids": ["L3", "L1"], "by": "sam"}
    )
    assert added.status_code == 200, added.text
    body = schemas.ListMembersAdded.model_validate(added.json())
    assert body.added == ["L3", "L1"] and body.list.members == 2 and body.list.kind == "list"
    api.set_time("2026-01-01T00:01:00Z")
    more = api.writer.post("/lists/Q1 webinar/members", json={"lead_ids": ["L1", "L0", "L4"]})
    assert more.json()["added"] == ["L0", "L4"] and more.json()["already_members"] == ["L1"]
    conflict = api.writer.post(
        "/lists/Q1 webinar/members", json={"lead_ids": ["L2"], "kind": "sequence"}
    )
    assert conflict.status_code == 409 and "is a list, not a sequence" in conflict.json()["detail"]

    pages, cursor = [], None
    while True:
        page = api.get(
            "/lists/Q1 webinar/members", limit=3, **({"cursor": cursor} if cursor else {})
        )
        pages.append([m["lead_id"] for m in page["data"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [["L1", "L3", "L0"], ["L4"]]
    member = schemas.ListMember.model_validate(api.get("/lists/Q1 webinar/members")["data"][1])
    assert (member.lead_id, member.added_by, member.added_at) == (
        "L3",
        "sam",
        "2026-01-01T00:00:00Z",
    )
    assert member.name == "P3" and member.company == "Acme, Inc."

    export = api.reader.get("/lists/Q1 webinar/members.csv")
    assert export.status_code == 200
    assert export.headers["content-type"] == "text/csv; charset=utf-8"
    assert export.headers["content-disposition"] == (
        "attachment; filename=\"Q1_webinar.csv\"; filename*=UTF-8''Q1%20webinar.csv"
    )
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8"), newline="")))
    assert rows[0] == [
        "lead_id",
        "email",
        "name",
        "company",
        "score",
        "tier",
        "stage",
        "owner",
        "added_at",
        "added_by",
    ]
    assert [r[0] for r in rows[1:]] == ["L1", "L3", "L0", "L4"]
    assert rows[2] == [
        "L3",
        "p3@example.com",
        "P3",
        "Acme, Inc.",
        "",
        "",
        "",
        "",
        "2026-01-01T00:00:00Z",
        "sam",
    ]
    assert rows[3][8:] == ["2026-01-01T00:01:00Z", "write-key"]
    assert export.content.endswith(b"\r\n") and b"\r\n" in export.content.split(b"\n")[0] + b"\n"

    removed = api.writer.delete("/lists/Q1 webinar/members/L3")
    assert removed.status_code == 200 and removed.json()["removed"] is True
    assert removed.json()["list"]["members"] == 3
    assert api.writer.delete("/lists/Q1 webinar/members/L3").json()["removed"] is False
    assert api.writer.delete("/lists/Q1 webinar/members/L9").status_code == 404
    assert api.writer.delete("/lists/nope/members/L1").json()["detail"] == "no list 'nope'"
    assert api.reader.get("/lists/nope/members.csv").status_code == 404
    assert api.reader.get("/lists/nope/members").status_code == 404
    assert [(x["name"], x["members"]) for x in api.get("/lists")] == [("Q1 webinar", 3)]


def test_an_export_of_thousands_streams_complete(api) -> None:
    api.writer.post("/leads", json={"leads": [{"id": f"L{i:04d}"} for i in range(1000)]})
    api.writer.post("/leads", json={"leads": [{"id": f"M{i:04d}"} for i in range(1000)]})
    ids = [f"L{i:04d}" for i in range(1000)] + [f"M{i:04d}" for i in range(1000)]
    for start in (0, 1000):
        done = api.writer.post("/lists/big/members", json={"lead_ids": ids[start : start + 1000]})
        assert done.status_code == 200, done.text
    with httpx.stream(
        "GET",
        f"{api.server.base_url}/api/v1/lists/big/members.csv",
        headers={"Authorization": f"Bearer {api.keys['read']}"},
    ) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 2001 and sorted(r[0] for r in rows[1:]) == sorted(ids)
