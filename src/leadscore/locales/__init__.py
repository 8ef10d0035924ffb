"""The translations: gettext catalogues (`<locale>/LC_MESSAGES/messages.po`, made and updated
by `make messages`) read when first needed and compiled in memory, so installing needs no
compile step; and `N_`, the marker of a message written in Python and translated where it
is shown.

English is the source language: its messages are the msgids, and it has no catalogue.
"""

from __future__ import annotations

import io
from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from leadscore.core.languages import DEFAULT, LANGUAGES, babel_locale

HERE = Path(__file__).parent
DOMAIN = "messages"


def catalogue_path(tag: str) -> Path:
    """Where the catalogue of a language is (`sr-Latn` → `sr_Latn/LC_MESSAGES/messages.po`)."""
    return HERE / babel_locale(tag) / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(tag: str) -> NullTranslations:
    """The translations of a language we ship (untranslated and fuzzy entries fall back to
    English); English, or a tag we do not know, gets the messages as written."""
    if tag == DEFAULT or tag not in LANGUAGES:
        return NullTranslations()
    path = catalogue_path(tag)
    with path.open("rb") as source:
        catalogue = read_po(source, locale=babel_locale(tag), domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)  # skips fuzzy entries
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


class Text(str):
    """A message written in Python for a page (an error, a notice), marked with `N_`: it
    reads as its English text, and the page shows it translated (see web/rendering.py)."""

    msgid: str
    params: dict[str, object]

    def __new__(cls, msgid: str, params: dict[str, object]) -> Text:
        text = super().__new__(cls, msgid % params)
        text.msgid = msgid
        text.params = params
        return text

    def translated(self, into: NullTranslations) -> str:
        message = into.gettext(self.msgid)
        return message % self.params


def N_(msgid: str, **params: object) -> Text:  # noqa: N802  # the name gettext tools know
    """Mark `msgid` for translation (the extractor finds `N_("…")`); `%(name)s` placeholders
    are filled from `params` after translating, and a percent sign is written `%%`, as in
    the templates."""
    return Text(msgid, params)
