"""The three commands as users run them: files written, output shape, and exit-2 errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest


def test_train_writes_model_folder_and_card(trained_model: Path) -> None:
    names = {p.name for p in trained_model.iterdir()}
    assert names == {"model.skops", "model.json", "model_card.json", "model_card.md"}
    card = json.loads((trained_model / "model_card.json").read_text())
    for key in ("trained_at", "data", "features", "leakage", "model", "metrics", "importance"):
        assert key in card
    assert card["data"]["file"].endswith("leads.csv")
    assert 0.0 < card["metrics"]["brier"] < 0.25
    md = (trained_model / "model_card.md").read_text()
    for heading in (
        "How good is it?",
        "Can I trust the probabilities?",
        "lift by decile",
        "Leakage check",
        "Columns not used",
    ):
        assert heading in md


def test_predict_one_row_per_input_in_order(
    trained_model: Path, leads_csv: Path, tmp_path: Path, cli
) -> None:
    source = pl.read_csv(leads_csv).head(200).reverse()
    data = tmp_path / "new.jsonl"
    source.drop("converted").write_ndjson(data)
    out = tmp_path / "scores.csv"
    run = cli("predict", "--model", trained_model, "--data", data, "--out", out)
    assert run.code == 0, run.stderr
    scores = pl.read_csv(out)
    assert scores.columns == ["lead_id", "probability", "score", "reasons"]  # id from training
    assert scores["lead_id"].to_list() == source["lead_id"].to_list()
    p = scores["probability"].to_numpy()
    assert np.all((p > 0) & (p < 1))
    assert scores["score"].to_list() == np.floor(100 * p + 0.5).astype(int).tolist()
    reasons = scores["reasons"].fill_null("").to_list()
    assert all(r.startswith(("+ ", "\u2212 ")) for r in reasons if r)
    assert sum(bool(r) for r in reasons) > 190
    assert any("source = referral" in r for r in reasons)


def test_predict_tolerates_unseen_values_extra_and_optional_columns(
    trained_model: Path, tmp_path: Path, cli
) -> None:
    data = tmp_path / "odd.csv"
    data.write_text(
        "extra,source,visits,time_on_site,newsletter,days_since_purchase,budget,created_at\n"
        "1,brand-new-source,3,100,maybe,999,huge,2024-05-01\n"
        "2,referral,,5000,Yes,3,large,2024-05-02\n"
    )  # no lead_id, no company_size (optional: it had missing values in training)
    out = tmp_path / "odd.csv.out.csv"
    run = cli("predict", "--model", trained_model, "--data", data, "--out", out)
    assert run.code == 0, run.stderr
    scores = pl.read_csv(out)
    assert scores.columns == ["probability", "score", "reasons"] and scores.height == 2
    assert scores["probability"][1] > scores["probability"][0]
    assert all(isinstance(r, str) for r in scores["reasons"].fill_null(""))


def test_predict_missing_required_column_exits_2_naming_it(
    trained_model: Path, leads_csv: Path, tmp_path: Path, cli
) -> None:
    data = tmp_path / "partial.csv"
    pl.read_csv(leads_csv).drop("source", "converted").write_csv(data)
    run = cli("predict", "--model", trained_model, "--data", data, "--out", tmp_path / "o.csv")
    assert run.code == 2
    assert "missing required column(s): source" in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_evaluate_json_and_table(trained_model: Path, leads_csv: Path, cli) -> None:
    run = cli(
        "evaluate", "--model", trained_model, "--data", leads_csv, "--target", "converted", "--json"
    )
    assert run.code == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["rows"] == 1500 and 0.6 < report["roc_auc"] < 0.95
    assert len(report["lift"]) == 10 and len(report["calibration"]) == 10
    table = cli("evaluate", "--model", trained_model, "--data", leads_csv)
    assert table.code == 0 and "ROC AUC" in table.stdout and "Lift by decile" in table.stdout


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("a,converted\n1,yes\n", ["--target", "outcome"], "target column 'outcome' not found"),
        ("", ["--target", "converted"], "file is empty"),
        ("\x00\x01garbage", ["--target", "converted"], "not a readable parquet file"),
    ],
)
def test_train_bad_inputs_exit_2(tmp_path: Path, cli, content: str, args, message: str) -> None:
    name = "data.parquet" if "garbage" in content else "data.csv"
    data = tmp_path / name
    data.write_text(content)
    run = cli("train", "--data", data, "--out", tmp_path / "m", *args)
    assert run.code == 2
    assert message in run.stderr and "Traceback" not in run.stderr


def test_train_single_class_exits_2(tmp_path: Path, cli, make_leads) -> None:
    frame, _ = make_leads(100)
    data = tmp_path / "one.csv"
    frame.with_columns(converted=pl.lit("no")).write_csv(data)
    run = cli("train", "--data", data, "--target", "converted", "--out", tmp_path / "m")
    assert run.code == 2 and "single class" in run.stderr


def test_unreadable_file_and_missing_model_exit_2(tmp_path: Path, cli) -> None:
    folder = tmp_path / "a_folder.csv"
    folder.mkdir()
    run = cli("train", "--data", folder, "--target", "y", "--out", tmp_path / "m")
    assert run.code == 2 and "is a folder" in run.stderr
    run = cli("predict", "--model", tmp_path / "nothing", "--data", folder, "--out", "x.csv")
    assert run.code == 2 and "model folder not found" in run.stderr
