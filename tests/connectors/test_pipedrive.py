"""The Pipedrive connector against FakePipedrive over a real socket (§8)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest

from leadscore.connectors.base import (
    ConnectorError,
    Deal,
    FieldSpec,
    Person,
    RateLimited,
    Update,
)
from leadscore.connectors.pipedrive import DEFAULT_FIELDS, PipedriveConnector, to_micros
from leadscore.testing.fakes.pipedrive import FakePipedrive

T0 = 1_767_268_800.0  # 2026-01-01T12:00:00Z


class Clock:
    """A virtual clock shared by the fake and the client: sleeping advances it."""

    def __init__(self, now: float = T0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def tick(self, seconds: float = 1.0) -> None:
        self.now += seconds


SCORES = [
    FieldSpec("leadscore_score", "Score", "number"),
    FieldSpec("leadscore_grade", "Grade", "string"),
]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakePipedrive]:
    server = FakePipedrive(clock=clock.time)
    with server:
        yield server


_OPEN: list[PipedriveConnector] = []


@pytest.fixture(autouse=True)
def _close_connectors() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def connect(fake: FakePipedrive, clock: Clock, **options: object) -> PipedriveConnector:
    connector = fake.connector(sleep=clock.sleep, clock=clock.time, **options)
    assert isinstance(connector, PipedriveConnector)
    _OPEN.append(connector)
    return connector


def seed(fake: FakePipedrive, clock: Clock, n: int, *, step: float = 1.0) -> list[str]:
    ids = []
    for i in range(n):
        ids.append(fake.add_person(f"p{i}@example.com", {"first_name": "P", "last_name": str(i)}))
        clock.tick(step)
    return ids


def ids_of(pages: list[object]) -> list[str]:
    return [r.id for p in pages for r in p.records]  # type: ignore[attr-defined]


def queries(fake: FakePipedrive, method: str, path: str) -> list[dict[str, list[str]]]:
    return [parse_qs(c.query) for c in fake.calls_to(method, path)]


# --- reading persons -------------------------------------------------------------------------


def test_full_read_pages_through_every_person_sorted_by_update_time(
    fake: FakePipedrive, clock: Clock
) -> None:
    ids = seed(fake, clock, 1200, step=0.01)
    owner = fake.add_owner("Owner@Example.com", "Owner")
    fake.change_person(ids[5], {"org_name": "Acme", "owner_id": owner, "label": "Hot lead"})
    connector = connect(fake, clock)
    pages = list(connector.read("persons", None))
    assert [len(p.records) for p in pages] == [500, 500, 200]
    assert sorted(ids_of(pages), key=int) == ids
    stamps = [r.modified_at for p in pages for r in p.records]
    assert stamps == sorted(stamps)
    person = next(r for p in pages for r in p.records if r.id == ids[5])
    assert isinstance(person, Person)
    assert person.email == "p5@example.com"
    assert person.fields["org_name"] == "Acme"
    assert person.fields["owner_id"] == owner
    assert person.fields["label"] == "Hot lead"
    assert person.fields["name"] == "P 5"
    sent = queries(fake, "GET", "/api/v2/persons")
    assert len(sent) == 3
    assert all(q["sort_by"] == ["update_time"] and q["limit"] == ["500"] for q in sent)
    assert "cursor" not in sent[0] and "cursor" in sent[1]
    # the token travels in the header, never in a URL
    calls = fake.calls_to("GET", "/api/v2/persons")
    assert all(c.headers["x-api-token"] == fake.api_token for c in calls)
    assert all("api_token" not in c.query for c in fake.calls)


def test_incremental_read_returns_what_changed_since_the_watermark(
    fake: FakePipedrive, clock: Clock
) -> None:
    ids = seed(fake, clock, 20)
    connector = connect(fake, clock, page_size=7)
    first = list(connector.read("persons", None))
    assert len(ids_of(first)) == 20
    clock.tick(30)
    fake.change_person(ids[3], {"job_title": "CTO"})
    clock.tick()
    fake.change_person(ids[11], {"last_name": "Changed"})
    clock.tick()
    new = fake.add_person("new@example.com", {"name": "New One"})
    again = list(connector.read("persons", first[-1].cursor))
    # the watermark's own second is read again (v2 stamps are whole seconds); nothing older
    assert ids_of(again) == [ids[19], ids[3], ids[11], new]
    changed = {r.id: r for p in again for r in p.records}
    assert changed[ids[3]].fields["job_title"] == "CTO"
    assert changed[ids[11]].fields["last_name"] == "Changed"
    assert queries(fake, "GET", "/api/v2/persons")[-1]["updated_since"] == [
        json.loads(first[-1].cursor)["since"]
    ]
    # nothing new: one page, same watermark
    quiet = list(connector.read("persons", again[-1].cursor))
    assert ids_of(quiet) == [new]
    assert json.loads(quiet[-1].cursor)["since"] == json.loads(again[-1].cursor)["since"]


def test_resume_after_a_5xx_burst_loses_no_person(fake: FakePipedrive, clock: Clock) -> None:
    ids = seed(fake, clock, 25)
    connector = connect(fake, clock, page_size=10)
    got: list[str] = []
    cursor = None
    pages = connector.read("persons", None)
    page = next(pages)
    got += [r.id for r in page.records]
    cursor = page.cursor
    fake.fail_next(5, 503, path_prefix="/api/v2/persons")  # outlasts Http's 4 retries
    with pytest.raises(ConnectorError) as failed:
        next(pages)
    assert failed.value.retryable and failed.value.status == 503
    assert "Service Unavailable" in failed.value.message
    # a person already read changes while we were down; one not yet read changes too
    clock.tick(5)
    fake.change_person(ids[2], {"job_title": "Moved"})
    fake.change_person(ids[15], {"job_title": "Moved too"})
    resumed = connect(fake, clock, page_size=10)
    rest = list(resumed.read("persons", cursor))
    got += ids_of(rest)
    assert set(got) == set(ids)
    assert ids[2] in ids_of(rest)  # keyset paging: a changed record comes again, later
    assert got.count(ids[15]) == 1
    assert clock.sleeps  # the retries backed off through `sleep`, not real time


def test_custom_fields_are_read_under_their_names_asking_only_for_their_keys(
    fake: FakePipedrive, clock: Clock
) -> None:
    person = fake.add_person("a@example.com", {"name": "A", "Industry": "Retail", "Seats": 12})
    key = fake.field_key("Industry")
    assert key is not None and re.fullmatch(r"[0-9a-f]{40}", key)
    connector = connect(fake, clock, fields={"persons": ["Industry", "Seats", "visible_to"]})
    [page] = list(connector.read("persons", None))
    [record] = page.records
    assert record.id == person
    assert isinstance(record, Person)
    assert record.fields["Industry"] == "Retail"
    assert record.fields["Seats"] == 12
    assert record.fields["visible_to"] == 3
    sent = queries(fake, "GET", "/api/v2/persons")[-1]
    assert set(sent["custom_fields"][0].split(",")) == {key, fake.field_key("Seats")}


def test_job_title_only_with_contact_sync(clock: Clock) -> None:
    with FakePipedrive(clock=clock.time, contact_sync=False) as fake:
        fake.add_person("a@example.com", {"name": "A", "job_title": "CEO"})
        [page] = list(connect(fake, clock).read("persons", None))
        assert "job_title" not in page.records[0].fields  # type: ignore[union-attr]


def test_fetch_reads_persons_by_id_in_batches_of_100_leaving_out_missing(
    fake: FakePipedrive, clock: Clock
) -> None:
    ids = seed(fake, clock, 150, step=0.01)
    fake.delete_person(ids[0])
    connector = connect(fake, clock)
    got = connector.fetch("persons", [*ids, "999999", "not-a-number"])
    assert sorted((p.id for p in got), key=int) == ids[1:]
    assert len(fake.calls_to("GET", "/api/v2/persons")) == 2


# --- leads -----------------------------------------------------------------------------------


def test_leads_link_to_their_person_and_take_its_email(fake: FakePipedrive, clock: Clock) -> None:
    person = fake.add_person("jane@example.com", {"name": "Jane Doe"})
    leads = []
    for i in range(7):
        leads.append(fake.add_person("jane@example.com", {"title": f"L{i}"}, object="leads"))
        clock.tick(0.5)
    orphan = fake.add_person(None, {"title": "No person"}, object="leads")
    connector = connect(fake, clock, page_size=3)
    pages = list(connector.read("leads", None))
    records = [r for p in pages for r in p.records]
    assert [r.id for r in records] == [*leads, orphan]
    assert all(re.fullmatch(r"[0-9a-f-]{36}", r.id) for r in records)
    first = records[0]
    assert isinstance(first, Person)
    assert first.object == "leads" and first.email == "jane@example.com"
    assert first.links == (("persons", person),)
    assert first.fields["title"] == "L0"
    assert records[-1].email is None and records[-1].links == ()  # type: ignore[union-attr]
    sent = queries(fake, "GET", "/api/v1/leads")
    assert all(q["sort"] == ["update_time ASC"] for q in sent)
    # one batch read of the persons per page, not one per lead
    assert len(fake.calls_to("GET", "/api/v2/persons")) <= len(pages)
    assert connector.id_source("leads") == "pipedrive_lead"


def test_leads_changed_mid_pass_are_not_lost_and_incremental_reads_resume(
    fake: FakePipedrive, clock: Clock
) -> None:
    leads = []
    for i in range(9):
        leads.append(fake.add_person(f"l{i}@example.com", {"title": f"L{i}"}, object="leads"))
        clock.tick(1)
    connector = connect(fake, clock, page_size=3)
    pages = connector.read("leads", None)
    first = next(pages)
    assert [r.id for r in first.records] == leads[:3]
    # with offset paging this change would shift every later lead by one and lose one
    fake.change_person(leads[1], {"title": "Changed"}, object="leads")
    rest = [r.id for p in pages for r in p.records]
    assert set(leads[3:]) <= set(rest)
    assert rest[-1] == leads[1]
    watermark = json.loads(connector.read("leads", None).__next__().cursor)
    assert watermark["since"] is not None
    # incremental: only what changed after the last page's stamp
    everything = list(connector.read("leads", None))
    clock.tick(10)
    fake.change_person(leads[5], {"title": "Later"}, object="leads")
    again = list(connector.read("leads", everything[-1].cursor))
    assert ids_of(again) == [leads[5]]
    sent = queries(fake, "GET", "/api/v1/leads")[-1]
    assert to_micros(sent["updated_since"][0]) == json.loads(everything[-1].cursor)["since"]


def test_fetch_leads_leaves_out_deleted_ones(fake: FakePipedrive, clock: Clock) -> None:
    a = fake.add_person("a@example.com", {"title": "A"}, object="leads")
    b = fake.add_person("b@example.com", {"title": "B"}, object="leads")
    fake.delete_person(b, object="leads")
    got = connect(fake, clock).fetch("leads", [a, b])
    assert [p.id for p in got] == [a]
    assert got[0].email == "a@example.com"


# --- deals -----------------------------------------------------------------------------------


def test_deals_come_in_with_status_amount_close_time_stage_and_deletion(
    fake: FakePipedrive, clock: Clock
) -> None:
    p1 = fake.add_person("a@example.com", {"name": "A"})
    p2 = fake.add_person("b@example.com", {"name": "B"})
    won_at = int((T0 - 86_400) * 1_000_000)
    won = fake.add_deal([p1], "won", 1200.5, closed_at=won_at)
    clock.tick()
    lost = fake.add_deal([p2], "lost")
    clock.tick()
    open_ = fake.add_deal([p1, p2], "open", 99)
    clock.tick()
    gone = fake.add_deal([p2], "open", 5)
    fake.delete_deal(gone)
    connector = connect(fake, clock)
    assert connector.deal_objects() == ("deals",)
    [page] = list(connector.read("deals", None))
    deals = {d.id: d for d in page.records}
    assert all(isinstance(d, Deal) for d in deals.values())
    assert deals[won] == Deal(
        object="deals",
        id=won,
        people=(("persons", p1),),
        status="won",
        amount=1200.5,
        closed_at=won_at // 1_000_000 * 1_000_000,
        modified_at=deals[won].modified_at,
        stage="Negotiations Started",
    )
    assert deals[lost].status == "lost" and deals[lost].closed_at is not None  # type: ignore[union-attr]
    assert deals[open_].status == "open" and deals[open_].closed_at is None  # type: ignore[union-attr]
    assert deals[open_].amount == 99.0  # type: ignore[union-attr]
    assert deals[gone].deleted  # type: ignore[union-attr]
    assert queries(fake, "GET", "/api/v2/deals")[-1]["status"] == ["open,won,lost,deleted"]


# --- owners and fields -----------------------------------------------------------------------


def test_owners_maps_lower_case_email_to_user_id(fake: FakePipedrive, clock: Clock) -> None:
    ann = fake.add_owner("Ann@Example.com", "Ann")
    bob = fake.add_owner("bob@example.com")
    assert connect(fake, clock).owners() == {"ann@example.com": ann, "bob@example.com": bob}


def test_ensure_fields_creates_only_the_missing_with_generated_keys(
    fake: FakePipedrive, clock: Clock
) -> None:
    connector = connect(fake, clock)
    assert connector.ensure_fields("persons", SCORES) == ["leadscore_score", "leadscore_grade"]
    assert connector.ensure_fields("persons", SCORES) == []
    assert len(fake.calls_to("POST", "/api/v1/personFields")) == 2
    bodies = [json.loads(c.body) for c in fake.calls_to("POST", "/api/v1/personFields")]
    assert bodies == [
        {"name": "leadscore_score", "field_type": "double"},
        {"name": "leadscore_grade", "field_type": "varchar"},
    ]
    key = fake.field_key("leadscore_score")
    assert key is not None and re.fullmatch(r"[0-9a-f]{40}", key)
    # leads inherit the deals' custom fields
    assert connector.ensure_fields("leads", SCORES[:1]) == ["leadscore_score"]
    assert fake.field_key("leadscore_score", deals=True) is not None
    assert set(DEFAULT_FIELDS["out"]) >= {"leadscore_score", "leadscore_url"}


# --- writing ---------------------------------------------------------------------------------


def test_updates_are_one_patch_per_person_with_custom_fields_by_key(
    fake: FakePipedrive, clock: Clock
) -> None:
    ids = seed(fake, clock, 3)
    owner = fake.add_owner("o@example.com")
    connector = connect(fake, clock)
    connector.ensure_fields("persons", SCORES)
    updates = [
        Update("persons", pid, {"leadscore_score": 80.5 + i, "leadscore_grade": "A"}, f"k{i}")
        for i, pid in enumerate(ids)
    ]
    updates.append(Update("persons", ids[0], {"owner_id": owner}, "owner"))
    results = connector.update(updates)
    assert [r.ok for r in results] == [True] * 4
    assert [r.key for r in results] == ["k0", "k1", "k2", "owner"]
    assert fake.update_calls() == 4
    assert connector.batch_size == 1
    body = json.loads(fake.calls_to("PATCH", f"/api/v2/persons/{ids[1]}")[0].body)
    assert body == {
        "custom_fields": {
            fake.field_key("leadscore_score"): 81.5,
            fake.field_key("leadscore_grade"): "A",
        }
    }
    assert json.loads(fake.calls_to("PATCH", "/api/v2/persons/")[-1].body) == {
        "owner_id": int(owner)
    }
    assert fake.person_fields(ids[2])["leadscore_score"] == 82.5
    assert fake.person_fields(ids[0])["owner_id"] == owner


def test_permanent_failures_carry_pipedrive_message_per_record(
    fake: FakePipedrive, clock: Clock
) -> None:
    ids = seed(fake, clock, 3)
    connector = connect(fake, clock)
    connector.ensure_fields("persons", SCORES)
    fake.delete_person(ids[1])
    results = connector.update(
        [
            Update("persons", ids[0], {"leadscore_score": 1.0}, "ok"),
            Update("persons", ids[1], {"leadscore_score": 2.0}, "deleted"),
            Update("persons", ids[2], {"leadscore_score": "high"}, "bad-type"),
            Update("persons", ids[2], {"no_such_field": 1}, "unknown-name"),
            Update("persons", ids[2], {"a" * 40: 1}, "unknown-key"),
            Update("persons", ids[2], {"leadscore_grade": "B"}, "after"),
        ]
    )
    by_key = {r.key: r for r in results}
    assert by_key["ok"].ok and by_key["after"].ok
    assert not by_key["deleted"].ok and not by_key["deleted"].retryable
    assert "404" in (by_key["deleted"].message or "")
    assert "Person not found" in (by_key["deleted"].message or "")
    assert "must be a number" in (by_key["bad-type"].message or "")
    assert "no_such_field" in (by_key["unknown-name"].message or "")
    assert "Unknown custom field" in (by_key["unknown-key"].message or "")
    assert not any(r.retryable for r in results)
    # the unknown name was refused before sending; everything else was one PATCH each
    assert len(fake.calls_to("PATCH", "/api/v2/persons/")) == 5


def test_lead_updates_write_deal_fields_at_the_root_of_a_v1_patch(
    fake: FakePipedrive, clock: Clock
) -> None:
    lead = fake.add_person("a@example.com", {"title": "A"}, object="leads")
    connector = connect(fake, clock)
    connector.ensure_fields("leads", SCORES)
    [result] = connector.update([Update("leads", lead, {"leadscore_score": 7.5}, "k")])
    assert result.ok
    key = fake.field_key("leadscore_score", deals=True)
    assert json.loads(fake.calls_to("PATCH", f"/api/v1/leads/{lead}")[0].body) == {key: 7.5}
    assert fake.person_fields(lead, object="leads")["leadscore_score"] == 7.5


# --- rate limits -----------------------------------------------------------------------------


def test_429_with_retry_after_is_waited_out(fake: FakePipedrive, clock: Clock) -> None:
    seed(fake, clock, 3)
    connector = connect(fake, clock)
    fake.throttle_next(2, retry_after=3, path_prefix="/api/v2/persons")
    pages = list(connector.read("persons", None))
    assert len(ids_of(pages)) == 3
    assert clock.sleeps == [3.0, 3.0]
    assert connector.http.waited == 6.0


def test_long_retry_after_is_handed_back_as_rate_limited(fake: FakePipedrive, clock: Clock) -> None:
    ids = seed(fake, clock, 3)
    connector = connect(fake, clock, max_wait=60)
    connector.ensure_fields("persons", SCORES)
    fake.throttle_next(1, retry_after=600, path_prefix="/api/v2/persons")
    with pytest.raises(RateLimited) as limited:
        list(connector.read("persons", None))
    assert limited.value.retry_after == 600
    fake.throttle_next(1, retry_after=900, path_prefix="/api/v2/persons/")
    results = connector.update(
        [Update("persons", i, {"leadscore_score": 1.0}, i) for i in ids],
    )
    assert [(r.ok, r.retryable, r.retry_after) for r in results] == [(False, True, 900)] * 3
    assert len(fake.calls_to("PATCH", "/api/v2/persons/")) == 1  # the rest were not sent


def test_burst_window_headers_make_the_client_sleep_before_a_429(clock: Clock) -> None:
    with FakePipedrive(clock=clock.time, burst_limit=3) as fake:
        ids = seed(fake, clock, 10)
        clock.tick(5)
        connector = connect(fake, clock, page_size=2)
        pages = list(connector.read("persons", None))
        assert sorted(ids_of(pages), key=int) == ids
        assert 2.0 in clock.sleeps
        # the client slept out the window before Pipedrive had to refuse anything
        assert fake.refused == 0
        assert connector.http.calls == len(fake.calls)


def test_without_sleeping_out_the_window_the_fake_would_refuse(clock: Clock) -> None:
    """The control for the test above: the same reads with a client that ignores the
    headers run into 429s."""
    with FakePipedrive(clock=clock.time, burst_limit=3) as fake:
        seed(fake, clock, 10)
        connector = connect(fake, clock, page_size=2)
        connector.http.observe = None
        list(connector.read("persons", None))
        assert fake.refused > 0


def test_fake_refuses_with_429_and_retry_after_when_the_window_is_spent(clock: Clock) -> None:
    with FakePipedrive(clock=clock.time, burst_limit=2) as fake:
        headers = {"x-api-token": fake.api_token}
        with httpx.Client(base_url=fake.url, headers=headers) as client:
            first = client.get("/api/v1/users")
            assert first.headers["x-ratelimit-limit"] == "2"
            assert first.headers["x-ratelimit-remaining"] == "1"
            assert first.headers["x-ratelimit-reset"] == "2"
            assert int(first.headers["x-daily-ratelimit-token-remaining"]) == 210_000 - 20
            client.get("/api/v1/users")
            third = client.get("/api/v1/users")
            assert third.status_code == 429
            assert third.headers["retry-after"] == "2"
            assert third.json()["error"] == "Request over limit"
            clock.tick(2)
            assert client.get("/api/v1/users").status_code == 200


def test_spent_daily_budget_raises_rate_limited_without_hammering(
    fake: FakePipedrive, clock: Clock
) -> None:
    ids = seed(fake, clock, 2)
    connector = connect(fake, clock, daily_probe=3600)
    connector.ensure_fields("persons", SCORES)
    fake.spend_daily_budget()
    before = len(fake.calls)
    with pytest.raises(RateLimited) as limited:
        list(connector.read("persons", None))
    assert limited.value.retry_after == 3600  # probe hourly; T0 is 12 hours before midnight
    assert len(fake.calls) == before + 1
    results = connector.update([Update("persons", ids[0], {"leadscore_score": 1.0}, "k")])
    assert results[0].retryable and not results[0].ok
    assert len(fake.calls) == before + 1  # refused locally until the budget can have reset
    clock.tick(3601)
    assert connector.update([Update("persons", ids[0], {"leadscore_score": 1.0}, "k")])[
        0
    ].retryable  # still spent on the server (its day has not turned): told again


def test_budget_reaching_zero_on_a_success_blocks_the_next_request(clock: Clock) -> None:
    with FakePipedrive(clock=clock.time, daily_tokens=30) as fake:
        seed(fake, clock, 2)
        connector = connect(fake, clock)
        # personFields (20 tokens) + persons (10 tokens) spend the whole budget
        assert len(ids_of(list(connector.read("persons", None)))) == 2
        before = len(fake.calls)
        with pytest.raises(RateLimited) as limited:
            connector.owners()
        assert len(fake.calls) == before
        assert 0 < limited.value.retry_after <= 3600
        clock.tick(12 * 3600 + 1)  # the fake's day turns at midnight UTC
        assert connector.owners() == {}


def test_daily_write_allowance_spent_holds_back_further_writes(clock: Clock) -> None:
    with FakePipedrive(clock=clock.time, daily_writes=2) as fake:
        ids = seed(fake, clock, 3)
        connector = connect(fake, clock)
        connector.ensure_fields("persons", SCORES)  # two POSTs: x-daily-requests-left hits 0
        results = connector.update([Update("persons", i, {"leadscore_score": 1.0}, i) for i in ids])
        assert [(r.ok, r.retryable) for r in results] == [(False, True)] * 3
        assert fake.update_calls() == 0
        assert 0 < (results[0].retry_after or 0) <= 3600
        assert connector.owners() == {}  # reads are not held back


# --- the fake's own refusals -----------------------------------------------------------------


def test_fake_enforces_documented_limits(fake: FakePipedrive) -> None:
    headers = {"x-api-token": fake.api_token}
    with httpx.Client(base_url=fake.url, headers=headers) as client:
        assert client.get("/api/v2/persons", params={"limit": 501}).status_code == 400
        many = ",".join(str(i) for i in range(101))
        assert client.get("/api/v2/persons", params={"ids": many}).status_code == 400
        keys = ",".join(f"{i:040x}" for i in range(16))
        assert client.get("/api/v2/persons", params={"custom_fields": keys}).status_code == 400
        assert client.get("/api/v1/leads", params={"limit": 501}).status_code == 400
        bad = client.get("/api/v2/persons", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 400 and bad.json()["success"] is False
        person = fake.add_person("a@example.com", {"name": "A"})
        patch = client.patch(f"/api/v2/persons/{person}", json={"owner_id": "12"})
        assert patch.status_code == 400
        field = client.post("/api/v1/personFields", json={"name": "X", "field_type": "blob"})
        assert field.status_code == 400
    with httpx.Client(base_url=fake.url) as anonymous:
        refused = anonymous.get("/api/v2/persons")
        assert refused.status_code == 401
        assert refused.json() == {
            "success": False,
            "error": "unauthorized access",
            "errorCode": 401,
        }


def test_wrong_token_is_a_permanent_error(fake: FakePipedrive, clock: Clock) -> None:
    connector = PipedriveConnector(
        base_url=fake.url, api_token="wrong", sleep=clock.sleep, clock=clock.time
    )
    _OPEN.append(connector)
    with pytest.raises(ConnectorError) as refused:
        connector.owners()
    assert refused.value.status == 401 and not refused.value.retryable
    assert "unauthorized access" in refused.value.message
    fake.expire_tokens()  # API tokens do not expire: a no-op
    assert connect(fake, clock).owners() == {}
