"""Timestamp fields over HTTP (issue 10, item 5): the forms CRMs and ad platforms send are
accepted in every timestamp field, and every time comes back as RFC 3339 with a four-digit
year."""

from __future__ import annotations

import pytest

CRM_FORMS = [
    ("2026-01-05T10:00:00.000+0000", "2026-01-05T10:00:00Z"),
    ("2026-01-05T11:00:00+0100", "2026-01-05T10:00:00Z"),
    ("2026-01-05T10:00:00+00", "2026-01-05T10:00:00Z"),
    ("2026-01-05t10:00:00.123456789z", "2026-01-05T10:00:00.123456Z"),
    ("2026-01-05 10:00:00,5Z", "2026-01-05T10:00:00.500000Z"),
]


@pytest.mark.parametrize(("sent", "stored"), CRM_FORMS)
def test_event_and_outcome_times_accept_crm_forms(api, sent: str, stored: str) -> None:
    api.set_time("2026-02-01T00:00:00Z")
    api.lead(id="L1", consent={"basis": "consent", "given_at": sent})
    assert api.event(lead_id="L1", type="email_opened", id="e1", occurred_at=sent)
    events = api.get("/leads/L1/events")["data"]
    assert [e["occurred_at"] for e in events] == [stored]
    done = api.writer.post(
        "/outcomes", json={"lead_id": "L1", "outcome": "lost", "occurred_at": sent}
    )
    assert done.status_code == 201, done.text
    assert done.json()["outcomes"][0]["occurred_at"] == stored
    lead = api.get("/leads/L1")
    assert lead["consent"]["given_at"] == stored
    assert lead["outcomes"][0]["occurred_at"] == stored


def test_as_of_and_expiry_accept_crm_forms(api) -> None:
    api.set_time("2026-01-10T00:00:00Z")
    api.model()
    api.lead(id="L1")
    made = api.writer.post(
        "/leads/L1/overrides",
        json={"points": 5, "reason": "r", "expires_at": "2026-03-01T00:00:00.000+0000"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["override"]["expires_at"] == "2026-03-01T00:00:00Z"
    score = api.reader.get("/leads/L1/score", params={"as_of": "2026-01-10t00:00:00+0000"})
    assert score.status_code == 200, score.text
    assert score.json()["as_of"] == "2026-01-10T00:00:00Z"


def test_early_years_come_back_with_four_digits(api) -> None:
    api.lead(id="L1")
    api.event(lead_id="L1", type="x", id="old", occurred_at="0999-12-31T23:00:00-01:00")
    api.event(lead_id="L1", type="x", id="first", occurred_at="0001-01-01")
    times = [e["occurred_at"] for e in api.get("/leads/L1/events")["data"]]
    assert times == ["1000-01-01T00:00:00Z", "0001-01-01T00:00:00Z"]


@pytest.mark.parametrize(
    "bad", ["2026-01-05T10:00:00.1234567890Z", "2026-01-05T10:00:00+000", "05/01/2026", ""]
)
def test_what_is_not_a_timestamp_is_still_a_422_naming_the_field(api, bad: str) -> None:
    api.lead(id="L1")
    response = api.writer.post("/events", json={"lead_id": "L1", "type": "x", "occurred_at": bad})
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [["body", "occurred_at"]]
    assert api.get("/leads/L1/events")["data"] == []
