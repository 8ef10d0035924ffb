"""Every operator of SPEC §2.1, with its null, case, trimming and coercion rules."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from leadscore.core.conditions import EvalContext, parse_condition
from leadscore.core.records import Lead
from leadscore.core.timestamps import parse_timestamp

AS_OF = parse_timestamp("2026-01-31T00:00:00Z")
MISSING = object()


def check(condition: dict, value: object = MISSING, *, field: str = "f") -> bool:
    errors: list = []
    parsed = parse_condition({"field": field, **condition}, "when", errors)
    assert errors == []
    attributes = {} if value is MISSING else {field: value}
    return parsed.holds(Lead("x", None, attributes).get, EvalContext(as_of=AS_OF))


def errors_of(raw: object, stage: bool = False) -> list[tuple[str, str]]:
    errors: list = []
    parse_condition(raw, "when", errors, stage=stage)
    return errors


@pytest.mark.parametrize(
    ("condition", "value", "expected"),
    [
        ({"equals": "Software"}, "  software ", True),
        ({"equals": " software"}, "SOFTWARE", True),
        ({"equals": "software", "case_sensitive": True}, "Software", False),
        ({"equals": "Software", "case_sensitive": True}, " Software ", True),
        ({"equals": "software"}, "soft", False),
        ({"equals": 250}, "250", True),
        ({"equals": 250}, " 250.0 ", True),
        ({"equals": 250}, 250.0, True),
        ({"equals": 2.5}, "2.50", True),
        ({"equals": 250}, "250 people", False),
        ({"equals": 5}, "five", False),
        ({"equals": "250"}, 250, True),
        ({"equals": True}, True, True),
        ({"equals": True}, " TRUE ", True),
        ({"equals": False}, "false", True),
        ({"equals": True}, "yes", False),
        ({"equals": True}, 1, False),
        ({"equals": 1}, True, False),
        ({"not_equals": "a"}, "A", False),
        ({"not_equals": "a"}, "b", True),
        ({"in": ["US", "ca"]}, " ca", True),
        ({"in": ["US", "CA"]}, "GB", False),
        ({"in": []}, "GB", False),
        ({"in": [10, "x"]}, "10.0", True),
        ({"not_in": ["US"]}, "us", False),
        ({"not_in": []}, "anything", True),
        ({"contains": "/Pricing"}, "https://x.io/pricing/team", True),
        ({"contains": "/pricing", "case_sensitive": True}, "/Pricing", False),
        ({"not_contains": "test"}, "production", True),
        ({"not_contains": "test"}, "a TEST lead", False),
        ({"starts_with": "/docs"}, "  /DOCS/api", True),
        ({"starts_with": "/docs"}, "/api/docs", False),
        ({"ends_with": "@Competitor.com"}, "jo@competitor.com ", True),
        ({"ends_with": ".com"}, "x.org", False),
        ({"matches": r"\bvp\b"}, "Senior VP Sales", True),
        ({"matches": r"\bvp\b"}, "mvp builder", False),
        ({"matches": "^ceo$"}, "  CEO  ", True),
        ({"matches": "^ceo$", "case_sensitive": True}, "CEO", False),
        ({"matches": "(?i)^ceo$", "case_sensitive": True}, "CEO", True),
        ({"matches": "Eng"}, "Engineering Lead", True),
        ({"gt": 100}, "250", True),
        ({"gt": 250}, 250, False),
        ({"gte": 250}, "250", True),
        ({"lt": 0}, "-3", True),
        ({"lte": 9.5}, "9.5", True),
        ({"gt": 1}, ".5", False),
        ({"gte": 1000}, "1.5e3", True),
        ({"gt": 1}, "1,000", False),
        ({"gt": 1}, "1_000", False),
        ({"gt": 1}, "inf", False),
        ({"lt": 1}, "nan", False),
        ({"gt": 1}, "$5", False),
        ({"gt": 0}, True, False),
        ({"gt": 0}, " 7 ", True),
        ({"between": [10, 20]}, "10", True),
        ({"between": [10, 20]}, 20, True),
        ({"between": [10, 20]}, "20.01", False),
        ({"between": [10, 20]}, "abc", False),
        ({"exists": True}, "x", True),
        ({"exists": True}, "   ", True),
        ({"exists": False}, "   ", False),
        ({"is_empty": True}, "   ", True),
        ({"is_empty": True}, "", True),
        ({"is_empty": False}, " a ", True),
        ({"is_empty": True}, 0, False),
        ({"within": "30d"}, "2026-01-01T00:00:00Z", True),
        ({"within": "30d"}, "2026-01-01", True),
        ({"within": "30d"}, "2025-12-31T23:59:59Z", False),
        ({"within": "1d"}, "2026-03-01", True),
        ({"within": "30d"}, date(2026, 1, 1), True),
        ({"within": "1h"}, datetime(2026, 1, 30, 23, 30), True),
        ({"within": "1h"}, datetime(2026, 1, 31, 1, 30, tzinfo=UTC), True),
        ({"within": "30d"}, "not a date", False),
        ({"older_than": "30d"}, "2026-01-01T00:00:00Z", False),
        ({"older_than": "30d"}, "2025-12-31T23:59:59.999999Z", True),
        ({"older_than": "30d"}, "2025-12-31T23:00:00-01:00", False),
        ({"older_than": "1w"}, "garbage", False),
    ],
)
def test_operator(condition: dict, value: object, expected: bool) -> None:
    assert check(condition, value) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"exists": False}, True),
        ({"exists": True}, False),
        ({"is_empty": True}, True),
        ({"is_empty": False}, False),
        ({"not_equals": "x"}, True),
        ({"not_in": ["x"]}, True),
        ({"not_contains": "x"}, True),
        ({"equals": "x"}, False),
        ({"in": ["x"]}, False),
        ({"contains": "x"}, False),
        ({"starts_with": "x"}, False),
        ({"ends_with": "x"}, False),
        ({"matches": ".*"}, False),
        ({"gt": -1}, False),
        ({"lte": 1}, False),
        ({"between": [0, 1]}, False),
        ({"within": "100w"}, False),
        ({"older_than": "1s"}, False),
    ],
)
def test_missing_field_is_null(condition: dict, expected: bool) -> None:
    assert check(condition) is expected
    assert check(condition, None) is expected
    assert check(condition, float("nan")) is expected


def test_not_of_a_failed_coercion_holds() -> None:
    errors: list = []
    parsed = parse_condition({"not": {"field": "n", "gt": 5}}, "when", errors)
    holds = parsed.holds(Lead("x", None, {"n": "many"}).get, EvalContext(as_of=AS_OF))
    assert holds is True


def test_combinators() -> None:
    def run(raw: dict, attributes: dict) -> bool:
        errors: list = []
        parsed = parse_condition(raw, "when", errors)
        assert errors == []
        return parsed.holds(Lead("x", None, attributes).get, EvalContext(as_of=AS_OF))

    both = {"all": [{"field": "a", "equals": 1}, {"field": "b", "equals": 2}]}
    either = {"any": [{"field": "a", "equals": 1}, {"field": "b", "equals": 2}]}
    assert run(both, {"a": "1", "b": "2"}) is True
    assert run(both, {"a": "1", "b": "3"}) is False
    assert run(either, {"a": "0", "b": "2"}) is True
    assert run(either, {"a": "0", "b": "0"}) is False
    assert run({"all": []}, {}) is True
    assert run({"any": []}, {}) is False
    assert run({"not": {"all": []}}, {}) is False
    nested = {"not": {"any": [both, {"field": "c", "exists": True}]}}
    assert run(nested, {"a": "1", "b": "0"}) is True
    assert run(nested, {"c": ""}) is False


@pytest.mark.parametrize(
    ("email", "domain", "free"),
    [
        ("Jo.Doe@Acme.COM ", "acme.com", False),
        ("someone@gmail.com", "gmail.com", True),
        ("a@b@proton.me", "proton.me", True),
        ("no-at-sign", None, None),
        (None, None, None),
        ("   ", None, None),
    ],
)
def test_derived_email_fields(email, domain, free) -> None:
    lead = Lead("x", email, {})
    assert lead.get("email_domain") == domain
    assert lead.get("email_is_free") is free
    for name in ("gmail.com", "googlemail.com", "yahoo.com", "outlook.com", "hotmail.com"):
        assert Lead("y", f"a@{name}").get("email_is_free") is True
    for name in ("live.com", "aol.com", "icloud.com", "gmx.com", "proton.me"):
        assert Lead("y", f"a@{name}").get("email_is_free") is True


@pytest.mark.parametrize(
    ("raw", "path", "fragment"),
    [
        ({"field": "x", "equals": 1, "in": [1]}, "when", "several operators"),
        ({"field": "x"}, "when", "has no operator"),
        ({"equals": 1}, "when.field", "required"),
        ({"field": "x", "like": "a"}, "when.like", "unknown operator"),
        ({"field": "x", "matches": "(unclosed"}, "when.matches", "not a valid regular expression"),
        ({"field": "x", "between": [5, 1]}, "when.between", "greater than"),
        ({"field": "x", "between": [1]}, "when.between", "two numbers"),
        ({"field": "x", "gt": "5"}, "when.gt", "must be a number"),
        ({"field": "x", "gt": True}, "when.gt", "must be a number"),
        ({"field": "x", "in": "a"}, "when.in", "must be a list"),
        ({"field": "x", "in": [{"a": 1}]}, "when.in[0]", "string, number or boolean"),
        ({"field": "x", "exists": "yes"}, "when.exists", "true or false"),
        ({"field": "x", "within": "30 days"}, "when.within", "not a duration"),
        ({"field": "x", "older_than": 30}, "when.older_than", "not a duration"),
        ({"field": "x", "equals": 1, "case_sensitive": "no"}, "when.case_sensitive", "true"),
        ({"all": {"field": "x"}}, "when.all", "must be a list"),
        ({"all": [], "any": []}, "when", "stands alone"),
        ({"all": [{"field": "x", "gt": "a"}]}, "when.all[0].gt", "must be a number"),
        ({"not": {"field": "x", "foo": 1}}, "when.not.foo", "unknown operator"),
        ("text", "when", "condition mapping"),
        ({"no_event": "demo_booked", "within": "7d"}, "when.no_event", "only in stage"),
    ],
)
def test_invalid_conditions_name_their_path(raw, path: str, fragment: str) -> None:
    errors = errors_of(raw)
    assert any(p == path and fragment in message for p, message in errors), errors


def test_no_event_in_stage_conditions() -> None:
    from leadscore.core.records import Event

    errors: list = []
    parsed = parse_condition(
        {"all": [{"no_event": ["demo_booked", "trial_started"], "within": "7d"}]},
        "stages[0].when",
        errors,
        stage=True,
    )
    assert errors == []
    lead = Lead("x")
    at = AS_OF

    def holds(*events: Event) -> bool:
        return parsed.holds(lead.get, EvalContext(as_of=at, events=events))

    day = 86_400_000_000
    assert holds() is True
    assert holds(Event("demo_booked", at - 7 * day)) is True  # window is (as_of − 7d, as_of]
    assert holds(Event("demo_booked", at - 7 * day + 1)) is False
    assert holds(Event("trial_started", at)) is False
    assert holds(Event("page_viewed", at)) is True
    assert errors_of({"no_event": "x"}, stage=True) == [("when.within", "required with no_event")]
    assert errors_of({"no_event": [], "within": "1d"}, stage=True)[0][0] == "when.no_event"
