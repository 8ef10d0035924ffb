"""Mistakes a user can fix: one line on stderr, exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

LEADS = "id,size\nL1,500\nL2,50\nL3,500\nL4,50\n"
EVENTS = "lead_id,type,occurred_at\nL1,demo_booked,2026-01-10\nL3,demo_booked,2026-01-12\n"
OUTCOMES = (
    "lead_id,outcome,occurred_at\nL1,converted,2026-02-01\nL2,lost,2026-02-01\n"
    "L3,converted,2026-02-03\nL4,lost,2026-02-04\n"
)
MODEL = """\
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
"""


@pytest.fixture
def tiny(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for key, text in (
        ("model", MODEL),
        ("leads", LEADS),
        ("events", EVENTS),
        ("outcomes", OUTCOMES),
    ):
        paths[key] = tmp_path / (f"{key}.yaml" if key == "model" else f"{key}.csv")
        paths[key].write_text(text)
    return paths


def history(paths: dict[str, Path], outcomes: Path | None = None) -> list[object]:
    return [
        "--leads",
        paths["leads"],
        "--events",
        paths["events"],
        "--outcomes",
        outcomes or paths["outcomes"],
    ]


def fails(done, *expected: str) -> None:
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output and done.stdout == ""
    for text in expected:
        assert text in done.stderr, done.stderr


def test_tiny_history_works(cli, tiny, tmp_path) -> None:
    done = cli("suggest", "--model", tiny["model"], *history(tiny), "--out", tmp_path / "new.yaml")
    assert done.exit_code == 0, done.output
    done = cli("backtest", "--model", tiny["model"], *history(tiny))
    assert done.exit_code == 0, done.output


def test_bad_model(cli, tiny, tmp_path) -> None:
    tiny["model"].write_text(MODEL.replace("points: 20", "points: 20\n      half_lfe: 3d"))
    for command in ("suggest", "backtest"):
        extra = ["--out", tmp_path / "new.yaml"] if command == "suggest" else []
        done = cli(command, "--model", tiny["model"], *history(tiny), *extra)
        fails(done, "engagement.rules[0].half_lfe: unknown key 'half_lfe'")
    fails(
        cli("backtest", "--model", tmp_path / "nope.yaml", *history(tiny)),
        "nope.yaml: no such model file",
    )


def test_unknown_lead_in_outcomes(cli, tiny, tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(OUTCOMES + "L7,lost,2026-02-01\n")
    done = cli("backtest", "--model", tiny["model"], *history(tiny, bad))
    fails(done, f"{bad}: line 6: lead 'L7' is not in the leads file")


def test_no_decided_leads_or_a_single_class(cli, tiny, tmp_path) -> None:
    open_only = tmp_path / "open.csv"
    open_only.write_text("lead_id,outcome,occurred_at\nL1,open,\n")
    all_lost = tmp_path / "lost.csv"
    all_lost.write_text(OUTCOMES.replace("converted", "lost"))
    out = tmp_path / "new.yaml"
    for command in ("suggest", "backtest"):
        extra = ["--out", out] if command == "suggest" else []
        done = cli(command, "--model", tiny["model"], *history(tiny, open_only), *extra)
        fails(done, "no decided leads")
        done = cli(command, "--model", tiny["model"], *history(tiny, all_lost), *extra)
        fails(done, "all 4 decided leads are lost: both outcomes are needed")
    assert not out.exists()


def test_suggest_never_overwrites_its_input(cli, tiny) -> None:
    done = cli("suggest", "--model", tiny["model"], *history(tiny), "--out", tiny["model"])
    fails(done, "is the input model")
    assert tiny["model"].read_text() == MODEL


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--target-precision", "1.5"], "--target-precision must be in (0, 1]"),
        (["--capacity", "0"], "--capacity must be a positive number"),
        (["--as-of", "soon"], "--as-of: 'soon' is not an ISO 8601 timestamp"),
    ],
)
def test_bad_options(cli, tiny, tmp_path, option, message) -> None:
    done = cli(
        "suggest", "--model", tiny["model"], *history(tiny), "--out", tmp_path / "n.yaml", *option
    )
    fails(done, message)


def test_bad_files(cli, tiny, tmp_path) -> None:
    fails(cli("backtest", *history(tiny)), "give at least one --model")
    scores = tmp_path / "scores.csv"
    scores.write_text("lead_id,value\nL1,3\n")
    done = cli("backtest", "--model", tiny["model"], *history(tiny), "--scores", scores)
    fails(done, f"{scores}: line 2: needs a probability or a score column")
    done = cli(
        "backtest",
        "--model",
        tiny["model"],
        "--leads",
        tmp_path / "none.csv",
        "--outcomes",
        tiny["outcomes"],
    )
    fails(done, "none.csv: no such file")
    done = cli(
        "suggest", "--model", tiny["model"], *history(tiny), "--out", tmp_path / "no" / "n.yaml"
    )
    fails(done, "does not exist")
