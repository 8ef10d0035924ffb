"""Training from the store (SPEC §7): demo leads, events and outcomes are imported into a real
store (an SQLite file; PostgreSQL when marked), a model is trained on the leads with outcomes
and stored as a version. The demo's hidden propensity must be recovered on leads the model
never saw, events after the outcome must not help it, and a stored version must score exactly
as the model did before it was stored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import numpy as np
import polars as pl
import pytest
import skops.io as sio
from sklearn.metrics import roc_auc_score
from sqlalchemy import update
from tests.conftest import skip_or_fail
from tests.service.conftest import POSTGRES_URL

from leadscore import demo
from leadscore.ml import aggregates, store_model
from leadscore.ml.errors import MLInputError
from leadscore.ml.store_model import Predictor
from leadscore.ml.store_training import (
    EMAIL_IS_FREE,
    ID,
    TARGET,
    History,
    StoreTrained,
    train_from_history,
)
from leadscore.service.context import Context
from leadscore.service.imports import import_file
from leadscore.service.predictions import load_predictor, save_version
from leadscore.settings import Settings
from leadscore.store import frames
from leadscore.store import predictive_models as stored_models
from leadscore.store.tables import predictive_models
from leadscore.store.training import read_history
from leadscore.testing import scratch

END = datetime(2026, 1, 1, tzinfo=UTC)
LATE = "contract_signed"
"""An event type that only ever happens after a conversion (a leak if counted)."""


def with_late_events(data: demo.DemoData) -> demo.DemoData:
    """Every converted lead gets a `contract_signed` event a day after converting."""
    won = data.outcomes.filter(pl.col("outcome") == "converted")
    late = won.select(
        pl.format("late-{}", pl.col("lead_id")).alias("id"),
        "lead_id",
        pl.lit(LATE).alias("type"),
        (pl.col("occurred_at") + timedelta(days=1)).alias("occurred_at"),
    )
    events = pl.concat([data.events, late], how="diagonal_relaxed")
    return demo.DemoData(data.leads, events, data.outcomes, data.propensity)


@dataclass
class Store:
    ctx: Context
    data: demo.DemoData
    trained: StoreTrained
    version: int
    seconds: float


def load_store(ctx: Context, data: demo.DemoData, folder) -> None:
    paths = demo.write(data, folder)
    for kind in ("leads", "events", "outcomes"):
        assert import_file(ctx, kind, paths[kind]).written > 0


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def store(request, tmp_path_factory) -> Iterator[Store]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'leadscore.db'}"
        else:
            try:
                url = stack.enter_context(scratch.scratch_postgres(POSTGRES_URL))
            except scratch.Unavailable as exc:
                skip_or_fail(f"{exc} (set LEADSCORE_TEST_POSTGRES_URL)")
        ctx = stack.enter_context(Context.open(Settings(database_url=url)))
        data = with_late_events(demo.generate(1200, seed=7, end=END))
        load_store(ctx, data, tmp_path_factory.mktemp("demo"))
        started = time.perf_counter()
        with ctx.db.read() as conn:
            trained = train_from_history(
                History(*read_history(conn)),
                trained_at="2026-01-01T00:00:00Z",
                folds=3,
                use_lightgbm=False,
            )
        seconds = time.perf_counter() - started
        with ctx.db.write() as conn:
            version = save_version(
                conn,
                model=trained.model,
                meta=trained.meta,
                card=trained.card,
                name="demo",
                created_at=1,
                created_by="test",
            )
        yield Store(ctx, data, trained, version, seconds)


def in_memory(trained: StoreTrained) -> Predictor:
    return Predictor(0, "unsaved", trained.card, trained.meta, trained.model, trained.prep)


@pytest.mark.slow
def test_hidden_propensity_is_recovered_on_unseen_leads(store: Store) -> None:
    card = store.trained.card
    assert card["data"]["store"]["leads_with_outcomes"] == store.data.outcomes.height
    assert card["metrics"]["roc_auc"] > 0.75  # cross-validated
    assert {"roc_auc", "pr_auc", "brier", "calibration", "lift"} <= card["metrics"].keys()
    kept = {f["name"] for f in card["features"]["kept"]}
    assert {"industry", "employees", "demo_booked: count", "email_is_free"} <= kept
    assert not kept & {"first_name", "last_name", "score", "stage"}
    print(f"trained from the store in {store.seconds:.1f} s")

    fresh = demo.generate(600, seed=99, end=END)  # leads the model never saw
    decided = fresh.leads.join(
        fresh.outcomes.select("lead_id", pl.col("occurred_at").alias("at"), "outcome"),
        left_on="id",
        right_on="lead_id",
    )
    cutoffs = decided.select(
        pl.col("id").alias("lead_id"), pl.col("at").dt.epoch("us").alias("cutoff")
    )
    predictor = in_memory(store.trained)
    scored = predictor.predict_at(
        decided.drop("at", "outcome"), fresh.events, cutoffs, with_reasons=False
    )
    won = (decided["outcome"] == "converted").to_numpy()
    auc = roc_auc_score(won, scored["probability"].to_numpy())
    now = predictor.predict(fresh.leads, fresh.events, int(END.timestamp() * 1e6))
    hot = fresh.propensity > np.median(fresh.propensity)
    propensity_auc = roc_auc_score(hot, now["probability"].to_numpy())
    print(
        f"CV ROC AUC {card['metrics']['roc_auc']:.3f}; held-out {auc:.3f}; vs hidden propensity {propensity_auc:.3f}"
    )
    assert auc > 0.75 and propensity_auc > 0.7


def test_events_after_the_outcome_do_not_help(store: Store) -> None:
    # The trap is real: counted without the cutoff, the late event alone is a perfect predictor.
    outcomes = store.data.outcomes
    naive = aggregates.aggregate_events(
        aggregates.with_cutoff(outcomes["lead_id"], int(END.timestamp() * 1e6) + 10**12),
        store.data.events,
        [LATE],
    )
    won = (outcomes["outcome"] == "converted").to_numpy()
    assert roc_auc_score(won, naive[aggregates.count_name(LATE)].to_numpy()) == 1.0
    # Cut at each outcome, it never happened before any of them: not a feature, no help.
    assert LATE not in store.trained.prep.event_types
    features = [f["name"] for f in store.trained.card["features"]["kept"]]
    assert not [f for f in features if LATE in f]
    assert store.trained.card["metrics"]["roc_auc"] < 0.97
    assert not store.trained.card["leakage"]["warnings"]


@pytest.mark.slow
def test_stored_version_scores_exactly_as_trained(store: Store) -> None:
    leads, events = store.data.leads.head(60), store.data.events
    as_of = int(END.timestamp() * 1e6)
    expected = in_memory(store.trained).predict(leads, events, as_of)
    store_model.CACHE.clear()
    with store.ctx.db.read() as conn:
        loaded = load_predictor(conn, store.version)
        assert load_predictor(conn) is loaded  # the active one, from the cache
    assert loaded is not None and loaded.version == store.version
    got = loaded.predict(leads, events, as_of)
    assert got["lead_id"].to_list() == leads["id"].to_list()
    assert got["probability"].to_list() == expected["probability"].to_list()
    assert got["reasons"].to_list() == expected["reasons"].to_list()
    assert got.schema["probability"] == pl.Float64 and got["probability"].is_between(0, 1).all()
    assert got["score"].is_between(0, 100).all()
    assert all(r and r[0][:2] in ("+ ", "\u2212 ") for r in got["reasons"].to_list())


def test_new_versions_and_activation(store: Store) -> None:
    with store.ctx.db.write() as conn:
        quiet = save_version(
            conn,
            model=store.trained.model,
            meta=store.trained.meta,
            card=store.trained.card,
            name="quiet",
            created_at=2,
            created_by="test",
            activate=False,
        )
        assert load_predictor(conn).version == store.version
        stored_models.activate(conn, quiet)
        assert load_predictor(conn).version == quiet
        listed = stored_models.list_versions(conn)
        assert [v["version"] for v in listed][:2] == [quiet, store.version]
        assert [v["active"] for v in listed][:2] == [True, False]
        with pytest.raises(LookupError):
            stored_models.activate(conn, 999)
        assert load_predictor(conn, 999) is None
        stored_models.activate(conn, store.version)


def test_an_untrusted_artifact_is_refused(store: Store) -> None:
    with store.ctx.db.write() as conn:
        bad = save_version(
            conn,
            model={"logistic": [Fraction(1, 3)]},
            meta=store.trained.meta,
            card=store.trained.card,
            name="tampered",
            created_at=3,
            created_by="test",
            activate=False,
        )
        conn.execute(
            update(predictive_models)
            .where(predictive_models.c.version == bad)
            .values(artifact=sio.dumps({"logistic": [Fraction(1, 3)]}))
        )
    with store.ctx.db.read() as conn, pytest.raises(MLInputError, match="untrusted"):
        load_predictor(conn, bad)


def test_no_outcomes_and_one_class_are_clear_errors(tmp_path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}")
    with Context.open(settings) as ctx:
        with ctx.db.read() as conn, pytest.raises(MLInputError, match="no outcomes"):
            train_from_history(History(*read_history(conn)), trained_at="x")
        data = demo.generate(150, seed=3, end=END)
        lost_only = data.outcomes.with_columns(outcome=pl.lit("lost"))
        load_store(
            ctx, demo.DemoData(data.leads, data.events, lost_only, data.propensity), tmp_path
        )
        with ctx.db.read() as conn, pytest.raises(MLInputError, match="are 'lost'"):
            train_from_history(History(*read_history(conn)), trained_at="x")


def test_attributes_named_like_the_added_columns_are_left_out() -> None:
    # The store builds the leads frame; the columns ml adds to it must never collide.
    assert {ID, TARGET, EMAIL_IS_FREE, "cutoff", "id", "email"} <= frames.RESERVED
    frame = frames.attributes_frame(["L1"], ["a@x.io"], [{"outcome": "won", "size": 3}])
    assert frame.columns == ["id", "email", "size"]
