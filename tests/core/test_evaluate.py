"""The scoring semantics of SPEC §2.3–§2.6, each with a hand-computed expectation."""

from __future__ import annotations

import pytest

from leadscore.core.evaluate import count_windows, score_lead
from leadscore.core.explain import Adjustment
from leadscore.core.loader import validate_model_data
from leadscore.core.records import Event, Lead
from leadscore.core.timestamps import parse_timestamp

DAY = 86_400_000_000
AS_OF = parse_timestamp("2026-03-01T00:00:00Z")


def model(**sections):
    data = {"combine": "sum", **sections}
    return validate_model_data(data)


def engagement(*rules, **extra):
    return {"rules": list(rules), **extra}


def ev(kind: str, days_ago: float, **properties) -> Event:
    return Event(kind, AS_OF - round(days_ago * DAY), properties)


def run(scoring, events=(), attributes=None, email=None, **kwargs):
    return score_lead(scoring, Lead("L", email, attributes or {}), events, AS_OF, **kwargs)


def rule(contributions, rule_id):
    return next(c for c in contributions if c.id == rule_id)


def test_plain_events_add_up_and_later_events_are_ignored() -> None:
    m = model(engagement=engagement({"id": "o", "event": "email_opened", "points": 5}))
    result = run(m, [ev("email_opened", 1), ev("email_opened", 0), ev("email_opened", -1)])
    assert result.score == 10.0
    assert rule(result.contributions, "o").occurrences == 2


def test_event_type_list_and_case_sensitive_types() -> None:
    m = model(engagement=engagement({"id": "w", "event": ["a", "b"], "points": 1}))
    assert run(m, [ev("a", 1), ev("b", 1), ev("A", 1), ev("c", 1)]).score == 2.0


def test_half_life_decay() -> None:
    m = model(engagement=engagement({"id": "o", "event": "x", "points": 8, "half_life": "10d"}))
    # 8 × 0.5^(10/10) + 8 × 0.5^(20/10) + 8 × 0.5^0 = 4 + 2 + 8
    assert run(m, [ev("x", 10), ev("x", 20), ev("x", 0)]).score == 14.0


def test_expires_after_is_age_at_least() -> None:
    m = model(
        engagement=engagement({"id": "p", "event": "x", "points": 20, "expires_after": "30d"})
    )
    assert run(m, [ev("x", 30)]).score == 0.0  # age == expires_after: absent
    assert run(m, [ev("x", 30 - 1 / 86_400_000_000)]).score == 20.0


def test_once_counts_the_earliest_unexpired_occurrence() -> None:
    m = model(
        engagement=engagement(
            {
                "id": "w",
                "event": "x",
                "points": 40,
                "once": True,
                "half_life": "10d",
                "expires_after": "25d",
            }
        )
    )
    # the occurrence 30 days ago has expired; the earliest remaining is 20 days old: 40 × 0.25
    result = run(m, [ev("x", 0), ev("x", 30), ev("x", 20), ev("x", 10)])
    assert result.score == 10.0
    assert rule(result.contributions, "w").occurrences == 1


def test_count_windows_greedy() -> None:
    at = [0, 1, 2, 10, 11, 30, 31, 32, 33, 34, 35]
    assert count_windows([t * DAY for t in at], 3, 2 * DAY) == [2 * DAY, 32 * DAY, 35 * DAY]
    assert count_windows([0, DAY, 3 * DAY], 2, DAY) == [DAY]  # Δ ≤ within
    assert count_windows([0, DAY + 1], 2, DAY) == []
    assert count_windows([5, 5, 5, 5], 2, 0) == [5, 5]
    assert count_windows([1, 2, 3], 1, 0) == [1, 2, 3]


