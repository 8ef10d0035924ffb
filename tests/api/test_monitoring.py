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


def moved(data: demo.DemoData, end: str) -> demo.DemoData:
    """Each lead's whole story (creation, events, outcome) moved in time so that its outcome
    falls 1 to 25 days before `end` (a lead without one: its last activity); what the model
    reads (ages, recency, counts before the outcome) is unchanged. Events that would fall
    after `end` are left out."""
    at = parse_timestamp(end)
    day = 86_400_000_000
    micros = pl.col("occurred_at").dt.epoch("us")
    last = data.events.group_by("lead_id").agg(micros.max().alias("last"))
    first_outcome = data.outcomes.group_by("lead_id").agg(micros.min().alias("outcome"))
    anchors = (
        data.leads.select(
            pl.col("id").alias("lead_id"), pl.col("created_at").dt.epoch("us").alias("created")
        )
        .with_row_index("i")
        .join(last, on="lead_id", how="left")
        .join(first_outcome, on="lead_id", how="left")
        .with_columns(
            shift=at
            - (1 + pl.col("i").cast(pl.Int64) % 25) * day
            - pl.coalesce("outcome", pl.max_horizontal("created", "last"))
        )
        .select("lead_id", pl.duration(microseconds=pl.col("shift")).alias("shift"))
    )

    def shifted(frame: pl.DataFrame, column: str, key: str) -> pl.DataFrame:
        joined = frame.join(anchors.rename({"lead_id": key}), on=key, how="left")
        return joined.with_columns(pl.col(column) + pl.col("shift")).drop("shift")

    events = shifted(data.events, "occurred_at", "lead_id")
    events = events.filter(pl.col("occurred_at").dt.epoch("us") < at)
    return demo.DemoData(
        shifted(data.leads, "created_at", "id"),
        events,
        shifted(data.outcomes, "occurred_at", "lead_id"),
        data.propensity,
    )


