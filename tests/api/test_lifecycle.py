"""The lifecycle of §4 through the API: forward only, demote, disqualified at any time,
stages set by people or the CRM kept, pinned stages; and manual points overrides."""

from __future__ import annotations

from tests.api.conftest import MODEL

SOFTWARE_1000 = {"industry": "software", "employees": 1000}


def to_sql(api, lead_id: str = "L1") -> None:
    """A lead at sql: fit 100 (50 points of total) + pricing and a demo (45 more)."""
    api.lead(id=lead_id, attributes=SOFTWARE_1000)
    api.event(lead_id=lead_id, type="page_viewed", properties={"url": "/pricing"})
    lead = api.event(lead_id=lead_id, type="demo_booked")["lead"]
    assert (lead["score"], lead["stage"]) == (95.0, "sql")


def stage(api, lead_id: str = "L1") -> tuple[str, str]:
    lead = api.get(f"/leads/{lead_id}")
    return lead["stage"], lead["explanation"]["model_stage"]


def test_stages_move_forward_only(api) -> None:
    api.model()
    to_sql(api)
    api.event(lead_id="L1", type="email_unsubscribed")
    assert stage(api) == ("sql", "mql")


def test_a_stage_marked_demote_can_move_back(api) -> None:
    api.model(
        MODEL.replace("{name: sql, min_score: 70}", "{name: sql, min_score: 70, demote: true}")
    )
    to_sql(api)
    api.event(lead_id="L1", type="email_unsubscribed")
    assert stage(api) == ("mql", "mql")
    history = api.get("/leads/L1/history")["data"]
    assert [h["stage"] for h in history[:2]] == ["mql", "sql"]


def test_disqualified_applies_at_any_time(api) -> None:
    api.model()
    to_sql(api)
    api.lead(id="L1", attributes={"job_title": "Student"})
    assert stage(api) == ("disqualified", "disqualified")


def test_stages_of_people_and_the_crm_are_kept(api) -> None:
    api.model()
    to_sql(api)
    api.writer.post("/outcomes", json={"lead_id": "L1", "outcome": "converted"})
    api.event(lead_id="L1", type="email_unsubscribed")
    assert stage(api) == ("customer", "mql")
    api.lead(id="L2", stage="opportunity", attributes=SOFTWARE_1000)
    api.event(lead_id="L2", type="demo_booked")
    assert stage(api, "L2") == ("opportunity", "sql")


def test_a_pinned_stage_wins_until_removed(api) -> None:
    api.model()
    api.lead(id="L1", attributes=SOFTWARE_1000)
    pinned = api.writer.post(
        "/leads/L1/overrides", json={"stage": "nurture", "reason": "asked to wait"}
    )
    assert pinned.status_code == 201 and pinned.json()["lead"]["stage"] == "nurture"
    api.event(lead_id="L1", type="demo_booked")
    lead = api.get("/leads/L1")
    assert (lead["stage"], lead["pinned_stage"], lead["lifecycle_stage"]) == (
        "nurture",
        "nurture",
        "sql",
    )
    assert lead["explanation"]["pinned_stage"] == "nurture"
    override_id = pinned.json()["override"]["id"]
    removed = api.writer.delete(f"/leads/L1/overrides/{override_id}")
    assert removed.status_code == 200 and removed.json()["lead"]["stage"] == "sql"
    assert api.writer.delete(f"/leads/L1/overrides/{override_id}").status_code == 404


def test_points_overrides_are_explained_expire_and_are_audited(api) -> None:
    api.set_time("2026-01-01T00:00:00Z")
    api.model()
    api.lead(id="L1")
    body = {"points": 12.5, "reason": "met at the fair", "expires_at": "2026-01-05T00:00:00Z"}
    added = api.writer.post("/leads/L1/overrides", json=body)
    assert added.status_code == 201
    override = added.json()["override"]
    assert override["author"] == "write-key" and override["expires_at"] == "2026-01-05T00:00:00Z"
    lead = api.get("/leads/L1")
    assert lead["score"] == 12.5
    line = lead["explanation"]["contributions"][-1]
    assert line == {
        "kind": "adjustment",
        "id": f"override:{override['id']}",
        "raw": 12.5,
        "capped": 12.5,
        "reason": "met at the fair",
        "score": 12.5,
    }
    assert lead["overrides"][0]["reason"] == "met at the fair"
    assert api.get("/leads/L1/history")["data"][0]["cause"] == {
        "kind": "override",
        "ref": str(override["id"]),
        "event": None,
    }

    api.set_time("2026-01-06T00:00:00Z")  # expired: the recompute drops it
    from leadscore.service.recompute import recompute

    assert recompute(api.ctx).changed == 1
    assert api.get("/leads/L1")["score"] == 0.0
    assert api.get("/leads/L1/score", as_of="2026-01-04")["score"] == 12.5

    from sqlalchemy import select

    from leadscore.store.tables import audit_log

    with api.ctx.db.read() as conn:
        actions = conn.execute(select(audit_log.c.action, audit_log.c.actor)).all()
    assert ("override.add", "write-key") in actions


def test_bad_overrides_are_422(api) -> None:
    api.set_time("2026-01-10T00:00:00Z")
    api.lead(id="L1")
    for body in (
        {"points": 5},
        {"points": 5, "stage": "sql", "reason": "both"},
        {"reason": "neither"},
        {"points": "many", "reason": "r"},
        {"points": 5, "reason": "r", "expires_at": "2026-01-01"},
    ):
        assert api.writer.post("/leads/L1/overrides", json=body).status_code == 422, body
    assert api.get("/leads/L1")["overrides"] == []
