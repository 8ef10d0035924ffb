"""Before activating a model version: how many leads' stage and tier would change and how,
and the score shift — computed without writing, and equal to what the activation (or the
rollback) then changes; and a backtest of two stored versions on the store's outcomes, equal
to the reference scorer's AUC just before each outcome. SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sqlalchemy import func, select

from leadscore.core.evaluate import score_lead
from leadscore.core.loader import load_model_text
from leadscore.core.records import Lead
from leadscore.core.timestamps import parse_timestamp
from leadscore.service import activation_preview, backtests, scoring_models
from leadscore.service.errors import Conflict, NotFound
from leadscore.service.events import ingest_events
from leadscore.service.inputs import EventIn, LeadIn, OutcomeIn
from leadscore.service.leads import upsert_leads
from leadscore.service.outcomes import record_outcomes
from leadscore.store.events import for_leads
from leadscore.store.tables import leads, score_history
from leadscore.tuning.errors import TuningError

MODEL = """
name: first
fit:
  weight: 0.5
  max: 50
  rules:
    - {id: big, points: 30, when: {field: employees, gte: 100}}
    - {id: us, points: 20, when: {field: country, equals: US}}
engagement:
  weight: 0.5
  max: 50
  rules:
    - {id: pricing, event: page_viewed, points: 10, where: {field: url, starts_with: /pricing}}
    - {id: demo, event: demo_booked, points: 40, once: true}
tiers: {hot: 60, warm: 30}
stages:
  - {name: SQL, min_score: 60}
  - {name: MQL, min_score: 30}
  - {name: lead}
