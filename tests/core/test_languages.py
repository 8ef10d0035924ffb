"""Choosing a language: the tags people write, and a browser's Accept-Language."""

from __future__ import annotations

import pytest

from leadscore.core.languages import babel_locale, best_language, language_tag


@pytest.mark.parametrize(
    ("written", "tag"),
    [
        ("pl", "pl"),
        ("PL", "pl"),
        ("pl-PL", "pl"),
        ("ro_RO", "ro"),
        ("en-GB", "en"),
        ("sr", "sr-Latn"),
        ("sr-Latn", "sr-Latn"),
        ("sr_latn_RS", "sr-Latn"),
        ("sr-Cyrl", "sr-Latn"),
        (" sr-RS ", "sr-Latn"),
    ],
)
def test_a_language_is_known_by_how_people_write_it(written: str, tag: str) -> None:
    assert language_tag(written) == tag


@pytest.mark.parametrize("written", ["de", "", "xx-pl", "srb", "english"])
def test_another_language_is_refused_with_the_choices(written: str) -> None:
    with pytest.raises(ValueError, match=r"one of en, pl, ro, sr-Latn, not"):
        language_tag(written)


@pytest.mark.parametrize(
    ("header", "tag"),
    [
        ("pl-PL,pl;q=0.9,en-US;q=0.8,en;q=0.7", "pl"),
        ("de-DE,de;q=0.9,ro;q=0.8,en;q=0.7", "ro"),  # the best one we have
        ("en;q=0.5, sr-Latn-RS;q=0.9", "sr-Latn"),  # quality, not order
        ("sr-RS", "sr-Latn"),
        ("ro;q=0, pl;q=0.1", "pl"),  # q=0: not acceptable
        ("pl;q=0.5, ro;q=0.5", "pl"),  # equal quality: the header's order
        ("de, fr, *", "en"),
        ("", "en"),
        (None, "en"),
        ("pl;q=abc, ro", "ro"),  # a malformed quality counts as 0
    ],
)
def test_the_browser_language_is_the_best_match(header: str | None, tag: str) -> None:
    assert best_language(header) == tag


def test_babel_names_the_serbian_latin_locale_with_an_underscore() -> None:
    assert babel_locale("sr-Latn") == "sr_Latn" and babel_locale("pl") == "pl"
