"""Google Ads lead form webhooks and TikTok lead webhooks over real sockets.

Google's payload is the WebhookLead of
https://developers.google.com/google-ads/webhook/docs/implementation (lead_id, api_version,
form_id, campaign_id, google_key, is_test, gcl_id, adgroup_id, creative_id and
user_column_data of column_id / column_name / string_value).

TikTok's is the envelope of https://developers.tiktok.com/doc/webhooks-events (client_key,
event, create_time, user_openid, `content` as a serialized JSON string) signed as
https://developers.tiktok.com/doc/webhooks-verification says (TikTok-Signature
`t=TIMESTAMP,s=HEX`, the HMAC-SHA256 of `TIMESTAMP.BODY` with the client secret). The lead
inside `content` (lead_id, form_id, the ad's ids, answers) is our reading of TikTok's lead
event; docs/sources.md says so.
"""

from __future__ import annotations

import json
import time

import pytest
from tests.sources.conftest import ENVIRON, Sources, dumps, problem_fields, sign

KEY = ENVIRON["GOOGLE_KEY"]


def google_lead(lead_id: str, email: str, **extra: object) -> dict[str, object]:
    return {
        "lead_id": lead_id,
        "api_version": "1.0",
        "form_id": 7001,
        "campaign_id": 19283746,
        "google_key": KEY,
        "is_test": False,
        "gcl_id": "EAIaIQobChMI-test-gclid",
        "adgroup_id": 1122334455,
        "creative_id": 667788990011,
        "user_column_data": [
            {"column_name": "Full Name", "string_value": "Grace Hopper", "column_id": "FULL_NAME"},
            {"column_name": "User Email", "string_value": email, "column_id": "EMAIL"},
            {"column_name": "Company", "string_value": "Navy", "column_id": "COMPANY_NAME"},
            {"column_name": "How many seats?", "string_value": "40", "column_id": "HOW_MANY_SEATS"},
            {"column_name": "Preferred time", "string_value": "mornings", "column_id": "PREF_TIME"},
        ],
        **extra,
    }


def test_google_stores_the_lead_with_its_campaign_and_form(sources: Sources) -> None:
    reply = sources.post("google", dumps(google_lead("TeSter-123-ABCD", "grace@example.org")))
    assert reply.status_code == 200, reply.text
    lead = sources.lead("grace@example.org")
    assert lead["attributes"]["name"] == "Grace Hopper"
    assert lead["attributes"]["company"] == "Navy"
    assert lead["attributes"]["seats"] == "40"  # the form's own field map
    (event,) = sources.events_of(lead["id"])
    assert event["id"] == "google:TeSter-123-ABCD"
    assert event["type"] == "form_submitted"
    props = event["properties"]
    assert (props["form_id"], props["campaign_id"], props["adgroup_id"]) == (
        "7001",
        "19283746",
        "1122334455",
    )
    assert props["creative_id"] == "667788990011"
    assert props["gclid"] == "EAIaIQobChMI-test-gclid"
    assert props["PREF_TIME"] == "mornings"  # unmapped: kept


def test_google_a_wrong_or_missing_key_is_401(sources: Sources) -> None:
    for key in ("not-the-key", None):
        body = google_lead("L-1", "k@example.org", google_key=key)
        assert sources.post("google", dumps(body)).status_code == 401
    assert sources.counts() == (0, 0)


def test_google_replay_test_leads_malformed_and_too_large(sources: Sources) -> None:
    body = dumps(google_lead("L-2", "r@example.org"))
    assert sources.post("google", body).json()["stored"] == 1
    assert sources.post("google", body).json()["duplicates"] == 1
    test = sources.post("google", dumps(google_lead("L-3", "t@example.org", is_test=True)))
    assert test.status_code == 200 and test.json()["test_leads_skipped"] == 1
    bad = google_lead("L-4", "m@example.org", user_column_data=[{"string_value": "x"}])
    reply = sources.post("google", dumps(bad))
    assert reply.status_code == 400
    assert "body.user_column_data.0.column_id" in problem_fields(reply)
    big = google_lead("L-5", "big@example.org", padding="x" * 5000)
    assert sources.post("google", dumps(big)).status_code == 413
    assert sources.counts() == (1, 1)


SECRET = ENVIRON["TIKTOK_SECRET"]


def tiktok_body(lead_id: str | None, email: str) -> bytes:
    content = {
        "lead_id": lead_id,
        "advertiser_id": "7000000000000000001",
        "campaign_id": "1780000000000001",
        "adgroup_id": "1780000000000002",
        "ad_id": "1780000000000003",
        "form_id": "7200000000000004",
        "create_time": int(time.time()) - 3,
        "answers": [
            {"name": "email", "value": email},
            {"name": "name", "value": "Linus T"},
            {"name": "company_name", "value": "Kernel Ltd"},
            {"name": "favourite_editor", "value": "vim"},
        ],
    }
    envelope = {
        "client_key": "bwo2m45353a6k85",
        "event": "lead.created",
        "create_time": int(time.time()),
        "user_openid": "act.example12345Example12345Example",
        "content": json.dumps(content),
    }
    return dumps(envelope)


def tiktok_signed(body: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if at is None else at)
    return {"TikTok-Signature": f"t={stamp},s={sign(secret, stamp.encode() + b'.' + body)}"}


def test_tiktok_stores_the_lead(sources: Sources) -> None:
    body = tiktok_body("7300000000000005", "linus@example.org")
    reply = sources.post("tiktok", body, tiktok_signed(body))
    assert reply.status_code == 200, reply.text
    lead = sources.lead("linus@example.org")
    assert lead["attributes"]["company"] == "Kernel Ltd"
    (event,) = sources.events_of(lead["id"])
    assert event["id"] == "tiktok:7300000000000005"
    props = event["properties"]
    assert props["campaign_id"] == "1780000000000001"
    assert props["ad_id"] == "1780000000000003"
    assert props["form_id"] == "7200000000000004"
    assert props["favourite_editor"] == "vim"
    assert sources.post("tiktok", body, tiktok_signed(body)).json()["duplicates"] == 1
    assert sources.counts() == (1, 1)


@pytest.mark.parametrize("case", ["wrong secret", "missing", "stale"])
def test_tiktok_a_bad_or_stale_signature_is_401(sources: Sources, case: str) -> None:
    body = tiktok_body("7300000000000006", "bad@example.org")
    headers = {
        "wrong secret": tiktok_signed(body, "wrong"),
        "missing": {},
        "stale": tiktok_signed(body, at=int(time.time()) - 3600),
    }[case]
    assert sources.post("tiktok", body, headers).status_code == 401
    assert sources.counts() == (0, 0)


def test_tiktok_malformed_and_too_large(sources: Sources) -> None:
    body = tiktok_body(None, "m@example.org")
    reply = sources.post("tiktok", body, tiktok_signed(body))
    assert reply.status_code == 400
    assert "body.content.lead_id" in problem_fields(reply)
    big = b'{"event": "lead.created", "pad": "' + b"x" * 5000 + b'"}'
    assert sources.post("tiktok", big, tiktok_signed(big)).status_code == 413
    assert sources.counts() == (0, 0)
