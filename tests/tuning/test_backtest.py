"""`leadscore backtest`: numbers checked by hand on six leads, and on demo data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

TINY_MODEL = """\
name: tiny
combine: sum
fit:
  rules:
    - id: big
      when: {field: size, gte: 100}
      points: 10
engagement:
  rules:
    - id: demo
      event: demo_booked
      points: 20
stages:
  - name: sql
    min_score: 25
  - name: mql
    min_score: 10
  - name: lead
"""

LEADS = "id,size\nL1,500\nL2,500\nL3,50\nL4,50\nL5,500\nL6,50\n"
EVENTS = """\
lead_id,type,occurred_at
L1,demo_booked,2026-01-10
L2,demo_booked,2026-01-15
L3,demo_booked,2026-01-05
L4,demo_booked,2026-03-01
L5,demo_booked,2026-01-01
L6,demo_booked,2026-02-20
"""
# L4's demo comes after its outcome: it must not count. L6 is still open.
OUTCOMES = """\
lead_id,outcome,occurred_at,value
L1,converted,2026-02-01,1000
L2,lost,2026-02-01,
L3,converted,2026-01-20,500
L4,lost,2026-02-15,
L5,converted,2026-01-11,900
L6,open,,
"""
SCORES = "lead_id,probability\nL1,0.9\nL2,0.2\nL3,0.6\nL4,0.1\nL5,0.8\nL9,0.5\n"


@pytest.fixture
def tiny(tmp_path: Path) -> dict[str, Path]:
    files = {
        "model": ("tiny.yaml", TINY_MODEL),
        "zero": (
            "zero.yaml",
            TINY_MODEL.replace("points: 10", "points: 0").replace("points: 20", "points: 0"),
        ),
        "leads": ("leads.csv", LEADS),
        "events": ("events.csv", EVENTS),
        "outcomes": ("outcomes.csv", OUTCOMES),
        "scores": ("predicted.csv", SCORES),
    }
    paths = {}
    for key, (name, text) in files.items():
        paths[key] = tmp_path / name
        paths[key].write_text(text)
    return paths


def test_backtest_matches_a_hand_computation(cli, files, tiny) -> None:
    done = cli(
        "backtest",
        *files(tiny),
        "--model",
        tiny["model"],
        "--model",
        tiny["zero"],
        "--scores",
        tiny["scores"],
        "--json",
    )
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert (report["leads"], report["decided"], report["converted"]) == (6, 5, 3)
    assert report["end"] == "2026-03-01T00:00:00Z"
    tiny_col, zero_col, predicted = report["columns"]
    assert [c["name"] for c in report["columns"]] == ["tiny", "zero", "predicted"]
    # Scores just before each outcome: L1 30, L2 30, L3 20, L4 0 (its demo is later), L5 30.
    # Converted {30, 20, 30} vs lost {30, 0}: pairs won 1+0.5+1+0+1+0.5 of 6.
    assert tiny_col["auc"] == pytest.approx(4 / 6)
    assert tiny_col["bands"] == [
        {"band": "0", "low": 0.0, "high": 0.0, "count": 1, "conversions": 0, "rate": 0.0},
        {"band": "20", "low": 20.0, "high": 20.0, "count": 1, "conversions": 1, "rate": 1.0},
        {"band": "30", "low": 30.0, "high": 30.0, "count": 3, "conversions": 2, "rate": 0.666667},
    ]
    # SQL (≥ 25): L1, L2, L5. MQL or above (≥ 10): those and L3 (20) and open L6 (20).
    assert tiny_col["qualification"] == {
        "mql": {"leads": 5, "rate": round(5 / 6, 6)},
        "sql": {"leads": 3, "rate": 0.5},
    }
    # L1: SQL on Jan 10, won Feb 1 (22 days); L5: Jan 1 → Jan 11 (10 days).
    assert tiny_col["median_days_sql_to_conversion"] == 16.0
    assert tiny_col["converted_via_sql"] == 2
    assert zero_col["auc"] == 0.5
    assert zero_col["qualification"]["sql"] == {"leads": 0, "rate": 0.0}
    assert zero_col["median_days_sql_to_conversion"] is None
    # The scores file: L9 is not a lead and is ignored; every converted lead outranks every lost.
    assert predicted["kind"] == "scores" and predicted["scored"] == 5
    assert predicted["auc"] == 1.0
    assert "qualification" not in predicted
    assert [b["count"] for b in predicted["bands"]] == [0, 1, 1, 0, 0, 0, 1, 0, 1, 1]


def test_backtest_prints_tables_side_by_side(cli, files, tiny) -> None:
    done = cli("backtest", *files(tiny), "--model", tiny["model"], "--scores", tiny["scores"])
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    header = next(line for line in lines if "tiny" in line and "predicted" in line)
    assert header
    assert any("ROC AUC" in line and "0.667" in line and "1.000" in line for line in lines)
    assert any("reached SQL" in line and "50.0% (3)" in line for line in lines)


def test_backtest_on_demo_data(cli, files, demo600, example, tmp_path) -> None:
    # All points zero; without stages, so that no replay is needed (the tiny test covers
    # a zero model's stages).
    zero = tmp_path / "zero.yaml"
    text = example.read_text().split("\nstages:")[0]
    zero.write_text(re.sub(r"points: -?\d+", "points: 0", text))
    done = cli("backtest", *files(demo600), "--model", example, "--model", zero, "--json")
    assert done.exit_code == 0, done.output
    columns = {c["name"]: c for c in json.loads(done.stdout)["columns"]}
    assert columns["b2b-saas"]["auc"] > 0.8
    assert columns["zero"]["auc"] == 0.5
    assert columns["zero"]["qualification"] == {"mql": None, "sql": None}
    example_col = columns["b2b-saas"]
    reached = example_col["qualification"]
    assert 0 < reached["sql"]["leads"] <= reached["mql"]["leads"] < 600
    assert example_col["median_days_sql_to_conversion"] > 0
    rates = [b["rate"] for b in example_col["bands"] if b["count"] >= 20]
    assert rates[-1] > rates[0]