def cohort(api, tmp_path: Path, prefix: str, seed: int, end: str, invert: bool = False) -> dict:
    """200 new leads whose outcomes fall in the 25 days before `end` (`moved`): the leads and
    their events imported at `end`, then their outcomes, dated, posted over the API, kinds
    swapped when `invert`; lead id -> (outcome, its time)."""
    api.set_time(end)
    data = moved(renamed(demo.generate(200, seed=seed, end="2026-01-01"), prefix), end)
    load(api, data, tmp_path / prefix, kinds=("leads", "events"))
    swap = {"converted": "lost", "lost": "converted"}
    kinds = {
        row["lead_id"]: (
            swap[row["outcome"]] if invert else row["outcome"],
            format_timestamp(int(row["occurred_at"].timestamp() * 1_000_000)),
        )
        for row in data.outcomes.iter_rows(named=True)
    }
    body = {
        "outcomes": [
            {"lead_id": i, "outcome": kind, "occurred_at": when}
            for i, (kind, when) in kinds.items()
        ]
    }
    reply = api.writer.post("/outcomes", json=body)
    assert reply.status_code == 200, reply.text
    assert reply.json()["recorded"] == len(kinds)
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

    outcomes = cohort(api, tmp_path, "N", seed=77, end="2026-03-01T00:00:00Z")
    now = api.ctx.now()
    kept = snapshots(api, version)
    assert set(kept) == set(outcomes)  # one per lead with an outcome, none for the others
    assert {source for _, _, source, _ in kept.values()} == {"outcome"}
    for lead_id, (_, when) in list(outcomes.items())[:5]:
        at = parse_timestamp(when)  # as of the outcome: its events strictly before it
        assert kept[lead_id][1:] == (at, "outcome", at)
        before = predictions.predict_lead(api.ctx, lead_id, as_of=at)
        assert kept[lead_id][0] == before["probability"]

    assert api.reader.get("/predictive-models/9/performance").status_code == 404
    assert api.anon.get(f"/predictive-models/{version}/performance").status_code == 401
    figures = api.get(f"/predictive-models/{version}/performance", refresh="true")
    assert figures["version"] == version and figures["computed_at"] == format_timestamp(now)
    windows = {w["window"]: w for w in figures["windows"]}
    assert list(windows) == ["last_30_days", "last_90_days", "2026-02"]
    last_30 = windows["last_30_days"]
    y = np.array([outcomes[i][0] == "converted" for i in kept])
    p = np.array([kept[i][0] for i in kept])
    assert last_30["n"] == len(outcomes) and last_30["conversions"] == int(y.sum())
    assert last_30["roc_auc"] == roc_auc_score(y, p) > 0.8  # the model ranks the new leads
    assert sum(d["count"] for d in last_30["deciles"]) == len(outcomes)
    assert windows["2026-02"]["roc_auc"] == last_30["roc_auc"]
    decay = figures["decay"]
    assert decay["card_roc_auc"] == figures["card_roc_auc"] > 0.8
    assert decay["window"] == "last_30_days" and decay["realised_roc_auc"] == last_30["roc_auc"]
    assert not decay["flagged"], decay
    print(f"\nmonitoring: {last_30['n']} outcomes, {last_30['conversions']} converted: {decay}")

    # The world changes: three months on, a new cohort converts against the model's ranking.
    cohort(api, tmp_path, "W", seed=78, end="2026-06-01T00:00:00Z", invert=True)
    stored = api.get(f"/predictive-models/{version}/performance")
    assert stored["computed_at"] == figures["computed_at"]  # stored figures until a refresh
    changed = api.get(f"/predictive-models/{version}/performance", refresh="true")
    windows = {w["window"]: w for w in changed["windows"]}
    assert list(windows)[:2] == ["last_30_days", "last_90_days"]
    assert windows["2026-02"]["roc_auc"] == last_30["roc_auc"]  # February keeps its figures
    assert windows["last_30_days"]["roc_auc"] < 0.5
    assert changed["decay"]["flagged"] and "below the card's" in changed["decay"]["reason"]
    print(f"monitoring, the world changed: {changed['decay']}")


def test_the_rule_model_shows_conversion_by_the_band_before_the_outcome(api) -> None:
    api.model()  # tiers hot >= 70, warm >= 40, cold
    api.set_time("2026-02-01T00:00:00Z")
    hot = {"industry": "software", "employees": 900}  # fit 50 of 50: total 25 + engagement
    for n, attributes in enumerate([hot, hot, hot, {}, {}]):
        api.lead(id=f"b{n}", email=f"b{n}@example.com", attributes=attributes)
    for n in range(3):  # the hot ones book a demo and view pricing: 25 + 45 = 70
        api.event(lead_id=f"b{n}", type="demo_booked")
        api.event(lead_id=f"b{n}", type="page_viewed", properties={"url": "/pricing"})
    tiers = {f"b{n}": api.get(f"/leads/b{n}")["tier"] for n in range(5)}
    assert tiers == {"b0": "hot", "b1": "hot", "b2": "hot", "b3": "cold", "b4": "cold"}
    api.set_time("2026-02-10T00:00:00Z")
    kinds = ["converted", "converted", "lost", "lost", "converted"]
    body = {"outcomes": [{"lead_id": f"b{n}", "outcome": k} for n, k in enumerate(kinds)]}
    assert api.writer.post("/outcomes", json=body).status_code == 200
    api.event(lead_id="b3", type="demo_booked")  # after the outcome: not its band
    figures = api.get("/models/1/performance", refresh="true")
    last_30 = {w["window"]: w for w in figures["windows"]}["last_30_days"]
    assert (last_30["n"], last_30["conversions"]) == (5, 3)
    assert last_30["bands"] == [
        {"band": "cold", "n": 2, "conversions": 1, "conversion_rate": 0.5},
        {"band": "hot", "n": 3, "conversions": 2, "conversion_rate": 2 / 3},
    ]
    assert api.reader.get("/models/7/performance").status_code == 404


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
