"""Ingest over HTTP (§4): events rescore their lead at once, idempotently, all or nothing,
and concurrent events for one lead never lose an update."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.api.conftest import MODEL

from leadscore.core.evaluate import score_lead
from leadscore.core.loader import load_model_text
from leadscore.core.records import Event, Lead
from leadscore.core.timestamps import parse_timestamp

NOW = "2026-01-10T00:00:00Z"


def all_events(api, lead_id: str) -> list[dict]:
    found, cursor = [], None
    while True:
        extra = {"cursor": cursor} if cursor else {}
        page = api.get(f"/leads/{lead_id}/events", limit=500, **extra)
        found += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def reference(api, lead_id: str, as_of: int):
    """The reference scorer on the lead as stored, with its events read back over HTTP."""
    lead = api.get(f"/leads/{lead_id}")
    events = [
        Event(e["type"], parse_timestamp(e["occurred_at"]), e["properties"], e["source"], e["id"])
        for e in all_events(api, lead_id)
    ]
    record = Lead(lead["id"], lead["email"], lead["attributes"])
    return score_lead(load_model_text(MODEL), record, events, as_of)


def test_an_event_rescores_its_lead_and_says_how(api) -> None:
    api.model()
    api.set_time(NOW)
    api.lead(id="L1", attributes={"industry": "software", "employees": 1000})
    body = api.event(
        lead_id="L1",
        type="page_viewed",
        properties={"url": "/pricing"},
        id="e1",
        occurred_at="2026-01-09T12:00:00Z",
    )
    assert body["event"] == {"id": "e1", "lead_id": "L1", "status": "stored"}
    lead = body["lead"]
    assert (lead["score"], lead["fit"], lead["engagement"]) == (65.0, 100.0, 30.0)
    assert lead["stage"] == "mql" and lead["tier"] == "warm" and lead["changed"] is True
    assert lead["previous"]["score"] == 50.0 and lead["score_change"] == 15.0
    history = api.get("/leads/L1/history")["data"]
    assert [h["cause"] for h in history] == [
        {"kind": "event", "ref": "e1", "event": None},
        {"kind": "lead", "ref": "L1", "event": None},
    ]


def test_a_replayed_event_is_ignored(api) -> None:
    api.model()
    api.set_time(NOW)
    api.lead(id="L1")
    first = api.writer.post("/events", json={"lead_id": "L1", "type": "demo_booked", "id": "x"})
    again = api.writer.post("/events", json={"lead_id": "L1", "type": "demo_booked", "id": "x"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["event"]["status"] == "duplicate"
    assert again.json()["lead"]["changed"] is False
    assert again.json()["lead"]["score"] == first.json()["lead"]["score"]
    batch = api.writer.post(
        "/events",
        json={"events": [{"lead_id": "L1", "type": "demo_booked", "id": i} for i in "xyy"]},
    ).json()
    assert [e["status"] for e in batch["events"]] == ["duplicate", "stored", "duplicate"]
    assert (batch["stored"], batch["duplicates"]) == (1, 2)
    assert len(all_events(api, "L1")) == 2
    causes = [h["cause"]["ref"] for h in api.get("/leads/L1/history")["data"]]
    assert causes == ["y", "x", "L1"]  # created, then each stored demo; duplicates add nothing


def test_an_event_for_an_unknown_email_or_external_id_creates_the_lead(api) -> None:
    api.model()
    body = api.event(email=" New@Example.COM ", type="demo_booked")
    assert body["lead"]["created"] is True
    again = api.event(email="new@example.com", type="email_opened")
    assert again["lead"]["id"] == body["lead"]["id"] and again["lead"]["created"] is False
    crm = api.event(external_id={"source": "hubspot", "id": "77"}, type="email_opened")
    lead = api.get(f"/leads/{crm['lead']['id']}")
    assert lead["external_ids"] == {"hubspot": "77"} and lead["email"] is None


def test_a_batch_scores_each_lead_once_and_reports_every_event(api) -> None:
    api.model()
    api.set_time(NOW)
    api.lead(id="A")
    api.lead(id="B", attributes={"industry": "software"})
    events = [
        {"lead_id": "A", "type": "page_viewed", "properties": {"url": "/pricing"}},
        {"lead_id": "B", "type": "demo_booked", "occurred_at": "2026-01-01"},
        {"lead_id": "A", "type": "email_opened"},
    ]
    body = api.writer.post("/events", json={"events": events}).json()
    assert body["stored"] == 3 and [e["lead_id"] for e in body["events"]] == ["A", "B", "A"]
    scores = {lead["id"]: lead["score"] for lead in body["leads"]}
    assert scores == {"A": 20.0, "B": 55.0}
    assert len(api.get("/leads/A/history")["data"]) == 2


def test_a_bad_body_names_each_field_and_writes_nothing(api) -> None:
    api.model()
    api.lead(id="L1")
    events = [
        {"lead_id": "L1", "type": "page_viewed"},
        {"lead_id": "L1", "typ": "x", "occurred_at": "yesterday"},
        {"type": "x"},
        {"email": "not-an-email", "type": "x", "properties": []},
    ]
    response = api.writer.post("/events", json={"events": events})
    assert response.status_code == 422
    locs = {tuple(d["loc"]) for d in response.json()["detail"]}
    assert {
        ("body", "events", 1, "type"),
        ("body", "events", 1, "typ"),
        ("body", "events", 1, "occurred_at"),
        ("body", "events", 2),
        ("body", "events", 3, "email"),
        ("body", "events", 3, "properties"),
    } <= locs
    for bad in ({"events": []}, "[", {"lead_id": "L1"}, {"events": "no"}):
        kwargs = {"content": bad} if isinstance(bad, str) else {"json": bad}
        assert api.writer.post("/events", **kwargs).status_code == 422
    assert all_events(api, "L1") == []


def test_an_unknown_lead_id_is_404_and_a_batch_with_one_writes_nothing(api) -> None:
    api.model()
    api.lead(id="L1")
    one = api.writer.post("/events", json={"lead_id": "nope", "type": "x"})
    assert one.status_code == 404
    assert one.json()["detail"][0]["loc"] == ["body", "lead_id"]
    batch = api.writer.post(
        "/events",
        json={"events": [{"lead_id": "L1", "type": "x"}, {"lead_id": "nope", "type": "x"}]},
    )
    assert batch.status_code == 404
    assert batch.json()["detail"][0]["loc"] == ["body", "events", 1, "lead_id"]
    assert all_events(api, "L1") == []


def test_a_500_event_batch_with_one_bad_event_is_refused_whole_and_names_it(api) -> None:
    """Big enough for the kernel path (service/kernel_rescore.py): one unknown lead or one
    event id of another lead's event refuses the whole batch, naming `events[i]`."""
    api.model()
    api.set_time(NOW)
    leads = [{"id": f"L{i}"} for i in range(100)]
    assert api.writer.post("/leads", json={"leads": leads}).status_code in (200, 201)
    api.writer.post("/events", json={"lead_id": "L0", "id": "taken", "type": "email_opened"})
    good = [{"lead_id": f"L{i % 100}", "id": f"g{i}", "type": "page_viewed"} for i in range(499)]
    unknown = [*good[:321], {"lead_id": "nope", "type": "x"}, *good[321:]]
    response = api.writer.post("/events", json={"events": unknown})
    assert response.status_code == 404
    assert response.json()["detail"][0]["loc"] == ["body", "events", 321, "lead_id"]
    taken = [*good[:77], {"lead_id": "L1", "id": "taken", "type": "x"}, *good[77:]]
    response = api.writer.post("/events", json={"events": taken})
    assert response.status_code == 409
    assert response.json()["detail"][0]["loc"] == ["body", "events", 77, "id"]
    assert all(all_events(api, f"L{i}") == [] for i in range(1, 100))
    assert len(all_events(api, "L0")) == 1
    stored = api.writer.post("/events", json={"events": good}).json()
    assert stored["stored"] == 499 and len(stored["leads"]) == 100


