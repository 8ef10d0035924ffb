"""The CLI from the store: `train --from-store`, `predict --model-version`, `predictive list`
and `predictive activate`, their exit-2 errors, and a CLI that starts without scikit-learn."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import polars as pl
import pytest

from leadscore import demo
from leadscore.service.context import Context
from leadscore.service.imports import import_file
from leadscore.settings import Settings

END = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def database(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'leadscore.db'}"
    monkeypatch.setenv("LEADSCORE_DATABASE_URL", url)
    return url


def load(url: str, data: demo.DemoData, folder) -> dict:
    paths = demo.write(data, folder)
    with Context.open(Settings(database_url=url)) as ctx:
        for kind in ("leads", "events", "outcomes"):
            import_file(ctx, kind, paths[kind])
    return paths


def test_importing_the_cli_does_not_import_scikit_learn() -> None:
    # A fresh interpreter: in this one other tests have imported scikit-learn already.
    code = "import leadscore.cli, sys; assert 'sklearn' not in sys.modules; assert 'skops' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_train_from_store_predict_list_activate(cli, database, tmp_path) -> None:
    paths = load(database, demo.generate(500, seed=5, end=END), tmp_path / "demo")
    run = cli("train", "--from-store", "--name", "first", "--folds", "3", "--engine", "sklearn")
    assert run.code == 0, run.stderr
    assert "ROC AUC" in run.stdout and "stored as predictive model version 1 (active)" in run.stdout

    listed = cli("predictive", "list")
    assert listed.code == 0 and "first" in listed.stdout and "yes" in listed.stdout

    out = tmp_path / "scores.csv"
    run = cli(
        "predict",
        "--model-version",
        "1",
        "--data",
        paths["leads"],
        "--events",
        paths["events"],
        "--as-of",
        "2026-01-01",
        "--out",
        out,
        "--drift-report",
        tmp_path / "drift.json",
    )
    assert run.code == 0, run.stderr
    scores = pl.read_csv(out)
    assert scores.columns == ["id", "probability", "score", "reasons"]
    assert scores.height == 500 and scores["probability"].is_between(0, 1).all()
    drift = json.loads((tmp_path / "drift.json").read_text())
    assert drift["model"] == "predictive model version 1" and drift["rows"] == 500
    features = {f["feature"] for f in drift["features"]}
    assert "email_is_free" in features and "events: total" in features
    warned = [line for line in run.stderr.splitlines() if line.startswith("drift:")]
    assert (warned != []) == (drift["drifted"] != [])

    assert cli("predictive", "activate", "1").code == 0
    missing = cli("predictive", "activate", "7")
    assert missing.code == 2 and "no predictive model version 7" in missing.stderr
    run = cli("predict", "--model-version", "7", "--data", paths["leads"], "--out", out)
    assert run.code == 2 and "no predictive model version 7" in run.stderr


def test_train_from_store_errors_exit_2(cli, database, tmp_path) -> None:
    run = cli("train", "--from-store")
    assert run.code == 2 and "no outcomes" in run.stderr and "Traceback" not in run.stderr
    data = demo.generate(150, seed=3, end=END)
    won_only = data.outcomes.with_columns(outcome=pl.lit("converted"))
    load(database, demo.DemoData(data.leads, data.events, won_only, data.propensity), tmp_path)
    run = cli("train", "--from-store")
    assert run.code == 2 and "need both converted and lost" in run.stderr
    run = cli("train", "--from-store", "--data", "x.csv")
    assert run.code == 2 and "--data do not apply" in run.stderr
    run = cli("train", "--target", "y")
    assert run.code == 2 and "--data FILE is required" in run.stderr
    run = cli("predict", "--data", "x.csv", "--out", "y.csv")
    assert run.code == 2 and "--model MODEL_DIR or --model-version" in run.stderr
