"""Meta Lead Ads over real sockets: the verify-token handshake, X-Hub-Signature-256, the
leadgen change and the lead read from (a local) Graph API.

Payloads follow Meta's pages: the webhook body of
https://developers.facebook.com/docs/graph-api/webhooks/getting-started (object: page,
entry[].changes[] with field leadgen and leadgen_id, form_id, ad_id, adgroup_id, page_id,
created_time) and the Lead node of
https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving (field_data).
"""

from __future__ import annotations

import time

from tests.sources.conftest import (
    ENVIRON,
    SOURCES,
    Sources,
    dumps,
    problem_fields,
    sign,
)

from leadscore.core.sources import load_sources_text
from leadscore.service.sources import use

SECRET = ENVIRON["META_APP_SECRET"]


def delivery(leadgen_id: str | None, form_id: str = "9001", **value: object) -> bytes:
    change = {
        "leadgen_id": leadgen_id,
        "page_id": "516540199134611",
        "form_id": form_id,
        "adgroup_id": "23851111111110183",
        "ad_id": "23851111111120183",
        "created_time": int(time.time()) - 5,
        **value,
    }
    body = {
        "object": "page",
        "entry": [
            {
                "id": "516540199134611",
                "time": int(time.time()),
                "changes": [{"field": "leadgen", "value": change}],
            }
        ],
    }
    return dumps(body)


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + sign(secret, body)}


def add_lead(sources: Sources, leadgen_id: str, email: str) -> None:
    sources.graph.add_lead(
        leadgen_id,
        "9001",
        {
            "email": email,
            "first_name": "Tom",
            "last_name": "Cook",
            "company_name": "Cook & Co",
            "budget_range": "10k-50k",
            "how_did_you_hear": "podcast",
            "marketing_ok": "Yes",
        },
        ad={
            "ad_id": "23851111111120183",
            "ad_name": "Spring demo",
            "adset_id": "23851111111110183",
            "campaign_id": "23851111111100183",
            "campaign_name": "Spring",
        },
    )


def configured_text(sources: Sources) -> str:
    return SOURCES.format(graph=sources.graph.url, linkedin=sources.linkedin.url)


def test_handshake_echoes_the_challenge_as_text(sources: Sources) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": ENVIRON["META_VERIFY_TOKEN"],
        "hub.challenge": "1158201444",
    }
    ok = sources.api.anon.get("/sources/meta", params=params)
    assert ok.status_code == 200
    assert ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    wrong = sources.api.anon.get("/sources/meta", params={**params, "hub.verify_token": "x"})
    assert wrong.status_code == 401  # the verify token is the handshake's credential
    assert wrong.json()["detail"] == "hub.mode or hub.verify_token does not match"


def test_a_lead_is_stored_with_its_campaign_ad_and_form(sources: Sources) -> None:
    add_lead(sources, "55459717045641545", "tom.cook@example.org")
    body = delivery("55459717045641545")
    reply = sources.post("meta", body, signed(body))
    assert reply.status_code == 200, reply.text
    assert reply.json()["stored"] == 1
    lead = sources.lead("tom.cook@example.org")
    attributes = lead["attributes"]
    assert attributes["first_name"] == "Tom"
    assert attributes["company"] == "Cook & Co"
    assert attributes["budget"] == "10k-50k"  # the form's own field map
    assert attributes["channel"] == "facebook"  # the form's constant attribute
    assert lead["consent"]["basis"] == "consent"
    (event,) = sources.events_of(lead["id"])
    assert event["type"] == "form_submitted"
    assert event["id"] == "meta:55459717045641545"
    props = event["properties"]
    assert props["form_id"] == "9001"
    assert props["campaign_id"] == "23851111111100183"
    assert props["campaign_name"] == "Spring"
    assert props["ad_id"] == "23851111111120183"
    assert props["page_id"] == "516540199134611"
    assert props["how_did_you_hear"] == "podcast"  # unmapped: kept as a property
    (call,) = sources.graph.calls_to("GET", "/v21.0/55459717045641545")
    assert "appsecret_proof=" in call.query
    assert ENVIRON["META_ACCESS_TOKEN"] not in call.query


