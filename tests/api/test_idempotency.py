"""Idempotency that tells the truth (issue 10, item 4; SPEC §1, §4): an event id names one event
of one lead — sent again for that lead it is a `duplicate` (200), for another lead a 409
naming both leads, never a silent drop; a repeated outcome is a `duplicate` (200) that
changes nothing; batches say per item what happened, and a 409 rejects the whole batch
naming the item. SQLite and PostgreSQL, over real sockets."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from leadscore.api import schemas


@pytest.fixture
def two(api):
    api.model()
    api.set_time("2026-01-10T00:00:00Z")
    api.lead(id="A", email="a@x.io")
    api.lead(id="B", email="b@x.io", external_ids={"crm": "b"})
    return api


def ids_of(api, lead_id: str) -> list[str]:
    return [e["id"] for e in api.get(f"/leads/{lead_id}/events", limit=500)["data"]]


def test_an_event_id_of_another_leads_event_is_409_naming_both(two) -> None:
    api = two
    assert api.event(lead_id="A", type="demo_booked", id="e1")["event"]["status"] == "stored"
    for ref in (
        {"lead_id": "B"},
        {"email": "b@x.io"},
        {"external_id": {"source": "crm", "id": "b"}},
    ):
        response = api.writer.post("/events", json={**ref, "type": "demo_booked", "id": "e1"})
        assert response.status_code == 409, response.text
        error = schemas.Error.model_validate(response.json())
        [problem] = error.detail
        assert problem.loc == ["body", "id"] and problem.type == "conflict"
        assert "'e1'" in problem.msg and "'A'" in problem.msg and "'B'" in problem.msg
    new = api.writer.post("/events", json={"email": "new@x.io", "type": "x", "id": "e1"})
    assert new.status_code == 409  # and the lead it would have created is not created
    assert api.get("/leads", email="new@x.io")["data"] == []
    assert ids_of(api, "A") == ["e1"] and ids_of(api, "B") == []
    assert [h["cause"]["ref"] for h in api.get("/leads/B/history")["data"]] == ["B"]


def test_the_same_id_for_the_same_lead_is_a_200_duplicate(two) -> None:
    api = two
    first = api.writer.post("/events", json={"lead_id": "A", "type": "demo_booked", "id": "e1"})
    again = api.writer.post("/events", json={"email": "a@x.io", "type": "other", "id": "e1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["event"] == {"id": "e1", "lead_id": "A", "status": "duplicate"}
    assert again.json()["lead"]["changed"] is False


def test_a_batch_says_per_event_what_happened_and_a_clash_rejects_it_whole(two) -> None:
    api = two
    api.event(lead_id="A", type="email_opened", id="old")
    events = [
        {"lead_id": "A", "type": "demo_booked", "id": "new"},
        {"lead_id": "A", "type": "email_opened", "id": "old"},
        {"lead_id": "B", "type": "email_opened", "id": "b1"},
        {"lead_id": "B", "type": "email_opened", "id": "b1"},
    ]
    body = api.writer.post("/events", json={"events": events})
    assert body.status_code == 200
    written = schemas.EventBatchWritten.model_validate(body.json())
    assert [(e.id, e.lead_id, e.status) for e in written.events] == [
        ("new", "A", "stored"),
        ("old", "A", "duplicate"),
        ("b1", "B", "stored"),
        ("b1", "B", "duplicate"),
    ]
    assert (written.stored, written.duplicates) == (2, 2)
    clashing = [
        {"lead_id": "B", "type": "email_opened", "id": "fine"},
        {"lead_id": "B", "type": "email_opened", "id": "same"},
        {"lead_id": "A", "type": "email_opened", "id": "same"},  # within the batch
        {"lead_id": "B", "type": "email_opened", "id": "old"},  # stored for A
    ]
    response = api.writer.post("/events", json={"events": clashing})
    assert response.status_code == 409
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "events", 2, "id"]
    assert "'B'" in problem["msg"] and "'A'" in problem["msg"]
    assert sorted(ids_of(api, "B")) == ["b1"] and sorted(ids_of(api, "A")) == ["new", "old"]


def test_concurrent_requests_with_one_id_for_two_leads_store_it_once(two) -> None:
    """However the group commit or the database interleaves them, exactly one lead gets the
    event and every other request is told: 201 once, then 200 (same lead) or 409."""
    api = two

    def post(i: int) -> tuple[str, int]:
        lead = "AB"[i % 2]
        body = {"lead_id": lead, "type": "demo_booked", "id": "shared"}
        return lead, api.writer.post("/events", json=body).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(post, range(32)))
    stored = [lead for lead, status in results if status == 201]
    assert len(stored) == 1
    owner = stored[0]
    for lead, status in results:
        assert status in (201, 200, 409)
        assert (status == 409) == (lead != owner)
    assert ids_of(api, owner) == ["shared"] and ids_of(api, "AB".replace(owner, "")) == []


def test_a_repeated_outcome_is_a_200_duplicate_that_changes_nothing(two) -> None:
    api = two
    outcome = {"lead_id": "A", "outcome": "converted", "occurred_at": "2026-01-05", "value": 9}
    first = api.writer.post("/outcomes", json=outcome)
    assert first.status_code == 201
    assert schemas.OutcomesWritten.model_validate(first.json()).outcomes[0].status == "recorded"
    api.lead(id="A", stage="opportunity")  # the CRM moves the lead on afterwards
    again = api.writer.post("/outcomes", json={**outcome, "value": 10})
    assert again.status_code == 200, again.text
    body = schemas.OutcomesWritten.model_validate(again.json())
    assert (body.recorded, body.duplicates) == (0, 1)
    assert body.outcomes[0].status == "duplicate" and body.outcomes[0].stage == "opportunity"
    lead = api.get("/leads/A")
    assert lead["stage"] == "opportunity"  # a retried outcome does not move the lead back
    assert lead["outcomes"] == [
        {"outcome": "converted", "occurred_at": "2026-01-05T00:00:00Z", "value": 9.0}
    ]


def test_an_outcome_batch_says_per_item_what_happened(two) -> None:
    api = two
    api.writer.post(
        "/outcomes", json={"lead_id": "A", "outcome": "lost", "occurred_at": "2026-01-02"}
    )
    batch = [
        {"lead_id": "A", "outcome": "lost", "occurred_at": "2026-01-02"},  # recorded before
        {"email": "b@x.io", "outcome": "converted", "occurred_at": "2026-01-03"},
        {"lead_id": "B", "outcome": "converted", "occurred_at": "2026-01-03T00:00:00+0000"},
        {"lead_id": "B", "outcome": "lost", "occurred_at": "2026-01-03"},
    ]
    response = api.writer.post("/outcomes", json={"outcomes": batch})
    assert response.status_code == 200
    body = schemas.OutcomesWritten.model_validate(response.json())
    assert [o.status for o in body.outcomes] == ["duplicate", "recorded", "duplicate", "recorded"]
    assert (body.recorded, body.duplicates) == (2, 2)
    assert [o["outcome"] for o in api.get("/leads/B")["outcomes"]] == ["converted", "lost"]
    missing = api.writer.post(
        "/outcomes", json={"outcomes": [batch[1], {"lead_id": "Z", "outcome": "lost"}]}
    )
    assert missing.status_code == 404
    assert len(api.get("/leads/B")["outcomes"]) == 2
