"""A real server per backend for the dashboard (the API tests' `running`), browsers as httpx
clients with their own cookie jars, and users of each role created through the use case."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from tests import secrets_registry
from tests.api.conftest import (  # the API tests' servers, one per backend
    Api,
    Server,
    database_url,
    postgres_url,
    server,
    sqlite_url,
)

from leadscore.service import users
from leadscore.service.context import wall_clock
from leadscore.testing import scratch

__all__ = ["database_url", "postgres_url", "server", "sqlite_url"]

PASSWORD = "correct horse battery"
secrets_registry.register(PASSWORD)
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """One browser: a cookie jar, no redirects followed (tests read each Location)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=60)

    def csrf(self, path: str = "/leads") -> str:
        """The CSRF token a page of `path` carries in its forms."""
        page = self.http.get(path)
        assert page.status_code == 200, page.text
        return CSRF_FIELD.search(page.text).group(1)

    def login(self, email: str, password: str = PASSWORD, next: str = "/leads") -> httpx.Response:
        form = self.http.get("/login", params={"next": next})
        token = CSRF_FIELD.search(form.text).group(1)
        return self.http.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token, "next": next},
        )

    def close(self) -> None:
        self.http.close()


class Web:
    """The server, the API clients (to load data) and a browser per role, logged in."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.api = Api(server)
        self.browsers: list[Browser] = []
        for role in users.ROLES:
            users.create_user(server.ctx, f"{role}@example.com", PASSWORD, role)

    def browser(self) -> Browser:
        browser = Browser(self.server.base_url)
        self.browsers.append(browser)
        return browser

    def as_role(self, role: str) -> Browser:
        browser = self.browser()
        assert browser.login(f"{role}@example.com").status_code == 303
        return browser

    def close(self) -> None:
        self.api.close()
        for browser in self.browsers:
            browser.close()


@pytest.fixture
def web(server: Server) -> Iterator[Web]:
    scratch.empty(server.ctx.db)
    server.ctx.reset_caches()
    server.ctx.clock = wall_clock
    site = Web(server)
    yield site
    site.close()
    server.ctx.clock = wall_clock