def test_count_rule_awards_per_window_decayed_by_the_nth_occurrence() -> None:
    m = model(
        engagement=engagement(
            {
                "id": "burst",
                "event": "page_viewed",
                "count": {"at_least": 3, "within": "1d"},
                "points": 16,
                "half_life": "10d",
            }
        )
    )
    # window one: 20.9, 20.5, 20.0 days ago → awarded at 20 days: 16 × 0.25 = 4
    # then 10.2, 10.0 and 8.5 are not within 1 day of 10.2; the window slides to 10.0 → 8.5
    # (1.5 d apart) no; then 8.5, 8.4, 8.3 → awarded at 8.3 days: 16 × 0.5^0.83
    views = [ev("page_viewed", d) for d in (20.9, 20.5, 20.0, 10.2, 10.0, 8.5, 8.4, 8.3)]
    result = run(m, views)
    assert result.score == round(4 + 16 * 0.5**0.83, 2)
    assert rule(result.contributions, "burst").occurrences == 2
    once = model(
        engagement=engagement(
            {
                "id": "burst",
                "event": "page_viewed",
                "count": {"at_least": 3, "within": "1d"},
                "points": 16,
                "half_life": "10d",
                "once": True,
            }
        )
    )
    assert run(once, views).score == 4.0


def test_count_window_ignores_expired_occurrences() -> None:
    m = model(
        engagement=engagement(
            {
                "id": "b",
                "event": "x",
                "count": {"at_least": 2, "within": "1d"},
                "points": 5,
                "expires_after": "10d",
            }
        )
    )
    assert run(m, [ev("x", 10.5), ev("x", 9.8)]).score == 0.0
    assert run(m, [ev("x", 9.9), ev("x", 9.8)]).score == 5.0


def test_where_on_properties_type_and_source() -> None:
    m = model(
        engagement=engagement(
            {
                "id": "p",
                "event": "page_viewed",
                "where": {"field": "url", "contains": "/pricing"},
                "points": 1,
            },
            {
                "id": "q",
                "event": "page_viewed",
                "where": {"field": "properties.url", "ends_with": "team"},
                "points": 10,
            },
            {
                "id": "t",
                "event": "page_viewed",
                "where": {"field": "properties.type", "equals": "x"},
                "points": 100,
            },
            {
                "id": "s",
                "event": "page_viewed",
                "where": {"field": "source", "equals": "web"},
                "points": 1000,
            },
        )
    )
    events = [
        Event("page_viewed", AS_OF - DAY, {"url": "/PRICING/team", "type": "x"}, source="web"),
        Event("page_viewed", AS_OF - DAY, {"url": "/blog"}, source="ads"),
    ]
    assert run(m, events).score == 1111.0


def test_inactive_for_window_is_half_open() -> None:
    m = model(
        engagement={"min": -100, "rules": [{"id": "idle", "inactive_for": "30d", "points": -5}]}
    )
    assert run(m, []).score == -5.0  # no events at all: inactive
    assert run(m, [ev("x", 30)]).score == -5.0  # exactly as_of − 30d is outside (as_of − D, as_of]
    assert run(m, [ev("x", 29.9)]).score == 0.0
    assert run(m, [ev("x", -1)]).score == -5.0  # a future event is ignored
    typed = model(
        engagement={
            "min": -100,
            "rules": [
                {
                    "id": "no-opens",
                    "inactive_for": "7d",
                    "event": "email_opened",
                    "where": {"field": "campaign", "equals": "q1"},
                    "points": -3,
                }
            ],
        }
    )
    assert run(typed, [ev("page_viewed", 1), ev("email_opened", 1, campaign="q2")]).score == -3.0
    assert run(typed, [ev("email_opened", 1, campaign="Q1")]).score == 0.0


def test_rule_group_and_section_clamps() -> None:
    m = model(
        engagement={
            "max": 50,
            "groups": {"mail": {"max": 12}, "floor": {"min": 4}},
            "rules": [
                {"id": "open", "group": "mail", "event": "o", "points": 5, "max": 10},
                {"id": "click", "group": "mail", "event": "c", "points": 6},
                {"id": "demo", "event": "d", "points": 45},
                {"id": "unsub", "event": "u", "points": -30, "min": -20},
            ],
        }
    )
    # open 3×5 = 15 → rule max 10; click 6; mail group 16 → 12; the empty floor group → 4
    result = run(m, [ev("o", 1)] * 3 + [ev("c", 1)])
    assert result.score == 16.0
    assert (
        rule(result.contributions, "open").raw == 15
        and rule(result.contributions, "open").capped == 10
    )
    assert rule(result.contributions, "open").cut_by == ("rule", "group:mail")
    assert sum(c.score for c in result.contributions) == pytest.approx(result.score)
    # 12 + 4 + 45 = 61 → section max 50
    capped = run(m, [ev("o", 1)] * 3 + [ev("c", 1), ev("d", 1)])
    assert capped.score == 50.0
    assert "engagement" in rule(capped.contributions, "demo").cut_by
    # unsubscribe −30 → rule min −20; 4 − 20 → section min 0
    assert run(m, [ev("u", 1)]).score == 0.0


