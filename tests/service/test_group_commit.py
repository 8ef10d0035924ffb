"""Group commit: requests waiting together share one transaction, each answered with its own
result; a request naming an unknown lead fails alone."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from leadscore.service import leads as upserts
from leadscore.service import queries, scoring_models
from leadscore.service.errors import Conflict, NotFound
from leadscore.service.group_commit import GroupCommit
from leadscore.service.inputs import EventIn, LeadIn
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
