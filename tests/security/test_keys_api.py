"""API keys over the API (OWASP API2, API5): an admin creates a key and sees it once, lists
keys without ever a key or a hash, and revokes one, which stops working at once in this
process although keys are trusted for LEADSCORE_API_KEY_CACHE_SECONDS (5 s) once verified —
the single-event shortcut of POST /events included."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from tests import secrets_registry

from leadscore.service import keys
from leadscore.settings import Settings
from leadscore.store.tables import api_keys, audit_log


def client(site, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=site.server.base_url + "/api/v1", headers={"Authorization": f"Bearer {key}"}
    )


def test_a_key_is_shown_once_listed_without_its_hash_and_revoked_at_once(site) -> None:
    assert (
        site.ctx.settings.api_key_cache_seconds
        == Settings.model_fields["api_key_cache_seconds"].default
    )
    made = site.admin.post("/keys", json={"name": "ci-reader", "scopes": ["read"]})
    assert made.status_code == 201, made.text
    body = made.json()
    key = body["key"]
    secrets_registry.register(key)
    assert key.startswith(keys.PREFIX) and len(key) > 40
    assert set(body) == {"name", "scopes", "created_at", "key"}
    assert body["name"] == "ci-reader" and body["scopes"] == ["read"]
    assert made.headers["cache-control"] == "no-store"
    with site.ctx.db.read() as conn:
        stored = conn.execute(select(api_keys).where(api_keys.c.name == "ci-reader")).one()
    assert stored.key_hash == keys.hash_key(key) and key not in str(tuple(stored))

    with client(site, key) as reader:
        assert reader.get("/leads").status_code == 200  # verified: trusted for 5 s now
        assert reader.post("/leads", json={"id": "L1"}).status_code == 403
        listed = site.admin.get("/keys")
        assert listed.status_code == 200
        assert key not in listed.text and keys.hash_key(key) not in listed.text
        mine = [k for k in listed.json() if k["name"] == "ci-reader"]
        assert mine == [
            {
                "name": "ci-reader",
                "scopes": ["read"],
                "created_at": body["created_at"],
                "revoked": False,
            }
        ]
        again = site.admin.post("/keys", json={"name": "ci-reader", "scopes": ["admin"]})
        assert again.status_code == 409

        gone = site.admin.delete("/keys/ci-reader")
        assert gone.status_code == 204 and gone.content == b""
        assert reader.get("/leads").status_code == 401  # within the 5 s: evicted, not cached
    assert site.admin.delete("/keys/ci-reader").status_code == 404  # revoked already
    assert site.admin.delete("/keys/nobody").status_code == 404
    listed = {k["name"]: k for k in site.admin.get("/keys").json()}
    assert listed["ci-reader"]["revoked"] is True
    with site.ctx.db.read() as conn:
        actions = conn.execute(
            select(audit_log.c.action, audit_log.c.actor).where(audit_log.c.target == "ci-reader")
        ).all()
    assert sorted(actions) == [("apikey.create", "admin-key"), ("apikey.revoke", "admin-key")]


def test_a_revoked_key_stops_at_once_on_the_event_shortcut(site) -> None:
    site.model()
    site.lead(id="L1")
    made = site.admin.post("/keys", json={"name": "ingest", "scopes": ["write"]}).json()
    secrets_registry.register(made["key"])
    event = {"lead_id": "L1", "type": "email_opened"}
    with client(site, made["key"]) as writer:
        for _ in range(3):  # the second and later are answered by the shortcut (cached key)
            assert writer.post("/events", json=event).status_code in (200, 201)
        assert site.admin.delete("/keys/ingest").status_code == 204
        refused = writer.post("/events", json=event)
        assert refused.status_code == 401, refused.text


def test_a_bad_key_request_names_the_field_and_writes_nothing(site) -> None:
    before = site.admin.get("/keys").json()
    for body, field in (
        ({"name": "x", "scopes": ["root"]}, "scopes"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "a/b", "scopes": ["read"]}, "name"),
        ({"name": "", "scopes": ["read"]}, "name"),
        ({"scopes": ["read"]}, "name"),
        ({"name": "x", "scopes": ["read"], "key": "lsk_chosen"}, "key"),
    ):
        answer = site.admin.post("/keys", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert any(field in problem["loc"] for problem in answer.json()["detail"]), answer.text
    assert site.admin.get("/keys").json() == before