def test_fit_groups_and_clamps() -> None:
    m = model(
        fit={
            "min": -10,
            "max": 40,
            "groups": {"industry": {"max": 25}, "bonus": {"min": 2, "max": 3}},
            "rules": [
                {
                    "id": "sw",
                    "group": "industry",
                    "when": {"field": "industry", "equals": "software"},
                    "points": 20,
                },
                {
                    "id": "big",
                    "group": "industry",
                    "when": {"field": "employees", "gte": 500},
                    "points": 10,
                },
                {"id": "title", "when": {"field": "title", "matches": "vp"}, "points": 15},
                {"id": "student", "when": {"field": "title", "matches": "student"}, "points": -50},
            ],
        }
    )
    assert (
        run(m, attributes={"industry": "Software", "employees": "900", "title": "VP"}).fit == 40.0
    )
    assert run(m, attributes={"industry": "software", "employees": "9"}).fit == 22.0
    assert run(m, attributes={"title": "student"}).fit == -10.0
    assert run(m, attributes={}).fit == 2.0  # an untouched group is still clamped to its min


def test_weighted_combination_scaling_and_total_clamp() -> None:
    scoring = validate_model_data(
        {
            "fit": {
                "weight": 0.25,
                "max": 40,
                "min": -40,
                "rules": [
                    {"id": "a", "when": {"field": "x", "equals": "1"}, "points": 30},
                    {"id": "neg", "when": {"field": "x", "equals": "2"}, "points": -40},
                ],
            },
            "engagement": {
                "weight": 0.75,
                "max": 200,
                "rules": [{"id": "e", "event": "e", "points": 50}],
            },
        }
    )
    # fit = 100 × 30/40 = 75; engagement = 100 × 100/200 = 50; total = 0.25×75 + 0.75×50
    result = run(scoring, [ev("e", 1), ev("e", 2)], {"x": "1"})
    assert (result.fit, result.engagement, result.score) == (75.0, 50.0, 56.25)
    low = run(scoring, [], {"x": "2"})  # fit −100 → total −25 → clamped to 0
    assert (low.fit, low.score) == (-100.0, 0.0)
    total_cap = next(c for c in low.contributions if c.id == "total")
    assert total_cap.kind == "cap" and total_cap.score == pytest.approx(25.0)
    assert sum(c.score for c in low.contributions) == pytest.approx(0.0)


def test_sum_mode_is_not_clamped_to_100() -> None:
    m = model(engagement=engagement({"id": "e", "event": "e", "points": 70}))
    assert run(m, [ev("e", 1), ev("e", 1)]).score == 140.0


def test_manual_adjustments_add_after_combination_and_clamp() -> None:
    scoring = validate_model_data(
        {
            "fit": {"weight": 0.5, "max": 10},
            "engagement": {
                "weight": 0.5,
                "max": 10,
                "rules": [{"id": "e", "event": "e", "points": 10}],
            },
        }
    )
    result = run(scoring, [ev("e", 1)], adjustments=[Adjustment("o1", 60, "met at a fair")])
    assert result.score == 100.0
    assert rule(result.contributions, "o1").kind == "adjustment"
    assert sum(c.score for c in result.contributions) == pytest.approx(100.0)


def test_rounding_half_to_even_once_at_the_end() -> None:
    # 0.125 and 0.375 are exact in binary: half to even gives 0.12 and 0.38
    m = model(
        engagement=engagement(
            {"id": "a", "event": "a", "points": 0.125}, {"id": "b", "event": "b", "points": 0.25}
        )
    )
    assert run(m, [ev("a", 1)]).score == 0.12
    assert run(m, [ev("a", 1), ev("b", 1)]).score == 0.38
    # three contributions of 0.004 round to 0.01 only when summed first
    m3 = model(engagement=engagement({"id": "a", "event": "a", "points": 0.004}))
    assert run(m3, [ev("a", 1)] * 3).score == 0.01


