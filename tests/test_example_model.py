"""The example model a marketer copies must rank the demo leads by their real outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score

from leadscore import demo
from leadscore.core.timestamps import to_micros
from leadscore.engine.files import score_files
from leadscore.engine.model_file import load_model_file

REPO = Path(__file__).resolve().parents[1]
END = datetime(2026, 11, 1, tzinfo=UTC)


def test_example_model_scores_predict_conversion(tmp_path: Path) -> None:
    data = demo.generate(3000, seed=11, end=END)
    demo.write(data, tmp_path)
    model = load_model_file(REPO / "examples" / "b2b-saas.yaml")
    results = score_files(
        model, tmp_path / "leads.parquet", tmp_path / "events.parquet", to_micros(END)
    )
    scores = pl.DataFrame(
        {
            "lead_id": [r.lead_id for r in results],
            "score": [r.score for r in results],
            "stage": [r.stage for r in results],
        }
    )
    decided = scores.join(data.outcomes, on="lead_id")
    converted = (decided["outcome"] == "converted").to_numpy()
    assert roc_auc_score(converted, decided["score"].to_numpy()) > 0.8
    by_stage = decided.group_by("stage").agg(rate=(pl.col("outcome") == "converted").mean())
    rate = dict(by_stage.iter_rows())
    assert rate["sql"] > rate["mql"] > rate["lead"] > rate.get("disqualified", 0.0)
    assert rate.get("disqualified", 0.0) < 0.02
    # the score follows the hidden propensity, not only the outcomes
    propensity = np.asarray(data.propensity)
    assert np.corrcoef(propensity, scores["score"].to_numpy())[0, 1] > 0.4
