"""CRM connectors over the API (§8), end to end against a local HubSpot over real sockets: a
contact synced in, scored, pushed past the SQL threshold by events, and its score, stage and
owner written back exactly once; the state and runs shown without secrets; HubSpot's signed
webhooks in."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.api.conftest import Api, running

from leadscore.settings import Settings
from leadscore.testing.fakes.hubspot import FakeHubSpot

AUTOMATIONS = """
version: crm
automations:
  - name: sql-to-hubspot
    when: {stage_changed: {to: sql}}
    actions:
      - assign_owner: {owner: ada}
      - crm_update: {connector: hubspot, fields: [score, stage, owner]}
"""


@pytest.fixture
def crm() -> Iterator[FakeHubSpot]:
    with FakeHubSpot() as fake:
        yield fake


@pytest.fixture
def api(crm: FakeHubSpot, database_url: str, tmp_path: Path) -> Iterator[Api]:
    (tmp_path / "connectors.yaml").write_text(
        f"hubspot:\n  base_url: {crm.url}\n  sync_every: null\n  push: false\n", "utf-8"
    )
    (tmp_path / "secrets.json").write_text(json.dumps({"hubspot": crm.secrets()}), "utf-8")
    settings = Settings(
        database_url=database_url,
        api_key_cache_seconds=0,
        connectors_file=str(tmp_path / "connectors.yaml"),
        secrets_file=str(tmp_path / "secrets.json"),
        outbox_poll_seconds=0.05,
        public_url="https://leads.example.com",
    )
    from leadscore.testing import scratch

    with running(settings) as server:
        scratch.empty(server.ctx.db)
        server.ctx.reset_caches()
        clients = Api(server)
        yield clients
        clients.close()


def wait_for(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def sync(api: Api, **params) -> dict:
    started = api.admin.post("/connectors/hubspot/sync", params=params)
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    assert started.headers["Location"].endswith(job_id)

    def finished():
        job = api.admin.get(f"/jobs/{job_id}").json()
        return job if job["status"] in ("succeeded", "failed") else None

    job = wait_for(finished, "the sync job")
    assert job["status"] == "succeeded", job
    return job["result"]


def test_a_contact_synced_scored_and_written_back_exactly_once(api: Api, crm: FakeHubSpot):
    api.model()
    ada = crm.add_owner("ada@example.com", "Ada Lovelace")
    api.admin.post("/owners", json={"id": "ada", "name": "Ada", "email": "ada@example.com"})
    response = api.admin.post(
        "/automations",
        params={"activate": True},
        content=AUTOMATIONS,
        headers={"Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    contact = crm.add_person(
        "grace@example.com",
        {"firstname": "Grace", "jobtitle": "CTO", "industry": "software", "numemployees": "900"},
    )

    report = sync(api)
    assert report["counts"]["created"] == 1 and report["counts"]["api calls"] >= 1, report
    leads = api.get("/leads")["data"]
    assert len(leads) == 1
    lead = api.get(f"/leads/{leads[0]['id']}")
    assert lead["external_ids"] == {"hubspot": contact}
    assert lead["attributes"]["employees"] == 900  # numemployees, declared a number
    assert lead["stage"] == "mql" and lead["fit"] > 0, lead  # software, 900 employees
    assert crm.update_calls() == 0  # no automation fired, push is off: nothing written

    before = crm.update_calls()
    api.event(email="grace@example.com", type="demo_booked", id="demo-1")
    api.event(
        email="grace@example.com", type="page_viewed", id="p-1", properties={"url": "/pricing"}
    )
    lead = api.get(f"/leads/{lead['id']}")
    assert lead["stage"] == "sql", lead

    def written():
        fields = crm.person_fields(contact)
        return fields if fields.get("leadscore_stage") == "sql" else None

    fields = wait_for(written, "the crm_update")
    assert float(fields["leadscore_score"]) == lead["score"]
    assert str(fields["hubspot_owner_id"]) == ada

    def settled():  # the CRM is written before the worker acknowledges the row
        page = api.admin.get("/outbox", params={"automation": "sql-to-hubspot"}).json()
        return page if page["counts"]["pending"] + page["counts"]["delivering"] == 0 else None

    outbox = wait_for(settled, "the outbox to settle")["data"]
    crm_rows = [r for r in outbox if r["action"] == "crm_update"]
    assert [r["status"] for r in crm_rows] == ["delivered"], outbox
    assert crm.update_calls() - before == 1

    # More events, a sync and its push: nothing new crosses and nothing changed is rewritten
    api.event(email="grace@example.com", type="email_opened", id="o-1")
    sync(api)
    time.sleep(0.3)  # the worker polls every 50 ms
    assert crm.update_calls() - before == 1
    row = api.admin.get(f"/outbox/{crm_rows[0]['id']}").json()
    assert row["result"]["written"][0]["fields"]["leadscore_stage"] == "sql", row


def test_the_state_is_shown_and_secrets_never(api: Api, crm: FakeHubSpot):
    crm.add_person("one@example.com", {"jobtitle": "VP"})
    sync(api)
    listed = api.admin.get("/connectors")
    assert listed.status_code == 200, listed.text
    (hubspot,) = listed.json()
    assert hubspot["records"] == {"contacts": 1}
    assert hubspot["secrets"] == {"access_token": "secrets file", "client_secret": "secrets file"}
    assert hubspot["last_sync"]["status"] == "ok"
    assert "contacts" in hubspot["cursors"]
    for secret in crm.secrets().values():
        assert secret not in listed.text
    assert api.reader.get("/connectors").status_code == 403
    assert api.admin.get("/connectors/salesforce").status_code == 404


def test_hubspot_webhooks_need_hubspot_signature(api: Api, crm: FakeHubSpot):
    contact = crm.add_person("wh@example.com", {"jobtitle": "Engineer"})
    sync(api)
    crm.change_person(contact, {"jobtitle": "VP Engineering"})
    uri = "https://leads.example.com/api/v1/connectors/hubspot/webhook"
    events = [
        {
            "eventId": 1,
            "subscriptionId": 7,
            "portalId": 62515,
            "occurredAt": int(time.time() * 1000),
            "subscriptionType": "contact.propertyChange",
            "attemptNumber": 0,
            "objectId": int(contact),
            "propertyName": "jobtitle",
            "propertyValue": "VP Engineering",
            "changeSource": "CRM",
        }
    ]
    headers, body = crm.webhook_request(events, uri)
    forged = {**headers, "X-HubSpot-Signature-v3": "AAAA" + headers["X-HubSpot-Signature-v3"][4:]}
    refused = api.anon.post("/connectors/hubspot/webhook", content=body, headers=forged)
    assert refused.status_code == 401, refused.text
    lead_id = api.get("/leads")["data"][0]["id"]
    assert api.get(f"/leads/{lead_id}")["attributes"]["job_title"] == "Engineer"

    taken = api.anon.post("/connectors/hubspot/webhook", content=body, headers=headers)
    assert taken.status_code == 200, taken.text
    assert taken.json()["counts"]["updated"] == 1
    assert api.get(f"/leads/{lead_id}")["attributes"]["job_title"] == "VP Engineering"

    stale = crm.webhook_request(events, uri, timestamp_ms=int(time.time() * 1000) - 600_000)
    assert (
        api.anon.post("/connectors/hubspot/webhook", content=stale[1], headers=stale[0]).status_code
        == 401
    )


def test_a_sync_of_an_unconfigured_connector_is_404(api: Api):
    response = api.admin.post("/connectors/pipedrive/sync")
    assert response.status_code == 404, response.text
    assert "not configured" in response.json()["detail"]


def test_an_automation_naming_an_unconfigured_connector_is_refused(api: Api):
    text = AUTOMATIONS.replace("connector: hubspot", "connector: salesforce")
    response = api.admin.post(
        "/automations", content=text, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 422, response.text
    assert "no salesforce connector is configured" in response.text


def test_a_lost_connection_fails_the_job_with_the_reason(api: Api, crm: FakeHubSpot):
    crm.fail_next(100, 503)
    started = api.admin.post("/connectors/hubspot/sync")
    job_id = started.json()["id"]

    def finished():
        job = api.admin.get(f"/jobs/{job_id}").json()
        return job if job["status"] in ("succeeded", "failed") else None

    job = wait_for(finished, "the failed sync", timeout=60)
    assert job["status"] == "failed" and "503" in job["error"], job
    runs = api.admin.get("/connectors/hubspot").json()["runs"]
    assert runs[0]["status"] == "failed" and "503" in runs[0]["error"]
