"""§9: concurrent events for the same lead never lose an update, whether they come through
threads of one process or through two processes (two engines) on the same database."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select

from leadscore.core.evaluate import score_lead
from leadscore.core.records import Lead
from leadscore.service import events as ingest
from leadscore.service import leads as upserts
from leadscore.service import scoring_models
from leadscore.service.context import Context
from leadscore.service.inputs import EventIn, LeadIn
from leadscore.store import events as stored_events
from leadscore.store import leads as stored_leads
from leadscore.store.tables import events, leads

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "b2b-saas.yaml"
AS_OF = 1_767_225_600_000_000  # 2026-01-01


def event(i: int, **lead) -> EventIn:
    return EventIn(
        id=f"e{i}",
        type=["email_opened", "page_viewed", "email_clicked"][i % 3],
        occurred_at=f"2025-12-{1 + i % 28:02d}T00:00:00Z",
        properties={"url": "/pricing" if i % 7 == 0 else "/blog"},
        **lead,
    )


def assert_scored_exactly(ctx: Context, lead_id: str, n_events: int) -> None:
    with ctx.db.read() as conn:
        pk = stored_leads.pks_by_id(conn, [lead_id])[lead_id]
        row = conn.execute(select(leads).where(leads.c.pk == pk)).one()
        count = conn.scalar(select(func.count()).select_from(events).where(events.c.lead_pk == pk))
        stored = stored_events.for_leads(conn, ctx.event_types, [pk])[pk]
        model = ctx.models.active(conn)[1]
    assert count == n_events
    expected = score_lead(model, Lead(row.id, row.email, row.attributes), stored, AS_OF)
    assert (row.score, row.fit, row.engagement) == (
        expected.score,
        expected.fit,
        expected.engagement,
    )


def test_two_processes_and_many_threads_on_one_lead(ctx) -> None:
    ctx.clock = lambda: AS_OF
    stored = scoring_models.upload(ctx, EXAMPLE.read_text(), "test")
    scoring_models.activate(ctx, stored["version"], "test")
    upserts.upsert_leads(ctx, [LeadIn(id="L1", attributes={"industry": "saas"})], "test")
    other = Context.open(ctx.settings)  # another process: its own engine and caches
    other.clock = ctx.clock
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(
                pool.map(
                    lambda i: ingest.ingest_events((ctx, other)[i % 2], [event(i, lead_id="L1")]),
                    range(200),
                )
            )
        assert_scored_exactly(ctx, "L1", 200)
    finally:
        other.close()


def test_overlapping_batches_on_many_leads_do_not_deadlock_or_lose_events(ctx) -> None:
    ctx.clock = lambda: AS_OF
    stored = scoring_models.upload(ctx, EXAMPLE.read_text(), "test")
    scoring_models.activate(ctx, stored["version"], "test")
    upserts.upsert_leads(ctx, [LeadIn(id=f"L{i}") for i in range(10)], "test")
    rng = random.Random(5)
    batches = []
    for b in range(30):
        ids = list(range(b * 20, b * 20 + 20))
        batches.append([event(i, lead_id=f"L{rng.randrange(10)}") for i in ids])
    new_emails = [[event(10_000 + b, email="same@new.io")] for b in range(10)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda batch: ingest.ingest_events(ctx, batch), batches + new_emails))
    counts = {}
    for batch in batches:
        for item in batch:
            counts[item.lead_id] = counts.get(item.lead_id, 0) + 1
    for lead_id, n in counts.items():
        assert_scored_exactly(ctx, lead_id, n)
    with ctx.db.read() as conn:
        created = conn.execute(select(leads.c.id).where(leads.c.email == "same@new.io")).all()
    assert len(created) == 1
    assert_scored_exactly(ctx, created[0].id, 10)
