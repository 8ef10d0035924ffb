"""Failed-authentication limits (OWASP API4, API2): an address that sends
LEADSCORE_AUTH_FAIL_LIMIT wrong keys (or wrong dashboard passwords) within the window gets
429 with Retry-After until the cool-down ends, before its next guess is checked; a key
verified a moment ago still works from there, other addresses are not affected, and after
the cool-down all is as before. Over real sockets, from two loopback addresses."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from tests import secrets_registry
from tests.api.conftest import Server, running

from leadscore.service import keys, users
from leadscore.settings import Settings
from leadscore.testing import scratch

LIMIT = 5
WINDOW = 1.5
PASSWORD = "a long enough password 1"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def limited(sqlite_url: str) -> Iterator[Server]:
    settings = Settings(
        database_url=sqlite_url, auth_fail_limit=LIMIT, auth_fail_window_seconds=WINDOW
    )
    with running(settings) as server:
        scratch.empty(server.ctx.db)
        yield server


def client(server: Server, key: str | None, source: str = "127.0.0.1") -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url + "/api/v1",
        headers={"Authorization": f"Bearer {key}"} if key else {},
        transport=httpx.HTTPTransport(local_address=source),
    )


def test_wrong_keys_from_one_address_are_cooled_down(limited: Server) -> None:
    good = keys.create_key(limited.ctx, "good", "read")
    later = keys.create_key(limited.ctx, "later", "read")
    secrets_registry.register(good, later)
    with (
        client(limited, good) as reader,
        client(limited, "lsk_wrong-guess-000000") as guesser,
        client(limited, "lsk_wrong-guess-000000", source="127.0.0.2") as elsewhere,
        client(limited, later) as newcomer,
        client(limited, None) as anonymous,
    ):
        assert reader.get("/leads").status_code == 200
        for _ in range(LIMIT):
            assert guesser.get("/leads").status_code == 401
        cooled = guesser.get("/leads")
        assert cooled.status_code == 429, cooled.text
        wait = int(cooled.headers["retry-after"])
        assert 1 <= wait <= WINDOW + 1
        assert "too many failed authentications" in cooled.json()["detail"]
        for _ in range(20):  # the key verified a moment ago is unaffected
            assert reader.get("/leads").status_code == 200
        assert newcomer.get("/leads").status_code == 429  # unverified keys wait too
        assert anonymous.get("/leads").status_code == 401  # no key: nothing to guess
        assert elsewhere.get("/leads").status_code == 401  # another address: its own count
        time.sleep(WINDOW + 0.1)
        assert guesser.get("/leads").status_code == 401
        assert newcomer.get("/leads").status_code == 200


def log_in(http: httpx.Client, password: str) -> httpx.Response:
    form = http.get("/login")
    match = CSRF_FIELD.search(form.text)
    assert match, form.text
    data = {"email": "boss@example.com", "password": password, "csrf_token": match.group(1)}
    return http.post("/login", data=data)


def test_wrong_dashboard_passwords_are_cooled_down(sqlite_url: str) -> None:
    """(A password check takes a while by design, so the window is long here: the end of a
    cool-down is the same code as for keys, tested above.)"""
    settings = Settings(database_url=sqlite_url, auth_fail_limit=3, auth_fail_window_seconds=60)
    with running(settings) as server:
        scratch.empty(server.ctx.db)
        users.create_user(server.ctx, "boss@example.com", PASSWORD, "admin")
        secrets_registry.register(PASSWORD)
        with httpx.Client(base_url=server.base_url, follow_redirects=False) as browser:
            assert log_in(browser, PASSWORD).status_code == 303  # success is not counted
            browser.cookies.clear()  # logged out again
            for _ in range(3):
                assert log_in(browser, "wrong password!").status_code == 401
            cooled = log_in(browser, PASSWORD)  # even the right one waits
            assert cooled.status_code == 429, cooled.text
            assert 50 <= int(cooled.headers["retry-after"]) <= 60
            assert "Too many failed logins" in cooled.text
            assert cooled.headers["x-frame-options"] == "DENY"
