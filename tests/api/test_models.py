"""Model versions over HTTP: upload (validated, nothing half-stored), activate (rescoring
everyone with history cause `model`), roll back, and as-of scores under the model active
at the time."""

from __future__ import annotations

from tests.api.conftest import MODEL

DOUBLE_PRICING = MODEL.replace("contains: /pricing}, points: 30", "contains: /pricing}, points: 60")


def upload(api, text: str, **params):
    return api.admin.post(
        "/models", params=params, content=text, headers={"Content-Type": "text/plain"}
    )


def test_an_invalid_model_lists_every_error_and_stores_nothing(api) -> None:
    bad = MODEL.replace("half_life: 10d", "half_life: '10 days'").replace("  weight: 0.5\n", "", 1)
    response = upload(api, bad)
    assert response.status_code == 422
    details = response.json()["detail"]
    paths = {d["path"] for d in details}
    assert "engagement.rules[1].half_life" in paths and "fit.weight" in paths
    line = next(d["line"] for d in details if d["path"] == "engagement.rules[1].half_life")
    assert "10 days" in bad.splitlines()[line - 1]
    assert upload(api, "a: [").status_code == 422
    assert api.get("/models") == []
    wrong_type = api.admin.post("/models", json={"name": "x"})
    assert wrong_type.status_code == 415


def test_activation_rescores_everyone_and_rollback_restores(api) -> None:
    api.set_time("2026-01-10T00:00:00Z")
    first = api.model()
    for i in range(3):
        api.lead(id=f"L{i}")
        api.event(lead_id=f"L{i}", type="page_viewed", properties={"url": "/pricing"})
    assert api.get("/leads/L0")["score"] == 15.0

    api.set_time("2026-01-11T00:00:00Z")
    second = upload(api, DOUBLE_PRICING).json()
    assert second["active"] is False and second["version"] == first["version"] + 1
    activated = api.admin.post(f"/models/{second['version']}/activate").json()
    assert activated == {"version": second["version"], "rescored": 3, "changed": 3}
    lead = api.get("/leads/L0")
    assert lead["score"] == 30.0 and lead["model_version"] == second["version"]
    assert api.get("/leads/L0/history")["data"][0]["cause"] == {
        "kind": "model",
        "ref": str(second["version"]),
        "event": None,
    }
    versions = api.get("/models")
    assert [(v["version"], v["active"]) for v in versions] == [
        (second["version"], True),
        (first["version"], False),
    ]

    api.set_time("2026-01-12T00:00:00Z")
    not_active = api.admin.post(f"/models/{first['version']}/rollback")
    assert not_active.status_code == 409
    rolled = api.admin.post(f"/models/{second['version']}/rollback").json()
    assert rolled["version"] == first["version"] and rolled["from"] == second["version"]
    assert api.get("/leads/L0")["score"] == 15.0
    api.set_time("2026-01-13T00:00:00Z")
    assert api.admin.post(f"/models/{first['version']}/rollback").status_code == 200
    assert api.get("/leads/L0")["model_version"] == second["version"]

    # as of a time, the model active then
    assert api.get("/leads/L0/score", as_of="2026-01-10T12:00:00Z")["score"] == 15.0
    at_11 = api.get("/leads/L0/score", as_of="2026-01-11T12:00:00Z")
    assert at_11["score"] == 30.0 and at_11["model_version"] == second["version"]
    assert at_11["recorded"]["score"] == 30.0
    assert api.get("/leads/L0/score", as_of="2026-01-12T06:00:00Z")["score"] == 15.0
    before_any = api.reader.get("/leads/L0/score", params={"as_of": "2020-01-01"})
    assert before_any.status_code == 409
    bad = api.reader.get("/leads/L0/score", params={"as_of": "soon"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "as_of"]


def test_a_version_reads_back_with_its_yaml(api) -> None:
    stored = api.model(activate=False)
    body = api.get(f"/models/{stored['version']}")
    assert body["yaml"] == MODEL and body["name"] == "test" and body["active"] is False


def test_without_an_active_model_leads_are_stored_unscored(api) -> None:
    lead = api.lead(id="L1", stage="opportunity")
    assert lead["score"] is None and lead["stage"] == "opportunity"
    event = api.event(lead_id="L1", type="email_opened")
    assert event["lead"]["score"] is None
    api.model()
    lead = api.get("/leads/L1")
    assert lead["score"] is not None and lead["stage"] == "opportunity"


def test_as_of_scores_only_count_events_until_then(api) -> None:
    api.set_time("2026-01-01T00:00:00Z")
    api.model()
    api.set_time("2026-02-01T00:00:00Z")
    api.lead(id="L1")
    api.event(lead_id="L1", type="email_opened", occurred_at="2026-01-10T00:00:00Z")
    api.event(lead_id="L1", type="demo_booked", occurred_at="2026-01-20T00:00:00Z")
    scores = {
        when: api.get("/leads/L1/score", as_of=when)["engagement"]
        for when in ("2026-01-05", "2026-01-10", "2026-01-20", "2026-01-30T00:00:00+10:00")
    }
    open_age_days = 19 + 14 / 24  # 2026-01-30 00:00 +10:00 is 2026-01-29 14:00 UTC
    assert scores == {
        "2026-01-05": 0.0,
        "2026-01-10": 10.0,
        "2026-01-20": 65.0,
        "2026-01-30T00:00:00+10:00": round(60 + 10 * 0.5 ** (open_age_days / 10), 2),
    }
