"""`GET /api/v1/predictive-models/{v}/drift` over a real socket, on SQLite and PostgreSQL: a
version trained on one population, new leads whose numbers left the training range and whose
channel is new, the window and the limit, an unknown version (404) and a version trained
before profiles existed (409)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select, update

from leadscore.ml import store_model
from leadscore.service import predictions
from leadscore.service.imports import import_file
from leadscore.store.tables import predictive_models

CHANNELS = ["web", "partner", "event"]
REGIONS = ["north", "south"]


def _write(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _leads(prefix: str, n: int, employees, channel) -> list[dict]:
    return [
        {
            "id": f"{prefix}{i:04d}",
            "email": f"{prefix}{i}@" + ("gmail.com" if i % 3 == 0 else f"{prefix}{i}.example"),
            "employees": employees(i),
            "channel": channel(i),
            "region": REGIONS[i % 2],
        }
        for i in range(n)
    ]


def _import(api, tmp_path: Path, name: str, leads: list[dict], outcomes=None) -> None:
    assert import_file(api.ctx, "leads", _write(tmp_path / f"{name}.csv", leads)).written
    if outcomes:
        done = import_file(api.ctx, "outcomes", _write(tmp_path / f"{name}-o.csv", outcomes))
        assert done.written


@pytest.mark.slow
def test_drift_report_of_a_version_over_the_recent_leads(api, tmp_path: Path) -> None:
    api.model()
    api.set_time("2025-06-01T00:00:00Z")
    old = _leads("T", 120, lambda i: 10 * (1 + i % 40), lambda i: CHANNELS[i % 3])
    outcomes = [
        {
            "lead_id": row["id"],
            "outcome": "converted" if (i % 3 == 1) != (i % 7 == 0) else "lost",
            "occurred_at": "2025-06-01T00:00:00Z",
        }
        for i, row in enumerate(old)
    ]
    _import(api, tmp_path, "old", old, outcomes)
    api.set_time("2025-06-02T00:00:00Z")
    trained = predictions.train(api.ctx, actor="test", folds=2, use_lightgbm=False)
    assert trained["version"] == 1

    api.set_time("2025-09-01T00:00:00Z")  # 90 days on: 40 leads from a new world
    new = _leads("N", 40, lambda i: 5000 + i, lambda i: "tiktok" if i % 2 else CHANNELS[i % 3])
    _import(api, tmp_path, "new", new)

    report = api.get("/predictive-models/1/drift")
    assert report["version"] == 1 and report["leads"] == 40 and report["rows"] == 40
    assert report["window"] == {
        "days": 30,
        "since": "2025-08-02T00:00:00Z",
        "until": "2025-09-01T00:00:00Z",
        "limit": 5000,
    }
    assert report["training_rows"] == 120
    assert report["thresholds"] == {"psi_drift": 0.25, "psi_moderate": 0.1, "share_drift": 0.05}
    features = {f["feature"]: f for f in report["features"]}
    employees, channel, region = features["employees"], features["channel"], features["region"]
    assert employees["above"] == 1.0 and employees["training_max"] == 400
    assert employees["drifted"] and employees["status"] == "drifted"
    assert channel["unseen"] == 0.5 and channel["unseen_values"] == [
        {"value": "tiktok", "rows": 20}
    ]
    assert channel["drifted"]
    assert not region["drifted"] and region["psi"] == pytest.approx(0.0)
    assert {"employees", "channel"} <= set(report["drifted"]) and "region" not in report["drifted"]

    wider = api.get("/predictive-models/1/drift", days=120)
    assert wider["leads"] == 160 and wider["window"]["since"] == "2025-05-04T00:00:00Z"
    newest = api.get("/predictive-models/1/drift", days=120, limit=10)
    assert newest["leads"] == 10
    by_name = {f["feature"]: f for f in newest["features"]}
    assert by_name["employees"]["above"] == 1.0  # the newest created first: all new leads

    missing = api.reader.get("/predictive-models/9/drift")
    assert missing.status_code == 404 and "no predictive model version 9" in missing.text
    for bad in ({"days": 0}, {"limit": 0}, {"days": "x"}):
        answer = api.reader.get("/predictive-models/1/drift", params=bad)
        assert answer.status_code == 422 and next(iter(bad)) in answer.text

    def forget_profile(conn) -> None:  # as a version trained before this change is stored
        meta = conn.execute(select(predictive_models.c.meta)).scalar_one()
        meta.pop("profile")
        conn.execute(update(predictive_models).values(meta=meta))

    api.ctx.db.transact(forget_profile)
    store_model.CACHE.clear()
    old_version = api.reader.get("/predictive-models/1/drift")
    assert old_version.status_code == 409
    assert old_version.json()["detail"] == (
        "predictive model version 1: no training profile; retrain to get drift reports"
    )
