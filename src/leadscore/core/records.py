"""The inputs of the scorer: a lead and its events, with how conditions read their fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

FREE_EMAIL_DOMAINS = frozenset(
    (
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "yahoo.co.in",
        "ymail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "fastmail.com",
        "hey.com",
        "tutanota.com",
        "t-online.de",
        "orange.fr",
        "free.fr",
        "libero.it",
        "laposte.net",
        "rediffmail.com",
    )
)
"""Consumer mailbox providers (SPEC §2.1 `email_is_free`); documented in docs/scoring-model.md."""


def normalise_email(email: object) -> str | None:
    """Lower-cased, trimmed e-mail; None when absent or blank."""
    if email is None:
        return None
    text = str(email).strip().lower()
    return text or None


@dataclass(frozen=True, slots=True)
class Lead:
    id: str
    email: str | None = None
    attributes: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", normalise_email(self.email))

    @property
    def email_domain(self) -> str | None:
        if self.email is None or "@" not in self.email:
            return None
        return self.email.rsplit("@", 1)[1]

    def get(self, name: str) -> object:
        """A field for lead conditions: id, email, the derived e-mail fields, or an attribute."""
        if name == "id":
            return self.id
        if name == "email":
            return self.email
        if name == "email_domain":
            return self.email_domain
        if name == "email_is_free":
            domain = self.email_domain
            return None if domain is None else domain in FREE_EMAIL_DOMAINS
        return self.attributes.get(name)


EVENT_REQUIRED = ("lead_id", "type", "occurred_at")
"""The columns every events table needs (§3), in the order a missing one is reported."""

EVENT_COLUMNS = ("id", *EVENT_REQUIRED, "source")
"""The columns of an events table that are the event itself; any other is a property."""


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    occurred_at: int
    """Epoch microseconds, UTC."""
    properties: Mapping[str, object] = field(default_factory=dict)
    source: str | None = None
    id: str | None = None

    def get(self, name: str) -> object:
        """A field for `where` conditions: type, source, or a property (`url`, `properties.url`)."""
        if name == "type":
            return self.type
        if name == "source":
            return self.source
        if name.startswith("properties."):
            name = name[len("properties.") :]
        return property_value(self.properties, name)


def property_value(properties: Mapping[str, object], name: str) -> object:
    """A property by name; a dotted name that is not a key walks nested mappings."""
    if name in properties:
        return properties[name]
    value: object = properties
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value
