"""`make messages`: extract every translatable message (babel.cfg) into `messages.pot` and
merge it into each language's `.po`, new messages untranslated, vanished ones dropped.

Deterministic, so that two branches adding strings merge cleanly and a rerun changes
nothing: fixed header dates, messages in the order of their files, file names without line
numbers. `tests/test_translations.py` uses `extract` to check the catalogues.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from leadscore.core.languages import DEFAULT, LANGUAGES, babel_locale
from leadscore.locales import DOMAIN, HERE, catalogue_path

STAMP = datetime(2026, 12, 7, tzinfo=UTC)
"""The header date of every catalogue (a real date would change on every run)."""
HEADER = "# leadscore's dashboard and e-mails.\n# Distributed under the project's licence.\n#"
"""The comment at the top of each catalogue."""


def extract(root: Path) -> Iterator[tuple[str, int, str | tuple[str, ...], list[str]]]:
    """(file relative to `root`, line, message or (singular, plural), comments) of every
    message babel.cfg's files hold."""
    with (root / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    for filename, lineno, message, comments, _ in extract_from_dir(
        root, method_map, options_map, comment_tags=("TRANSLATORS:",), strip_comment_tags=True
    ):
        yield filename, lineno, message, comments


def template(root: Path) -> Catalog:
    """The catalogue of every message, untranslated (messages.pot)."""
    catalogue = _empty(None)
    for filename, lineno, message, comments in extract(root):
        catalogue.add(message, None, [(filename, lineno)], auto_comments=comments)
    return catalogue


def _empty(locale: str | None) -> Catalog:
    return Catalog(
        locale=locale,
        domain=DOMAIN,
        header_comment=HEADER,
        project="leadscore",
        version="",
        creation_date=STAMP,
        revision_date=STAMP,
        fuzzy=False,
    )


def _write(path: Path, catalogue: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(
            out, catalogue, width=100, sort_by_file=True, ignore_obsolete=True, include_lineno=False
        )


def update(root: Path) -> list[Path]:
    """Write messages.pot and update every language's catalogue; the files written."""
    pot = template(root)
    written = [HERE / f"{DOMAIN}.pot"]
    _write(written[0], pot)
    for tag in LANGUAGES:
        if tag == DEFAULT:
            continue
        path = catalogue_path(tag)
        if path.exists():
            with path.open("rb") as source:
                catalogue = read_po(source, locale=babel_locale(tag), domain=DOMAIN)
        else:
            catalogue = _empty(babel_locale(tag))
        catalogue.update(pot, update_creation_date=False)
        catalogue.creation_date = STAMP
        catalogue.revision_date = STAMP
        _write(path, catalogue)
        written.append(path)
    return written


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    for path in update(root):
        print(path.relative_to(root.resolve()) if path.is_relative_to(root.resolve()) else path)


if __name__ == "__main__":
    main()
