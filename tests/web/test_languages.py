"""The dashboard speaks the user's language over a real socket: their choice, else the
browser's Accept-Language; text, numbers and dates of the page in that language; the language
form (every role, for themselves, CSRF-protected); messages written in Python translated."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from babel.dates import format_datetime
from babel.numbers import format_decimal
from tests.web.conftest import CSRF_FIELD, PASSWORD, Browser, Web

from leadscore.service import users
from leadscore.service.errors import Invalid


def as_user(web: Web, email: str, role: str, language: str | None) -> Browser:
    users.create_user(web.server.ctx, email, PASSWORD, role, language)
    browser = web.browser()
    assert browser.login(email).status_code == 303
    return browser


def language_of(web: Web, email: str) -> str | None:
    return next(u["language"] for u in users.list_users(web.server.ctx) if u["email"] == email)


def scored_lead(web: Web) -> float:
    """A lead whose score has a decimal (an override of 2.5 points) and an event."""
    web.api.model()
    web.api.lead(id="L1", email="l1@acme.io", attributes={"industry": "software"})
    web.api.event(lead_id="L1", type="demo_booked")
    manager = web.as_role("manager")
    added = manager.http.post(
        "/leads/L1/overrides",
        data={"points": "2.5", "reason": "fair", "csrf_token": manager.csrf("/leads/L1")},
    )
    assert added.status_code == 303
    score = web.api.get("/leads/L1")["score"]
    assert score % 1 == 0.5
    return score


def test_a_polish_user_reads_polish_text_numbers_and_dates(web: Web) -> None:
    score = scored_lead(web)
    event = web.api.get("/leads/L1/events")["data"][0]
    moment = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
    page = as_user(web, "ola@example.com", "viewer", "pl").http.get("/leads/L1")
    assert page.status_code == 200
    text = page.text
    assert '<html lang="pl">' in text
    assert "<h2>Skąd ten wynik</h2>" in text and "Ostatnie zdarzenia, od najnowszych" in text
    assert "Why this score" not in text and "The latest events" not in text
    polish = format_decimal(score, "#,##0.##", locale="pl")
    assert "," in polish and f'id="score">{polish}</dd>' in text
    assert f'id="total">{polish}</td>' in text
    when = format_datetime(moment, "medium", tzinfo=UTC, locale="pl")
    assert when != format_datetime(moment, "medium", tzinfo=UTC, locale="en")
    assert f">{when}</time>" in text
    # the same page for a user who chose English
    english = as_user(web, "en@example.com", "viewer", "en").http.get("/leads/L1").text
    assert '<html lang="en">' in english and "Why this score" in english
    assert f'id="score">{score:g}</dd>' in english and "Skąd ten wynik" not in english


def test_the_browser_language_applies_when_the_user_chose_none(web: Web) -> None:
    viewer = web.as_role("viewer")  # no language of their own
    answers = {
        "ro-RO,ro;q=0.9,en;q=0.5": ('lang="ro"', "Scor, cele mai fierbinți întâi"),
        "sr-Latn-RS,sr;q=0.9": ('lang="sr-Latn"', "Skor, najtopliji prvo"),
        "de-DE,de;q=0.9": ('lang="en"', "Score, hottest first"),
    }
    for header, (lang, caption) in answers.items():
        page = viewer.http.get("/leads", headers={"Accept-Language": header})
        assert page.status_code == 200 and f"<html {lang}>" in page.text, header
        assert caption in page.text, header
    login = web.browser().http.get("/login", headers={"Accept-Language": "pl-PL,pl"})
    assert '<html lang="pl">' in login.text and "<h1>Zaloguj się</h1>" in login.text
    # a user's own choice wins over the browser's
    ola = as_user(web, "ola@example.com", "viewer", "pl")
    page = ola.http.get("/leads", headers={"Accept-Language": "ro"})
    assert '<html lang="pl">' in page.text and "Wynik, od najgorętszych" in page.text


def test_a_wrong_login_is_told_in_the_browser_language(web: Web) -> None:
    browser = web.browser()
    headers = {"Accept-Language": "ro"}
    form = browser.http.get("/login", headers=headers)
    token = CSRF_FIELD.search(form.text).group(1)
    wrong = browser.http.post(
        "/login",
        data={"email": "viewer@example.com", "password": "nope", "csrf_token": token},
        headers=headers,
    )
    assert wrong.status_code == 401 and "E-mail sau parolă greșită." in wrong.text


def test_a_viewer_chooses_their_own_language_with_the_csrf_token(web: Web) -> None:
    viewer = web.as_role("viewer")
    account = viewer.http.get("/account")
    assert account.status_code == 200 and '<label for="language">' in account.text
    refused = viewer.http.post("/account/language", data={"language": "pl"})
    assert refused.status_code == 403 and language_of(web, "viewer@example.com") is None
    token = viewer.csrf("/account")
    done = viewer.http.post("/account/language", data={"language": "pl", "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == "/account?saved=language"
    assert language_of(web, "viewer@example.com") == "pl"
    saved = viewer.http.get("/account?saved=language", headers={"Accept-Language": "ro"})
    assert "Język został zapisany." in saved.text and '<html lang="pl">' in saved.text
    assert '<option value="pl" lang="pl" selected>Polski</option>' in saved.text
    # an unknown language is refused and changes nothing
    bad = viewer.http.post("/account/language", data={"language": "xx", "csrf_token": token})
    assert bad.status_code == 422 and "Ten język nie jest dostępny." in bad.text
    assert language_of(web, "viewer@example.com") == "pl"
    # the empty choice goes back to the browser's language
    viewer.http.post("/account/language", data={"language": "", "csrf_token": token})
    assert language_of(web, "viewer@example.com") is None
    back = viewer.http.get("/account", headers={"Accept-Language": "sr"})
    assert (
        '<html lang="sr-Latn">' in back.text and "Kao u pregledaču (Srpski (latinica))" in back.text
    )
    # another user's language is not touched
    assert language_of(web, "admin@example.com") is None


def test_messages_written_in_python_are_translated(web: Web) -> None:
    ola = as_user(web, "ola@example.com", "viewer", "pl")
    web.api.model()
    web.api.lead(id="L1", attributes={"industry": "software"})
    token = ola.csrf("/leads/L1")
    refused = ola.http.post(
        "/leads/L1/overrides", data={"points": "1", "reason": "x", "csrf_token": token}
    )
    assert refused.status_code == 403 and "Do tego potrzebna jest rola manager." in refused.text
    no_token = ola.http.post("/account/language", data={"language": "ro"})
    assert "Brak tokenu CSRF formularza" in no_token.text
    admin = as_user(web, "ion@example.com", "admin", "ro")
    unnamed = admin.http.post(
        "/settings/keys",
        data={"name": "", "scope_read": "on", "csrf_token": admin.csrf("/settings")},
    )
    assert unnamed.status_code == 422 and "Dați un nume cheii." in unnamed.text


def test_user_create_refuses_an_unknown_language(web: Web) -> None:
    with pytest.raises(Invalid, match="language must be one of en, pl, ro, sr-Latn"):
        users.create_user(web.server.ctx, "x@example.com", PASSWORD, "viewer", "klingon")
    assert all(u["email"] != "x@example.com" for u in users.list_users(web.server.ctx))
    users.create_user(web.server.ctx, "y@example.com", PASSWORD, "viewer", "sr")
    assert language_of(web, "y@example.com") == "sr-Latn"


def test_an_admin_creates_a_user_with_a_language(web: Web) -> None:
    admin = web.as_role("admin")
    token = admin.csrf("/settings")
    form = {"email": "nou@example.com", "role": "viewer", "csrf_token": token}
    form |= {"password": PASSWORD, "password2": PASSWORD}
    bad = admin.http.post("/settings/users", data={**form, "language": "tlh"})
    assert bad.status_code == 422 and 'id="user_language-error"' in bad.text
    assert "language must be one of en, pl, ro, sr-Latn" in bad.text
    assert all(u["email"] != "nou@example.com" for u in users.list_users(web.server.ctx))
    done = admin.http.post("/settings/users", data={**form, "language": "ro"})
    assert done.status_code == 303 and language_of(web, "nou@example.com") == "ro"
    listed = admin.http.get("/settings").text
    assert '<span lang="ro">Română</span>' in listed
    newcomer = web.browser()
    assert newcomer.login("nou@example.com").status_code == 303
    assert "Scor, cele mai fierbinți întâi" in newcomer.http.get("/leads").text
