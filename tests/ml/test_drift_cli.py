"""`leadscore predict` and drift: the warning on stderr, `--drift-report FILE`, scores that do
not change, and a model trained before profiles existed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl


def _shifted(leads_csv: Path, folder: Path) -> Path:
    """The training leads with time on site 20 times longer and a quarter of the sources
    replaced by one never seen; visits untouched."""
    frame = pl.read_csv(leads_csv).drop("converted").sample(400, seed=3)
    frame = frame.with_columns(
        pl.col("time_on_site") * 20,
        pl.when(pl.int_range(pl.len()) % 4 == 0)
        .then(pl.lit("TikTok"))
        .otherwise(pl.col("source"))
        .alias("source"),
    )
    path = folder / "shifted.csv"
    frame.write_csv(path)
    return path


def test_predict_warns_names_drifted_features_and_writes_the_report(
    trained_model: Path, leads_csv: Path, tmp_path: Path, cli
) -> None:
    data = _shifted(leads_csv, tmp_path)
    meta = json.loads((trained_model / "model.json").read_text())
    top = {f["feature"]: f for f in meta["profile"]["features"]}["time_on_site"]["max"]
    report, out = tmp_path / "drift.json", tmp_path / "scores.csv"
    run = cli(
        "predict", "--model", trained_model, "--data", data, "--out", out, "--drift-report", report
    )
    assert run.code == 0, run.stderr
    assert run.stdout.strip() == f"scored 400 rows into {out}"
    (line,) = [x for x in run.stderr.splitlines() if x.startswith("drift:")]
    assert "source 25% of rows in categories not seen in training (e.g. 'tiktok')" in line
    above = (pl.read_csv(data)["time_on_site"] > top).mean()
    assert f"time_on_site {above:.0%} of rows above the training range (max {top:g})" in line
    assert "visits" not in line

    document = json.loads(report.read_text())
    assert list(document) == [
        "model",
        "data",
        "rows",
        "thresholds",
        "drifted",
        "moderate",
        "features",
        "not_checked",
        "training_rows",
    ]
    assert document["model"] == str(trained_model) and document["rows"] == 400
    assert {"source", "time_on_site"} <= set(document["drifted"])
    features = {f["feature"]: f for f in document["features"]}
    assert features["source"]["unseen"] == 0.25 and features["time_on_site"]["above"] == above
    assert features["source"]["unseen_values"] == [{"value": "tiktok", "rows": 100}]
    assert not features["visits"]["drifted"] and features["visits"]["outside"] < 0.05
    assert features["created_at"]["measure"] == "days_ago"

    plain = tmp_path / "plain.csv"
    assert cli("predict", "--model", trained_model, "--data", data, "--out", plain).code == 0
    assert plain.read_bytes() == out.read_bytes()  # the scores do not change


def test_predict_on_training_like_data_says_nothing_about_drift(
    trained_model: Path, leads_csv: Path, tmp_path: Path, cli
) -> None:
    data = tmp_path / "same.csv"
    pl.read_csv(leads_csv).drop("converted").write_csv(data)
    report = tmp_path / "drift.json"
    run = cli(
        "predict",
        "--model",
        trained_model,
        "--data",
        data,
        "--out",
        tmp_path / "s.csv",
        "--drift-report",
        report,
    )
    assert run.code == 0 and run.stderr == ""
    assert json.loads(report.read_text())["drifted"] == []


def test_model_without_profile_scores_with_a_note(
    trained_model: Path, leads_csv: Path, tmp_path: Path, cli
) -> None:
    old = tmp_path / "old-model"
    shutil.copytree(trained_model, old)
    meta = json.loads((old / "model.json").read_text())
    del meta["profile"]
    (old / "model.json").write_text(json.dumps(meta))
    data = _shifted(leads_csv, tmp_path)
    out = tmp_path / "s.csv"
    run = cli("predict", "--model", old, "--data", data, "--out", out)
    assert run.code == 0
    assert run.stderr.strip() == f"note: {old}: no training profile; retrain to get drift reports"
    out.unlink()
    run = cli(
        "predict", "--model", old, "--data", data, "--out", out, "--drift-report", tmp_path / "d"
    )
    assert run.code == 2 and out.is_file() and not (tmp_path / "d").exists()
    assert run.stderr.strip() == (
        f"error: --drift-report: {old}: no training profile; retrain to get drift reports"
    )
