"""The languages the dashboard and the e-mails speak, and picking one from what a browser
asks for. Pure: the catalogues themselves are read by `leadscore.locales`.

A language is kept as a BCP 47 tag (`en`, `pl`, `ro`, `sr-Latn`): what `<html lang>` wants
and what a user's `language` column holds. Babel names the same locales with an underscore
(`sr_Latn`).
"""

from __future__ import annotations

DEFAULT = "en"
LANGUAGES: dict[str, str] = {
    "en": "English",
    "pl": "Polski",
    "ro": "Română",
    "sr-Latn": "Srpski (latinica)",
}
"""Each language by its tag, with its name in itself (what a reader looks for in a list)."""

_ALIASES = {"sr": "sr-Latn", "sr-latn": "sr-Latn", "sr-latn-rs": "sr-Latn", "sr-rs": "sr-Latn"}


def language_tag(value: str) -> str:
    """The tag of a language we ship, from how people write it (`PL`, `pl-PL`, `sr_Latn`,
    `sr`); ValueError naming the choices otherwise."""
    text = value.strip().replace("_", "-")
    lowered = text.lower()
    if lowered in _ALIASES:
        return _ALIASES[lowered]
    for tag in LANGUAGES:
        if lowered == tag.lower() or lowered.split("-")[0] == tag and tag != "sr-Latn":
            return tag
    if lowered.split("-")[0] == "sr":
        return "sr-Latn"  # sr-Cyrl readers read the Latin script too; it is what we have
    choices = ", ".join(LANGUAGES)
    raise ValueError(f"language must be one of {choices}, not {value!r}")


def babel_locale(tag: str) -> str:
    """Babel's name of a language tag: `sr-Latn` → `sr_Latn`."""
    return tag.replace("-", "_")


def best_language(accept_language: str | None) -> str:
    """The language a browser prefers among ours (RFC 9110 `Accept-Language`: the highest
    `q` first, the header's order between equals), English when none of them is asked for."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "")[:2000].split(",")):
        fields = part.strip().split(";")
        name = fields[0].strip()
        quality = 1.0
        for param in fields[1:]:
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if not name or name == "*" or not quality > 0:
            continue
        ranked.append((-quality, index, name))
    for _, _, name in sorted(ranked):
        try:
            return language_tag(name)
        except ValueError:
            continue
    return DEFAULT