def test_a_bad_signature_is_401_and_reads_and_stores_nothing(sources: Sources) -> None:
    add_lead(sources, "1001", "bad.sig@example.org")
    body = delivery("1001")
    for headers in (signed(body, "not-the-secret"), {}, {"X-Hub-Signature-256": "sha1=abc"}):
        reply = sources.post("meta", body, headers)
        assert reply.status_code == 401, reply.text
    assert sources.counts() == (0, 0)
    assert sources.graph.calls_to("GET", "/") == []


def test_a_replay_is_a_duplicate(sources: Sources) -> None:
    add_lead(sources, "1002", "twice@example.org")
    body = delivery("1002")
    first = sources.post("meta", body, signed(body)).json()
    again = sources.post("meta", body, signed(body)).json()
    assert (first["stored"], again["stored"], again["duplicates"]) == (1, 0, 1)
    assert sources.counts() == (1, 1)


def test_a_malformed_delivery_is_400_naming_the_field(sources: Sources) -> None:
    body = delivery(None)
    reply = sources.post("meta", body, signed(body))
    assert reply.status_code == 400, reply.text
    assert any(f.endswith("value.leadgen_id") for f in problem_fields(reply))
    not_json = b"{entry"
    reply = sources.post("meta", not_json, signed(not_json))
    assert reply.status_code == 400
    assert sources.counts() == (0, 0)


def test_graph_errors_answer_503_so_that_meta_delivers_again(sources: Sources) -> None:
    body = delivery("404404404")  # Graph: "Object with ID ... does not exist" (code 100)
    reply = sources.post("meta", body, signed(body))
    assert reply.status_code == 503
    assert "does not exist" in reply.json()["detail"]
    add_lead(sources, "1004", "later@example.org")
    body = delivery("1004")
    sources.graph.fail_next(1, 500)
    assert sources.post("meta", body, signed(body)).status_code == 503
    assert sources.counts() == (0, 0)
    assert sources.post("meta", body, signed(body)).status_code == 200  # the retry
    assert sources.counts() == (1, 1)


def test_a_body_over_max_body_bytes_is_413(sources: Sources) -> None:
    body = delivery("1005", padding="x" * 5000)
    reply = sources.post("meta", body, signed(body))
    assert reply.status_code == 413
    assert sources.counts() == (0, 0)


def test_a_wrong_page_token_is_503_with_graphs_message(sources: Sources) -> None:
    environ = {**ENVIRON, "META_ACCESS_TOKEN": "EAAB-revoked-token"}
    use(sources.api.ctx, load_sources_text(configured_text(sources)), environ)
    add_lead(sources, "1006", "token@example.org")
    body = delivery("1006")
    reply = sources.post("meta", body, signed(body))
    assert reply.status_code == 503
    assert "Invalid OAuth access token" in reply.json()["detail"]
    assert sources.counts() == (0, 0)


def test_a_platform_not_configured_is_unsigned(sources: Sources) -> None:
    """Nothing can verify a delivery for a platform the file does not configure: 401, as
    every signed route answers what it cannot verify (tests/api/test_auth.py)."""
    use(sources.api.ctx, load_sources_text("lead_forms: {}\n"), ENVIRON)
    body = delivery("1007")
    refused = sources.post("meta", body, signed(body))
    assert refused.status_code == 401
    assert "lead_forms.meta is not configured" in refused.json()["detail"]
    assert sources.counts() == (0, 0)
    # the handshake has no verify token to check: unsigned, as every signed route
    handshake = sources.api.anon.get("/sources/meta", params={"hub.mode": "subscribe"})
    assert handshake.status_code == 401
