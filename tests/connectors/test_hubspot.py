"""The HubSpot connector against the local HubSpot over a real socket: paging and windows,
resuming, batch writes with bad records isolated, rate limits, deals, owners, properties and
webhook signatures."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from leadscore.connectors.base import (
    ConnectorError,
    Deal,
    Page,
    Person,
    RateLimited,
    Update,
)
from leadscore.connectors.hubspot import (
    DEFAULT_FIELDS,
    DEFAULT_OUT_FIELDS,
    HubSpotConnector,
    parse_webhook,
    seconds_to_midnight,
    verify_signature_v3,
)
from leadscore.testing.fakes.hubspot import FakeHubSpot

OPEN: list[HubSpotConnector] = []


@pytest.fixture
def fake() -> Iterator[FakeHubSpot]:
    server = FakeHubSpot()
    with server:
        yield server
        while OPEN:
            OPEN.pop().close()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def connect(fake: FakeHubSpot, **options: Any) -> HubSpotConnector:
    connector = fake.connector(**options)
    assert isinstance(connector, HubSpotConnector)
    OPEN.append(connector)
    return connector


def read_all(connector: HubSpotConnector, object: str, cursor: str | None) -> list[Page]:
    return list(connector.read(object, cursor))


def people(pages: list[Page]) -> list[Person]:
    return [r for p in pages for r in p.records if isinstance(r, Person)]


def seed(fake: FakeHubSpot, count: int) -> list[str]:
    return [
        fake.add_person(f"p{i}@example.com", {"firstname": f"P{i}", "company": "Acme"})
        for i in range(count)
    ]


# --- reading -----------------------------------------------------------------------------


def test_full_read_pages_through_every_contact_in_modification_order(fake: FakeHubSpot) -> None:
    ids = seed(fake, 230)
    connector = connect(fake, page_size=50)
    pages = read_all(connector, "contacts", None)
    got = people(pages)
    assert [p.id for p in got] == ids
    assert len(pages) >= 5
    stamps = [p.modified_at for p in got]
    assert stamps == sorted(stamps) and stamps[0] > 1_600_000_000_000_000  # µs
    first = got[0]
    assert first.email == "p0@example.com" and first.object == "contacts"
    assert first.fields["firstname"] == "P0" and first.fields["company"] == "Acme"
    assert first.fields["hs_object_id"] == int(first.id)  # numbers come back as numbers
    searches = fake.calls_to("POST", "/crm/v3/objects/contacts/search")
    body = json.loads(searches[0].body)
    assert body["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert body["limit"] == 50 and "lifecyclestage" in body["properties"]
    assert searches[0].headers["authorization"] == f"Bearer {fake.access_token}"


def test_incremental_read_returns_only_what_changed_after_the_watermark(
    fake: FakeHubSpot,
) -> None:
    ids = seed(fake, 40)
    connector = connect(fake, page_size=25)
    watermark = read_all(connector, "contacts", None)[-1].cursor
    fake.change_person(ids[3], {"jobtitle": "CTO"})
    new = fake.add_person("new@example.com", {"lifecyclestage": "lead"})
    got = people(read_all(connector, "contacts", watermark))
    assert [p.id for p in got if not p.deleted] == [ids[3], new]
    assert got[0].fields["jobtitle"] == "CTO"
    nothing = read_all(connector, "contacts", read_all(connector, "contacts", watermark)[-1].cursor)
    assert people(nothing) == [] and len(nothing) == 1  # one empty page carries the watermark


def test_a_run_broken_by_a_5xx_burst_resumes_from_its_last_cursor_without_loss(
    fake: FakeHubSpot,
) -> None:
    ids = seed(fake, 120)
    sleeps = Sleeps()
    connector = connect(fake, page_size=20, sleep=sleeps)
    seen: list[str] = []
    cursor: str | None = None
    with pytest.raises(ConnectorError):  # the generator gives up after its retries
        for number, page in enumerate(connector.read("contacts", None)):
            seen += [r.id for r in page.records]
            cursor = page.cursor
            if number == 1:
                fake.fail_next(5, 503, path_prefix="/crm/v3/objects/contacts/search")
    assert 30 <= len(seen) <= 40 and sleeps  # two pages came; backed off before giving up
    fake.change_person(ids[0], {"city": "Oslo"})  # changed meanwhile: comes again later
    seen += [r.id for r in people(read_all(connector, "contacts", cursor))]
    assert set(seen) == set(ids)
    assert seen.count(ids[5]) == 1 and seen.count(ids[0]) == 2


def test_broken_run_raises_a_retryable_error(fake: FakeHubSpot) -> None:
    seed(fake, 30)
    connector = connect(fake, page_size=10, sleep=Sleeps())
    pages = connector.read("contacts", None)
    next(pages)
    fake.fail_next(10, 502, path_prefix="/crm/v3/objects/contacts/search")
    with pytest.raises(ConnectorError) as caught:
        list(pages)
    assert caught.value.retryable and caught.value.status == 502


def test_reads_past_the_search_cap_by_windowing_on_the_modification_stamp(
    fake: FakeHubSpot,
) -> None:
    fake.search_cap = 250  # the 10,000 of HubSpot, scaled down
    ids = seed(fake, 700)
    connector = connect(fake, page_size=100)
    got = people(read_all(connector, "contacts", None))
    assert [p.id for p in got] == ids
    # the fake does refuse a page past the cap, as HubSpot does
    answer = httpx.post(
        f"{fake.url}/crm/v3/objects/contacts/search",
        json={"limit": 100, "after": "200", "filterGroups": []},
        headers={"Authorization": f"Bearer {fake.access_token}"},
    )
    assert answer.status_code == 400 and answer.json()["category"] == "VALIDATION_ERROR"


def test_more_records_on_one_stamp_than_a_page_holds_are_drained_once_each(
    fake: FakeHubSpot,
) -> None:
    ids = seed(fake, 260)
    stamp = 1_700_000_000_000
    for ident in ids[10:240]:  # an import: 230 records modified in the same millisecond
        fake.set_modified(ident, stamp)
    connector = connect(fake, page_size=50)
    got = [p.id for p in people(read_all(connector, "contacts", None))]
    assert sorted(got, key=int) == ids and len(got) == len(set(got))
    ties = [
        json.loads(c.body)
        for c in fake.calls_to("POST", "/crm/v3/objects/contacts/search")
        if any(
            f["propertyName"] == "hs_object_id"
            for g in json.loads(c.body)["filterGroups"]
            for f in g["filters"]
        )
    ]
    assert ties and ties[0]["sorts"][0]["propertyName"] == "hs_object_id"


def test_a_record_modified_during_the_run_is_not_skipped(fake: FakeHubSpot) -> None:
    ids = seed(fake, 100)
    connector = connect(fake, page_size=20)
    pages = connector.read("contacts", None)
    seen = [r.id for r in next(pages).records]
    fake.change_person(ids[2], {"city": "Paris"})  # read already: moves to the end
    fake.change_person(ids[50], {"city": "Rome"})  # not read yet: moves to the end
    for page in pages:
        seen += [r.id for r in page.records]
    assert set(seen) == set(ids)
    assert seen[-2:] == [ids[2], ids[50]]


def test_deleted_contacts_come_in_as_deleted_people(fake: FakeHubSpot) -> None:
    ids = seed(fake, 5)
    connector = connect(fake)
    watermark = read_all(connector, "contacts", None)[-1].cursor
    fake.delete_person(ids[1])
    got = people(read_all(connector, "contacts", watermark))
    assert [(p.id, p.deleted, p.email) for p in got] == [(ids[1], True, "p1@example.com")]
    later = read_all(connector, "contacts", read_all(connector, "contacts", watermark)[-1].cursor)
    assert people(later) == []  # reported once


def test_fetch_reads_by_id_in_batches_of_100_and_leaves_out_the_gone(fake: FakeHubSpot) -> None:
    ids = seed(fake, 150)
    fake.delete_person(ids[7])
    connector = connect(fake)
    got = connector.fetch("contacts", [*ids, "999999"])
    assert [p.id for p in got] == [i for i in ids if i != ids[7]]
    assert len(fake.calls_to("POST", "/crm/v3/objects/contacts/batch/read")) == 2


def test_custom_fields_option_reads_the_named_properties(fake: FakeHubSpot) -> None:
    ident = fake.add_person("a@example.com", {"hs_lead_status": "NEW", "firstname": "A"})
    connector = connect(fake, fields={"contacts": ["hs_lead_status"]})
    (person,) = connector.fetch("contacts", [ident])
    assert person.fields["hs_lead_status"] == "NEW" and "firstname" not in person.fields
    assert "lifecyclestage" in person.fields  # the stage field is always read


# --- deals and owners --------------------------------------------------------------------


def test_deals_come_in_with_status_amount_close_date_and_contacts(fake: FakeHubSpot) -> None:
    a, b = seed(fake, 2)
    won = fake.add_deal([a], "won", 12000.5, closed_at=1_700_000_000_000_000)
    lost = fake.add_deal([a, b], "lost")
    open_ = fake.add_deal([b], "open", 300)
    connector = connect(fake)
    assert connector.deal_objects() == ("deals",)
    deals = {d.id: d for p in read_all(connector, "deals", None) for d in p.records}
    assert all(isinstance(d, Deal) for d in deals.values())
    w, lo, op = (deals[won], deals[lost], deals[open_])
    assert isinstance(w, Deal) and isinstance(lo, Deal) and isinstance(op, Deal)
    assert (w.status, w.amount, w.closed_at, w.people) == (
        "won",
        12000.5,
        1_700_000_000_000_000,
        (("contacts", a),),
    )
    assert w.stage == "closedwon"
    assert (
        lo.status == "lost"
        and lo.closed_at is not None
        and set(lo.people)
        == {
            ("contacts", a),
            ("contacts", b),
        }
    )
    assert (op.status, op.amount, op.closed_at) == ("open", 300.0, None)


def test_owners_are_paged_and_keyed_by_lower_case_email(fake: FakeHubSpot) -> None:
    made = {fake.add_owner(f"Owner{i}@Example.com", f"Own Er{i}"): i for i in range(130)}
    owners = connect(fake).owners()
    assert len(owners) == 130
    assert owners["owner7@example.com"] in made
    assert len(fake.calls_to("GET", "/crm/v3/owners")) == 2


# --- writing -----------------------------------------------------------------------------


def test_250_updates_take_three_batch_calls(fake: FakeHubSpot) -> None:
    connector = connect(fake)
    connector.ensure_fields("contacts", DEFAULT_OUT_FIELDS)
    ids = seed(fake, 250)
    updates = [
        Update("contacts", i, {"leadscore_score": n, "leadscore_grade": "A"}, f"k{n}")
        for n, i in enumerate(ids)
    ]
    results = connector.update(updates)
    assert [r.key for r in results] == [u.key for u in updates]
    assert all(r.ok for r in results)
    assert fake.update_calls() == 3
    assert fake.person_fields(ids[42])["leadscore_score"] == 42
    assert fake.person_fields(ids[42])["leadscore_grade"] == "A"


def test_same_record_twice_goes_in_separate_batches(fake: FakeHubSpot) -> None:
    connector = connect(fake)
    (ident,) = seed(fake, 1)
    results = connector.update(
        [
            Update("contacts", ident, {"jobtitle": "A"}, "1"),
            Update("contacts", ident, {"city": "B"}, "2"),
        ]
    )
    assert all(r.ok for r in results) and fake.update_calls() == 2
    assert fake.person_fields(ident)["city"] == "B"


def test_a_deleted_record_fails_alone_with_hubspots_message(fake: FakeHubSpot) -> None:
    connector = connect(fake)
    ids = seed(fake, 5)
    fake.delete_person(ids[2])
    results = connector.update([Update("contacts", i, {"jobtitle": "VP"}, i) for i in ids])
    assert [r.ok for r in results] == [True, True, False, True, True]
    bad = results[2]
    assert bad.message is not None and "they may be deleted or not exist" in bad.message
    assert not bad.retryable
    assert fake.person_fields(ids[4])["jobtitle"] == "VP"
    assert fake.update_calls() == 1  # HubSpot answered 207: nothing to send again


def test_an_unknown_property_fails_only_its_record_and_the_rest_are_written(
    fake: FakeHubSpot,
) -> None:
    connector = connect(fake)
    ids = seed(fake, 6)
    updates = [Update("contacts", i, {"jobtitle": f"T{n}"}, i) for n, i in enumerate(ids)]
    updates[4] = Update("contacts", ids[4], {"jobtitle": "x", "no_such_field": 1}, ids[4])
    results = connector.update(updates)
    assert [r.ok for r in results] == [True, True, True, True, False, True]
    assert results[4].message == 'Property "no_such_field" does not exist'
    assert fake.person_fields(ids[5])["jobtitle"] == "T5"
    assert fake.person_fields(ids[4]).get("jobtitle") is None
    assert fake.update_calls() == 2  # the refused batch, then the good ones


def test_a_bad_value_is_found_by_halving_and_reported_with_hubspots_message(
    fake: FakeHubSpot,
) -> None:
    connector = connect(fake)
    connector.ensure_fields("contacts", DEFAULT_OUT_FIELDS)
    ids = seed(fake, 8)
    updates = [Update("contacts", i, {"leadscore_score": n}, i) for n, i in enumerate(ids)]
    updates[6] = Update("contacts", ids[6], {"leadscore_score": "lots"}, ids[6])
    results = connector.update(updates)
    assert [r.ok for r in results] == [True] * 6 + [False, True]
    assert results[6].message == "lots was not a valid number."
    assert fake.person_fields(ids[7])["leadscore_score"] == 7


def test_a_refusal_naming_ids_writes_the_rest(fake: FakeHubSpot) -> None:
    connector = connect(fake)
    ids = seed(fake, 3)
    body = FakeHubSpot.error(
        "Could not get some CONTACT objects, they may be deleted or not exist.",
        "OBJECT_NOT_FOUND",
        context={"ids": [ids[0]]},
    )
    fake.fail_next(1, 404, path_prefix="/crm/v3/objects/contacts/batch/update", body=body)
    results = connector.update([Update("contacts", i, {"city": "X"}, i) for i in ids])
    assert [r.ok for r in results] == [False, True, True]
    assert fake.person_fields(ids[1])["city"] == "X"


# --- rate limits -------------------------------------------------------------------------


def test_429_with_retry_after_is_waited_out(fake: FakeHubSpot) -> None:
    seed(fake, 3)
    sleeps = Sleeps()
    connector = connect(fake, sleep=sleeps)
    fake.throttle_next(2, retry_after=3, path_prefix="/crm/v3/objects/contacts/search")
    assert len(people(read_all(connector, "contacts", None))) == 3
    assert sleeps == [3.0, 3.0] and connector.http.waited == 6.0


def test_a_long_retry_after_is_handed_back_as_rate_limited(fake: FakeHubSpot) -> None:
    ids = seed(fake, 150)
    connector = connect(fake, sleep=Sleeps(), max_wait=60)
    fake.throttle_next(1, retry_after=120, path_prefix="/crm/v3/objects/contacts/batch/update")
    results = connector.update([Update("contacts", i, {"city": "Y"}, i) for i in ids])
    assert not any(r.ok for r in results)
    assert all(r.retryable and r.retry_after == 120 for r in results)
    assert fake.update_calls() == 0  # throttled before the handler; the second batch waited
    with pytest.raises(RateLimited) as caught:
        fake.throttle_next(1, retry_after=300, path_prefix="/crm/v3/objects/contacts/search")
        read_all(connector, "contacts", None)
    assert caught.value.retry_after == 300


class RealSleeps(Sleeps):
    def __call__(self, seconds: float) -> None:
        super().__call__(seconds)
        time.sleep(seconds)


def test_the_search_limit_per_second_is_waited_out(fake: FakeHubSpot) -> None:
    fake.search_per_second = 1  # HubSpot's search has its own, tighter, limit
    seed(fake, 20)
    sleeps = RealSleeps()
    connector = connect(fake, page_size=15, sleep=sleeps)
    assert len(people(read_all(connector, "contacts", None))) == 20
    assert sleeps and all(s == 1.0 for s in sleeps)  # 429 SECONDLY with Retry-After: 1
    refused = [c for c in fake.calls_to("POST", "/crm/v3/objects/contacts/search")]
    assert len(refused) > 2  # two searches, and the refused tries between them


def test_a_spent_daily_limit_waits_until_midnight_without_hammering(fake: FakeHubSpot) -> None:
    ids = seed(fake, 5)
    now = 1_780_000_000.0
    connector = connect(fake, sleep=Sleeps(), clock=lambda: now, time_zone="America/New_York")
    fake.daily_limit = 2
    connector.fetch("contacts", ids)  # 1: properties, 2: batch read
    assert connector.limits["daily-remaining"] == 0
    results = connector.update([Update("contacts", i, {"city": "Z"}, i) for i in ids])
    expected = seconds_to_midnight(now, "America/New_York")
    assert all(r.retryable and r.retry_after == pytest.approx(expected) for r in results)
    calls = len(fake.calls)
    with pytest.raises(RateLimited):
        connector.fetch("contacts", ids)
    assert len(fake.calls) == calls  # refused here, not sent


def test_a_daily_429_is_rate_limited_until_midnight(fake: FakeHubSpot) -> None:
    seed(fake, 2)
    now = 1_780_000_000.0
    connector = connect(fake, sleep=Sleeps(), clock=lambda: now)
    fake.daily_limit = 0
    with pytest.raises(RateLimited) as caught:
        read_all(connector, "contacts", None)
    assert caught.value.retry_after == pytest.approx(seconds_to_midnight(now, "UTC"))
    assert "daily" in caught.value.message
    assert len(fake.calls) == 1


def test_rate_limit_headers_are_observed(fake: FakeHubSpot) -> None:
    seed(fake, 2)
    connector = connect(fake)
    connector.owners()
    first = connector.limits["daily-remaining"]
    connector.owners()
    assert connector.limits["daily-remaining"] == first - 1
    assert connector.limits["max"] == fake.burst_limit
    assert connector.limits["interval-milliseconds"] == 10_000
    assert "secondly" in connector.limits


def test_a_bad_token_is_refused_with_hubspots_401(fake: FakeHubSpot) -> None:
    connector = HubSpotConnector(base_url=fake.url, access_token="pat-wrong")
    OPEN.append(connector)
    with pytest.raises(ConnectorError) as caught:
        connector.owners()
    assert caught.value.status == 401 and not caught.value.retryable
    assert "Authentication credentials not found" in caught.value.message


# --- properties --------------------------------------------------------------------------


def test_ensure_fields_creates_the_missing_properties_once(fake: FakeHubSpot) -> None:
    connector = connect(fake)
    created = connector.ensure_fields("contacts", DEFAULT_OUT_FIELDS)
    assert created == list(DEFAULT_FIELDS["out"].values())
    assert connector.ensure_fields("contacts", DEFAULT_OUT_FIELDS) == []
    score = fake.stores["contacts"].properties["leadscore_score"]
    grade = fake.stores["contacts"].properties["leadscore_grade"]
    assert (score["type"], score["fieldType"], score["groupName"]) == (
        "number",
        "number",
        "leadscore",
    )
    assert (grade["type"], grade["fieldType"]) == ("string", "text")
    assert "leadscore" in fake.stores["contacts"].groups


def test_writing_a_property_before_it_exists_is_a_permanent_failure(fake: FakeHubSpot) -> None:
    connector = connect(fake)
    (ident,) = seed(fake, 1)
    (result,) = connector.update([Update("contacts", ident, {"leadscore_score": 5}, "k")])
    assert not result.ok and not result.retryable
    assert result.message == 'Property "leadscore_score" does not exist'


# --- the fake's own limits ---------------------------------------------------------------


def test_the_fake_refuses_101_inputs_and_a_search_limit_over_200(fake: FakeHubSpot) -> None:
    auth = {"Authorization": f"Bearer {fake.access_token}"}
    batch = httpx.post(
        f"{fake.url}/crm/v3/objects/contacts/batch/update",
        json={"inputs": [{"id": str(i), "properties": {"city": "x"}} for i in range(101)]},
        headers=auth,
    )
    assert batch.status_code == 400 and batch.json()["category"] == "VALIDATION_ERROR"
    search = httpx.post(
        f"{fake.url}/crm/v3/objects/contacts/search", json={"limit": 201}, headers=auth
    )
    assert search.status_code == 400
    assert search.headers["X-HubSpot-RateLimit-Daily-Remaining"].isdigit()
    with pytest.raises(ValueError):
        HubSpotConnector(access_token="t", page_size=201)  # refused before a client is made


def test_search_leaves_archived_records_out_and_pages_with_after(fake: FakeHubSpot) -> None:
    ids = seed(fake, 12)
    fake.delete_person(ids[0])
    auth = {"Authorization": f"Bearer {fake.access_token}"}
    url = f"{fake.url}/crm/v3/objects/contacts/search"
    first = httpx.post(url, json={"limit": 5}, headers=auth).json()
    assert first["total"] == 11 and first["paging"]["next"]["after"] == "5"
    last = httpx.post(url, json={"limit": 5, "after": "10"}, headers=auth).json()
    assert len(last["results"]) == 1 and "paging" not in last
    assert ids[0] not in [r["id"] for r in first["results"]]


# --- webhooks ----------------------------------------------------------------------------

URI = "https://hooks.example.com/hubspot?portal=62515"


def test_a_signed_webhook_is_accepted_and_parsed(fake: FakeHubSpot) -> None:
    ident = fake.add_person("w@example.com")
    fake.change_person(ident, {"lifecyclestage": "customer"})
    headers, body = fake.webhook_request(None, URI)
    stamp = int(headers["X-HubSpot-Request-Timestamp"])
    assert verify_signature_v3(
        fake.client_secret,
        "POST",
        URI,
        body,
        headers["X-HubSpot-Request-Timestamp"],
        headers["X-HubSpot-Signature-v3"],
        stamp + 1000,
    )
    events = parse_webhook(body)
    assert [(e.subscription_type, e.object_id) for e in events] == [
        ("contact.creation", ident),
        ("contact.propertyChange", ident),
    ]
    assert events[1].property_name == "lifecyclestage" and events[1].property_value == "customer"
    assert events[0].object == "contacts" and events[0].occurred_at > 0
    assert connect(fake).verify_webhook("POST", URI, body, headers, now_ms=stamp)


def test_a_webhook_with_a_bad_signature_or_an_old_stamp_is_refused(fake: FakeHubSpot) -> None:
    headers, body = fake.webhook_request(
        [{"subscriptionType": "contact.deletion", "objectId": 5}], URI
    )
    stamp = headers["X-HubSpot-Request-Timestamp"]
    signature = headers["X-HubSpot-Signature-v3"]
    now = int(stamp)
    ok = verify_signature_v3(fake.client_secret, "POST", URI, body, stamp, signature, now)
    assert ok
    tampered = body.replace(b'"objectId":5', b'"objectId":6')
    assert not verify_signature_v3(fake.client_secret, "POST", URI, tampered, stamp, signature, now)
    assert not verify_signature_v3("other-secret", "POST", URI, body, stamp, signature, now)
    assert not verify_signature_v3(
        fake.client_secret, "POST", URI, body, stamp, signature, now + 5 * 60 * 1000 + 1
    )
    assert not verify_signature_v3(fake.client_secret, "POST", URI, body, None, signature, now)
    assert not verify_signature_v3(
        fake.client_secret, "POST", "https://hooks.example.com/other", body, stamp, signature, now
    )


def test_a_merge_event_names_the_merged_records() -> None:
    body = json.dumps(
        [
            {
                "eventId": 1,
                "subscriptionType": "contact.merge",
                "objectId": 10,
                "primaryObjectId": 10,
                "mergedObjectIds": [11, 12],
                "newObjectId": 10,
                "occurredAt": 1_700_000_000_000,
                "portalId": 1,
            }
        ]
    )
    (event,) = parse_webhook(body)
    assert event.merged_object_ids == ("11", "12") and event.primary_object_id == "10"
    assert event.occurred_at == 1_700_000_000_000_000
    with pytest.raises(ValueError):
        parse_webhook(b'{"not": "an event"}')
