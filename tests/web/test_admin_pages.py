"""The automations and settings pages over a real socket on SQLite and PostgreSQL: the active
automations in words, the outbox with a failed row retried (htmx swaps the row) and refused
to a viewer, the connectors (an invalid file shown as an error, Sync now for admins, a sync
already running said so); API keys shown once then only by name, revoked after a confirmation
and refused by the API; users created and their roles changed; owners added; every form
refused to the wrong role and answered with errors beside the fields."""

from __future__ import annotations

import time
from html import unescape

import pytest
from tests.web.conftest import Browser, Web

from leadscore.service import automations, jobs, keys
from leadscore.store import jobs as stored_jobs

FAILING = """
version: 1
automations:
  - name: hook-on-create
    description: tells the intake service
    when: {lead_created: {}}
    actions:
      - webhook: {url: "http://127.0.0.1:9/hook", secret_env: LEADSCORE_TEST_NEVER_SET_SECRET}
  - name: hot-mail
    when: {score_crossed: {threshold: 85}}
    actions:
      - notify: {email: {to: [sales@example.com], to_owner: true}}
"""


def csrf_of(browser: Browser, path: str) -> str:
    return browser.csrf(path)


def failed_row(web: Web) -> int:
    """An outbox row the worker failed: a webhook whose signing secret is not set."""
    automations.upload(web.server.ctx, FAILING, "test", activate=True)
    web.api.model()
    web.api.lead(id="fails", email="fails@acme.io")
    deadline = time.monotonic() + 30
    while True:
        failed = web.api.get("/outbox", status="failed")["data"]
        if failed:
            return int(failed[0]["id"])
        assert time.monotonic() < deadline, web.api.get("/outbox")
        time.sleep(0.1)