"""
SECOND = (
    MODEL.replace("name: first", "name: second")
    .replace("points: 30, when: {field: employees", "points: 50, when: {field: employees")
    .replace("tiers: {hot: 60, warm: 30}", "tiers: {hot: 45, warm: 20}")
    .replace("min_score: 60}", "min_score: 45}")
    .replace("{name: MQL, min_score: 30}", "{name: MQL, min_score: 20}")
)
NOW = parse_timestamp("2026-06-01T00:00:00Z")


def _day(n: int) -> str:
    return f"2026-05-{n:02d}T10:00:00Z"


def _store(ctx) -> None:
    """40 leads of every kind: big or small, US or not, with pricing views and demos."""
    ctx.clock = lambda: NOW
    first = scoring_models.upload(ctx, MODEL, "test")["version"]
    scoring_models.activate(ctx, first, "test")
    items = [
        LeadIn(
            id=f"L{i:02d}",
            email=f"l{i}@example.com",
            attributes={"employees": 50 + 40 * (i % 4), "country": "US" if i % 3 else "DE"},
        )
        for i in range(40)
    ]
    upsert_leads(ctx, items, "test")
    events = [
        EventIn(
            lead_id=f"L{i:02d}",
            type="page_viewed",
            occurred_at=_day(1 + k),
            properties={"url": "/pricing"},
        )
        for i in range(40)
        for k in range(i % 5)
    ]
    events += [
        EventIn(lead_id=f"L{i:02d}", type="demo_booked", occurred_at=_day(10))
        for i in range(0, 40, 7)
    ]
    ingest_events(ctx, events)


def _snapshot(ctx) -> dict[str, tuple[str | None, str | None, float]]:
    with ctx.db.read() as conn:
        rows = conn.execute(select(leads.c.id, leads.c.stage, leads.c.tier, leads.c.score))
        return {r.id: (r.stage, r.tier, r.score) for r in rows}


def _history_rows(ctx) -> int:
    with ctx.db.read() as conn:
        return int(conn.scalar(select(func.count()).select_from(score_history)))


def _moves(before, after, index: int) -> Counter[tuple[str, str]]:
    return Counter(
        (before[k][index] or "none", after[k][index] or "none")
        for k in before
        if before[k][index] != after[k][index]
    )


def _listed(summary) -> Counter[tuple[str, str]]:
    return Counter({(m["from"], m["to"]): m["leads"] for m in summary["moves"]})


def test_the_preview_counts_what_activation_then_changes(ctx) -> None:
    _store(ctx)
    second = scoring_models.upload(ctx, SECOND, "test")["version"]
    before, history = _snapshot(ctx), _history_rows(ctx)
    steps: list[float] = []

    shown = activation_preview.preview(ctx, second, progress=lambda f, _: steps.append(f))

    assert _snapshot(ctx) == before and _history_rows(ctx) == history  # nothing written
    assert steps and steps[-1] == 1.0
    scoring_models.activate(ctx, second, "admin")
    after = _snapshot(ctx)
    stages, tiers = _moves(before, after, 0), _moves(before, after, 1)
    assert len(stages) >= 2 and sum(stages.values()) > 0  # the case shows something
    assert shown["leads"] == len(before)
    assert shown["stages"]["changed"] == sum(stages.values())
    assert _listed(shown["stages"]) == stages
    assert shown["tiers"]["changed"] == sum(tiers.values())
    assert _listed(shown["tiers"]) == tiers
    shift = np.array([after[k][2] - before[k][2] for k in before])
    assert shown["score"]["up"] == int((np.round(shift, 6) > 0).sum())
    assert shown["score"]["down"] == int((np.round(shift, 6) < 0).sum())
    assert shown["score"]["mean"] == round(float(shift.mean()), 3)
    assert shown["score"]["max"] == round(float(shift.max()), 3)

    back = activation_preview.preview(ctx, second, "rollback")
    assert back["version"] == 1 and back["from"] == second
    scoring_models.rollback(ctx, second, "admin")
    restored = _snapshot(ctx)
    assert _listed(back["stages"]) == _moves(after, restored, 0)
    assert back["stages"]["changed"] == sum(_moves(after, restored, 0).values())
    assert _listed(back["tiers"]) == _moves(after, restored, 1)
    assert back["tiers"]["changed"] == sum(_moves(after, restored, 1).values()) > 0


def test_the_preview_refuses_what_activation_refuses(ctx) -> None:
    _store(ctx)
    with pytest.raises(NotFound, match="no model version 9"):
        activation_preview.preview(ctx, 9)
    second = scoring_models.upload(ctx, SECOND, "test")["version"]
    with pytest.raises(Conflict, match="not the active one"):
        activation_preview.preview(ctx, second, "rollback")
    with pytest.raises(Conflict, match="no model was active before"):
        activation_preview.preview(ctx, 1, "rollback")


def test_backtest_of_two_stored_versions_on_the_outcomes(ctx) -> None:
    _store(ctx)
    second = scoring_models.upload(ctx, SECOND, "test")["version"]
    decided = {f"L{i:02d}": i % 3 == 1 or i % 7 == 0 for i in range(0, 40, 2)}
    record_outcomes(
        ctx,
        [
            OutcomeIn(lead_id=k, outcome="converted" if won else "lost", occurred_at=_day(20))
            for k, won in decided.items()
        ],
        "test",
    )
    steps: list[float] = []
    report = backtests.run(ctx, [1, second], progress=lambda f, _: steps.append(f))

    assert report["decided"] == len(decided) and not report["cut"]
    assert report["converted"] == sum(decided.values())
    assert steps[-1] == 1.0
    with ctx.db.read() as conn:
        pks = dict(conn.execute(select(leads.c.id, leads.c.pk)).all())
        rows = {r.id: r for r in conn.execute(select(leads))}
        events = for_leads(conn, ctx.event_types, [pks[k] for k in decided])
    stop = parse_timestamp(_day(20)) - 1
    y = [decided[k] for k in sorted(decided, key=lambda k: pks[k])]
    for column, text in zip(report["columns"], (MODEL, SECOND), strict=True):
        model = load_model_text(text)
        scores = [
            score_lead(
                model,
                Lead(k, rows[k].email, rows[k].attributes),
                events.get(pks[k], []),
                stop,
            ).score
            for k in sorted(decided, key=lambda k: pks[k])
        ]
        assert column["auc"] == round(float(roc_auc_score(y, scores)), 6)
        assert sum(b["count"] for b in column["bands"]) == len(decided)
        assert sum(b["conversions"] for b in column["bands"]) == sum(decided.values())
    assert [c["version"] for c in report["columns"]] == [1, second]
    csv = backtests.csv_rows(report)
    assert csv[0][:3] == ["version", "auc", "band"] and len(csv) == 1 + 20

    cut = backtests.run(ctx, [1, second], limit=5)
    assert cut["cut"] and cut["decided"] == 5
    with pytest.raises(TuningError, match="no lead has an outcome in this period"):
        backtests.run(ctx, [1], start=parse_timestamp(_day(21)))
    with pytest.raises(NotFound):
        backtests.run(ctx, [1, 99])
