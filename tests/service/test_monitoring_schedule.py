"""The monitoring job (issue 16): LEADSCORE_MONITORING_CRON (daily at 03:15 by default, `off`:
never) runs service/monitoring.refresh_all under a lease, on SQLite and PostgreSQL, and the
figures it stores are those the routes serve."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from leadscore.core.timestamps import parse_timestamp
from leadscore.scheduler import Scheduler
from leadscore.service import monitoring, scoring_models
from leadscore.service.context import Context
from leadscore.service.events import ingest_events
from leadscore.service.inputs import EventIn, LeadIn, OutcomeIn
from leadscore.service.leads import upsert_leads
from leadscore.service.outcomes import record_outcomes
from leadscore.settings import Settings
from leadscore.store.tables import model_performance

MODEL = """
fit:
  weight: 0
  max: 10
  rules:
    - {id: any, when: {field: plan, equals: x}, points: 10}
engagement:
  weight: 1
  max: 100
  rules:
    - {id: demo, event: demo_booked, points: 80}
tiers: {hot: 50, cold: 0}
stages:
  - {name: lead}
"""


def test_the_setting_defaults_to_daily_and_turns_off() -> None:
    assert Settings().monitoring_schedule == "15 3 * * *"
    assert Settings(monitoring_cron="OFF").monitoring_schedule is None
    with pytest.raises(ValidationError) as caught:
        Settings(monitoring_cron="every day")
    [error] = caught.value.errors()
    assert error["loc"] == ("monitoring_cron",) and "is not a cron expression" in error["msg"]


def test_the_scheduled_job_stores_the_figures_the_routes_serve(ctx: Context) -> None:
    moment = parse_timestamp("2026-02-01T00:00:00Z")
    ctx.clock = lambda: moment
    version = scoring_models.upload(ctx, MODEL, "test")["version"]
    scoring_models.activate(ctx, version, "test")
    upsert_leads(ctx, [LeadIn(id=f"m{n}") for n in range(4)], "test")
    ingest_events(ctx, [EventIn(lead_id=f"m{n}", type="demo_booked") for n in (0, 1)])
    moment += 86_400_000_000
    kinds = ["converted", "lost", "lost", "lost"]
    record_outcomes(
        ctx, [OutcomeIn(lead_id=f"m{n}", outcome=k) for n, k in enumerate(kinds)], "test"
    )

    ctx.settings = ctx.settings.model_copy(update={"monitoring_cron": "off"})
    assert Scheduler.monitoring(ctx) is None
    ctx.settings = ctx.settings.model_copy(update={"monitoring_cron": "* * * * *"})
    scheduler = Scheduler.monitoring(ctx)
    assert scheduler is not None and scheduler.name == "monitoring"
    scheduler.tick()  # the first poll of a new job only notes the slot due (store/leases.py)
    moment += 60_000_000
    assert scheduler.tick()
    assert not scheduler.tick()  # once per slot
    with ctx.db.read() as conn:
        stored = conn.execute(
            select(model_performance.c.kind, model_performance.c.version).distinct()
        ).all()
    assert [tuple(row) for row in stored] == [("rules", version)]  # no predictive model
    served = monitoring.performance(ctx, monitoring.RULES, version)
    assert served["computed_at"] == "2026-02-02T00:01:00Z"
    bands = served["windows"][0]["bands"]
    assert bands == [
        {"band": "cold", "n": 2, "conversions": 0, "conversion_rate": 0.0},
        {"band": "hot", "n": 2, "conversions": 1, "conversion_rate": 0.5},
    ]
