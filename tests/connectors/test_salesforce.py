"""The Salesforce connector against the local fake org, over a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from leadscore.connectors.base import (
    ConnectorError,
    Deal,
    FieldSpec,
    Page,
    Person,
    RateLimited,
    Update,
)
from leadscore.connectors.salesforce import DEFAULT_FIELDS, SalesforceConnector
from leadscore.testing.fakes.salesforce import FakeSalesforce

V = "/services/data/v62.0"


OPEN: list[SalesforceConnector] = []


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    server = FakeSalesforce()
    with server:
        yield server
        while OPEN:
            OPEN.pop().close()


def connect(
    fake: FakeSalesforce, waits: list[float] | None = None, **options: object
) -> SalesforceConnector:
    """The fake's connector, closed when the test ends; `waits` records its sleeps."""
    sleep = waits.append if waits is not None else (lambda s: None)
    connector = fake.connector(sleep=sleep, **options)
    assert isinstance(connector, SalesforceConnector)
    OPEN.append(connector)
    return connector


def ids(pages: list[Page]) -> list[str]:
    return [r.id for p in pages for r in p.records]


def people(pages: list[Page]) -> list[Person]:
    found = [r for p in pages for r in p.records]
    assert all(isinstance(r, Person) for r in found)
    return found  # type: ignore[return-value]


def rsa_pair() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


# --- OAuth ------------------------------------------------------------------------------------


def test_client_credentials_sign_in_is_lazy_and_uses_the_instance_url(fake: FakeSalesforce) -> None:
    connector = connect(fake)
    assert fake.calls_to("POST", "/services/oauth2/token") == []
    fake.add_person("a@example.com")
    assert len(ids(list(connector.read("Contact", None)))) == 1
    (token_call,) = fake.calls_to("POST", "/services/oauth2/token")
    form = parse_qs(token_call.body.decode())
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_id"] == [fake.client_id]
    assert form["client_secret"] == [fake.client_secret]
    (query,) = fake.calls_to("GET", f"{V}/queryAll")
    assert query.headers["authorization"].startswith("Bearer 00D")
    connector.close()


def test_api_calls_go_to_the_instance_url_of_the_token_answer(fake: FakeSalesforce) -> None:
    fake.instance_url = f"http://localhost:{fake.port}"
    connector = connect(fake)
    connector.owners()
    (token_call,) = fake.calls_to("POST", "/services/oauth2/token")
    assert token_call.headers["host"] == f"127.0.0.1:{fake.port}"
    (query,) = fake.calls_to("GET", f"{V}/query")
    assert query.headers["host"] == f"localhost:{fake.port}"


def test_wrong_client_secret_is_refused_with_salesforces_words(fake: FakeSalesforce) -> None:
    connector = connect(fake, client_secret="nope")
    with pytest.raises(ConnectorError, match="invalid client credentials") as caught:
        list(connector.read("Contact", None))
    assert not caught.value.retryable


