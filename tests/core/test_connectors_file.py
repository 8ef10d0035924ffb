"""The connectors file (core.connectors): validation with key paths and lines, the default
mappings merged with the file's fields, and the pure rules that apply a mapping."""

from __future__ import annotations

import pytest

from leadscore.core.connectors import (
    ConnectorsError,
    attributes_of,
    changed,
    load_connectors_text,
    mapping,
    out_values,
    read_value,
    stage_of,
)


def problems(text: str) -> list[tuple[str, str, int | None]]:
    with pytest.raises(ConnectorsError) as caught:
        load_connectors_text(text)
    return [(p.path, p.message, p.line) for p in caught.value.problems]


def test_an_empty_section_takes_every_default() -> None:
    parsed = load_connectors_text("hubspot: {}\n")
    assert list(parsed.configured()) == ["hubspot"]
    m = mapping("hubspot", parsed.configured()["hubspot"])
    assert m.objects == ("contacts",)
    assert {f.crm for f in m.outbound("contacts")} >= {"leadscore_score", "hubspot_owner_id"}
    assert "lifecyclestage" in m.read_fields("contacts")


def test_every_problem_is_named_with_its_path_and_line() -> None:
    found = problems(
        "hubspot:\n"
        "  sync_every: 10s\n"
        "  fields:\n"
        "    - {crm: x, lead: scor, direction: out}\n"
        "    - {crm: y, lead: email, direction: in}\n"
        "    - {crm: z, lead: z, direction: sideways}\n"
        "salesforce:\n"
        "  fields:\n"
        "    - {crm: PI__SCORE__C, lead: score, direction: out}\n"
        "pipedrive:\n"
        "  objects: [deals]\n"
    )
    paths = {path: line for path, _, line in found}
    assert paths == {
        "hubspot.sync_every": 2,
        "hubspot.fields[0]": 4,
        "hubspot.fields[1]": 5,
        "hubspot.fields[2].direction": 6,
        "salesforce.fields[0].crm": 9,
        "pipedrive.objects[0]": 11,
    }, found
    messages = " | ".join(message for _, message, _ in found)
    assert "sync at most once a minute" in messages
    assert "not 'scor'" in messages
    assert "allow_pardot_score" in messages
    assert "pipedrive syncs persons, leads, not 'deals'" in messages
    assert problems("salesforce:\n  fieldz: []\n") == [
        ("salesforce.fieldz", "unknown key 'fieldz' (did you mean 'fields'?)", 2)
    ]


def test_pardot_score_only_on_purpose() -> None:
    text = "salesforce:\n  allow_pardot_score: true\n  fields:\n    - {crm: pi__score__c, lead: score, direction: out}\n"
    parsed = load_connectors_text(text)
    m = mapping("salesforce", parsed.configured()["salesforce"])
    assert "pi__score__c" in {f.crm for f in m.outbound("Lead")}
    assert problems("hubspot:\n  allow_pardot_score: true\n")[0][0] == "hubspot.allow_pardot_score"


def test_a_file_field_replaces_the_default_of_the_same_name() -> None:
    parsed = load_connectors_text(
        "hubspot:\n  fields:\n    - {crm: jobtitle, lead: role, direction: in}\n"
        "    - {crm: hs_persona, lead: persona, direction: in}\n"
    )
    m = mapping("hubspot", parsed.configured()["hubspot"])
    by_crm = {f.crm: f.lead for f in m.inbound("contacts")}
    assert by_crm["jobtitle"] == "role" and by_crm["hs_persona"] == "persona"
    assert [f.crm for f in m.inbound("contacts")].count("jobtitle") == 1
    none = load_connectors_text("hubspot:\n  default_fields: false\n").configured()["hubspot"]
    assert mapping("hubspot", none).fields == ()


def test_salesforce_fields_and_stages_per_object() -> None:
    m = mapping("salesforce", load_connectors_text("salesforce: {}\n").configured()["salesforce"])
    assert "Company" in m.read_fields("Lead") and "Company" not in m.read_fields("Contact")
    assert "Status" in m.read_fields("Lead") and "Status" not in m.read_fields("Contact")
    assert stage_of({"Status": "Closed - Converted"}, "Lead", m) == "opportunity"
    assert stage_of({"Status": "Closed - Converted"}, "Contact", m) is None
    assert stage_of({"Status": "Working - Contacted"}, "Lead", m) is None
    assert attributes_of({"MailingCountry": "Poland"}, "Contact", m) == {"country": "Poland"}


def test_values_are_read_as_declared_never_guessed() -> None:
    assert read_value("250", "number") == 250
    assert read_value("1,250.5", "number") == 1250.5
    assert read_value("about fifty", "number") == "about fifty"
    assert read_value("nan", "number") == "nan"
    assert read_value("02134", "auto") == "02134"
    assert read_value("  ", "auto") is None
    assert read_value("TRUE", "boolean") is True
    assert read_value(7, "text") == "7"
    m = mapping("hubspot", load_connectors_text("hubspot: {}\n").configured()["hubspot"])
    got = attributes_of({"numemployees": "900", "JOBTITLE": "CTO", "city": ""}, "contacts", m)
    assert got == {"employees": 900, "job_title": "CTO", "city": None}


def test_out_values_and_only_what_changed() -> None:
    m = mapping("hubspot", load_connectors_text("hubspot: {}\n").configured()["hubspot"])
    lead = {
        "score": 71.456,
        "fit": 40.0,
        "engagement": 31.456,
        "grade": "B",
        "tier": "hot",
        "stage": "sql",
        "url": "https://x/leads/1",
        "owner_email": "Ada@Example.com",
    }
    values = out_values(lead, "contacts", m, {"ada@example.com": "77"})
    assert values["leadscore_score"] == 71.46 and values["hubspot_owner_id"] == "77"
    assert "hubspot_owner_id" not in out_values({**lead, "owner_email": "x@y"}, "contacts", m, {})
    written = {**values, "leadscore_score": 71.4600001}
    assert changed(values, written) == {}
    assert changed({**values, "leadscore_stage": "customer"}, written) == {
        "leadscore_stage": "customer"
    }
