"""The analytics page in Polish, Romanian and Serbian (Latin): the costs, revenue, lifetime
value, calibration and version choice read in the user's language, and the page still renders
its figures (a translation that broke a placeholder would fail the rendering)."""

from __future__ import annotations

import pytest
from tests.web.conftest import Web
from tests.web.test_analytics import PERIOD, load
from tests.web.test_languages import as_user

PAGES = {
    "pl": (
        "Źródła i kampanie: leady, przychód, koszt i ROI",
        "Ostatnie wyniki według wersji modelu 1",
        "nie wczytano kosztów",
        "Wartość życiowa klienta",
        "Aktywny model nie uwzględnia żadnego modelu predykcyjnego",
    ),
    "ro": (
        "Surse și campanii: leaduri, venit, cost și ROI",
        "Ultimul scor dat de versiunea de model 1",
        "niciun cost încărcat",
        "Valoarea clientului pe durata de viață",
        "Modelul activ nu include niciun model predictiv",
    ),
    "sr-Latn": (
        "Izvori i kampanje: lidovi, prihod, trošak i ROI",
        "Poslednji skor po verziji modela 1",
        "nema učitanih troškova",
        "Životna vrednost klijenta",
        "Aktivni model ne uključuje nijedan prediktivni model",
    ),
}

VERSION_NOTE = {
    "pl": "ocenione przez wersję modelu 1: 64",
    "ro": "cărora versiunea de model 1 le-a dat scor: 64",
    "sr-Latn": "koje je ocenila verzija modela 1: 64",
}


@pytest.mark.parametrize("language", sorted(PAGES))
def test_the_analytics_page_speaks_the_users_language(web: Web, language: str) -> None:
    load(web)
    browser = as_user(web, f"{language}@example.com", "viewer", language)
    page = browser.http.get("/analytics", params=PERIOD)
    assert page.status_code == 200 and f'<html lang="{language}">' in page.text
    for text in PAGES[language]:
        assert text in page.text, text
    assert "Sources and campaigns" not in page.text and "lifetime value" not in page.text
    by_version = browser.http.get("/analytics", params={**PERIOD, "version": "1"})
    assert by_version.status_code == 200 and VERSION_NOTE[language] in by_version.text
