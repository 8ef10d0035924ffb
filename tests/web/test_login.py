"""Logging in and out of the dashboard, over a real socket: the cookie's flags, one answer
for every wrong login, redirects to the login page with a local `next` only, CSRF on every
form, roles, and logout ending the session for good."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from tests.api.conftest import running
from tests.web.conftest import CSRF_FIELD, PASSWORD, Browser, Web
from typer.testing import CliRunner

from leadscore.cli import app
from leadscore.service import users
from leadscore.settings import Settings


def session_cookie(response) -> str:
    """The Set-Cookie header that sets the session."""
    found = [
        v for v in response.headers.get_list("set-cookie") if v.startswith("leadscore_session=")
    ]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


def test_login_sets_an_http_only_lax_session_cookie(web: Web) -> None:
    browser = web.browser()
    assert browser.http.get("/leads").status_code == 303
    response = browser.login("viewer@example.com", next="/leads?tier=hot")
    assert response.status_code == 303 and response.headers["location"] == "/leads?tier=hot"
    cookie = session_cookie(response)
    flags = [f.strip().lower() for f in cookie.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "max-age=43200" in flags  # LEADSCORE_SESSION_HOURS: 12 by default
    assert "secure" not in flags  # served over http: a Secure cookie would never come back
    page = browser.http.get("/leads")
    assert page.status_code == 200 and "viewer@example.com" in page.text


def test_the_cookie_is_secure_behind_https(tmp_path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'https.db'}",
        public_url="https://leads.example.com",
        session_hours=2,
    )
    with running(settings) as server:
        users.create_user(server.ctx, "ops@example.com", PASSWORD, "viewer")
        browser = Browser(server.base_url)
        form = browser.http.get("/login")
        assert "secure" in form.headers["set-cookie"].lower()  # the login CSRF cookie too
        token = CSRF_FIELD.search(form.text).group(1)
        # httpx sends no Secure cookie to an http:// server; send it by hand.
        try:
            response = browser.http.post(
                "/login",
                data={"email": "ops@example.com", "password": PASSWORD, "csrf_token": token},
                headers={"Cookie": f"leadscore_login_csrf={token}"},
            )
        finally:
            browser.close()
    flags = [f.strip().lower() for f in session_cookie(response).split(";")]
    assert response.status_code == 303
    assert "secure" in flags and "max-age=7200" in flags and "httponly" in flags


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(web: Web) -> None:
    answers = []
    for email, password in [
        ("viewer@example.com", "not the password"),
        ("nobody@example.com", PASSWORD),
        ("not an address", PASSWORD),
    ]:
        response = web.browser().login(email, password)
        assert response.status_code == 401
        assert not any(
            v.startswith("leadscore_session=") for v in response.headers.get_list("set-cookie")
        )
        body = CSRF_FIELD.sub("", response.text)  # each form has its own token
        assert "Wrong e-mail or password." in body
        answers.append(body.replace(f'value="{email}"', ""))
    assert answers[0] == answers[1] == answers[2]
    for hint in ("no such user", "unknown", "password is wrong", "not registered"):
        assert hint not in answers[0].lower()


def test_a_page_without_a_session_redirects_to_the_login(web: Web) -> None:
    browser = web.browser()
    response = browser.http.get("/leads", params={"stage": "mql"})
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login" and parse_qs(location.query)["next"] == ["/leads?stage=mql"]
    htmx = browser.http.get("/leads", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/login?next=")
    assert browser.http.get("/").headers["location"] == "/leads"
    # A made-up cookie is no session.
    browser.http.cookies.set("leadscore_session", "forged")
    assert browser.http.get("/leads/L1").status_code == 303


@pytest.mark.parametrize(
    "target", ["//evil.com", "https://evil.com/", "/\\evil.com", "//evil.com/leads", "leads"]
)
def test_next_accepts_only_local_paths(web: Web, target: str) -> None:
    browser = web.browser()
    form = browser.http.get("/login", params={"next": target})
    assert 'name="next" value="/leads"' in form.text
    response = browser.login("viewer@example.com", next=target)
    assert response.status_code == 303 and response.headers["location"] == "/leads"
    # Logged in, /login?next=… sends the browser on, still only to local paths.
    again = browser.http.get("/login", params={"next": target})
    assert again.headers["location"] == "/leads"


def test_next_keeps_a_local_path(web: Web) -> None:
    response = web.browser().login("viewer@example.com", next="/leads/L%201?x=1")
    assert response.headers["location"] == "/leads/L%201?x=1"


def test_a_post_without_the_csrf_token_is_refused(web: Web) -> None:
    browser = web.as_role("admin")
    token = browser.csrf()
    assert browser.http.post("/logout").status_code == 403
    assert browser.http.post("/logout", data={"csrf_token": "x" * len(token)}).status_code == 403
    assert browser.http.post("/logout", headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert browser.http.get("/leads").status_code == 200  # still logged in
    # Another session's token is not this one's.
    other = web.as_role("admin").csrf()
    assert other != token
    assert browser.http.post("/logout", data={"csrf_token": other}).status_code == 403
    # The login form has its own token (in a cookie and the form): posted without it, 403.
    fresh = web.browser()
    refused = fresh.http.post("/login", data={"email": "admin@example.com", "password": PASSWORD})
    assert refused.status_code == 403 and "leadscore_session" not in refused.headers.get(
        "set-cookie", ""
    )
    # htmx sends the token in a header, from hx-headers on <body>.
    page = browser.http.get("/leads").text
    assert re.search(r"<body hx-headers='\{\"X-CSRF-Token\": \"" + re.escape(token), page)
    assert browser.http.post("/logout", headers={"X-CSRF-Token": token}).status_code == 303


def test_logout_ends_the_session(web: Web) -> None:
    browser = web.as_role("viewer")
    cookie = browser.http.cookies["leadscore_session"]
    response = browser.http.post("/logout", data={"csrf_token": browser.csrf()})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert 'leadscore_session=""' in response.headers["set-cookie"]
    replay = Browser(web.server.base_url)
    replay.http.cookies.set("leadscore_session", cookie)
    assert replay.http.get("/leads").status_code == 303  # the old cookie is dead
    replay.close()


def test_a_viewer_cannot_override_a_score_a_manager_can(web: Web) -> None:
    web.api.model()
    web.api.lead(id="L1", attributes={"industry": "software"})
    before = web.api.get("/leads/L1")["score"]
    viewer = web.as_role("viewer")
    token = viewer.csrf("/leads/L1")
    assert "Add points" not in viewer.http.get("/leads/L1").text
    refused = viewer.http.post(
        "/leads/L1/overrides", data={"points": "10", "reason": "met", "csrf_token": token}
    )
    assert refused.status_code == 403 and "manager" in refused.text
    assert web.api.get("/leads/L1")["score"] == before
    manager = web.as_role("manager")
    done = manager.http.post(
        "/leads/L1/overrides",
        data={"points": "10", "reason": "met at a fair", "csrf_token": manager.csrf("/leads/L1")},
    )
    assert done.status_code == 303 and done.headers["location"] == "/leads/L1"
    lead = web.api.get("/leads/L1")
    assert lead["score"] == before + 10  # points are added after the parts are combined
    assert lead["overrides"][0]["author"] == "manager@example.com"


def test_settings_are_for_admins(web: Web) -> None:
    assert web.as_role("manager").http.get("/settings").status_code == 403
    page = web.as_role("admin").http.get("/settings")
    assert (
        page.status_code == 200 and "<h1>Settings</h1>" in page.text and "coming" not in page.text
    )


def test_user_create_stores_an_argon2_hash(web: Web, database_url: str) -> None:
    runner = CliRunner()
    env = {"LEADSCORE_DATABASE_URL": database_url}
    secret = "a long pass phrase"
    created = runner.invoke(
        app,
        ["user", "create", "--email", " Ana@Example.COM ", "--role", "manager"],
        input=secret + "\n",
        env=env,
    )
    assert created.exit_code == 0, created.output
    assert "ana@example.com (manager)" in created.stdout and secret not in created.output
    with web.server.ctx.db.read() as conn:
        stored = conn.scalar(
            text("SELECT password_hash FROM users WHERE email = 'ana@example.com'")
        )
    assert stored.startswith("$argon2id$") and secret not in stored
    assert PasswordHasher().verify(stored, secret)
    listed = runner.invoke(app, ["user", "list"], env=env)
    assert "ana@example.com" in listed.stdout and "$argon2" not in listed.stdout
    assert web.browser().login("ana@example.com", secret).status_code == 303
    again = runner.invoke(
        app, ["user", "create", "--email", "ana@example.com"], input="x" * 20 + "\n", env=env
    )
    assert again.exit_code == 2 and "exists" in again.stderr
    short = runner.invoke(
        app, ["user", "create", "--email", "b@example.com"], input="short\n", env=env
    )
    assert short.exit_code == 2 and "at least 8 characters" in short.stderr
    bad_role = runner.invoke(
        app,
        ["user", "create", "--email", "c@example.com", "--role", "root"],
        input=secret + "\n",
        env=env,
    )
    assert bad_role.exit_code == 2 and "viewer" in bad_role.stderr