def test_grades_tiers_and_stages_compare_rounded_values_in_written_order() -> None:
    scoring = validate_model_data(
        {
            "fit": {
                "weight": 0.5,
                "max": 3,
                "rules": [{"id": "a", "when": {"field": "x", "exists": True}, "points": 2.25}],
            },
            "engagement": {"weight": 0.5, "max": 100},
            "grades": {"C": 0, "A": 75},  # written order: C first, so A is never reached
            "tiers": {"warm": 37.5, "cold": 10},
            "stages": [
                {"name": "disqualified", "when": {"field": "x", "equals": "student"}},
                {"name": "mql", "min_score": 37.5},
                {"name": "lead", "min_score": 1},
            ],
        }
    )
    result = run(scoring, attributes={"x": "y"})  # fit = 100 × 2.25/3 = 75.00 → total 37.5
    assert (result.fit, result.score) == (75.0, 37.5)
    assert (result.grade, result.tier, result.stage) == ("C", "warm", "mql")
    student = run(scoring, attributes={"x": "student"})
    assert student.stage == "disqualified"
    nobody = run(scoring)
    assert (nobody.grade, nobody.tier, nobody.stage) == ("C", None, None)


def test_stage_conditions_on_events() -> None:
    scoring = model(
        engagement=engagement({"id": "v", "event": "page_viewed", "points": 1}),
        stages=[
            {"name": "stale", "when": {"no_event": "page_viewed", "within": "14d"}},
            {
                "name": "careers-only",
                "when": {
                    "no_event": "page_viewed",
                    "within": "30d",
                    "where": {"not": {"field": "url", "starts_with": "/careers"}},
                },
            },
            {"name": "active"},
        ],
    )
    assert run(scoring, [ev("page_viewed", 20, url="/pricing")]).stage == "stale"
    assert run(scoring, [ev("page_viewed", 2, url="/careers/jobs")]).stage == "careers-only"
    assert (
        run(scoring, [ev("page_viewed", 2, url="/careers"), ev("page_viewed", 3, url="/")]).stage
        == "active"
    )


def test_explanation_lists_each_contributing_rule() -> None:
    scoring = validate_model_data(
        {
            "fit": {
                "weight": 0.4,
                "max": 100,
                "groups": {"industry": {"max": 25}},
                "rules": [
                    {
                        "id": "sw",
                        "group": "industry",
                        "when": {"field": "industry", "equals": "software"},
                        "points": 30,
                    },
                    {"id": "none", "when": {"field": "industry", "equals": "x"}, "points": 5},
                ],
            },
            "engagement": {
                "weight": 0.6,
                "max": 100,
                "rules": [{"id": "open", "event": "o", "points": 5, "max": 8}],
            },
        }
    )
    result = run(scoring, [ev("o", 1)] * 2, {"industry": "software"})
    ids = [c.id for c in result.contributions]
    assert ids == ["sw", "group:industry", "open"]
    sw = rule(result.contributions, "sw")
    assert (sw.raw, sw.capped, sw.score, sw.cut_by) == (
        30,
        30,
        pytest.approx(12.0),
        ("group:industry",),
    )
    assert rule(result.contributions, "group:industry").score == pytest.approx(-2.0)
    opened = rule(result.contributions, "open")
    assert (opened.occurrences, opened.raw, opened.capped, opened.cut_by) == (2, 10, 8, ("rule",))
    assert result.score == 14.8 == round(sum(c.score for c in result.contributions), 2)
    explained = result.explained()
    assert explained["contributions"][0] == {
        "kind": "rule",
        "id": "sw",
        "section": "fit",
        "group": "industry",
        "occurrences": 1,
        "raw": 30.0,
        "capped": 30.0,
        "cut_by": ["group:industry"],
        "score": 12.0,
    }


def test_a_lead_matching_nothing_scores_zero_not_null() -> None:
    result = run(model())
    assert (result.score, result.fit, result.engagement) == (0.0, 0.0, 0.0)
