"""Fixtures for the predictive tests: a small synthetic table with a known propensity, the CLI
run in this process, and a model trained once through the CLI for the tests that only need
some model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from leadscore.cli import app

SOURCES = ["organic", "paid", "referral", "event", "social"]
SOURCE_EFFECT = {"organic": 0.0, "paid": -0.4, "referral": 1.5, "event": 0.7, "social": -0.8}


def synthetic_leads(n: int, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    """Leads whose conversion probability is known: returns the table and that probability.

    Columns cover the kinds `train` must handle without help: an id, a date, categories, a
    yes/no flag, numbers with missing values, a `Select` placeholder and a 999 sentinel."""
    rng = np.random.default_rng(seed)
    source = rng.choice(SOURCES, n, p=[0.35, 0.25, 0.1, 0.1, 0.2])
    visits = rng.poisson(3, n)
    time_on_site = np.round(rng.gamma(2.0, 200.0, n))
    newsletter = rng.random(n) < 0.4
    never = rng.random(n) < 0.7
    days_since_purchase = np.where(never, 999, rng.integers(0, 365, n))
    size = np.round(np.exp(rng.normal(4.0, 1.5, n))) + 1
    size_text = np.where(rng.random(n) < 0.1, "", size.astype(int).astype(str))
    budget = rng.choice(["Select", "small", "medium", "large"], n, p=[0.4, 0.25, 0.2, 0.15])
    created = np.datetime64("2024-01-01") + np.sort(rng.integers(0, 365, n)).astype(
        "timedelta64[D]"
    )
    logit = (
        -1.2
        + np.vectorize(SOURCE_EFFECT.get)(source)
        + 0.9 * np.log1p(time_on_site / 300)
        + 0.1 * np.minimum(visits, 10)
        + 0.5 * newsletter
        + np.where(never, 0.0, 1.0 - 0.003 * days_since_purchase)
        + np.select([budget == "large", budget == "medium"], [0.8, 0.4], 0.0)
        - 0.8
    )
    p = 1 / (1 + np.exp(-logit))
    converted = rng.random(n) < p
    frame = pl.DataFrame(
        {
            "lead_id": [f"L{i:05d}" for i in range(n)],
            "created_at": created.astype(str),
            "source": source,
            "visits": visits,
            "time_on_site": time_on_site,
            "newsletter": np.where(newsletter, "Yes", "No"),
            "days_since_purchase": days_since_purchase,
            "company_size": size_text,
            "budget": budget,
            "converted": np.where(converted, "yes", "no"),
        }
    )
    return frame, p


@dataclass
class Run:
    """What a CLI run returned."""

    code: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path) -> Run:
    """Run the CLI in this process; an exception that is not an exit fails the test."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture(scope="session")
def make_leads():
    """The synthetic generator: make_leads(n, seed) -> (table, true probability)."""
    return synthetic_leads


@pytest.fixture(scope="session")
def cli():
    """Run the CLI in-process: cli(*args) -> Run(code, stdout, stderr)."""
    return run_cli


@pytest.fixture(scope="session")
def leads_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 synthetic leads as CSV."""
    frame, _ = synthetic_leads(1500, seed=1)
    path = tmp_path_factory.mktemp("leads") / "leads.csv"
    frame.write_csv(path)
    return path


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory, leads_csv: Path) -> Path:
    """A model trained through the CLI on `leads_csv` (shared by several tests)."""
    out = tmp_path_factory.mktemp("model") / "model"
    run = run_cli(
        "train",
        "--data",
        leads_csv,
        "--target",
        "converted",
        "--out",
        out,
        "--id",
        "lead_id",
        "--folds",
        "3",
        "--engine",
        "sklearn",
    )
    assert run.code == 0, run.stderr
    return out
