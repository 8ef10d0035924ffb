"""Automations fire in the transaction of the change (§6): once per crossing, never for a
replayed event, again after falling back; the bulk recompute writes exactly the rows that
rescoring lead by lead writes."""

from __future__ import annotations

from sqlalchemy import select

from leadscore.core.timestamps import format_timestamp
from leadscore.service import automations, scoring_models
from leadscore.service.events import ingest_events
from leadscore.service.inputs import EventIn, LeadIn, OverrideIn
from leadscore.service.leads import upsert_leads
from leadscore.service.overrides import add_override, delete_override
from leadscore.store.tables import outbox

MODEL = """
name: firing
fit:
  weight: 0.5
  max: 40
  rules:
    - {id: big, points: 20, when: {field: employees, gte: 100}}
engagement:
  weight: 0.5
  max: 60
  rules:
    - {id: demo, event: demo_booked, points: 40}
    - {id: visit, event: page_viewed, points: 10}
tiers: {hot: 60, warm: 30}
stages:
  - {name: sql, min_score: 60}
  - {name: lead}
"""

AUTOMATIONS = """
automations:
  - name: crossed-70
    when: {score_crossed: {threshold: 70}}
    actions:
      - notify: {email: {to: [boss@example.com]}}
      - add_to_list: {list: hot}
  - name: hot
    when: {tier_changed: {to: hot}}
    actions: [{enroll: {sequence: nurture}}]
  - name: to-sql
    when: {stage_changed: {to: sql}}
    conditions: {field: country, equals: PL}
    actions: [{set_stage: {stage: opportunity}}]
  - name: demo
    when: {event_received: {type: demo_booked}}
    actions: [{webhook: {url: "http://127.0.0.1:9/hook", secret_env: HOOK_SECRET}}]
  - name: new
    when: {lead_created: {}}
    actions: [{add_to_list: {list: everyone}}]
  - name: off
    enabled: false
    when: {lead_created: {}}
    actions: [{add_to_list: {list: never}}]
"""


def rows(ctx):
    with ctx.db.read() as conn:
        found = conn.execute(select(outbox).order_by(outbox.c.pk)).all()
    return [(r.automation, r.action, r.lead_pk) for r in found]


def setup(ctx):
    version = scoring_models.upload(ctx, MODEL, "test")["version"]
    scoring_models.activate(ctx, version, "test")
    automations.upload(ctx, AUTOMATIONS, "test", activate=True)


def test_each_trigger_fires_once_and_a_replay_fires_nothing(ctx):
    setup(ctx)
    upsert_leads(ctx, [LeadIn(id="L1", attributes={"employees": 500, "country": "PL"})], "t")
    assert rows(ctx) == [("new", "add_to_list", 1)]
    events = [EventIn(lead_id="L1", id="e1", type="demo_booked")]
    ingest_events(ctx, events)
    fired = rows(ctx)[1:]
    # fit 20/40 → 25 points, the demo 40/60 → 33.3: 58.3, no crossing of 70 yet
    assert ("demo", "webhook", 1) in fired
    assert not any(a == "crossed-70" for a, _, _ in fired)
    ingest_events(ctx, events)  # the same event again: a duplicate, nothing fires
    assert rows(ctx)[1:] == fired
    ingest_events(ctx, [EventIn(lead_id="L1", id="e2", type="page_viewed")] * 1)
    ingest_events(ctx, [EventIn(lead_id="L1", id="e3", type="demo_booked")])
    names = [a for a, _, _ in rows(ctx)]
    assert names.count("crossed-70") == 2  # two actions, one crossing
    assert names.count("hot") == 1
    assert names.count("to-sql") == 1
    assert names.count("demo") == 2  # e1 and e3
    assert "off" not in names


def test_falling_back_and_crossing_again_fires_again(ctx):
    setup(ctx)
    upsert_leads(ctx, [LeadIn(id="L1", attributes={"employees": 500})], "t")
    ingest_events(
        ctx,
        [EventIn(lead_id="L1", id=f"d{i}", type="demo_booked") for i in range(2)],
    )
    assert [a for a, _, _ in rows(ctx)].count("crossed-70") == 2
    created, _ = add_override(ctx, "L1", OverrideIn(points=-30, reason="test"), "t")
    assert [a for a, _, _ in rows(ctx)].count("crossed-70") == 2  # down: nothing
    delete_override(ctx, "L1", created["id"], "t")
    assert [a for a, _, _ in rows(ctx)].count("crossed-70") == 4  # up again: fires again


def test_the_bulk_recompute_fires_exactly_what_rescoring_each_lead_fires(ctx, tmp_path):
    """The same store rescored under a new model twice: by the vectorised recompute (in
    chunks of 7) and lead by lead with the reference path. The outbox rows are the same."""
    import random

    from leadscore.service.context import Context
    from leadscore.service.recompute import recompute
    from leadscore.service.scoring import Cause, rescore
    from leadscore.settings import Settings
    from leadscore.store import leads as stored_leads
    from leadscore.store import model_versions

    now = 1_790_000_000_000_000
    other = Context.open(Settings(database_url=f"sqlite:///{tmp_path / 'other.db'}"))
    rng = random.Random(7)
    leads = [
        LeadIn(
            id=f"L{i}",
            attributes={"employees": rng.choice([5, 500]), "country": rng.choice(["PL", "DE"])},
        )
        for i in range(60)
    ]
    events = [
        EventIn(
            lead_id=f"L{rng.randrange(60)}",
            id=f"e{j}",
            type=rng.choice(["demo_booked", "page_viewed"]),
            occurred_at=format_timestamp(now - rng.randrange(1, 10**9)),
        )
        for j in range(120)
    ]
    second = MODEL.replace("min_score: 60", "min_score: 45").replace("hot: 60", "hot: 40")
    try:
        for c in (ctx, other):
            c.clock = lambda: now
            scoring_models.activate(c, scoring_models.upload(c, MODEL, "t")["version"], "t")
            upsert_leads(c, leads, "t")
            ingest_events(c, events)
            automations.upload(c, AUTOMATIONS, "t", activate=True)
            version = scoring_models.upload(c, second, "t")["version"]
            c.db.transact(lambda conn, v=version: model_versions.activate(conn, v, now, "t", "t"))
            c.clock = lambda: now + 1000

        before = {k for k, *_ in keys(ctx)}
        recompute(ctx, now + 1000, cause_kind="model", cause_ref="2", batch_size=7)

        def each(conn):
            rows = stored_leads.lock(conn, range(1, 61))
            rescore(
                conn,
                other,
                list(rows.values()),
                now + 1000,
                Cause("model", "2"),
                write_unchanged=False,
            )

        other.db.transact(each)
        bulk = [k for k in keys(ctx) if k[0] not in before]
        one_by_one = [k for k in keys(other) if k[0] not in before]
        assert bulk, "the new model must make some leads cross"
        assert sorted(bulk) == sorted(one_by_one)
    finally:
        other.close()


def keys(ctx):
    with ctx.db.read() as conn:
        found = conn.execute(select(outbox)).all()
    return [(r.key, r.action, r.trigger["kind"], r.trigger["after"]) for r in found]
