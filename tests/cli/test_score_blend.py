"""`leadscore score --predictions FILE` (SPEC §7): offline, a model with `predictive` blends
the probabilities of a file (what `leadscore predict` writes) into its totals."""

from __future__ import annotations

import csv
import io
import json

from tests.cli.test_score import AS_OF, EVENTS, LEADS, MODEL, leadscore

BLENDED = MODEL.replace("name: t\n", "name: t\npredictive: {model: 2, weight: 0.5}\n")


def _files(tmp_path, predictions: str):
    model = tmp_path / "m.yaml"
    model.write_text(BLENDED)
    (tmp_path / "leads.csv").write_text(LEADS)
    (tmp_path / "events.csv").write_text(EVENTS)
    (tmp_path / "p.csv").write_text(predictions)
    return model


def test_score_blends_the_probabilities_of_a_file(tmp_path) -> None:
    model = _files(tmp_path, "id,probability,score\nL1,0.25,25\nL3,1,100\nL2,,\n")
    out = tmp_path / "scores.csv"
    result = leadscore(
        "score", "--model", model, "--leads", tmp_path / "leads.csv", "--events",
        tmp_path / "events.csv", "--as-of", AS_OF, "--predictions", tmp_path / "p.csv",
        "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = {r["lead_id"]: r for r in csv.DictReader(io.StringIO(out.read_text()))}
    # Rule totals 70 (L1), 25 (L3), 0 (L2, which has no probability: it keeps its own).
    assert rows["L1"]["score"] == "47.50"  # 0.5 × 70 + 0.5 × 100 × 0.25
    assert rows["L3"]["score"] == "62.50" and rows["L3"]["tier"] == "warm"  # 0.5 × 25 + 50
    assert rows["L2"]["score"] == "0.00"
    explained = leadscore(
        "score", "--model", model, "--leads", tmp_path / "leads.csv", "--as-of", AS_OF,
        "--predictions", tmp_path / "p.csv", "--explain",
    )  # fmt: skip
    lines = [json.loads(line) for line in explained.stdout.splitlines()]
    l3 = next(line for line in lines if line["lead_id"] == "L3")
    predictive = [c for c in l3["contributions"] if c["kind"] == "predictive"]
    assert predictive == [{"kind": "predictive", "id": "model:2", "raw": 1.0, "capped": 1.0,
                           "score": 50.0}]  # fmt: skip


def test_a_bad_probability_is_exit_2_with_its_line(tmp_path) -> None:
    model = _files(tmp_path, "lead_id,probability\nL1,0.5\nL3,1.5\n")
    result = leadscore(
        "score", "--model", model, "--leads", tmp_path / "leads.csv", "--as-of", AS_OF,
        "--predictions", tmp_path / "p.csv",
    )  # fmt: skip
    assert result.returncode == 2
    assert f"{tmp_path / 'p.csv'}: line 3: probability '1.5' is not between 0 and 1" in (
        result.stderr
    )
    (tmp_path / "p.csv").write_text("who,probability\nL1,0.5\n")
    result = leadscore(
        "score", "--model", model, "--leads", tmp_path / "leads.csv", "--as-of", AS_OF,
        "--predictions", tmp_path / "p.csv",
    )  # fmt: skip
    assert result.returncode == 2 and "needs a lead_id (or id) column" in result.stderr