def test_a_batch_over_10000_events_is_refused(api) -> None:
    events = [{"lead_id": "L1", "type": "x"}] * 10_001
    response = api.writer.post("/events", json={"events": events})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "events"]


def test_200_concurrent_events_for_one_lead_lose_nothing(api) -> None:
    api.model()
    as_of = api.set_time(NOW)
    api.lead(id="L1", attributes={"industry": "software"})

    def post(i: int) -> int:
        body = {
            "lead_id": "L1",
            "id": f"e{i}",
            "type": "email_opened" if i % 2 else "page_viewed",
            "occurred_at": f"2026-01-0{1 + i % 9}T00:00:00Z",
            "properties": {"url": "/pricing" if i % 10 == 0 else "/blog"},
        }
        return api.writer.post("/events", json=body).status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(post, range(200)))
    assert statuses == [201] * 200
    assert len(all_events(api, "L1")) == 200
    lead = api.get("/leads/L1")
    expected = reference(api, "L1", as_of)
    assert (lead["score"], lead["fit"], lead["engagement"], lead["stage"]) == (
        expected.score,
        expected.fit,
        expected.engagement,
        expected.stage,
    )
    assert lead["explanation"]["contributions"] == expected.explained()["contributions"]


def test_outcomes_move_the_stage_and_are_stored_once(api) -> None:
    api.model()
    api.lead(id="L1", email="a@b.io")
    body = {"email": "a@b.io", "outcome": "converted", "occurred_at": "2026-01-05", "value": 900}
    first = api.writer.post("/outcomes", json=body)
    assert first.status_code == 201
    assert first.json()["outcomes"][0]["stage"] == "customer"
    api.writer.post("/outcomes", json={"outcomes": [body]})
    lead = api.get("/leads/L1")
    assert lead["stage"] == "customer" and len(lead["outcomes"]) == 1
    history = api.get("/leads/L1/history")["data"]
    assert history[0]["cause"] == {"kind": "outcome", "ref": "converted", "event": None}
    missing = api.writer.post("/outcomes", json={"lead_id": "nope", "outcome": "lost"})
    assert missing.status_code == 404
    wrong = api.writer.post("/outcomes", json={"lead_id": "L1", "outcome": "won"})
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["body", "outcome"]
