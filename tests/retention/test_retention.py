"""The event retention job (SPEC §9): old events deleted in batches, per type or for all,
their leads rescored in the same transaction to exactly what scoring the remaining events
from scratch gives; a dry run, the schedule, the CLI and the audit record."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from typer.testing import CliRunner

from leadscore import load_model_text, score_lead
from leadscore.cli.app import app
from leadscore.core.records import Lead
from leadscore.core.timestamps import format_timestamp, parse_timestamp
from leadscore.scheduler import Scheduler
from leadscore.service import retention, scoring_models
from leadscore.service.context import Context
from leadscore.service.events import ingest_events
from leadscore.service.inputs import EventIn, LeadIn
from leadscore.service.leads import upsert_leads
from leadscore.service.recompute import recompute
from leadscore.settings import Settings
from leadscore.store import events as stored_events
from leadscore.store.tables import audit_log, events, leads, score_history

MODEL = """
name: decaying
fit:
  weight: 0.4
  max: 40
  rules:
    - {id: big, points: 40, when: {field: employees, gte: 100}}
engagement:
  weight: 0.6
  max: 100
  rules:
    - {id: views, event: page_viewed, points: 10, max: 60, half_life: 30d}
    - {id: opens, event: email_opened, points: 5, max: 30, half_life: 60d}
    - {id: demo, event: demo_booked, points: 40, once: true}
tiers: {hot: 70, warm: 40}
stages:
  - {name: mql, min_score: 30}
  - {name: lead}
