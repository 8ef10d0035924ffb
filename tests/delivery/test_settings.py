"""The delivery settings: read from LEADSCORE_*, checked, and documented with their defaults in
the README and docs/automations-delivery.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from leadscore.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DELIVERY = [
    "smtp_url",
    "mail_from",
    "mail_dir",
    "templates_dir",
    "delivery_timeout_seconds",
    "public_url",
]


def test_the_defaults_run_with_no_mail_server(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in DELIVERY:
        monkeypatch.delenv(f"LEADSCORE_{name.upper()}", raising=False)
    settings = Settings()
    assert settings.smtp_url is None and settings.templates_dir is None
    assert settings.mail_from == "leadscore <leadscore@localhost>"
    assert settings.mail_dir == "./leadscore-mail"
    assert settings.delivery_timeout_seconds == 10
    assert settings.public_url == "http://127.0.0.1:8000"


def test_they_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSCORE_SMTP_URL", "smtps://u:p@smtp.example.com")
    monkeypatch.setenv("LEADSCORE_TEMPLATES_DIR", "/etc/leadscore/templates")
    monkeypatch.setenv("LEADSCORE_PUBLIC_URL", "https://leads.example.com/")
    settings = Settings()
    assert settings.smtp_url == "smtps://u:p@smtp.example.com"
    assert settings.templates_dir == "/etc/leadscore/templates"
    assert settings.public_url == "https://leads.example.com"  # links append /leads/…


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("public_url", "leads.example.com", "is not an http:// or https:// address"),
        ("public_url", "ftp://leads.example.com", "is not an http:// or https:// address"),
        ("delivery_timeout_seconds", 0, "greater than 0"),
        ("delivery_timeout_seconds", 301, "less than or equal to 300"),
    ],
)
def test_bad_values_name_the_field(field: str, value: object, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(**{field: value})
    [error] = caught.value.errors()
    assert error["loc"] == (field,) and reason in error["msg"]


@pytest.mark.parametrize("document", ["README.md", "docs/automations-delivery.md"])
def test_each_is_documented_with_its_default(document: str) -> None:
    text = (REPO / document).read_text()
    for name in DELIVERY:
        row = next(
            (
                line
                for line in text.splitlines()
                if line.startswith(f"| `LEADSCORE_{name.upper()}`")
            ),
            None,
        )
        assert row is not None, f"{document} has no row for LEADSCORE_{name.upper()}"
        default = Settings.model_fields[name].default
        shown = (
            "unset"
            if default is None
            else f"`{default:g}`"
            if isinstance(default, float)
            else f"`{default}`"
        )
        assert row.split(" | ")[1].startswith(shown), (row, shown)
        assert Settings.model_fields[name].description, name
