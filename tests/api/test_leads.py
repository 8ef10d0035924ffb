"""Leads over HTTP: upsert by id, e-mail or external id; lists with filters, sorting and
cursor pagination; one lead with its explanation; 404s."""

from __future__ import annotations

import pytest

from leadscore.api import schemas


def test_upsert_by_id_email_or_external_id(api) -> None:
    api.model()
    created = api.writer.post(
        "/leads",
        json={
            "email": " Ada@Example.com",
            "external_ids": {"hubspot": "1"},
            "attributes": {"industry": "software", "source": "webinar"},
            "owner": "sam",
            "consent": {"basis": "consent", "given_at": "2026-01-01"},
        },
    )
    assert created.status_code == 201
    lead = schemas.LeadWritten.model_validate(created.json())
    assert lead.created and lead.email == "ada@example.com" and lead.source == "webinar"
    assert lead.score == 25.0 and lead.probability is None
    assert lead.consent.given_at == "2026-01-01T00:00:00Z"
    by_email = api.writer.post(
        "/leads", json={"email": "ada@example.com", "attributes": {"employees": 900}}
    )
    assert by_email.status_code == 200
    assert by_email.json()["id"] == lead.id and by_email.json()["score"] == 50.0
    assert by_email.json()["attributes"] == {
        "industry": "software",
        "source": "webinar",
        "employees": 900,
    }
    by_crm = api.lead(external_ids={"hubspot": "1"}, owner=None)
    assert by_crm["id"] == lead.id and by_crm["owner"] is None and by_crm["created"] is False


def test_upsert_conflicts_are_409(api) -> None:
    api.lead(id="A", email="a@x.io")
    api.lead(id="B", email="b@x.io", external_ids={"sf": "9"})
    assert api.writer.post("/leads", json={"id": "A", "email": "b@x.io"}).status_code == 409
    assert (
        api.writer.post("/leads", json={"id": "A", "external_ids": {"sf": "9"}}).status_code == 409
    )
    batch = api.writer.post("/leads", json={"leads": [{"id": "C"}, {"id": "A", "email": "b@x.io"}]})
    assert batch.status_code == 409 and batch.json()["detail"][0]["loc"] == ["body", "leads", 1]
    assert api.reader.get("/leads/C").status_code == 404  # the batch wrote nothing


def test_bad_lead_bodies_name_each_field(api) -> None:
    response = api.writer.post(
        "/leads",
        json={"email": "nope", "attributes": {"tags": ["a"]}, "stage": "", "colour": "red"},
    )
    assert response.status_code == 422
    locs = {tuple(d["loc"]) for d in response.json()["detail"]}
    assert locs == {
        ("body", "email"),
        ("body", "attributes", "tags"),
        ("body", "stage"),
        ("body", "colour"),
    }
    assert api.get("/leads")["data"] == []


def test_unknown_leads_are_404(api) -> None:
    api.model()
    for path in ("/leads/x", "/leads/x/events", "/leads/x/history", "/leads/x/score"):
        assert api.reader.get(path).status_code == 404, path
    override = api.writer.post("/leads/x/overrides", json={"points": 1, "reason": "r"})
    assert override.status_code == 404
    assert api.writer.delete("/leads/x/overrides/1").status_code == 404
    assert api.reader.get("/models/99").status_code == 404
    assert api.admin.post("/models/99/activate").status_code == 404


@pytest.fixture
def many(api):
    """25 leads: scores 0..96 in steps of 4, a few owners, sources and stages."""
    api.model(
        """
fit: {weight: 1, max: 100, rules: [{id: p, when: {field: points, gte: 0}, points: 0}]}
engagement: {weight: 0, max: 100}
grades: {A: 50, B: 0}
tiers: {hot: 60, cold: 0}
stages: [{name: sql, min_score: 60}, {name: lead}]
"""
    )
    leads = [
        {
            "id": f"L{i:02d}",
            "owner": ["ann", "bob", None][i % 3],
            "attributes": {"source": ["ads", "seo"][i % 2]},
        }
        for i in range(25)
    ]
    api.writer.post("/leads", json={"leads": leads})
    for i in range(25):  # scores through points overrides: 4 × i
        if i:
            body = {"points": 4 * i, "reason": "test"}
            assert api.writer.post(f"/leads/L{i:02d}/overrides", json=body).status_code == 201
    return api


def pages(api, **params) -> list[dict]:
    found, cursor = [], None
    while True:
        page = api.get("/leads", **params, **({"cursor": cursor} if cursor else {}))
        found += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_pagination_visits_every_lead_once_in_order(many) -> None:
    by_score = pages(many, limit=7)
    assert [lead["id"] for lead in by_score] == [f"L{i:02d}" for i in reversed(range(25))]
    assert [lead["score"] for lead in pages(many, sort="score", limit=4)] == [
        4.0 * i for i in range(25)
    ]
    oldest_first = pages(many, sort="created_at", limit=10)
    assert len(oldest_first) == 25 and len({lead["id"] for lead in oldest_first}) == 25


def test_filters(many) -> None:
    def ids(**params) -> set[str]:
        return {lead["id"] for lead in pages(many, limit=100, **params)}

    assert ids(owner="ann") == {f"L{i:02d}" for i in range(0, 25, 3)}
    assert ids(owner=["ann", "bob"]) == {f"L{i:02d}" for i in range(25) if i % 3 != 2}
    assert ids(source="seo") == {f"L{i:02d}" for i in range(1, 25, 2)}
    assert ids(min_score=40, max_score=48) == {"L10", "L11", "L12"}
    assert ids(stage="sql") == ids(tier="hot") == ids(min_score=60)
    assert ids(grade="B") == ids() and ids(grade="A") == set()  # fit is 0: grades go by fit
    assert ids(stage="sql", source="ads") == {"L16", "L18", "L20", "L22", "L24"}


def test_bad_list_parameters_are_422(many) -> None:
    assert many.reader.get("/leads", params={"sort": "email"}).status_code == 422
    assert many.reader.get("/leads", params={"cursor": "garbage"}).status_code == 422
    other = many.get("/leads", limit=1, sort="score")["next_cursor"]
    assert many.reader.get("/leads", params={"cursor": other}).status_code == 422
    assert many.reader.get("/leads", params={"limit": 0}).status_code == 422
    assert many.reader.get("/leads", params={"min_score": "high"}).status_code == 422


def test_a_lead_carries_its_explanation(api) -> None:
    api.model()
    api.lead(id="L1", attributes={"industry": "software"})
    api.event(lead_id="L1", type="page_viewed", properties={"url": "/pricing"})
    lead = schemas.LeadDetail.model_validate(api.get("/leads/L1"))
    explanation = lead.explanation
    assert explanation["model_stage"] == "mql"
    assert [c["id"] for c in explanation["contributions"]] == ["sw", "pricing"]
    assert sum(c["score"] for c in explanation["contributions"]) == lead.score
    events = api.get("/leads/L1/events")
    schemas.EventPage.model_validate(events)
    assert events["data"][0]["properties"] == {"url": "/pricing"}
