"""The optional LightGBM path. `make test` installs the `lightgbm` extra; without it the test
skips on a developer's machine and fails under CI=true, like the PostgreSQL tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from tests.conftest import skip_or_fail

from leadscore.ml import explain
from leadscore.ml.estimators import family_logit, fit_family
from leadscore.ml.features import fit_spec, transform


@pytest.fixture(autouse=True)
def lightgbm_installed() -> None:
    try:
        import lightgbm  # noqa: F401
    except ImportError:  # depends on the installed extras
        skip_or_fail("LightGBM is not installed (pip install leadscore[lightgbm])")


def test_pred_contrib_adds_up_and_cli_round_trip(make_leads, tmp_path: Path, cli) -> None:
    frame, _ = make_leads(2500, seed=13)
    y = (frame["converted"] == "yes").to_numpy().astype(int)
    spec = fit_spec(frame, skip={"converted": "target", "lead_id": "id"})
    X = transform(frame, spec)
    members = fit_family("gbm", X, y, spec, 0, use_lightgbm=True)
    contrib = explain.contributions({"gbm": members}, X[:50], spec, {})
    offset = family_logit(members, X[:50]) - contrib.sum(axis=1)
    assert np.ptp(offset) < 1e-6  # TreeSHAP: exact

    data = tmp_path / "leads.parquet"
    frame.write_parquet(data)
    model = tmp_path / "m"
    run = cli(
        "train",
        "--data",
        data,
        "--target",
        "converted",
        "--out",
        model,
        "--engine",
        "lightgbm",
        "--folds",
        "3",
        "--id",
        "lead_id",
    )
    assert run.code == 0, run.stderr
    out = tmp_path / "s.csv"
    assert cli("predict", "--model", model, "--data", data, "--out", out).code == 0
    assert pl.read_csv(out).height == 2500
