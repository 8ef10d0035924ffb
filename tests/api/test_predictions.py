"""§7 in the live service, over a real socket: a predictive model trained from the store's
leads and outcomes, listed with its card, and each lead's probability and reasons shown beside
its rule score."""

from __future__ import annotations

import pytest

from leadscore import demo
from leadscore.service.imports import import_file


def load_demo(api, tmp_path, n: int = 400) -> None:
    paths = demo.write(demo.generate(n, seed=21, end="2026-01-01"), tmp_path)
    for kind in ("leads", "events", "outcomes"):
        assert import_file(api.ctx, kind, paths[kind]).written > 0


@pytest.mark.slow
def test_lead_shows_the_predicted_probability(api, tmp_path) -> None:
    api.model()
    load_demo(api, tmp_path)
    api.set_time("2026-01-01T00:00:00Z")
    before = api.get("/leads/L0000001")
    assert before["prediction"] is None and before["probability"] is None
    assert api.reader.post("/predictive-models/train").status_code == 403

    response = api.admin.post("/predictive-models/train", json={"name": "from-demo", "folds": 3})
    assert response.status_code == 201, response.text
    trained = response.json()
    assert trained["version"] == 1 and trained["active"] and trained["name"] == "from-demo"
    assert trained["summary"]["roc_auc"] > 0.6 and trained["card"]["metrics"]["lift"]

    lead = api.get("/leads/L0000001")
    prediction = lead["prediction"]
    assert prediction["model_version"] == 1
    assert 0 <= prediction["probability"] <= 1 and lead["probability"] == prediction["probability"]
    assert prediction["score"] == round(100 * prediction["probability"])
    assert prediction["reasons"] and all(isinstance(r, str) for r in prediction["reasons"])
    assert lead["score"] is not None  # the rule score stays beside it
    page = api.get("/leads", limit=20)["data"]
    assert all(0 <= row["probability"] <= 1 for row in page)
    listed_lead = {row["id"]: row for row in api.get("/leads", limit=500)["data"]}["L0000001"]
    assert listed_lead["probability"] == lead["probability"]

    listed = api.get("/predictive-models")
    assert [v["version"] for v in listed] == [1] and listed[0]["card"]["metrics"]["roc_auc"]
    assert api.get("/predictive-models", cards="false")[0]["card"] is None
    assert api.admin.post("/predictive-models/1/activate").json() == {"version": 1, "active": True}
    assert api.admin.post("/predictive-models/9/activate").status_code == 404


def test_training_without_outcomes_is_409(api) -> None:
    response = api.admin.post("/predictive-models/train")
    assert response.status_code == 409
    assert "no outcomes" in response.json()["detail"]
    bad = api.admin.post("/predictive-models/train", json={"nme": "x"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "nme"]