"""
NOW = parse_timestamp("2026-12-07T00:00:00Z")
DAY = 86_400_000_000
AGES = (10, 100, 400)
TYPES = ("page_viewed", "email_opened", "demo_booked")


def fill(ctx: Context, n: int) -> None:
    """n leads, each with one event of every type at every age (`AGES` days before NOW)."""
    ctx.clock = lambda: NOW - 500 * DAY
    scoring_models.activate(ctx, scoring_models.upload(ctx, MODEL, "t")["version"], "t")
    upsert_leads(
        ctx, [LeadIn(id=f"L{i}", attributes={"employees": 50 + 10 * i}) for i in range(n)], "t"
    )
    ctx.clock = lambda: NOW - DAY
    ingest_events(
        ctx,
        [
            EventIn(
                lead_id=f"L{i}",
                id=f"L{i}-{kind}-{age}",
                type=kind,
                occurred_at=format_timestamp(NOW - age * DAY),
                properties={"url": "/pricing"},
            )
            for i in range(n)
            for kind in TYPES
            for age in AGES
        ],
    )
    ctx.clock = lambda: NOW


def with_retention(ctx: Context, **values: object) -> Context:
    ctx.settings = ctx.settings.model_copy(update=values)
    return ctx


def stored_ids(ctx: Context) -> set[str]:
    with ctx.db.read() as conn:
        return set(conn.scalars(select(events.c.event_id)))


def kept(n: int) -> set[str]:
    """What page_viewed=90 days and everything else 365 days leave."""
    ages = {"page_viewed": (10,), "email_opened": (10, 100), "demo_booked": (10, 100)}
    return {f"L{i}-{kind}-{age}" for i in range(n) for kind in TYPES for age in ages[kind]}


@pytest.mark.parametrize("n", [3, 70], ids=["per-lead", "kernel"])
def test_old_events_go_and_scores_equal_a_rescore_from_scratch(ctx: Context, n: int) -> None:
    fill(ctx, n)
    with_retention(
        ctx, retention_events_days=365.0, retention_events_days_by_type={"page_viewed": 90.0}
    )
    with ctx.db.read() as conn:
        before = {r.id: r.score for r in conn.execute(select(leads.c.id, leads.c.score))}

    dry = retention.run(ctx, dry_run=True)
    assert (dry.events, dry.leads, dry.batches) == (4 * n, n, 0)
    assert len(stored_ids(ctx)) == 9 * n  # a dry run deletes nothing

    report = retention.run(ctx, batch_size=10, actor="test")
    assert (report.events, report.leads) == (4 * n, n)
    assert report.batches == (n + 1) // 2  # 4 old events a lead: two whole leads a batch
    assert stored_ids(ctx) == kept(n)

    model = load_model_text(MODEL)
    with ctx.db.read() as conn:
        rows = conn.execute(select(leads).order_by(leads.c.pk)).all()
        remaining = stored_events.for_leads(conn, ctx.event_types, [r.pk for r in rows])
        history = conn.execute(
            select(score_history.c.lead_pk, score_history.c.cause_ref).where(
                score_history.c.cause_kind == "retention"
            )
        ).all()
        audits = conn.execute(select(audit_log).where(audit_log.c.action == "retention.run")).all()
    for row in rows:
        assert row.scored_at == NOW
        fresh = score_lead(model, Lead(row.id, row.email, row.attributes), remaining[row.pk], NOW)
        assert (row.score, row.fit, row.engagement, row.tier) == (
            fresh.score,
            fresh.fit,
            fresh.engagement,
            fresh.tier,
        ), row.id
        assert row.score < before[row.id]  # the views 100 days old still counted before
    assert sorted(pk for pk, _ in history) == [r.pk for r in rows]
    assert {ref for _, ref in history} == {"4 events past retention"}
    # The whole recompute at the same instant finds nothing to change.
    assert recompute(ctx, NOW).changed == 0
    (audit,) = audits
    assert (audit.actor, audit.target) == ("test", None)
    assert {k: audit.details[k] for k in ("events", "leads", "batches")} == {
        "events": 4 * n,
        "leads": n,
        "batches": report.batches,
    }
    assert audit.details["cutoffs"] == {
        "*": "2025-12-07T00:00:00Z",
        "page_viewed": "2026-09-08T00:00:00Z",
    }
    # Nothing left to do.
    again = retention.run(ctx)
    assert (again.events, again.leads, again.batches) == (0, 0, 0)


def test_per_type_only_keeps_other_types_forever(ctx: Context) -> None:
    fill(ctx, 2)
    with_retention(ctx, retention_events_days_by_type={"email_opened": 50.0, "never_seen": 1.0})
    report = retention.run(ctx)
    assert (report.events, report.leads) == (4, 2)
    gone = {f"L{i}-email_opened-{age}" for i in range(2) for age in (100, 400)}
    every = {f"L{i}-{kind}-{age}" for i in range(2) for kind in TYPES for age in AGES}
    assert stored_ids(ctx) == every - gone


def test_a_lead_with_more_old_events_than_a_batch_comes_alone_with_all_of_them(
    ctx: Context,
) -> None:
    fill(ctx, 3)
    with_retention(ctx, retention_events_days=50.0)
    report = retention.run(ctx, batch_size=2)
    assert (report.events, report.leads, report.batches) == (18, 3, 3)
    assert stored_ids(ctx) == {f"L{i}-{kind}-10" for i in range(3) for kind in TYPES}


def test_without_a_retention_nothing_runs_or_is_scheduled(ctx: Context) -> None:
    fill(ctx, 1)
    assert retention.run(ctx).events == 0
    assert len(stored_ids(ctx)) == 9
    assert Scheduler.retention(ctx) is None


def test_the_scheduled_run_deletes_under_the_lease(ctx: Context) -> None:
    fill(ctx, 2)
    with_retention(ctx, retention_events_days=365.0)
    assert ctx.settings.retention_schedule == "0 3 * * *"
    with_retention(ctx, retention_cron="* * * * *")
    scheduler = Scheduler.retention(ctx)
    assert scheduler is not None
    moment = NOW + 30_000_000
    ctx.clock = lambda: moment
    scheduler.tick()
    moment += 60_000_000
    assert scheduler.tick()
    assert len(stored_ids(ctx)) == 2 * 6  # the events 400 days old went
    with ctx.db.read() as conn:
        (audit,) = conn.execute(select(audit_log).where(audit_log.c.action == "retention.run"))
    assert audit.actor == "scheduler" and audit.details["events"] == 6


def test_the_settings_name_a_bad_item() -> None:
    assert Settings(
        retention_events_days_by_type="page_viewed=90, email_opened=365"
    ).retention_events_days_by_type == {"page_viewed": 90.0, "email_opened": 365.0}
    for text, reason in [
        ("page_viewed=90,email_opened=soon", "item email_opened=soon: 'soon' is not a number"),
        ("page_viewed", "item 'page_viewed' is not type=days"),
        ("page_viewed=0", "item page_viewed=0: days must be a positive number"),
    ]:
        with pytest.raises(ValidationError) as caught:
            Settings(retention_events_days_by_type=text)
        assert "LEADSCORE_RETENTION_EVENTS_DAYS_BY_TYPE" in str(caught.value)
        assert reason in str(caught.value)
    with pytest.raises(ValidationError, match="retention_events_days"):
        Settings(retention_events_days=-1)
    with pytest.raises(ValidationError, match="is not a cron expression"):
        Settings(retention_cron="daily")


def test_the_cli_counts_a_dry_run_then_deletes(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    with Context.open(Settings(database_url=url)) as ctx:
        ctx.clock = lambda: NOW
        upsert_leads(ctx, [LeadIn(id="A")], "t")
        ingest_events(
            ctx,
            [
                EventIn(
                    lead_id="A",
                    id=f"a{d}",
                    type="page_viewed",
                    occurred_at=format_timestamp(NOW - d * DAY),
                )
                for d in (1, 2, 400, 500)
            ],
        )
    runner = CliRunner()
    env = {"LEADSCORE_DATABASE_URL": url, "COLUMNS": "200"}
    off = runner.invoke(app, ["retention", "run"], env=env)
    assert off.exit_code == 2 and "no retention is set" in off.output
    env["LEADSCORE_RETENTION_EVENTS_DAYS"] = "30"
    dry = runner.invoke(app, ["retention", "run", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "would delete 2 events of 1 leads (dry run)" in dry.output
    done = runner.invoke(app, ["retention", "run"], env=env)
    assert done.exit_code == 0, done.output
    assert "deleted 2 events of 1 leads in 1 batches" in done.output
    bad = runner.invoke(
        app, ["retention", "run"], env={**env, "LEADSCORE_RETENTION_EVENTS_DAYS_BY_TYPE": "x=y"}
    )
    assert bad.exit_code == 2 and "item x=y: 'y' is not a number" in bad.output


class Stop(Exception):
    """Ends a run after its first committed batch (as a kill between batches would)."""


def test_an_interrupted_run_keeps_whole_batches_and_a_rerun_finishes(ctx: Context) -> None:
    fill(ctx, 4)
    with_retention(ctx, retention_events_days=365.0)

    def stop() -> None:
        raise Stop

    with pytest.raises(Stop):
        retention.run(ctx, batch_size=3, between_batches=stop)
    model = load_model_text(MODEL)
    with ctx.db.read() as conn:
        rows = conn.execute(select(leads).order_by(leads.c.pk)).all()
        left = stored_events.for_leads(conn, ctx.event_types, [r.pk for r in rows])
        assert not conn.execute(
            select(audit_log).where(audit_log.c.action == "retention.run")
        ).all()
    counts = [len(left[r.pk]) for r in rows]
    assert counts == [6, 9, 9, 9]  # the first lead's batch committed, whole; no other touched
    first = rows[0]
    fresh = score_lead(model, Lead(first.id, first.email, first.attributes), left[first.pk], NOW)
    assert first.score == fresh.score and first.scored_at == NOW
    report = retention.run(ctx)
    assert (report.events, report.leads) == (9, 3)
    assert len(stored_ids(ctx)) == 4 * 6
