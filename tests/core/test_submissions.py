"""The field map every lead source shares (core/submissions.py) and the sources file's
loading (core/sources.py): pure, no database."""

from __future__ import annotations

import pytest

from leadscore.core.sources import (
    SecretError,
    SourcesError,
    load_sources_text,
    resolve_secret,
)
from leadscore.core.submissions import FieldMapError, apply_fields, check_target, is_yes

FIELDS = {
    "email": "email",
    "Company_Name": "company",
    "job_title": "attribute:title",
    "utm_campaign": "property:campaign",
    "gdpr": "consent",
    "crm_id": "external_id",
    "internal_note": "ignore",
}


def test_answers_are_mapped_and_the_unmapped_kept_as_properties() -> None:
    mapped = apply_fields(
        {
            "email": " ada@example.com ",
            "company_name": "Acme",  # matched case-insensitively
            "job_title": "CTO",
            "utm_campaign": "spring",
            "gdpr": "Yes",
            "crm_id": "42",
            "internal_note": "drop me",
            "budget": "10-50k",
        },
        FIELDS,
    )
    assert mapped.email == "ada@example.com"
    assert mapped.attributes == {"company": "Acme", "title": "CTO"}
    assert mapped.properties == {"campaign": "spring", "budget": "10-50k"}
    assert mapped.consent is True
    assert mapped.external_id == "42"


def test_an_exact_key_wins_over_a_case_folded_one() -> None:
    mapped = apply_fields(
        {"Email": "a@b.co", "email": "c@d.co"}, {"email": "email", "Email": "ignore"}
    )
    assert mapped.email == "c@d.co"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("I agree", True),
        ("no", False),
        ("", False),
        (1, True),
        (0, False),
        (["", "checked"], True),
        ([], False),
    ],
)
def test_consent_answers_as_platforms_send_them(value: object, expected: bool) -> None:
    assert is_yes(value) is expected


@pytest.mark.parametrize(
    "target", ["email", "consent", "ignore", "industry", "attribute:x_1", "property:utm"]
)
def test_valid_targets(target: str) -> None:
    assert check_target(target) == target


@pytest.mark.parametrize("target", ["", "attribute:", "property:1x", "lead:score", "two words"])
def test_invalid_targets_say_what_is_allowed(target: str) -> None:
    with pytest.raises(FieldMapError, match="attribute:NAME or property:NAME"):
        check_target(target)


def test_an_empty_sources_file_configures_nothing() -> None:
    loaded = load_sources_text("{}")
    assert loaded.webhooks == {}
    assert loaded.max_body_bytes == 1_048_576


def test_a_bad_sources_file_names_the_key_and_its_line() -> None:
    with pytest.raises(SourcesError) as caught:
        load_sources_text("max_body_bytes: 12\nwebhoks: {}\n", "sources.yaml")
    text = str(caught.value)
    assert "sources.yaml: max_body_bytes" in text and "(line 1)" in text
    assert "webhoks" in text and "(line 2)" in text


def test_a_secret_is_read_from_the_environment_when_it_says_env() -> None:
    assert resolve_secret("env:META_SECRET", {"META_SECRET": "s3"}, "meta.app_secret") == "s3"
    assert resolve_secret("literal", {}, "x") == "literal"
    assert resolve_secret(None, {}, "x") is None
    with pytest.raises(SecretError, match="meta.app_secret: the environment variable META_SECRET"):
        resolve_secret("env:META_SECRET", {"META_SECRET": ""}, "meta.app_secret")
