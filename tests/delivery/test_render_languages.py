"""E-mails and Slack messages in the language asked for: the templates' texts from the
catalogue, plural forms, the decimal sign of scores, `<html lang>`; English unchanged."""

from __future__ import annotations

import pytest

from leadscore.delivery.errors import DeliveryError
from leadscore.delivery.render import render, render_slack

from .conftest import LEAD, NOTIFY, digest


def test_the_notify_mail_in_polish() -> None:
    mail = render("notify", NOTIFY, language="pl")
    assert mail.subject == "Anna Nowak (Acme): score crossed 85 upwards — wynik 87,5, hot"
    assert "Wynik: 87,5 (było 80, +7,5)\n" in mail.text
    assert "Dopasowanie: 40 · Zaangażowanie: 47,5\n" in mail.text
    assert "Główne powody\n+30  demo_booked (engagement)\n+12,5  pricing_page" in mail.text
    assert "Otwórz leada: http://127.0.0.1:8000/leads/L1" in mail.text
    assert mail.text.endswith("automatyzacja hot-lead-alert (wersja 3)\n")
    assert '<html lang="pl">' in mail.html and ">Otwórz leada</a>" in mail.html
    for part in (mail.subject, mail.text, mail.html):
        assert "Top reasons" not in part and "score 87.5" not in part


def test_the_digest_counts_leads_with_each_language_plural_forms() -> None:
    owner = {"id": "jan", "name": "Jan Kowalski", "email": "jan@demo.example"}
    expected = {
        ("pl", 1): "1 lead do przejrzenia",
        ("pl", 3): "3 leady do przejrzenia",
        ("pl", 5): "5 leadów do przejrzenia",
        ("ro", 3): "3 leaduri de văzut",
        ("ro", 21): "21 de leaduri de văzut",
        ("sr-Latn", 21): "21 lid za pregled",
        ("sr-Latn", 3): "3 lida za pregled",
        ("sr-Latn", 5): "5 lidova za pregled",
        ("en", 5): "5 leads to look at",
    }
    for (language, count), words in expected.items():
        leads = [{**LEAD, "id": f"L{i}"} for i in range(count)]
        mail = render("digest", digest(leads, owner), language=language)
        assert mail.subject.startswith(words), (language, count, mail.subject)


def test_slack_text_in_romanian_is_still_escaped() -> None:
    payload = {**NOTIFY, "lead": {**NOTIFY["lead"], "name": "<!channel> Ann & Co"}}
    text = render_slack("notify", payload, language="ro")
    assert "&lt;!channel&gt; Ann &amp; Co" in text and "<!channel>" not in text
    assert "Scor *87,5* (era 80) · potrivire 40 · implicare 47,5 · calificativ A" in text


def test_serbian_is_asked_for_as_people_write_it() -> None:
    assert "Skor: 87,5" in render("notify", NOTIFY, language="sr").text


def test_an_unknown_language_is_a_permanent_error_naming_the_choices() -> None:
    with pytest.raises(DeliveryError, match="one of en, pl, ro, sr-Latn, not 'de'") as raised:
        render("notify", NOTIFY, language="de")
    assert not raised.value.retryable
