"""Lists and sequences (service/lists.py) on SQLite and PostgreSQL: created on first use, one
membership per lead however often it is added (from two threads too), removals audited, the
members paged in the order they came, and the CSV export read back by the csv module."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from sqlalchemy import func, select

from leadscore.service import lists
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, Invalid, NotFound
from leadscore.service.inputs import LeadIn
from leadscore.service.leads import upsert_leads
from leadscore.store import leads as stored_leads
from leadscore.store.tables import audit_log, list_members
from leadscore.store.tables import lists as list_table

NOW = 1_767_225_600_000_000  # 2026-01-01
SECOND = 1_000_000


def add_leads(ctx: Context, *items: dict) -> dict[str, int]:
    upsert_leads(ctx, [LeadIn(**item) for item in items], "test")
    with ctx.db.read() as conn:
        return stored_leads.pks_by_id(conn, [item["id"] for item in items])


def add(
    ctx: Context,
    pk: int,
    name: str,
    kind: str = "list",
    by: str = "automation:nurture",
    now: int = NOW,
) -> bool:
    return ctx.db.transact(
        lambda conn: lists.add_to_list(conn, pk, name, kind=kind, by=by, now=now)
    )


def remove(ctx: Context, pk: int, name: str, by: str = "automation:cleanup") -> bool:
    return ctx.db.transact(lambda conn: lists.remove_from_list(conn, pk, name, by=by, now=NOW))


def count(ctx: Context, table) -> int:
    with ctx.db.read() as conn:
        return conn.scalar(select(func.count()).select_from(table))


def test_adding_twice_is_one_membership_and_keeps_the_first_when_and_who(ctx) -> None:
    pks = add_leads(ctx, {"id": "L1"}, {"id": "L2"})
    assert add(ctx, pks["L1"], "webinar-followup") is True
    assert add(ctx, pks["L1"], " webinar-followup ", by="someone else", now=NOW + SECOND) is False
    assert add(ctx, pks["L2"], "webinar-followup", now=NOW + 2 * SECOND) is True
    assert count(ctx, list_table) == 1 and count(ctx, list_members) == 2
    page = lists.members_page(ctx, "webinar-followup")
    assert [(m["lead_id"], m["added_by"], m["added_at"]) for m in page["data"]] == [
        ("L1", "automation:nurture", "2026-01-01T00:00:00Z"),
        ("L2", "automation:nurture", "2026-01-01T00:00:02Z"),
    ]
    assert lists.list_lists(ctx) == [
        {
            "name": "webinar-followup",
            "kind": "list",
            "description": None,
            "members": 2,
            "created_at": "2026-01-01T00:00:00Z",
        }
    ]


def test_enroll_makes_a_sequence_and_a_name_is_one_list(ctx) -> None:
    pk = add_leads(ctx, {"id": "L1"})["L1"]
    assert add(ctx, pk, "warm-nurture", kind="sequence")
    with pytest.raises(Conflict, match="'warm-nurture' is a sequence, not a list"):
        add(ctx, pk, "warm-nurture")
    with pytest.raises(Invalid, match="kind: unknown kind 'drip'"):
        add(ctx, pk, "x", kind="drip")
    with pytest.raises(Invalid, match="name: .*cannot contain '/'"):
        add(ctx, pk, "a/b")
    with pytest.raises(Invalid, match="name: .*white space"):
        add(ctx, pk, "   ")
    with pytest.raises(Invalid, match="by: must be 1 to 200 characters, not 201"):
        add(ctx, pk, "x", by="b" * 201)
    with pytest.raises(NotFound, match="no lead with key 999"):
        add(ctx, 999, "x")
    assert [(x["name"], x["kind"]) for x in lists.list_lists(ctx)] == [("warm-nurture", "sequence")]


def test_removing_is_audited_and_false_when_not_a_member(ctx) -> None:
    pks = add_leads(ctx, {"id": "L1"}, {"id": "L2"})
    add(ctx, pks["L1"], "hot")
    assert remove(ctx, pks["L2"], "hot") is False
    assert remove(ctx, pks["L1"], "no-such-list") is False
    assert remove(ctx, pks["L1"], "hot") is True
    assert remove(ctx, pks["L1"], "hot") is False
    with ctx.db.read() as conn:
        rows = conn.execute(
            select(
                audit_log.c.actor, audit_log.c.action, audit_log.c.target, audit_log.c.details
            ).where(audit_log.c.action.like("list.%"))
        ).all()
    assert [tuple(r) for r in rows] == [
        ("automation:cleanup", "list.remove", "hot", {"lead": "L1"})
    ]
    assert lists.members_page(ctx, "hot")["data"] == []


def test_two_threads_adding_to_a_new_list_make_one_list(ctx) -> None:
    pks = sorted(add_leads(ctx, *({"id": f"L{i:02d}"} for i in range(40))).values())
    other = Context.open(ctx.settings)
    start = threading.Barrier(2)
    results: list[bool] = []
    failures: list[BaseException] = []

    def worker(context: Context) -> None:
        start.wait()
        try:
            for pk in pks:  # both add every lead: each is added once, found once
                results.append(
                    context.db.transact(
                        lambda conn, pk=pk: lists.add_to_list(conn, pk, "new", by="t", now=NOW)
                    )
                )
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(c,)) for c in (ctx, other)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        other.close()
    assert not failures, failures
    assert sorted(results) == [False] * 40 + [True] * 40
    assert count(ctx, list_table) == 1 and count(ctx, list_members) == 40


def test_a_deleted_lead_leaves_its_lists(ctx) -> None:
    pk = add_leads(ctx, {"id": "L1"})["L1"]
    add(ctx, pk, "hot")
    ctx.db.transact(lambda conn: stored_leads.drop(conn, pk))
    assert count(ctx, list_members) == 0 and lists.list_lists(ctx)[0]["members"] == 0


def test_people_add_and_remove_leads_by_id_all_or_nothing(ctx) -> None:
    add_leads(ctx, {"id": "L1"}, {"id": "L2"})
    body = lists.ListMembersIn(lead_ids=["L1", "nope", "L2", "gone"], by="sam")
    with pytest.raises(NotFound, match="no lead 'nope'") as raised:
        lists.add_leads(ctx, "q1", body, "key")
    assert [p.loc for p in raised.value.problems] == [
        ("body", "lead_ids", 1),
        ("body", "lead_ids", 3),
    ]
    assert lists.list_lists(ctx) == []  # not even the list
    done = lists.add_leads(ctx, "q1", lists.ListMembersIn(lead_ids=["L1", "L2", "L1"]), "key")
    assert done["added"] == ["L1", "L2"] and done["already_members"] == ["L1"]
    assert done["list"]["members"] == 2
    assert lists.members_page(ctx, "q1")["data"][0]["added_by"] == "key"
    assert lists.remove_lead(ctx, "q1", "L2", "key")["removed"] is True
    assert lists.remove_lead(ctx, "q1", "L2", "key") == {
        "list": {**done["list"], "members": 1},
        "removed": False,
    }
    with pytest.raises(NotFound, match="no list 'q2'"):
        lists.remove_lead(ctx, "q2", "L1", "key")
    with pytest.raises(NotFound, match="no lead 'L9'"):
        lists.remove_lead(ctx, "q1", "L9", "key")
    with pytest.raises(NotFound, match="no list 'q2'"):
        lists.members_page(ctx, "q2")
    with pytest.raises(Conflict, match="a list named 'q1' exists"):
        lists.create_list(ctx, "q1", "list", None, "cli")
    made = lists.create_list(ctx, "spring", "sequence", "Spring nurture", "cli")
    assert made["kind"] == "sequence" and made["description"] == "Spring nurture"


def test_members_are_paged_in_the_order_they_came(ctx) -> None:
    pks = add_leads(ctx, *({"id": f"L{i:02d}"} for i in range(7)))
    order = ["L03", "L00", "L06", "L01", "L05", "L02", "L04"]
    for i, lead in enumerate(order):
        add(ctx, pks[lead], "hot", now=NOW + (i // 2) * SECOND)  # pairs share a time
    seen, cursor = [], None
    while True:
        page = lists.members_page(ctx, "hot", cursor, limit=3)
        seen += [m["lead_id"] for m in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # within a time, the lead key (creation order) decides
    assert seen == ["L00", "L03", "L01", "L06", "L02", "L05", "L04"]
    with pytest.raises(Invalid, match="cursor"):
        lists.members_page(ctx, "hot", "bm90IGEgY3Vyc29y")


def test_the_csv_export_reads_back_with_the_csv_module(ctx) -> None:
    add_leads(
        ctx,
        {
            "id": "L1",
            "email": "Zoë@Example.com",
            "owner": "sam",
            "attributes": {
                "first_name": "Zoë",
                "last_name": "O'Brien, Jr.",
                "company": 'ACME "Labs"\nEU',
            },
        },
        {"id": "L2", "attributes": {"name": '=HYPERLINK("http://x")', "company_name": "@risk"}},
        {"id": "L3", "stage": "customer"},
    )
    with ctx.db.read() as conn:
        pks = stored_leads.pks_by_id(conn, ["L1", "L2", "L3"])
    for i, lead in enumerate(("L1", "L2", "L3")):
        add(ctx, pks[lead], "export", now=NOW + i * SECOND)
    text = "".join(lists.csv_lines(ctx, "export"))
    assert text.startswith(
        "lead_id,email,name,company,score,tier,stage,owner,added_at,added_by\r\n"
    )
    assert text.count("\r\n") == 4  # 4 records ending in CRLF; quotes doubled, newline kept
    assert '"ACME ""Labs""\nEU"' in text and text.endswith("automation:nurture\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["lead_id"] for r in rows] == ["L1", "L2", "L3"]
    assert rows[0] == {
        "lead_id": "L1",
        "email": "zoë@example.com",
        "name": "Zoë O'Brien, Jr.",
        "company": 'ACME "Labs"\nEU',
        "score": "",  # never scored (no model active)
        "tier": "",
        "stage": "",
        "owner": "sam",
        "added_at": "2026-01-01T00:00:00Z",
        "added_by": "automation:nurture",
    }
    assert rows[1]["name"] == '\'=HYPERLINK("http://x")' and rows[1]["company"] == "'@risk"
    assert rows[2]["stage"] == "customer" and rows[2]["added_at"] == "2026-01-01T00:00:02Z"
    with pytest.raises(NotFound, match="no list 'nope'"):
        lists.csv_lines(ctx, "nope")


def test_a_large_export_streams_every_member_once(ctx, monkeypatch) -> None:
    monkeypatch.setattr(lists, "EXPORT_PAGE", 7)  # several pages, the last one partial
    pks = add_leads(ctx, *({"id": f"L{i:03d}"} for i in range(30)))
    for pk in pks.values():
        add(ctx, pk, "big")
    lines = list(lists.csv_lines(ctx, "big"))
    assert len(lines) == 31
    assert [line.split(",")[0] for line in lines[1:]] == [f"L{i:03d}" for i in range(30)]
