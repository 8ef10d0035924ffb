"""A mapped endpoint of one's own (no preset): an HMAC (SHA-512, base64, prefixed) over the
body or a token, a list of items at a path, event names mapped with unmapped ones refused,
times in epoch milliseconds; over real sockets on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from tests.sources.webhooks.conftest import SECRETS, counts, install, send

SOURCES = """
webhooks:
  webinars:
    verify: {kind: hmac, header: X-Tool-Signature, algorithm: sha512, encoding: base64, prefix: "sha512="}
    secret: env:TOOL_SECRET
    mapping:
      items: events
      email: attendee.email
      event_type:
        path: kind
        values: {attended: webinar_attended, registered: webinar_registered}
        unmapped: refuse
      occurred_at: {path: at, format: epoch_ms}
      event_id: id
      properties: {title: webinar.title, minutes: minutes?}
      attributes: {company: attendee.company?}
      create: [webinar_registered]
  forms:
    verify: {kind: token, header: X-Api-Token}
    secret: env:TOOL_SECRET
    source: site-forms
    mapping:
      email: contact.email
      event_type: form_submitted
      properties: {form: form.name}
"""


def webinar_batch(*kinds: str) -> dict:
    return {
        "batch": "b-1",
        "events": [
            {
                "id": f"e{i}",
                "kind": kind,
                "at": 1764579600123 + i,
                "attendee": {"email": "kim@acme.io", "company": "Acme"},
                "webinar": {"title": "Scoring 101"},
                "minutes": 42 if kind == "attended" else None,
            }
            for i, kind in enumerate(kinds)
        ],
    }


def signed(data: dict, secret: str = SECRETS["TOOL_SECRET"]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(data).encode()
    mac = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha512).digest()).decode()
    return body, {"X-Tool-Signature": f"sha512={mac}", "Content-Type": "application/json"}


def test_hmac_mapping_writes_each_item(scored) -> None:
    install(scored, SOURCES)
    body, headers = signed(webinar_batch("registered", "attended"))
    response = send(scored, "POST", "/sources/webhooks/webinars", body, headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["stored"], answer["results"][0]["created"]) == (2, True)
    lead = scored.get(f"/leads/{answer['results'][0]['lead_id']}")
    assert lead["attributes"]["company"] == "Acme"
    events = scored.get(f"/leads/{lead['id']}/events")["data"]
    attended = next(e for e in events if e["type"] == "webinar_attended")
    assert attended["occurred_at"] == "2025-12-01T09:00:00.124000Z"
    assert attended["properties"] == {"title": "Scoring 101", "minutes": 42}
    assert attended["id"] == "webinars:webinar_attended:e1"


def test_hmac_mismatch_and_missing_header_are_401(scored) -> None:
    install(scored, SOURCES)
    body, headers = signed(webinar_batch("registered"), secret="someone-else")
    forged = send(scored, "POST", "/sources/webhooks/webinars", body, headers)
    assert forged.status_code == 401 and "does not match" in forged.json()["detail"]
    bare = send(scored, "POST", "/sources/webhooks/webinars", body, {})
    assert bare.status_code == 401 and "no X-Tool-Signature header" in bare.json()["detail"]
    tampered_body, good_headers = signed(webinar_batch("registered"))
    tampered = send(
        scored, "POST", "/sources/webhooks/webinars", tampered_body + b" ", good_headers
    )
    assert tampered.status_code == 401
    assert counts(scored) == (0, 0)


def test_an_unmapped_event_name_refuses_the_whole_delivery(scored) -> None:
    install(scored, SOURCES)
    body, headers = signed(webinar_batch("registered", "left-early"))
    response = send(scored, "POST", "/sources/webhooks/webinars", body, headers)
    assert response.status_code == 400, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "events[1]", "kind"]
    assert "'left-early' is not a mapped event name" in detail["msg"]
    assert counts(scored) == (0, 0)  # the first, good item was not written either


def test_a_value_the_api_refuses_is_400_and_nothing_is_written(scored) -> None:
    install(scored, SOURCES)
    batch = webinar_batch("registered", "attended")
    batch["events"][1]["attendee"]["email"] = "not an address"
    body, headers = signed(batch)
    response = send(scored, "POST", "/sources/webhooks/webinars", body, headers)
    assert response.status_code == 400, response.text
    assert response.json()["detail"][0]["loc"][:2] == ["submissions", 1]
    assert counts(scored) == (0, 0)


def test_token_endpoint_and_digest_ids_make_replays_duplicates(scored) -> None:
    install(scored, SOURCES)
    body = json.dumps({"contact": {"email": "ada@x.io"}, "form": {"name": "Contact us"}}).encode()
    token = {"X-Api-Token": SECRETS["TOOL_SECRET"], "Content-Type": "application/json"}
    first = send(scored, "POST", "/sources/webhooks/forms", body, token)
    assert first.status_code == 200 and first.json()["stored"] == 1
    again = send(scored, "POST", "/sources/webhooks/forms", body, token)
    assert again.json()["duplicates"] == 1
    assert counts(scored) == (1, 1)
    event = scored.get(f"/leads/{first.json()['results'][0]['lead_id']}/events")["data"][0]
    assert event["source"] == "site-forms" and event["properties"] == {"form": "Contact us"}
    wrong = send(scored, "POST", "/sources/webhooks/forms", body, {"X-Api-Token": "nope"})
    assert wrong.status_code == 401 and "wrong token" in wrong.json()["detail"]


def test_a_body_that_is_not_json_is_400(scored) -> None:
    install(scored, SOURCES)
    body = b"{not json"
    token = {"X-Api-Token": SECRETS["TOOL_SECRET"]}
    response = send(scored, "POST", "/sources/webhooks/forms", body, token)
    assert response.status_code == 400
    assert "not JSON" in response.json()["detail"][0]["msg"]
    assert counts(scored) == (0, 0)


def test_an_unset_secret_is_a_503_naming_it(api) -> None:
    install(api, SOURCES.replace("env:TOOL_SECRET", "env:NOT_SET_ANYWHERE", 1))
    body, headers = signed(webinar_batch("registered"))
    response = send(api, "POST", "/sources/webhooks/webinars", body, headers)
    assert response.status_code == 503
    assert "NOT_SET_ANYWHERE" in response.json()["detail"]
