"""Training over the API is a background job (issue 10, item 6), over a real socket on SQLite
and PostgreSQL: 202 with a Location, polled to its end; a failing job says why; one training
at a time per database (409 naming the job in the way); a job its process abandoned is
recovered as failed when jobs are next read, and when a server next starts."""

from __future__ import annotations

import re
import threading
import time

import pytest
from tests.api.conftest import running
from tests.api.test_predictions import load_demo, train

from leadscore.api import schemas
from leadscore.service import jobs as job_service
from leadscore.settings import Settings
from leadscore.store import jobs as stored

ID = re.compile(r"[0-9a-f]{32}")


def test_a_training_job_is_queued_polled_and_its_model_stored(api, tmp_path) -> None:
    load_demo(api, tmp_path, n=300)
    response = api.admin.post(
        "/predictive-models/train", json={"name": "bg", "folds": 3, "activate": False}
    )
    assert response.status_code == 202, response.text
    queued = schemas.Job.model_validate(response.json())
    assert ID.fullmatch(queued.id) and queued.kind == "train_predictive"
    assert queued.status == "queued" and queued.progress == 0 and queued.result is None
    assert queued.created_by == "admin-key" and queued.params["folds"] == 3
    assert response.headers["location"] == f"/api/v1/jobs/{queued.id}"

    seen = set()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        job = schemas.Job.model_validate(api.get(f"/jobs/{queued.id}"))
        seen.add((job.status, job.message))
        if job.status in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    assert job.status == "succeeded", job.error
    assert job.progress == 1 and job.started_at and job.finished_at and job.error is None
    assert job.created_at <= job.started_at <= job.finished_at
    assert any(status == "running" for status, _ in seen), seen
    assert job.result is not None and job.result.version == 1 and not job.result.active
    assert job.result.name == "bg" and job.result.summary and job.result.summary.roc_auc

    listed = api.get("/predictive-models")
    assert [v["version"] for v in listed] == [1] and not listed[0]["active"]
    assert (
        listed[0]["card"] == job.result.card
        and listed[0]["summary"] == job.result.summary.model_dump()
    )
    activated = api.admin.post("/predictive-models/1/activate")
    assert activated.json() == {"version": 1, "active": True}
    assert api.get("/leads/L0000001")["prediction"]["model_version"] == 1
    assert [j["id"] for j in api.get("/jobs")] == [queued.id]


def test_a_job_that_cannot_train_fails_with_its_reason(api) -> None:
    job = train(api, {"name": "nothing"})
    assert job["status"] == "failed" and job["result"] is None
    assert "no outcomes" in job["error"] and job["finished_at"]
    assert api.get("/predictive-models") == []
    again = train(api)  # a failed job does not block the next one
    assert again["status"] == "failed" and again["id"] != job["id"]
    assert [j["id"] for j in api.get("/jobs", limit=1)] == [again["id"]]


def test_one_training_at_a_time_concurrent_requests_get_409(api, tmp_path) -> None:
    load_demo(api, tmp_path, n=300)
    answers: list = []

    def post() -> None:
        answers.append(api.admin.post("/predictive-models/train", json={"folds": 3}))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = [r for r in answers if r.status_code == 202]
    refused = [r for r in answers if r.status_code == 409]
    assert len(accepted) == 1 and len(refused) == 5, [r.status_code for r in answers]
    running_id = accepted[0].json()["id"]
    for r in refused:
        error = schemas.Error.model_validate(r.json())
        assert running_id in error.detail and "already" in error.detail
        assert r.headers["location"] == f"/api/v1/jobs/{running_id}"

    done = api.get(f"/jobs/{running_id}")
    while done["status"] not in ("succeeded", "failed"):
        time.sleep(0.2)
        done = api.get(f"/jobs/{running_id}")
    assert done["status"] == "succeeded"
    assert [v["version"] for v in api.get("/predictive-models")] == [1]
    assert len(api.get("/jobs")) == 1  # the refused requests queued nothing


def abandoned(api, status: str = "running") -> str:
    """A job held by a process that died: its lease expired a second ago."""
    now = api.ctx.now()
    created, row = stored.create(
        api.ctx.db,
        job_id="0" * 32,
        kind=job_service.TRAIN_PREDICTIVE,
        params={},
        created_by="admin-key",
        now=now - 61_000_000,
        holder="dead-host:1:0",
        ttl=60_000_000,
        expired=job_service.EXPIRED,
    )
    assert created
    if status == "running":
        assert stored.start(api.ctx.db, row.id, "dead-host:1:0", now - 60_000_000, 59_000_000)
    return row.id


@pytest.mark.parametrize("status", ["queued", "running"])
def test_a_job_whose_process_died_is_recovered_as_failed_when_read(api, status) -> None:
    job_id = abandoned(api, status)
    job = api.get(f"/jobs/{job_id}")
    assert job["status"] == "failed" and "lease" in job["error"] and job["finished_at"]
    assert job["result"] is None
    assert train(api)["status"] == "failed"  # it no longer blocks a new training (202)


def test_an_expired_job_does_not_block_a_new_training(api) -> None:
    job_id = abandoned(api)
    assert stored.read(api.ctx.db, job_id).status == "running"
    fresh = train(api)  # the POST itself recovers it: a 202, not a 409
    assert fresh["status"] == "failed" and "no outcomes" in fresh["error"]
    assert api.get(f"/jobs/{job_id}")["status"] == "failed"


def test_a_job_whose_process_died_is_recovered_when_a_server_starts(api, database_url) -> None:
    job_id = abandoned(api)
    with running(Settings(database_url=database_url)):
        row = stored.read(api.ctx.db, job_id)  # read directly: no poll recovered it
        assert row.status == "failed" and "lease" in row.error and row.active_kind is None


def test_jobs_need_keys_and_scopes(api, connect) -> None:
    assert api.anon.get("/jobs").status_code == 401
    assert api.reader.post("/predictive-models/train").status_code == 403
    assert api.writer.post("/predictive-models/train").status_code == 403
    assert api.writer.get("/jobs").status_code == 403  # write does not imply read
    assert api.reader.get("/jobs").json() == []
    missing = api.reader.get("/jobs/" + "f" * 32)
    assert missing.status_code == 404 and "no job" in missing.json()["detail"]
    assert api.reader.get("/jobs", params={"limit": 0}).status_code == 422
    assert api.reader.get("/jobs", params={"stat": "x"}).status_code == 422
    assert connect("read").send("GET", "/jobs/%00").status == 422
