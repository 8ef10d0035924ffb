"""Monitoring as outcomes arrive (issue 16) over a real socket, on SQLite and PostgreSQL: a
predictive model trained from the store, new leads and their events, their outcomes posted
over the API; each lead keeps its pre-outcome probability, and the performance routes show
the realised figures — and the decay flag once the world turns the relation around."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score
from sqlalchemy import select

from leadscore import demo
from leadscore.core.timestamps import format_timestamp, parse_timestamp
from leadscore.ml.artifact import clean_json
from leadscore.ml.store_training import History, StoreTrained, train_from_history
from leadscore.service import predictions
from leadscore.service.context import Context
from leadscore.service.imports import import_file
from leadscore.settings import Settings
from leadscore.store import training as stored_training
from leadscore.store.tables import leads, prediction_snapshots

HISTORY_END = "2026-01-01T00:00:00Z"
BLENDED = """
fit:
  weight: 0.5
  max: 30
  rules:
    - {id: big, points: 30, when: {field: employees, gte: 200}}
engagement:
  weight: 0.5
  max: 50
  rules:
    - {id: demo, event: demo_booked, points: 40}
predictive: {model: active, weight: 0.5}
tiers: {hot: 60, warm: 35, cold: 0}
stages:
  - {name: sql, min_score: 60}
  - {name: lead}
"""


def renamed(data: demo.DemoData, prefix: str) -> demo.DemoData:
    """The demo data with its lead ids, event ids and e-mails prefixed (a second cohort)."""
    ids = pl.col("id").str.replace("^L", prefix)
    return demo.DemoData(
        data.leads.with_columns(ids, pl.col("email").str.replace("^", prefix.lower() + ".")),
        data.events.with_columns(
            pl.col("id").str.replace("^", prefix), pl.col("lead_id").str.replace("^L", prefix)
        ),
        data.outcomes.with_columns(pl.col("lead_id").str.replace("^L", prefix)),
        data.propensity,
    )


def load(api, data: demo.DemoData, folder: Path, kinds=("leads", "events", "outcomes")) -> None:
    paths = demo.write(data, folder)
    for kind in kinds:
        assert import_file(api.ctx, kind, paths[kind]).written > 0


@pytest.fixture(scope="module")
def learned(tmp_path_factory) -> StoreTrained:
    """A predictive model trained from a store (a scratch SQLite file) holding 300 demo leads
    with outcomes up to 2026-01-01; trained once for the module (training takes ~15 s), and
    stored in each test's store as its version 1."""
    folder = tmp_path_factory.mktemp("history")
    with Context.open(Settings(database_url=f"sqlite:///{folder}/history.db")) as ctx:
        moment = parse_timestamp(HISTORY_END)
        ctx.clock = lambda: moment
        paths = demo.write(demo.generate(300, seed=21, end="2026-01-01"), folder)
        for kind in ("leads", "events", "outcomes"):
            assert import_file(ctx, kind, paths[kind]).written > 0
        with ctx.db.read() as conn:
            history = History(*stored_training.read_history(conn))
    return train_from_history(history, trained_at=HISTORY_END, folds=3)


def trained(api, model: StoreTrained) -> int:
    """`model` stored and active in the test's store."""
    api.set_time(HISTORY_END)

    def work(conn) -> int:
        return predictions.save_version(
            conn,
            model=model.model,
            meta=model.meta,
            card=clean_json(model.card),
            name="conversion",
            created_at=api.ctx.now(),
            created_by="test",
        )

    return api.ctx.db.transact(work)


def cohort(api, tmp_path: Path, prefix: str, seed: int, end: str, invert: bool = False) -> dict:
    """New leads and events (imported at `end`), then their outcomes posted over the API one
    day later, kinds swapped when `invert`; lead id -> outcome."""
    api.set_time(end)
    data = renamed(demo.generate(200, seed=seed, end=end[:10]), prefix)
    load(api, data, tmp_path / prefix, kinds=("leads", "events"))
    later = api.set_time(format_timestamp(parse_timestamp(end) + 86_400_000_000))
    swap = {"converted": "lost", "lost": "converted"}
    kinds = {
        row["lead_id"]: swap[row["outcome"]] if invert else row["outcome"]
        for row in data.outcomes.iter_rows(named=True)
    }
    body = {"outcomes": [{"lead_id": i, "outcome": k} for i, k in kinds.items()]}
    reply = api.writer.post("/outcomes", json=body)
    assert reply.status_code == 200, reply.text
    assert reply.json()["recorded"] == len(kinds)
    assert later == api.ctx.now()
    return kinds


def snapshots(api, version: int) -> dict[str, tuple]:
    t = prediction_snapshots
    query = (
        select(leads.c.id, t.c.probability, t.c.scored_at, t.c.source, t.c.outcome_at)
        .join(leads, leads.c.pk == t.c.lead_pk)
        .where(t.c.model_version == version)
    )
    with api.ctx.db.read() as conn:
        return {row.id: tuple(row)[1:] for row in conn.execute(query)}


