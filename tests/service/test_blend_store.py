"""A scoring model that blends a stored predictive model's probability (SPEC §7): the bulk
recompute and the live rescoring give the same totals, and both equal the reference scorer
given the predictor's probability."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import select

from leadscore import demo
from leadscore.core.evaluate import score_lead
from leadscore.core.lifecycle import next_stage
from leadscore.core.loader import load_model_text
from leadscore.core.records import Lead
from leadscore.core.timestamps import parse_timestamp
from leadscore.service import blending, predictions, scoring_models
from leadscore.service.imports import import_file
from leadscore.service.scoring import Cause, rescore
from leadscore.store import events as stored_events
from leadscore.store import leads as stored_leads
from leadscore.store.tables import leads

NOW = parse_timestamp("2026-01-02T00:00:00Z")
BLENDED = """
fit:
  weight: 0.4
  max: 30
  rules:
    - {id: big, points: 30, when: {field: employees, gte: 200}}
engagement:
  weight: 0.6
  max: 50
  rules:
    - {id: pricing, event: page_viewed, points: 10, half_life: 14d,
       where: {field: url, starts_with: /pricing}}
    - {id: demo, event: demo_booked, points: 40}
predictive: {model: VERSION, weight: 0.4}
tiers: {hot: 60, warm: 35}
stages:
  - {name: SQL, min_score: 60}
  - {name: MQL, min_score: 35}
  - {name: lead}
"""


@pytest.mark.slow
def test_recompute_and_live_rescoring_blend_the_same_probability(ctx, tmp_path) -> None:
    ctx.clock = lambda: NOW
    data = demo.generate(300, seed=5, end=datetime(2026, 1, 1, tzinfo=UTC))
    paths = demo.write(data, tmp_path)
    for kind in ("leads", "events", "outcomes"):
        assert import_file(ctx, kind, paths[kind]).written > 0
    version = predictions.train(ctx, actor="test", folds=3)["version"]
    text = BLENDED.replace("VERSION", str(version))
    uploaded = scoring_models.upload(ctx, text, "test")
    scoring_models.activate(ctx, uploaded["version"], "test")  # the bulk recompute
    model = load_model_text(text)

    with ctx.db.read() as conn:
        rows = list(conn.execute(select(*stored_leads.SCORING_COLUMNS).order_by(leads.c.pk)))
        stored = {r.id: r for r in rows}
        by_pk = stored_events.for_leads(conn, ctx.event_types, [r.pk for r in rows], until=NOW)
        predictor = predictions.load_predictor(conn, version)
    frame, events = predictions.lead_frames(rows, by_pk)
    chances = predictor.predict(frame, events, NOW)["probability"].to_numpy()
    assert np.isfinite(chances).all() and len(set(chances.round(3))) > 20
    blended = 0
    for row, p in zip(rows, chances, strict=True):
        lead = Lead(row.id, row.email, row.attributes)
        expected = score_lead(model, lead, by_pk.get(row.pk, ()), NOW, (), float(p))
        rule_only = score_lead(model, lead, by_pk.get(row.pk, ()), NOW)
        blended += expected.score != rule_only.score
        got = stored[row.id]
        assert (got.score, got.fit, got.engagement, got.grade, got.tier) == (
            expected.score,
            expected.fit,
            expected.engagement,
            expected.grade,
            expected.tier,
        ), row.id
        assert got.stage == next_stage(model, got.lifecycle_stage, expected.stage)
    assert blended > 250  # the probability moved nearly every total

    # The lifecycle fold asks for a lead's probability at each of its event times in one
    # call: the same as for_stored asked at each time.
    with ctx.db.read() as conn:
        with_events = [row for row in rows if by_pk.get(row.pk)][:10]
        assert len(with_events) == 10
        for row in with_events:
            own = by_pk[row.pk]
            times = sorted({e.occurred_at for e in own})[-5:]
            at_once = blending.probabilities_at(conn, model, row, own, times)
            one_by_one = [blending.for_stored(conn, model, [row], {row.pk: own}, t) for t in times]
            assert at_once == [float(p[0]) for p in one_by_one if p is not None]
            assert np.isfinite(at_once).all()

    # The live path (a lead rescored alone, at the same moment) finds nothing to change.
    def live(conn):
        locked = stored_leads.lock(conn, [r.pk for r in rows[:40]])
        return rescore(conn, ctx, list(locked.values()), NOW, Cause("lead"), write_unchanged=True)

    changes = ctx.db.transact(live)
    assert len(changes) == 40 and not any(change.changed for change in changes)


@pytest.mark.slow
def test_a_blended_lead_is_explained_with_its_probability(ctx, tmp_path) -> None:
    from leadscore.service.queries import get_lead, score_as_of

    ctx.clock = lambda: NOW
    data = demo.generate(200, seed=8, end=datetime(2026, 1, 1, tzinfo=UTC))
    paths = demo.write(data, tmp_path)
    for kind in ("leads", "events", "outcomes"):
        import_file(ctx, kind, paths[kind])
    version = predictions.train(ctx, actor="test", folds=3)["version"]
    uploaded = scoring_models.upload(ctx, BLENDED.replace("VERSION", "active"), "test")
    scoring_models.activate(ctx, uploaded["version"], "test")
    lead_id = data.leads["id"][0]
    lead = get_lead(ctx, lead_id)
    lines = lead["explanation"]["contributions"]
    predictive = [line for line in lines if line["kind"] == "predictive"]
    assert len(predictive) == 1 and predictive[0]["id"] == "model:active"
    shown = predictions.predict_lead(ctx, lead_id, NOW)  # what the API shows beside it
    assert shown["model_version"] == version
    assert predictive[0]["raw"] == round(shown["probability"], 4)
    assert round(sum(line["score"] for line in lines), 2) == lead["score"]
    assert score_as_of(ctx, lead_id, NOW)["explanation"] == lead["explanation"]
