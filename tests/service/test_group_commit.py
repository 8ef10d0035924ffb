"""Group commit: requests waiting together share one transaction, each answered with its own
result; a request naming an unknown lead fails alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import pytest
from sqlalchemy import event, text

from leadscore.service import leads as upserts
from leadscore.service import queries, scoring_models
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, NotFound
from leadscore.service.events import Ingested
from leadscore.service.group_commit import GroupCommit
from leadscore.service.inputs import EventIn, LeadIn
from leadscore.service.resolve import LocOf
from leadscore.store import leads as stored_leads

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "b2b-saas.yaml"


@pytest.fixture
def writer(ctx):
    ctx.clock = lambda: 1_767_225_600_000_000  # 2026-01-01
    version = scoring_models.upload(ctx, EXAMPLE.read_text(), "test")["version"]
    scoring_models.activate(ctx, version, "test")
    upserts.upsert_leads(ctx, [LeadIn(id="A"), LeadIn(id="B")], "test")
    group_commit = GroupCommit(ctx)
    yield group_commit
    group_commit.close()


def test_waiting_requests_share_one_transaction(ctx, writer) -> None:
    locked, release = threading.Event(), threading.Event()

    def hold_lead_a() -> None:  # keeps the writer waiting on lead A
        with ctx.db.write() as conn:
            stored_leads.lock(conn, stored_leads.pks_by_id(conn, ["A"]).values())
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_lead_a)
    holder.start()
    locked.wait(10)
    first = writer.submit([EventIn(lead_id="A", type="demo_booked", id="a1")], lambda i: (i,))
    time.sleep(0.2)  # the writer has taken `first` and waits for the lock
    waiting = [
        writer.submit([EventIn(lead_id="A", type="email_opened", id="a2")], lambda i: (i,)),
        writer.submit([EventIn(lead_id="nobody", type="email_opened")], lambda i: ("body",)),
        writer.submit([EventIn(lead_id="B", type="trial_started", id="b1")], lambda i: (i,)),
        writer.submit([EventIn(lead_id="A", type="email_opened", id="a2")], lambda i: (i,)),
    ]
    release.set()
    holder.join()
    assert first.result(10).stored == 1
    a2, unknown, b1, again = waiting
    with pytest.raises(NotFound) as missing:
        unknown.result(10)
    assert missing.value.problems[0].loc == ("body", "lead_id")
    assert a2.result().events[0]["status"] == "stored"
    assert again.result().events[0]["status"] == "duplicate"
    assert b1.result().leads[0].after.score == 24.0
    # the last three share one transaction: lead A's answers show the same new score,
    # and A's history has one row for it
    assert a2.result().leads[0].after == again.result().leads[0].after
    history = queries.lead_history(ctx, "A")["data"]
    assert [h["cause"]["ref"] for h in history] == ["a2", "a1", "A"]


def test_an_event_id_of_another_lead_fails_its_request_alone(ctx, writer) -> None:
    """Two requests with one event id for two leads, in one group: the first is stored, the
    second is a Conflict naming both leads — not a silent duplicate — and the others of the
    group are stored as usual."""
    locked, release = threading.Event(), threading.Event()

    def hold_lead_b() -> None:
        with ctx.db.write() as conn:
            stored_leads.lock(conn, stored_leads.pks_by_id(conn, ["B"]).values())
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_lead_b)
    holder.start()
    locked.wait(10)
    first = writer.submit([EventIn(lead_id="B", type="email_opened", id="b0")], lambda i: (i,))
    time.sleep(0.2)
    mine = writer.submit([EventIn(lead_id="A", type="demo_booked", id="x")], lambda i: (i,))
    theirs = writer.submit([EventIn(lead_id="B", type="demo_booked", id="x")], lambda i: ("b",))
    other = writer.submit([EventIn(lead_id="B", type="email_opened", id="b1")], lambda i: (i,))
    release.set()
    holder.join()
    assert first.result(10).stored == 1
    assert mine.result(10).events[0] == {"id": "x", "lead_id": "A", "status": "stored"}
    with pytest.raises(Conflict) as clash:
        theirs.result(10)
    assert clash.value.loc == ("b", "id")
    assert "'A'" in str(clash.value) and "'B'" in str(clash.value)
    assert other.result(10).events[0]["status"] == "stored"
    ids = [e["id"] for e in queries.lead_events(ctx, "B")["data"]]
    assert sorted(ids) == ["b0", "b1"]


def _grouped(
    ctx: Context, writer: GroupCommit, requests: Sequence[tuple[list[EventIn], LocOf]]
) -> list[Future[Ingested]]:
    """Submit `requests` ((events, loc_of) pairs) so that the writer takes them as one group:
    it is kept busy on a first request while they queue. Their futures, in order."""
    locked, release = threading.Event(), threading.Event()

    def hold_the_database() -> None:
        with ctx.db.write() as conn:  # SQLite: the one writer's lock
            if not ctx.db.is_sqlite:  # PostgreSQL: lead A's row, which `first` must lock
                conn.execute(text("SELECT pk FROM leads WHERE id = 'A' FOR UPDATE"))
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_database)
    holder.start()
    locked.wait(10)
    first = writer.submit([EventIn(lead_id="A", type="email_opened")], lambda i: (i,))
    time.sleep(0.2)  # the writer has taken `first` alone and waits for the database
    futures = [writer.submit(events, loc_of) for events, loc_of in requests]
    release.set()
    holder.join()
    assert first.result(10).stored == 1
    return futures


def _statements(ctx: Context) -> list[str]:
    """A list that grows by one per SQL statement the database runs (until the test ends)."""
    ran: list[str] = []
    event.listen(ctx.db.engine, "before_cursor_execute", lambda *args: ran.append(args[2]))
    return ran


def test_a_group_of_good_requests_is_stored_as_one(ctx: Context, writer: GroupCommit) -> None:
    """The common case costs the same statements whatever the number of requests: one lookup,
    one lock, one insert, one check of the ids, one rescore — not a savepoint and four
    statements per request."""
    upserts.upsert_leads(ctx, [LeadIn(id=f"L{n}") for n in range(8)], "test")
    ran = _statements(ctx)
    counts = []
    for size, tag in ((1, "w"), (2, "x"), (8, "y")):  # (the first warms the caches)
        requests = [
            ([EventIn(lead_id=f"L{n}", type="email_opened", id=f"{tag}{n}")], lambda i: (i,))
            for n in range(size)
        ]
        ran.clear()
        futures = _grouped(ctx, writer, requests)
        answers = [f.result(10) for f in futures]
        assert [a.events[0]["status"] for a in answers] == ["stored"] * size
        assert [a.leads[0].lead_id for a in answers] == [f"L{n}" for n in range(size)]
        counts.append(len(ran))
    assert not any("SAVEPOINT" in s.upper() for s in ran)
    assert counts[1] == counts[2], ran


def test_a_bad_request_in_a_group_fails_alone_and_the_others_answer_as_alone(
    ctx: Context, writer: GroupCommit
) -> None:
    """A group with a 404 and a 409 among good requests: those two fail with their own
    locations, the others are stored and answer what they would have in a group without
    them — including which request created a lead that two of them name by e-mail."""
    answers = {}
    for bad in (False, True):
        email = f"new-{bad}@example.com"
        requests = [
            ([EventIn(email=email, type="demo_booked", id=f"e1-{bad}")], lambda i: ("one",)),
            ([EventIn(email=email, type="email_opened", id=f"e2-{bad}")], lambda i: ("two",)),
            ([EventIn(lead_id="B", type="email_opened", id=f"b-{bad}")], lambda i: ("three",)),
        ]
        if bad:
            requests.insert(
                1, ([EventIn(lead_id="nobody", type="email_opened")], lambda i: ("404",))
            )
            requests.append(  # the id of the first request's event, for another lead
                ([EventIn(lead_id="A", type="email_opened", id="e1-True")], lambda i: ("409",))
            )
        futures = _grouped(ctx, writer, requests)
        if bad:
            with pytest.raises(NotFound) as missing:
                futures[1].result(10)
            assert missing.value.problems[0].loc == ("404", "lead_id")
            with pytest.raises(Conflict) as clash:
                futures[4].result(10)
            assert clash.value.loc == ("409", "id")
            futures = [futures[0], futures[2], futures[3]]
        answers[bad] = [f.result(10) for f in futures]
    for good, with_bad in zip(answers[False], answers[True], strict=True):
        assert [e["status"] for e in good.events] == [e["status"] for e in with_bad.events]
        assert [c.lead_id == "B" for c in good.leads] == [c.lead_id == "B" for c in with_bad.leads]
        assert len(good.created) == len(with_bad.created)
        assert [d["created"] for d in good.lead_dicts()] == [
            d["created"] for d in with_bad.lead_dicts()
        ]
    one, two, _ = answers[True]
    assert one.lead_dicts()[0]["created"] is True and two.lead_dicts()[0]["created"] is False
    assert one.leads[0].lead_id == two.leads[0].lead_id
    assert one.leads[0].after == two.leads[0].after  # one transaction: the same new score
    assert [e["id"] for e in queries.lead_events(ctx, "A")["data"]].count("e1-True") == 0
