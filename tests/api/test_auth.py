"""API keys and scopes (§9): 401 without a valid key, 403 without the scope, admin implies
the others (write does not imply read); keys are stored hashed; docs and health need none."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from leadscore.service import keys
from leadscore.store.tables import api_keys

YAML = {"Content-Type": "application/yaml"}
ENDPOINTS = [  # method, path, body, the scope it needs
    ("GET", "/leads", None, "read"),
    ("GET", "/leads/L1", None, "read"),
    ("GET", "/leads/L1/events", None, "read"),
    ("GET", "/leads/L1/history", None, "read"),
    ("GET", "/leads/L1/score", None, "read"),
    ("GET", "/models", None, "read"),
    ("POST", "/leads", {"id": "L1"}, "write"),
    ("POST", "/events", {"lead_id": "L1", "type": "x"}, "write"),
    ("POST", "/outcomes", {"lead_id": "L1", "outcome": "lost"}, "write"),
    ("POST", "/leads/L1/overrides", {"points": 1, "reason": "r"}, "write"),
    ("DELETE", "/leads/L1/overrides/1", None, "write"),
    ("POST", "/models", "name: x\ncombine: sum\n", "admin"),
    ("POST", "/models/1/activate", None, "admin"),
    ("POST", "/models/1/rollback", None, "admin"),
]


def call(client: httpx.Client, method: str, path: str, body):
    if isinstance(body, str):
        return client.request(method, path, content=body, headers=YAML)
    return client.request(method, path, json=body)


@pytest.mark.parametrize(("method", "path", "body", "scope"), ENDPOINTS)
def test_every_endpoint_needs_a_key_with_its_scope(api, method, path, body, scope) -> None:
    missing = call(api.anon, method, path, body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = httpx.Client(base_url=api.anon.base_url, headers={"Authorization": "Bearer nope"})
    with wrong:
        assert call(wrong, method, path, body).status_code == 401
    allowed = {scope, "admin"}  # write does not imply read: an ingest-only key reads nothing
    for name, client in (("read", api.reader), ("write", api.writer), ("admin", api.admin)):
        status = call(client, method, path, body).status_code
        if name in allowed:
            assert status not in (401, 403), (name, status)
        else:
            assert status == 403, (name, status)


def test_keys_are_stored_hashed_and_revocable(api) -> None:
    with api.ctx.db.read() as conn:
        stored = conn.execute(select(api_keys.c.name, api_keys.c.key_hash)).all()
    assert all(len(h) == 64 and h != api.keys[n.split("-")[0]] for n, h in stored)
    assert dict(stored)["read-key"] == keys.hash_key(api.keys["read"])
    keys.revoke_key(api.ctx, "read-key")
    assert api.reader.get("/leads").status_code == 401


def test_docs_and_openapi_are_open(api) -> None:
    base = api.server.base_url
    spec = httpx.get(f"{base}/openapi.json").json()
    assert "/api/v1/events" in spec["paths"] and "EventBatch" in spec["components"]["schemas"]
    assert httpx.get(f"{base}/docs").status_code == 200
    root = httpx.get(f"{base}/", follow_redirects=False)  # the dashboard (issue 13), not /docs
    assert root.status_code == 303 and root.headers["location"] == "/leads"
