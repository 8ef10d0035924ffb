"""Simulating automations over stored history counts what live firing wrote; daily digests
are written once per owner and day, and delivered."""

from __future__ import annotations

import email
from collections import Counter
from email import policy

from sqlalchemy import select

from leadscore.core.automations import load_automations_text
from leadscore.core.timestamps import format_timestamp, parse_timestamp
from leadscore.service import automations, digests, outbox, scoring_models
from leadscore.service.events import ingest_events
from leadscore.service.inputs import EventIn, LeadIn
from leadscore.service.leads import upsert_leads
from leadscore.service.owners import OwnerIn, create_owner
from leadscore.service.simulate import simulate
from leadscore.store.tables import outbox as outbox_table

DAY = 86_400_000_000
MODEL = """
name: sim
combine: sum
engagement:
  max: 100
  rules:
    - {id: visit, event: page_viewed, points: 20}
    - {id: demo, event: demo_booked, points: 50}
tiers: {hot: 70, warm: 30}
stages:
  - {name: sql, min_score: 70}
  - {name: lead}
"""
FILE = """
automations:
  - name: crossed-50
    when: {score_crossed: {threshold: 50}}
    actions: [{add_to_list: {list: fifty}}]
  - name: to-sql
    when: {stage_changed: {to: sql}}
    actions: [{add_to_list: {list: sql}}]
  - name: demos
    when: {event_received: {type: demo_booked}}
    actions: [{add_to_list: {list: demos}}]
  - name: new
    when: {lead_created: {}}
    conditions: {field: country, equals: PL}
    actions: [{add_to_list: {list: new}}]
"""
START = parse_timestamp("2026-11-01T09:00:00Z")


def test_simulation_counts_what_live_firing_wrote(ctx):
    ctx.clock = lambda: START
    scoring_models.activate(ctx, scoring_models.upload(ctx, MODEL, "t")["version"], "t")
    automations.upload(ctx, FILE, "t", activate=True)
    for day in range(10):
        moment = START + day * DAY
        ctx.clock = lambda moment=moment: moment
        upsert_leads(
            ctx,
            [
                LeadIn(id=f"L{day}-{i}", attributes={"country": "PL" if i % 2 else "DE"})
                for i in range(3)
            ],
            "t",
        )
        events = [
            EventIn(
                lead_id=f"L{d}-{i}",
                id=f"e{day}-{d}-{i}",
                type="page_viewed" if (d + i) % 3 else "demo_booked",
            )
            for d in range(day + 1)
            for i in range(3)
            if (day + d + i) % 4 == 0
        ]
        if events:
            ingest_events(ctx, events)
    ctx.clock = lambda: START + 10 * DAY
    with ctx.db.read() as conn:
        live = Counter(
            (r.automation, format_timestamp(r.created_at)[:10])
            for r in conn.execute(select(outbox_table))
        )
    assert {name for name, _ in live} == {"crossed-50", "to-sql", "demos", "new"}
    report = simulate(ctx, load_automations_text(FILE), 30 * DAY)
    simulated = Counter(
        {(a["name"], day): n for a in report["automations"] for day, n in a["per_day"].items()}
    )
    assert simulated == live
    assert report["leads_created"] == 30
    owners = {a["name"]: a["per_owner"] for a in report["automations"]}
    assert set(owners["new"]) == {"(unassigned)"}


def test_a_daily_digest_per_owner_written_once_and_delivered(ctx, tmp_path):
    ctx.settings = ctx.settings.model_copy(update={"mail_dir": str(tmp_path / "mail")})
    day = parse_timestamp("2026-11-10T00:00:00Z")
    ctx.clock = lambda: day - DAY  # the day before, 00:00
    scoring_models.activate(ctx, scoring_models.upload(ctx, MODEL, "t")["version"], "t")
    for name in ("ann", "bob"):
        create_owner(
            ctx, OwnerIn(id=f"{name}@example.com", name=name, email=f"{name}@example.com"), "t"
        )
    digest = """
automations:
  - name: morning
    when: {schedule: {daily_at: "07:00"}}
    conditions: {field: tier, equals: hot}
    actions: [{notify: {email: {to_owner: true, to: [boss@example.com]}, template: digest}}]
"""
    automations.upload(ctx, digest, "t", activate=True)
    ctx.clock = lambda: day - DAY + 8 * 3600_000_000  # the day before, 08:00
    owners = {"H1": "ann@example.com", "H2": "ann@example.com", "H3": "bob@example.com", "W": None}
    upsert_leads(ctx, [LeadIn(id=i, owner=o) for i, o in owners.items()], "t")
    ingest_events(
        ctx,
        [
            EventIn(lead_id=i, id=f"{i}-{k}", type="demo_booked")
            for i in ("H1", "H2", "H3")
            for k in range(2)
        ]
        + [EventIn(lead_id="W", id="w", type="page_viewed")],
    )
    # 06:00: the digest due is yesterday's 07:00 one, whose day holds none of these changes
    ctx.clock = lambda: day + 6 * 3600_000_000
    assert digests.write_due(ctx) == 0
    ctx.clock = lambda: day + 7 * 3600_000_000 + 1  # 07:00:00.000001
    before = len(_digest_rows(ctx))
    assert digests.write_due(ctx) == 2  # ann's and bob's; W is not hot
    assert digests.write_due(ctx) == 0  # written once, however often it runs
    rows = _digest_rows(ctx)[before:]
    assert sorted(r.trigger["owner"] for r in rows) == ["ann@example.com", "bob@example.com"]
    ann = next(r for r in rows if r.trigger["owner"] == "ann@example.com")
    assert [lead["id"] for lead in ann.trigger["leads"]] == ["H1", "H2"]
    with outbox.Worker(ctx) as worker:
        worker.run_until_idle()
    messages = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted((tmp_path / "mail").glob("*.eml"))
    ]
    to_ann = [m for m in messages if "ann@example.com" in m["To"]]
    assert len(to_ann) == 1 and "boss@example.com" in to_ann[0]["To"]
    body = to_ann[0].get_body(("plain",)).get_content()
    assert "H1" in body and "H2" in body and "H3" not in body


def _digest_rows(ctx):
    with ctx.db.read() as conn:
        return conn.execute(
            select(outbox_table).where(outbox_table.c.lead_pk.is_(None)).order_by(outbox_table.c.pk)
        ).all()