def test_the_automations_page_and_a_retried_outbox_row(web: Web) -> None:
    row = failed_row(web)
    viewer = web.as_role("viewer")
    page = viewer.http.get("/automations")
    assert page.status_code == 200, page.text
    text = unescape(page.text)
    assert "Version 1 is active." in text
    assert "hook-on-create" in text and "a lead is created" in text
    assert "webhook to http://127.0.0.1:9/hook" in text
    assert "score crosses 85 upwards" in text and "e-mail sales@example.com, the owner" in text
    assert f'id="outbox-{row}"' in page.text and 'id="count-failed">1<' in page.text
    assert "LEADSCORE_TEST_NEVER_SET_SECRET" in text  # the last error
    assert "/retry" not in page.text  # no Retry button for a viewer
    assert "No CRM connector is configured" in text
    token = csrf_of(viewer, "/automations")
    refused = viewer.http.post(f"/automations/outbox/{row}/retry", data={"csrf_token": token})
    assert refused.status_code == 403

    manager = web.as_role("manager")
    fragment = manager.http.get(
        "/automations", params={"status": "failed"}, headers={"HX-Request": "true"}
    )
    assert fragment.text.startswith('<div id="outbox-table"') and "<html" not in fragment.text
    assert f'hx-post="/automations/outbox/{row}/retry"' in fragment.text
    delivered = manager.http.get(
        "/automations", params={"status": "delivered"}, headers={"HX-Request": "true"}
    )
    assert f'id="outbox-{row}"' not in delivered.text and "No outbox rows." in delivered.text
    no_token = manager.http.post(f"/automations/outbox/{row}/retry")
    assert no_token.status_code == 403
    token = csrf_of(manager, "/automations")
    swapped = manager.http.post(
        f"/automations/outbox/{row}/retry",
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert swapped.status_code == 200
    assert swapped.text.startswith(f'<tr id="outbox-{row}" class="status-pending">')
    assert web.api.get(f"/outbox/{row}")["status"] in ("pending", "delivering", "failed")
    # A row that is not failed is not retried: the row says why, still swapped in place.
    deadline = time.monotonic() + 30
    while web.api.get(f"/outbox/{row}")["status"] != "failed":  # fails again: no secret
        assert time.monotonic() < deadline
        time.sleep(0.1)
    again = manager.http.post(f"/automations/outbox/{row}/retry", data={"csrf_token": token})
    assert again.status_code == 303 and again.headers["location"].startswith("/automations")
    twice = manager.http.post(
        f"/automations/outbox/{row}/retry",
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert twice.status_code == 200 and "only a failed row is retried" in twice.text
    missing = manager.http.post("/automations/outbox/999999/retry", data={"csrf_token": token})
    assert missing.status_code == 404


def test_no_active_automations(web: Web) -> None:
    page = web.as_role("viewer").http.get("/automations")
    assert page.status_code == 200 and "No automations are active" in page.text


@pytest.fixture
def connectors_file(web: Web, tmp_path, monkeypatch):
    """Point the running server at a connectors file the test writes."""
    ctx = web.server.ctx
    path = tmp_path / "connectors.yaml"
    monkeypatch.setattr(
        ctx, "settings", ctx.settings.model_copy(update={"connectors_file": str(path)})
    )
    ctx.extras.pop("connectors", None)
    yield path
    ctx.extras.pop("connectors", None)


def test_an_invalid_connectors_file_is_shown_not_a_500(web: Web, connectors_file) -> None:
    connectors_file.write_text("hubspot: {sync_every: sometimes, colour: blue}\n")
    page = web.as_role("viewer").http.get("/automations")
    assert page.status_code == 200
    text = unescape(page.text)
    assert "The connectors cannot be read" in text and "colour" in text
    assert str(connectors_file) in text


def test_connectors_and_sync_now(web: Web, connectors_file) -> None:
    connectors_file.write_text("hubspot: {sync_every: null}\n")
    manager = web.as_role("manager")
    page = manager.http.get("/automations")
    assert page.status_code == 200 and 'id="connector-hubspot"' in page.text
    assert "Sync hubspot now" not in page.text  # admins only
    assert "access_token: missing" in unescape(page.text)
    token = csrf_of(manager, "/automations")
    url = "/automations/connectors/hubspot/sync"
    assert manager.http.post(url, data={"csrf_token": token}).status_code == 403

    admin = web.as_role("admin")
    token = csrf_of(admin, "/automations")
    assert "Sync hubspot now" in admin.http.get("/automations").text
    queued = admin.http.post(url, data={"csrf_token": token})
    assert queued.status_code == 303, queued.text
    shown = admin.http.get(queued.headers["location"])
    assert "A sync of hubspot is queued as job" in shown.text

    unconfigured = admin.http.post(
        "/automations/connectors/pipedrive/sync", data={"csrf_token": token}
    )
    assert unconfigured.status_code == 409 and "not configured" in unconfigured.text

    # Another process holds a sync of hubspot (a real queued job with a live lease): refused
    ctx = web.server.ctx
    wait_until_no_active_sync(ctx)
    created, _ = stored_jobs.create(
        ctx.db,
        job_id="abc123",
        kind="sync_hubspot",
        params={"connector": "hubspot", "full": False},
        created_by="another process",
        now=ctx.now(),
        holder="another-host:1",
        ttl=3_600_000_000,
        expired="expired",
    )
    assert created
    refused = admin.http.post(url, data={"csrf_token": token})
    assert refused.status_code == 409
    assert "A sync of hubspot is already queued (job abc123)." in unescape(refused.text)


def wait_until_no_active_sync(ctx, timeout: float = 20.0) -> None:
    """The sync queued above fails fast (no access token); wait for it to end."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(j["status"] in ("succeeded", "failed") for j in jobs.recent(ctx, 20)):
            return
        time.sleep(0.05)
    raise AssertionError("the queued sync did not end")


def test_settings_are_for_admins_only(web: Web) -> None:
    for role in ("viewer", "manager"):
        browser = web.as_role(role)
        assert browser.http.get("/settings").status_code == 403
        token = csrf_of(browser, "/leads")
        for path, data in [
            ("/settings/keys", {"name": "x", "scope_read": "on"}),
            ("/settings/keys/revoke", {"name": "read-key"}),
            ("/settings/users", {"email": "a@b.io", "role": "admin", "password": "x" * 9}),
            ("/settings/users/role", {"email": f"{role}@example.com", "role": "admin"}),
            ("/settings/owners", {"id": "o", "name": "O"}),
        ]:
            reply = browser.http.post(path, data={**data, "csrf_token": token})
            assert reply.status_code == 403, (role, path)
    anonymous = web.browser().http.get("/settings")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert not any(k["revoked"] for k in keys.list_keys(web.server.ctx))


def test_an_api_key_is_shown_once_then_revoked(web: Web) -> None:
    admin = web.as_role("admin")
    page = admin.http.get("/settings")
    assert page.status_code == 200 and '<label for="key_name">' in page.text
    assert 'id="key_name" name="name" type="text" value="" required maxlength="200">' in page.text
    token = csrf_of(admin, "/settings")
    no_token = admin.http.post("/settings/keys", data={"name": "ci", "scope_read": "on"})
    assert no_token.status_code == 403
    empty = admin.http.post("/settings/keys", data={"csrf_token": token, "name": " "})
    assert empty.status_code == 422
    assert 'id="key_name-error">Give the key a name.' in empty.text
    assert 'id="key_scopes-error">Choose at least one scope.' in empty.text

    made = admin.http.post(
        "/settings/keys",
        data={"csrf_token": token, "name": "ci", "scope_read": "on", "scope_write": "on"},
    )
    assert made.status_code == 201
    key = next(w for w in made.text.replace('"', " ").split() if w.startswith(keys.PREFIX))
    assert "read, write" in made.text
    api = web.api.anon
    assert api.get("/leads", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    listed = admin.http.get("/settings")
    assert ">ci</th>" in listed.text and key not in listed.text  # only the name, never again
    taken = admin.http.post(
        "/settings/keys", data={"csrf_token": token, "name": "ci", "scope_read": "on"}
    )
    assert taken.status_code == 409 and "exists" in unescape(taken.text)

    confirm = admin.http.get("/settings/keys/revoke", params={"name": "ci"})
    assert confirm.status_code == 200 and "Revoke the API key ci?" in confirm.text
    assert admin.http.get("/settings/keys/revoke", params={"name": "nope"}).status_code == 404
    revoked = admin.http.post("/settings/keys/revoke", data={"csrf_token": token, "name": "ci"})
    assert revoked.status_code == 303
    assert "revoked" in admin.http.get(revoked.headers["location"]).text
    assert api.get("/leads", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    again = admin.http.post("/settings/keys/revoke", data={"csrf_token": token, "name": "ci"})
    assert again.status_code == 404


def test_users_and_roles(web: Web) -> None:
    admin = web.as_role("admin")
    token = csrf_of(admin, "/settings")
    base = {"csrf_token": token, "email": "New@Example.com", "role": "manager"}
    differ = admin.http.post(
        "/settings/users", data={**base, "password": "a" * 10, "password2": "b" * 10}
    )
    assert (
        differ.status_code == 422
        and 'id="user_password2-error">The two passwords differ.' in differ.text
    )
    assert 'value="New@Example.com"' in differ.text and "a" * 10 not in differ.text
    short = admin.http.post(
        "/settings/users", data={**base, "password": "short", "password2": "short"}
    )
    assert short.status_code == 422 and 'id="user_password-error"' in short.text
    bad = admin.http.post(
        "/settings/users",
        data={**base, "email": "nope", "password": "p" * 10, "password2": "p" * 10},
    )
    assert bad.status_code == 422 and 'id="user_email-error"' in bad.text
    made = admin.http.post(
        "/settings/users", data={**base, "password": "p" * 10, "password2": "p" * 10}
    )
    assert made.status_code == 303
    assert ">new@example.com</th>" in admin.http.get("/settings").text
    newcomer = web.browser()
    assert newcomer.login("new@example.com", "p" * 10).status_code == 303
    assert newcomer.http.get("/settings").status_code == 403
    taken = admin.http.post(
        "/settings/users", data={**base, "password": "p" * 10, "password2": "p" * 10}
    )
    assert taken.status_code == 409

    role = admin.http.post(
        "/settings/users/role",
        data={"csrf_token": token, "email": "new@example.com", "role": "admin"},
    )
    assert role.status_code == 303
    assert newcomer.http.get("/settings").status_code == 200  # the role applies at once
    for email in ("new@example.com",):
        admin.http.post(
            "/settings/users/role", data={"csrf_token": token, "email": email, "role": "viewer"}
        )
    last = admin.http.post(
        "/settings/users/role",
        data={"csrf_token": token, "email": "admin@example.com", "role": "viewer"},
    )
    assert last.status_code == 409 and "the last admin keeps the admin role" in last.text
    wrong = admin.http.post(
        "/settings/users/role",
        data={"csrf_token": token, "email": "new@example.com", "role": "god"},
    )
    assert wrong.status_code == 409
    nobody = admin.http.post(
        "/settings/users/role",
        data={"csrf_token": token, "email": "x@example.com", "role": "viewer"},
    )
    assert nobody.status_code == 404


def test_owners_and_teams(web: Web) -> None:
    web.api.admin.post("/owners", json={"id": "ana@acme.io", "name": "Ana"})
    web.api.admin.post("/teams", json={"name": "emea", "members": ["ana@acme.io"]})
    admin = web.as_role("admin")
    page = admin.http.get("/settings")
    assert ">ana@acme.io</th>" in page.text and ">emea</th>" in page.text
    token = csrf_of(admin, "/settings")
    form = {"csrf_token": token, "id": "bo@acme.io", "name": "Bo", "email": "bo@acme.io"}
    bad = admin.http.post("/settings/owners", data={**form, "capacity": "-1"})
    assert bad.status_code == 422 and 'id="owner_capacity-error"' in bad.text
    assert 'value="bo@acme.io"' in bad.text
    made = admin.http.post("/settings/owners", data={**form, "capacity": "12"})
    assert made.status_code == 303
    owner = web.api.get("/owners/bo@acme.io")
    assert owner["capacity"] == 12 and owner["email"] == "bo@acme.io"
    taken = admin.http.post("/settings/owners", data={**form, "capacity": ""})
    assert taken.status_code == 409 and 'id="owner_id-error"' in taken.text
    nameless = admin.http.post("/settings/owners", data={**form, "id": "cy", "name": ""})
    assert nameless.status_code == 422 and 'id="owner_name-error"' in nameless.text
