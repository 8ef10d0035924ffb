"""Retraining over a real socket (SPEC §7, issue 16): an admin queues a retraining job
(202 + Location, optional {"force": bool}); the job's result is the decision; every decision
is listed newest first at GET /predictive-models/retraining (read) and is in the audit log."""

from __future__ import annotations

import time

import pytest
from tests.retraining_data import add_leads

from leadscore.api import schemas

RETRAIN = "/predictive-models/retrain"
DECISIONS = "/predictive-models/retraining"
TRAINED = "2026-02-03T04:05:06.987Z"
"""An instant no other test trains at: the server's loaded predictors are cached per
(database, version, creation time), and its database is emptied, not replaced, per test."""
LATER = "2026-02-10T04:05:06.987Z"


def retrain(api, body: dict | None = None, seconds: float = 240) -> dict:
    """Queue a retraining over the API and poll its job until it ends; the ended job."""
    response = api.admin.post(RETRAIN, json=body)
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert location == f"/api/v1/jobs/{response.json()['id']}"
    assert response.json()["kind"] == "retrain_predictive"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = api.reader.get(location.removeprefix("/api/v1")).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"the job did not end in {seconds} s: {job}")


def test_retraining_requests_are_checked_and_an_empty_store_records_a_skip(api) -> None:
    assert api.get(DECISIONS) == {"data": [], "next_cursor": None}
    assert api.reader.post(RETRAIN).status_code == 403
    assert api.writer.post(RETRAIN).status_code == 403
    for body, field in (({"forse": True}, "forse"), ({"force": "yes"}, "force")):
        bad = api.admin.post(RETRAIN, json=body)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", field]
    api.set_time(TRAINED)
    job = retrain(api)
    assert job["status"] == "succeeded" and job["params"] == {"force": False}, job
    decision = job["result"]
    assert decision["decision"] == "skipped" and decision["trigger"] == ["no active model"]
    assert "the store holds no outcomes" in decision["why"]
    assert decision["actor"] == "admin-key" and decision["run"] == "api"
    (listed,) = api.get(DECISIONS)["data"]
    assert {k: v for k, v in listed.items() if k != "id"} == decision
    bad = api.reader.get(DECISIONS, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "cursor"]


@pytest.mark.slow
def test_a_first_model_then_a_forced_challenge_are_listed_newest_first(api, tmp_path) -> None:
    api.set_time(TRAINED)
    add_leads(api.ctx, tmp_path, 0, 200, flipped=False)
    first = retrain(api)
    assert first["status"] == "succeeded", first
    made = first["result"]
    assert made["decision"] == "activated" and made["active_version"] == 1
    assert made["challenger"]["version"] == 1 and made["challenger"]["roc_auc"] > 0.75
    assert api.get("/predictive-models", cards="false")[0]["active"] is True

    api.set_time(LATER)
    add_leads(api.ctx, tmp_path, 200, 60, flipped=False)
    unforced = retrain(api)["result"]
    assert unforced["decision"] == "skipped" and unforced["new_outcomes"] == 60
    forced = retrain(api, {"force": True})
    assert forced["status"] == "succeeded" and forced["params"] == {"force": True}, forced
    judged = forced["result"]
    assert judged["trigger"] == ["forced"] and judged["decision"] in ("activated", "kept")
    assert judged["holdout"]["rows"] == 52 and judged["holdout"]["trained_on"] == 208
    assert judged["champion"]["version"] == 1 and judged["champion"]["roc_auc"] > 0.6
    assert judged["challenger"]["roc_auc"] > 0.6 and judged["why"]

    page = api.get(DECISIONS, limit=2)
    assert [d["decision"] for d in page["data"]] == [judged["decision"], "skipped"]
    assert page["data"][0]["why"] == judged["why"]
    rest = api.get(DECISIONS, limit=2, cursor=page["next_cursor"])
    assert [d["decision"] for d in rest["data"]] == ["activated"] and rest["next_cursor"] is None
    for entry in page["data"] + rest["data"]:
        schemas.RetrainDecisionEntry.model_validate(entry)
    logged = api.admin.get("/audit", params={"action": "predictive.retrain"}).json()["data"]
    assert [e["id"] for e in logged] == [d["id"] for d in page["data"] + rest["data"]]
    assert all(e["actor"] == "admin-key" and e["ip"] == "127.0.0.1" for e in logged)