def test_jwt_bearer_flow_signs_an_rs256_assertion_the_org_verifies(fake: FakeSalesforce) -> None:
    private, public = rsa_pair()
    fake.register_jwt_client("3MVG9-jwt-app", public, "integration@example.com")
    fake.add_person("a@example.com")
    connector = connect(
        fake, client_id="3MVG9-jwt-app", private_key=private, username="integration@example.com"
    )
    assert len(ids(list(connector.read("Contact", None)))) == 1
    (token_call,) = fake.calls_to("POST", "/services/oauth2/token")
    form = parse_qs(token_call.body.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = jwt.decode(form["assertion"][0], public, algorithms=["RS256"], audience=fake.url)
    assert claims["iss"] == "3MVG9-jwt-app"
    assert claims["sub"] == "integration@example.com"
    assert 0 < claims["exp"] - datetime.now(UTC).timestamp() <= 180


def test_jwt_signed_with_another_key_or_for_another_user_is_refused(fake: FakeSalesforce) -> None:
    _, public = rsa_pair()
    other_private, _ = rsa_pair()
    fake.register_jwt_client("3MVG9-jwt-app", public, "integration@example.com")
    wrong_key = connect(
        fake,
        client_id="3MVG9-jwt-app",
        private_key=other_private,
        username="integration@example.com",
    )
    with pytest.raises(ConnectorError, match="invalid assertion"):
        wrong_key.owners()
    private, public = rsa_pair()
    fake.register_jwt_client("3MVG9-jwt-app", public, "integration@example.com")
    wrong_user = connect(
        fake, client_id="3MVG9-jwt-app", private_key=private, username="someone@example.com"
    )
    with pytest.raises(ConnectorError, match="hasn't approved"):
        wrong_user.owners()


def test_an_expired_session_signs_in_again_once_and_retries(fake: FakeSalesforce) -> None:
    connector = connect(fake)
    fake.add_person("a@example.com")
    first = list(connector.read("Contact", None))
    fake.expire_tokens()
    fake.add_person("b@example.com")
    again = list(connector.read("Contact", first[-1].cursor))
    assert [p.email for p in people(again)] == ["b@example.com"]
    assert len(fake.calls_to("POST", "/services/oauth2/token")) == 2
    assert len(fake.calls_to("GET", f"{V}/queryAll")) == 3  # one refused with 401


def test_a_session_refused_twice_is_an_error_not_a_loop(fake: FakeSalesforce) -> None:
    connector = connect(fake)
    connector.owners()
    fake.fail_next(
        2,
        401,
        path_prefix=f"{V}/query",
        body=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
    )
    with pytest.raises(ConnectorError, match="Session expired or invalid") as caught:
        connector.owners()
    assert caught.value.status == 401


# --- reading ----------------------------------------------------------------------------------


def test_full_read_follows_next_records_url_across_pages(fake: FakeSalesforce) -> None:
    seeded = [fake.add_person(f"p{i}@example.com", {"FirstName": f"P{i}"}) for i in range(2300)]
    connector = connect(fake, page_size=1000)
    pages = list(connector.read("Contact", None))
    assert [len(p.records) for p in pages] == [1000, 1000, 300]
    assert ids(pages) == seeded
    stamps = [r.modified_at for r in people(pages)]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    more = fake.calls_to("GET", f"{V}/queryAll/01g")
    assert len(more) == 2
    (first,) = [c for c in fake.calls_to("GET", f"{V}/queryAll") if c.path == f"{V}/queryAll"]
    assert first.headers["sforce-query-options"] == "batchSize=1000"
    soql = parse_qs(first.query)["q"][0]
    assert soql.startswith("SELECT Id, SystemModstamp, IsDeleted, Email, FirstName")
    assert soql.endswith("FROM Contact ORDER BY SystemModstamp, Id")
    person = people(pages)[0]
    assert person.object == "Contact"
    assert person.email == "p0@example.com"
    assert person.fields["FirstName"] == "P0"
    assert set(DEFAULT_FIELDS["in"]["Contact"]) <= set(person.fields)


def test_an_empty_org_gives_one_empty_page_with_a_cursor(fake: FakeSalesforce) -> None:
    pages = list(connect(fake).read("Lead", None))
    assert len(pages) == 1 and pages[0].records == []
    assert json.loads(pages[0].cursor) == {"since": None, "after": ""}
    fake.add_person("late@example.com", object="Lead")
    assert [p.email for p in people(list(connect(fake).read("Lead", pages[0].cursor)))] == [
        "late@example.com"
    ]


def test_incremental_read_gives_changes_and_deletions_after_the_cursor(
    fake: FakeSalesforce,
) -> None:
    seeded = [fake.add_person(f"p{i}@example.com") for i in range(30)]
    connector = connect(fake)
    cursor = list(connector.read("Contact", None))[-1].cursor
    assert json.loads(cursor)["after"] == seeded[-1]
    fake.change_person(seeded[3], {"Title": "CTO"})
    fake.delete_person(seeded[7])
    added = fake.add_person("new@example.com")
    pages = list(connector.read("Contact", cursor))
    found = people(pages)
    assert [p.id for p in found] == [seeded[3], seeded[7], added]
    assert found[0].fields["Title"] == "CTO"
    assert found[1].deleted and not found[0].deleted
    soql = parse_qs(fake.calls_to("GET", f"{V}/queryAll")[-1].query)["q"][0]
    assert "WHERE SystemModstamp > " in soql and f"AND Id > '{seeded[-1]}')" in soql
    assert list(connector.read("Contact", pages[-1].cursor))[0].records == []


def test_resume_after_a_5xx_burst_loses_nothing(fake: FakeSalesforce) -> None:
    seeded = [fake.add_person(f"p{i}@example.com") for i in range(1000)]
    waits: list[float] = []
    connector = connect(fake, waits, page_size=200)
    got: list[str] = []
    cursor = None
    reader = connector.read("Contact", None)
    for _ in range(2):
        page = next(reader)
        got += [r.id for r in page.records]
        cursor = page.cursor
    fake.fail_next(connector.http.retries + 1, 503, path_prefix=f"{V}/queryAll")
    with pytest.raises(ConnectorError) as caught:
        next(reader)
    assert caught.value.retryable and caught.value.status == 503
    assert "Server temporarily unavailable" in caught.value.message
    assert len(waits) == connector.http.retries
    fake.fail_next(2, 503, path_prefix=f"{V}/queryAll")  # a shorter burst is ridden out
    for page in connector.read("Contact", cursor):
        got += [r.id for r in page.records]
    assert got == seeded


def test_resume_inside_records_sharing_one_stamp(fake: FakeSalesforce) -> None:
    """A bulk change gives many records the same SystemModstamp: the (stamp, Id) keyset
    resumes between them."""
    seeded = [fake.add_person(f"p{i}@example.com") for i in range(450)]
    table = fake.tables["Contact"]
    stamp = table.rows[seeded[0]]["SystemModstamp"]
    for rid in seeded:
        table.touch(table.rows[rid], stamp)
    connector = connect(fake, page_size=200)
    first = next(connector.read("Contact", None))
    assert len(first.records) == 200
    rest = list(connector.read("Contact", first.cursor))
    assert ids([first, *rest]) == seeded


def test_a_timed_out_query_locator_is_asked_again_from_the_keyset(fake: FakeSalesforce) -> None:
    seeded = [fake.add_person(f"p{i}@example.com") for i in range(500)]
    connector = connect(fake, page_size=200)
    reader = connector.read("Contact", None)
    got = [r.id for r in next(reader).records]
    fake.expire_query_locators()
    for page in reader:
        got += [r.id for r in page.records]
    assert got == seeded
    assert len(fake.calls_to("GET", f"{V}/queryAll/01g")) >= 2


def test_leads_with_extra_fields_and_converted_leads_linked_to_their_contact(
    fake: FakeSalesforce,
) -> None:
    fake.add_field("Lead", "Budget__c", "double")
    lead = fake.add_person(
        "lead@acme.example",
        {"Company": "Acme", "NumberOfEmployees": 250, "Country": "FR", "Budget__c": 5000},
        object="Lead",
    )
    converted = fake.add_person("conv@acme.example", {"Company": "Acme"}, object="Lead")
    contact = fake.convert_lead(converted)
    connector = connect(fake, fields={"Lead": ["Budget__c"]})
    found = {p.id: p for p in people(list(connector.read("Lead", None)))}
    assert found[lead].fields["Company"] == "Acme"
    assert found[lead].fields["NumberOfEmployees"] == 250
    assert found[lead].fields["Budget__c"] == 5000.0
    assert found[lead].fields["Status"] == "Open - Not Contacted"
    assert found[lead].links == ()
    assert found[converted].links == (("Contact", contact),)
    assert found[converted].fields["IsConverted"] is True
    assert connector.id_source("Lead") == "salesforce_lead"
    assert connector.id_source("Contact") == "salesforce_contact"
    assert connector.people_objects() == ("Lead", "Contact")


def test_an_unknown_extra_field_is_salesforces_invalid_field(fake: FakeSalesforce) -> None:
    connector = connect(fake, fields={"Contact": ["Nope__c"]})
    with pytest.raises(ConnectorError, match="No such column 'Nope__c' on entity 'Contact'") as e:
        list(connector.read("Contact", None))
    assert e.value.status == 400 and not e.value.retryable


def test_the_fake_refuses_soql_it_does_not_understand(fake: FakeSalesforce) -> None:
    connect(fake).owners()  # signs in
    token = next(iter(fake.tokens))
    client = httpx.Client(base_url=fake.url, headers={"Authorization": f"Bearer {token}"})
    cases = {
        "SELECT Id FROM Lead WHERE": "MALFORMED_QUERY",
        "SELECT Id FROM Lead WHERE Email = 'a' AND Email = 'b' OR Email = 'c'": "MALFORMED_QUERY",
        "SELECT Id, Account.Name FROM Contact": "INVALID_FIELD",
        "SELECT Id FROM Lead GROUP BY Id": "MALFORMED_QUERY",
        "SELECT Id FROM Nope": "INVALID_TYPE",
        "SELECT Id FROM Lead WHERE SystemModstamp > '2024-01-01'": "INVALID_QUERY_FILTER_OPERATOR",
    }
    for soql, code in cases.items():
        response = client.get(f"{V}/query", params={"q": soql})
        assert response.status_code == 400, soql
        body = response.json()
        assert body[0]["errorCode"] == code, (soql, body)
        assert "ERROR at Row:1:Column:" in body[0]["message"]
        assert response.headers["sforce-limit-info"].startswith("api-usage=")
    ok = client.get(
        f"{V}/query",
        params={"q": "SELECT Id FROM Lead WHERE (Email = 'a' AND Email = 'b') OR Email = 'c'"},
    )
    assert ok.status_code == 200 and ok.json() == {"totalSize": 0, "done": True, "records": []}
    client.close()


def test_fetch_reads_live_records_by_id_and_leaves_out_the_rest(fake: FakeSalesforce) -> None:
    a = fake.add_person("a@example.com")
    b = fake.add_person("b@example.com")
    gone = fake.add_person("gone@example.com")
    fake.delete_person(gone)
    many = [fake.add_person(f"m{i}@example.com") for i in range(250)]
    connector = connect(fake)
    found = connector.fetch("Contact", [b, gone, "003000999999999AAA", "bad'id", a, *many])
    assert [p.id for p in found] == [b, a, *many]
    assert found[0].email == "b@example.com"
    assert len(fake.calls_to("GET", f"{V}/query")) == 2  # 200 ids a query
    assert connector.fetch("Contact", []) == []


# --- deals and owners -------------------------------------------------------------------------


def test_opportunities_come_in_as_won_lost_and_open_deals_with_their_contacts(
    fake: FakeSalesforce,
) -> None:
    ann = fake.add_person("ann@example.com")
    bob = fake.add_person("bob@example.com")
    closed = int(datetime(2024, 3, 15, 17, 30, tzinfo=UTC).timestamp() * 1_000_000)
    won = fake.add_deal([ann, bob], "won", 12500.0, closed_at=closed)
    lost = fake.add_deal([bob], "lost", None, closed_at=closed)
    open_ = fake.add_deal([ann], "open", 900)
    connector = connect(fake)
    assert connector.deal_objects() == ("Opportunity",)
    deals = [r for p in connector.read("Opportunity", None) for r in p.records]
    assert all(isinstance(d, Deal) for d in deals)
    by_id = {d.id: d for d in deals if isinstance(d, Deal)}
    midnight = int(datetime(2024, 3, 15, tzinfo=UTC).timestamp()) * 1_000_000
    assert by_id[won].status == "won" and by_id[won].amount == 12500.0
    assert by_id[won].closed_at == midnight
    assert by_id[won].people == (("Contact", ann), ("Contact", bob))
    assert by_id[won].stage == "Closed Won"
    assert by_id[lost].status == "lost" and by_id[lost].amount is None
    assert by_id[lost].people == (("Contact", bob),)
    assert by_id[open_].status == "open" and by_id[open_].closed_at is None
    assert by_id[open_].amount == 900.0
    soql = parse_qs(fake.calls_to("GET", f"{V}/queryAll")[-1].query)["q"][0]
    assert "(SELECT ContactId FROM OpportunityContactRoles)" in soql
    assert connect(fake, deals=False).deal_objects() == ()


def test_owners_are_active_users_by_lower_case_email(fake: FakeSalesforce) -> None:
    ann = fake.add_owner("Ann@Example.com", "Ann")
    bob = fake.add_owner("bob@example.com")
    fake.add_owner("gone@example.com", active=False)
    assert connect(fake).owners() == {"ann@example.com": ann, "bob@example.com": bob}


# --- writing ----------------------------------------------------------------------------------


def test_updates_go_in_collections_of_200(fake: FakeSalesforce) -> None:
    seeded = [fake.add_person(f"p{i}@example.com") for i in range(450)]
    connector = connect(fake)
    updates = [
        Update("Contact", rid, {"Leadscore_Score__c": float(i), "Leadscore_Grade__c": "A"}, f"k{i}")
        for i, rid in enumerate(seeded)
    ]
    results = connector.update(updates)
    assert [r.key for r in results] == [u.key for u in updates]
    assert all(r.ok for r in results)
    assert fake.update_calls() == 3
    sizes = [len(json.loads(c.body)["records"]) for c in fake.calls_to("PATCH", V)]
    assert sizes == [200, 200, 50]
    body = json.loads(fake.calls_to("PATCH", V)[0].body)
    assert body["allOrNone"] is False
    assert body["records"][0] == {
        "attributes": {"type": "Contact"},
        "id": seeded[0],
        "Leadscore_Score__c": 0.0,
        "Leadscore_Grade__c": "A",
    }
    assert fake.person_fields(seeded[449])["Leadscore_Score__c"] == 449.0


def test_the_fake_refuses_201_records_in_one_collection(fake: FakeSalesforce) -> None:
    rid = fake.add_person("a@example.com")
    connect(fake).owners()
    token = next(iter(fake.tokens))
    records = [{"attributes": {"type": "Contact"}, "id": rid, "Title": "x"}] * 201
    response = httpx.patch(
        f"{fake.url}{V}/composite/sobjects",
        json={"allOrNone": False, "records": records},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json() == [
        {
            "message": "record limit reached. cannot submit more than 200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT",
        }
    ]


def test_permanent_errors_are_reported_per_record_with_salesforces_message(
    fake: FakeSalesforce,
) -> None:
    ok = fake.add_person("ok@example.com")
    gone = fake.add_person("gone@example.com")
    fake.delete_person(gone)
    lead = fake.add_person("l@example.com", object="Lead")
    fake.convert_lead(lead)
    other = fake.add_person("other@example.com")
    connector = connect(fake)
    results = connector.update(
        [
            Update("Contact", ok, {"Leadscore_Score__c": 80}, "ok"),
            Update("Contact", gone, {"Leadscore_Score__c": 10}, "gone"),
            Update("Lead", lead, {"Leadscore_Score__c": 10}, "converted"),
            Update("Contact", other, {"Leadscore_Score__c": "high"}, "type"),
            Update("Contact", other, {"Nope__c": 1}, "field"),
            Update("Contact", "003000999999999AAA", {"Title": "x"}, "missing"),
        ]
    )
    by_key = {r.key: r for r in results}
    assert by_key["ok"].ok
    assert fake.person_fields(ok)["Leadscore_Score__c"] == 80.0
    assert not any(r.retryable for r in results)
    assert by_key["gone"].message == "ENTITY_IS_DELETED: entity is deleted"
    assert (
        by_key["converted"].message
        == "CANNOT_UPDATE_CONVERTED_LEAD: cannot reference converted lead"
    )
    assert by_key["type"].message is not None
    assert by_key["type"].message.startswith("INVALID_TYPE_ON_FIELD_IN_RECORD")
    assert by_key["field"].message == (
        "INVALID_FIELD: No such column 'Nope__c' on sobject of type Contact"
    )
    assert by_key["missing"].message == "INVALID_CROSS_REFERENCE_KEY: invalid cross reference id"
    # The unknown field refused the whole first call; the rest went again without it.
    assert fake.update_calls() == 3  # Contact call refused, Contact again, Lead
    assert [r.ok for r in results] == [True, False, False, False, False, False]


def test_pardot_score_is_never_written_unless_allowed(fake: FakeSalesforce) -> None:
    rid = fake.add_person("a@example.com")
    refused = connect(fake).update(
        [
            Update("Contact", rid, {"pi__score__c": 99, "Leadscore_Score__c": 99}, "a"),
            Update("Contact", rid, {"PI__Score__C": 99}, "b"),
        ]
    )
    assert [r.ok for r in refused] == [False, False]
    assert refused[0].message is not None and "allow_pardot_score=True" in refused[0].message
    assert not refused[0].retryable
    assert fake.update_calls() == 0
    assert fake.person_fields(rid)["pi__score__c"] is None
    (allowed,) = connect(fake, allow_pardot_score=True).update(
        [Update("Contact", rid, {"pi__score__c": 99}, "c")]
    )
    assert allowed.ok and fake.person_fields(rid)["pi__score__c"] == 99.0


def test_large_updates_go_through_a_bulk_api_2_job(fake: FakeSalesforce) -> None:
    seeded = [fake.add_person(f"p{i}@example.com") for i in range(120)]
    fake.delete_person(seeded[5])
    waits: list[float] = []
    connector = connect(fake, waits, bulk_threshold=100, bulk_poll_interval=2.0)
    updates = [
        Update("Contact", rid, {"Leadscore_Score__c": i + 0.5, "Leadscore_Stage__c": None}, f"k{i}")
        for i, rid in enumerate(seeded)
    ]
    updates[7] = Update("Contact", seeded[7], {"Leadscore_Tier__c": 'gold, "top"'}, "k7")
    results = connector.update(updates)
    assert fake.calls_to("PATCH", f"{V}/composite") == []
    (create,) = fake.calls_to("POST", f"{V}/jobs/ingest")
    assert json.loads(create.body) == {
        "object": "Contact",
        "operation": "update",
        "contentType": "CSV",
        "lineEnding": "LF",
        "columnDelimiter": "COMMA",
    }
    (upload,) = fake.calls_to("PUT", f"{V}/jobs/ingest")
    assert upload.headers["content-type"] == "text/csv"
    lines = upload.body.decode().split("\n")
    assert lines[0] == "Id,Leadscore_Score__c,Leadscore_Stage__c,Leadscore_Tier__c"
    assert lines[1] == f"{seeded[0]},0.5,#N/A,"
    assert waits == [2.0, 2.0]  # upload complete, then in progress, then complete
    assert results[5].message == "ENTITY_IS_DELETED: entity is deleted"
    assert [r.ok for r in results].count(False) == 1
    assert fake.person_fields(seeded[9])["Leadscore_Score__c"] == 9.5
    assert fake.person_fields(seeded[7])["Leadscore_Tier__c"] == 'gold, "top"'
    assert fake.update_calls() == 1


def test_a_bulk_job_that_fails_reports_every_record_with_its_error(fake: FakeSalesforce) -> None:
    seeded = [fake.add_person(f"p{i}@example.com") for i in range(5)]
    connector = connect(fake, bulk_threshold=2)
    results = connector.update([Update("Contact", r, {"Nope__c": 1}, r) for r in seeded])
    assert all(not r.ok and not r.retryable for r in results)
    assert results[0].message == (
        "Bulk API job failed: InvalidBatch : Field name not found : Nope__c"
    )


# --- limits -----------------------------------------------------------------------------------


def test_429_retry_after_is_waited_and_a_long_one_raised(fake: FakeSalesforce) -> None:
    rid = fake.add_person("a@example.com")
    waits: list[float] = []
    connector = connect(fake, waits, max_wait=30)
    fake.throttle_next(2, retry_after=3, path_prefix=f"{V}/queryAll")
    assert ids(list(connector.read("Contact", None))) == [rid]
    assert waits == [3.0, 3.0]
    fake.throttle_next(1, retry_after=120, path_prefix=f"{V}/queryAll")
    with pytest.raises(RateLimited) as caught:
        list(connector.read("Contact", None))
    assert caught.value.retry_after == 120
    fake.throttle_next(1, retry_after=120, path_prefix=f"{V}/composite")
    (result,) = connector.update([Update("Contact", rid, {"Title": "x"}, "k")])
    assert not result.ok and result.retryable and result.retry_after == 120


def test_sforce_limit_info_is_watched_and_the_orgs_last_calls_are_left_alone(
    fake: FakeSalesforce,
) -> None:
    rid = fake.add_person("a@example.com")
    fake.daily_limit = 100
    fake.api_usage = 93
    now = [1_000_000.0]
    connector = connect(fake, limit_fraction=0.95, limit_retry_after=3600, clock=lambda: now[0])
    connector.owners()
    assert connector.api_usage == (94, 100)
    connector.owners()
    assert connector.api_usage == (95, 100)
    calls = len(fake.calls)
    with pytest.raises(RateLimited, match="95/100") as caught:
        connector.owners()
    assert caught.value.retry_after == 3600
    assert len(fake.calls) == calls  # not one more call spent
    (result,) = connector.update([Update("Contact", rid, {"Title": "x"}, "k")])
    assert not result.ok and result.retryable and result.retry_after == 3600
    fake.api_usage = 10  # the rolling window freed up
    now[0] += 3600
    connector.owners()
    assert connector.api_usage == (11, 100)


def test_request_limit_exceeded_is_a_rate_limit(fake: FakeSalesforce) -> None:
    fake.add_person("a@example.com")
    fake.daily_limit = 5
    fake.api_usage = 5
    connector = connect(fake, limit_fraction=2.0, limit_retry_after=1800)
    with pytest.raises(RateLimited, match="TotalRequests Limit exceeded") as caught:
        list(connector.read("Contact", None))
    assert caught.value.status == 403 and caught.value.retry_after == 1800
    assert fake.calls_to("GET", f"{V}/queryAll")[-1].path == f"{V}/queryAll"


# --- custom fields ----------------------------------------------------------------------------

SPECS = [
    FieldSpec("Leadscore_Score__c", "Leadscore score", "number"),
    FieldSpec("Leadscore_Grade__c", "Leadscore grade", "string"),
    FieldSpec("Leadscore_URL__c", "Leadscore link", "string"),
]


def test_ensure_fields_checks_the_describe_and_names_what_an_admin_must_create(
    fake: FakeSalesforce,
) -> None:
    connector = connect(fake)
    assert connector.ensure_fields("Lead", SPECS) == []
    assert connector.ensure_fields("Contact", SPECS) == []
    fake.remove_field("Lead", "Leadscore_Grade__c")
    with pytest.raises(ConnectorError) as caught:
        connector.ensure_fields("Lead", SPECS)
    message = caught.value.message
    assert "Leadscore_Grade__c (Text(255), label 'Leadscore grade')" in message
    assert "Leadscore_Score__c" not in message
    assert "Setup > Object Manager > Lead > Fields & Relationships > New" in message
    assert not caught.value.retryable
    fake.tables["Contact"].schema["Leadscore_Score__c"] = ("double", False)
    with pytest.raises(ConnectorError, match="field-level security"):
        connector.ensure_fields("Contact", SPECS)
    (describe,) = {c.path for c in fake.calls_to("GET", f"{V}/sobjects/Lead")}
    assert describe == f"{V}/sobjects/Lead/describe"


def test_constructor_refuses_what_salesforce_would(fake: FakeSalesforce) -> None:
    with pytest.raises(ValueError, match="client_secret"):
        SalesforceConnector(client_id="x")
    with pytest.raises(ValueError, match="username"):
        SalesforceConnector(client_id="x", private_key="pem")
    with pytest.raises(ValueError, match="200 to 2,000"):
        SalesforceConnector(client_id="x", client_secret="y", page_size=100)
    with pytest.raises(ValueError, match="field name"):
        SalesforceConnector(client_id="x", client_secret="y", fields={"Lead": ["Id) FROM x"]})
    default = SalesforceConnector(client_id="x", client_secret="y")
    assert default.login_url == "https://login.salesforce.com"
    assert default.api_version == "v62.0" and default.batch_size == 200
    default.close()
    other = connect(fake, api_version="v60.0")
    other.owners()
    assert fake.calls_to("GET", "/services/data/v60.0/query")
