"""Every message of the dashboard and the e-mails is translated in every catalogue: the
messages are extracted as `make messages` extracts them (babel.cfg, babel's extractors), and
each must be in each language's `.po`, translated (every plural form), not fuzzy, with the
same placeholders as the English. A failure names the file, the line and the message."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from leadscore.core.languages import DEFAULT, LANGUAGES, babel_locale
from leadscore.locales import DOMAIN, HERE, catalogue_path
from leadscore.locales.update import extract, template
from leadscore.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = [tag for tag in LANGUAGES if tag != DEFAULT]


def catalogue(tag: str):
    with catalogue_path(tag).open("rb") as source:
        return read_po(source, locale=babel_locale(tag), domain=DOMAIN)


def test_the_extraction_finds_the_pages_python_and_e_mails() -> None:
    found = {(Path(f).name, m if isinstance(m, str) else m[0]) for f, _, m, _ in extract(ROOT)}
    assert ("login.html", "Log in") in found
    assert ("routes.py", "Wrong e-mail or password.") in found  # N_ in Python
    assert ("notify.txt", "Top reasons") in found
    assert ("digest.txt", "%(num)s lead") in found  # ngettext
    assert len(found) > 250


@pytest.mark.parametrize("tag", TRANSLATED)
def test_every_message_is_translated(tag: str) -> None:
    translations = catalogue(tag)
    plurals = translations.num_plurals
    problems = []
    for filename, line, message, _ in extract(ROOT):
        key = message if isinstance(message, str) else message[0]
        entry = translations.get(key)
        where = f"{filename}:{line}: {key!r}"
        if entry is None:
            problems.append(f"{where} is not in {tag} (run `make messages`, then translate)")
        elif entry.fuzzy:
            problems.append(f"{where} is fuzzy in {tag}")
        elif isinstance(message, tuple) and (
            not isinstance(entry.string, tuple)
            or len(entry.string) != plurals
            or not all(entry.string)
        ):
            problems.append(f"{where} needs {plurals} plural forms in {tag}: {entry.string!r}")
        elif not entry.string or (isinstance(entry.string, tuple) and not all(entry.string)):
            problems.append(f"{where} is untranslated in {tag}")
    assert not problems, "\n".join(problems)


PLACEHOLDER = re.compile(r"%\(\w+\)s")


def placeholders(text: str) -> set[str]:
    """The `%(name)s` of a message; ValueError for a lone `%`, which formatting would reject
    (a percent sign is written `%%`)."""
    if "%" in PLACEHOLDER.sub("", text).replace("%%", ""):
        raise ValueError("a lone %: write %% for a percent sign")
    return set(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("tag", TRANSLATED)
def test_translations_keep_the_placeholders(tag: str) -> None:
    """Every `%(name)s` of the English is in each translation, and nothing else is."""
    errors = []
    for message in catalogue(tag):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set().union(*(placeholders(i) for i in ids))
        for form in forms:
            try:
                found = placeholders(form)
            except ValueError as exc:
                errors.append(f"{tag}: {ids[0]!r} → {form!r}: {exc}")
                continue
            if form and found != expected:
                errors.append(f"{tag}: {ids[0]!r} → {form!r}: {sorted(found)} ≠ {sorted(expected)}")
    assert not errors, "\n".join(errors)


def test_the_template_is_current_and_make_messages_is_deterministic() -> None:
    """messages.pot is what the extraction gives today (so a branch adding strings shows them
    in its diff) and writing it twice gives the same bytes."""
    first, second = io.BytesIO(), io.BytesIO()
    for out in (first, second):
        write_po(
            out,
            template(ROOT),
            width=100,
            sort_by_file=True,
            ignore_obsolete=True,
            include_lineno=False,
        )
    assert first.getvalue() == second.getvalue()
    assert (HERE / f"{DOMAIN}.pot").read_bytes() == first.getvalue(), "run `make messages`"


def test_the_e_mail_language_setting_offers_the_languages_we_ship() -> None:
    choices = Settings.model_fields["language"].annotation.__args__
    assert tuple(choices) == tuple(LANGUAGES)
