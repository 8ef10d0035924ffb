"""Looking a lead up (issue 10, item 5): `GET /leads?email=` (normalised as on write) and
`?external_id=source:id` (exact), as filters of the list; a malformed one is a 422."""

from __future__ import annotations

import pytest


@pytest.fixture
def crm(api):
    api.lead(id="L1", email="Ada@Example.com", external_ids={"hubspot": "77", "sf": "0031:x"})
    api.lead(id="L2", email="bob@example.com", external_ids={"hubspot": "78"}, owner="ann")
    api.lead(id="L3")
    return api


def found(api, **params) -> list[str]:
    return [lead["id"] for lead in api.get("/leads", **params)["data"]]


def test_a_lead_is_found_by_email_as_normalised_on_write(crm) -> None:
    for email in ("ada@example.com", "  ADA@example.COM "):
        assert found(crm, email=email) == ["L1"]
    assert found(crm, email="nobody@example.com") == []
    assert found(crm, email="ada@example.co") == []  # exact, not a prefix


def test_a_lead_is_found_by_external_id(crm) -> None:
    assert found(crm, external_id="hubspot:77") == ["L1"]
    assert found(crm, external_id="hubspot:78") == ["L2"]
    assert found(crm, external_id="sf:0031:x") == ["L1"]  # the id may hold ':'
    assert found(crm, external_id="hubspot:7") == []
    assert found(crm, external_id="HubSpot:77") == []  # exact
    assert found(crm, external_id="sf:77") == []


def test_lookups_combine_with_each_other_and_with_filters(crm) -> None:
    assert found(crm, email="bob@example.com", external_id="hubspot:78") == ["L2"]
    assert found(crm, email="bob@example.com", external_id="hubspot:77") == []
    assert found(crm, email="bob@example.com", owner="ann") == ["L2"]
    assert found(crm, email="bob@example.com", owner="sam") == []
    page = crm.get("/leads", email="ada@example.com")
    assert page["next_cursor"] is None and page["data"][0]["external_ids"]["hubspot"] == "77"


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"external_id": "hubspot"}, "external_id"),
        ({"external_id": ":77"}, "external_id"),
        ({"external_id": "hubspot:"}, "external_id"),
        ({"external_id": ""}, "external_id"),
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"email": "a" * 321}, "email"),
    ],
)
def test_a_malformed_lookup_is_422_naming_it(crm, params: dict, name: str) -> None:
    response = crm.reader.get("/leads", params=params)
    assert response.status_code == 422, response.text
    assert [d["loc"] for d in response.json()["detail"]] == [["query", name]]


def test_a_source_name_with_a_colon_is_refused_on_write(crm) -> None:
    bad = crm.writer.post("/leads", json={"id": "L9", "external_ids": {"a:b": "1"}})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "external_ids", "a:b", "[key]"]
    event = {"external_id": {"source": "a:b", "id": "1"}, "type": "x"}
    assert crm.writer.post("/events", json=event).status_code == 422