@pytest.mark.slow  # two cohorts of 200 leads and ~9,000 events imported: ~11 s on SQLite
def test_outcomes_keep_the_pre_outcome_probability_and_show_the_realised_auc(
    api, learned, tmp_path
) -> None:
    api.model()  # a rule model that does not blend: the snapshots come from the outcomes
    version = trained(api, learned)
    assert snapshots(api, version) == {}

    kinds = cohort(api, tmp_path, "N", seed=77, end="2026-03-01T00:00:00Z")
    now = api.ctx.now()
    kept = snapshots(api, version)
    assert set(kept) == set(kinds)  # one per lead with an outcome, none for the others
    assert {(source, at) for _, _, source, at in kept.values()} == {("outcome", now)}
    for lead_id in list(kinds)[:5]:  # the probability from the events before the outcome
        before = predictions.predict_lead(api.ctx, lead_id, as_of=now - 1)
        assert kept[lead_id][0] == before["probability"] and kept[lead_id][1] == now

    assert api.reader.get("/predictive-models/9/performance").status_code == 404
    assert api.anon.get(f"/predictive-models/{version}/performance").status_code == 401
    figures = api.get(f"/predictive-models/{version}/performance", refresh="true")
    assert figures["version"] == version and figures["computed_at"] == format_timestamp(now)
    windows = {w["window"]: w for w in figures["windows"]}
    assert list(windows) == ["last_30_days", "last_90_days", "2026-03"]
    last_30 = windows["last_30_days"]
    y = np.array([kinds[i] == "converted" for i in kept])
    p = np.array([kept[i][0] for i in kept])
    assert last_30["n"] == len(kinds) and last_30["conversions"] == int(y.sum())
    assert last_30["roc_auc"] == roc_auc_score(y, p) > 0.6  # the model ranks the new leads
    assert sum(d["count"] for d in last_30["deciles"]) == len(kinds)
    decay = figures["decay"]
    assert decay["card_roc_auc"] == figures["card_roc_auc"] > 0.6
    assert decay["window"] == "last_30_days" and decay["realised_roc_auc"] == last_30["roc_auc"]
    assert not decay["flagged"], decay
    print(f"\nmonitoring: {last_30['n']} outcomes, {last_30['conversions']} converted: {decay}")

    # the rule model: conversion by the tier each lead had before its outcome
    rules = api.get("/models/1/performance", refresh="true")
    bands = {w["window"]: w for w in rules["windows"]}["last_30_days"]["bands"]
    assert sum(b["n"] for b in bands) == len(kinds) and {b["band"] for b in bands} <= {
        "hot",
        "warm",
        "cold",
    }
    assert api.reader.get("/models/7/performance").status_code == 404

    # The world changes: three months on, a new cohort converts against the model's ranking.
    cohort(api, tmp_path, "W", seed=78, end="2026-06-01T00:00:00Z", invert=True)
    stored = api.get(f"/predictive-models/{version}/performance")
    assert stored["computed_at"] == figures["computed_at"]  # stored figures until a refresh
    changed = api.get(f"/predictive-models/{version}/performance", refresh="true")
    windows = {w["window"]: w for w in changed["windows"]}
    assert list(windows) == ["last_30_days", "last_90_days", "2026-06", "2026-03"]
    assert windows["2026-03"]["roc_auc"] == last_30["roc_auc"]  # March keeps its figures
    assert windows["last_30_days"]["roc_auc"] < 0.5
    assert changed["decay"]["flagged"] and "below the card's" in changed["decay"]["reason"]
    print(f"monitoring, the world changed: {changed['decay']}")


def test_a_blended_rescoring_keeps_the_latest_probability_until_the_outcome(api, learned) -> None:
    version = trained(api, learned)
    api.model(BLENDED)  # blends the active predictive model: rescoring computes probabilities
    api.set_time("2026-02-01T00:00:00Z")
    api.lead(id="new-1", email="new-1@example.com", attributes={"employees": 300})
    api.event(lead_id="new-1", type="demo_booked")
    t1 = api.ctx.now()
    kept = snapshots(api, version)["new-1"]
    assert kept[1:] == (t1, "rescore", None)
    assert kept[0] == predictions.predict_lead(api.ctx, "new-1", as_of=t1)["probability"]

    api.set_time("2026-02-02T00:00:00Z")
    api.event(lead_id="new-1", type="page_viewed", properties={"url": "/pricing"})
    t2 = api.ctx.now()
    assert snapshots(api, version)["new-1"][1:] == (t2, "rescore", None)  # the latest one

    api.set_time("2026-02-03T00:00:00Z")
    reply = api.writer.post("/outcomes", json={"lead_id": "new-1", "outcome": "converted"})
    assert reply.status_code == 201, reply.text
    frozen = snapshots(api, version)["new-1"]
    assert frozen[1:] == (t2, "rescore", api.ctx.now())  # kept, and frozen by the outcome

    api.set_time("2026-02-04T00:00:00Z")
    api.event(lead_id="new-1", type="email_opened")  # after the outcome: not kept
    assert snapshots(api, version)["new-1"] == frozen


def test_the_performance_routes_are_read_scope_and_answer_before_any_outcome(api, learned) -> None:
    version = trained(api, learned)
    api.model()
    paths = httpx.get(f"{api.server.base_url}/openapi.json").json()["paths"]
    for path in (
        "/api/v1/predictive-models/{version}/performance",
        "/api/v1/models/{version}/performance",
    ):
        assert paths[path]["get"]["x-required-scope"] == "read"
    for path in (f"/predictive-models/{version}/performance", "/models/1/performance"):
        assert api.writer.get(path).status_code == 403  # write does not imply read
        assert api.anon.get(path).status_code == 401
        first = api.get(path)  # never computed: computed on this first read, and stored
        assert first["computed_at"] == format_timestamp(api.ctx.now())
        assert [w["window"] for w in first["windows"]] == ["last_30_days", "last_90_days"]
        assert all(w["n"] == 0 and w["conversion_rate"] is None for w in first["windows"])
    decay = api.get(f"/predictive-models/{version}/performance")["decay"]
    assert not decay["flagged"] and decay["window"] is None and "too few" in decay["reason"]
    bad = api.reader.get(f"/predictive-models/{version}/performance", params={"refresh": "maybe"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "refresh"]
