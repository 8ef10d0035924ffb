"""The compiled evaluator (`core.compiled`) is the reference scorer, exactly: on random wide
models (every operator, odd points, groups, clamps, windows, expiry, decay, `inactive_for`,
`no_event` stages), random leads and histories, at random times, with random manual
adjustments and blended probabilities, its `ScoreResult` equals `score_lead`'s — score, fit,
engagement, grade, tier, stage and every contribution, compared as floats, not rounded. Its
conditions hold exactly when the tree's nodes do. (`stages_at` goes through the same
evaluator: tests/core/test_stages.py compares it with the reference at every time.)"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadscore.core.compiled import CompiledModel, compiled
from leadscore.core.compiled_conditions import compile_condition, event_getter, lead_getter
from leadscore.core.conditions import EvalContext, parse_condition
from leadscore.core.evaluate import score_lead
from leadscore.core.explain import Adjustment
from leadscore.core.loader import load_model_text, validate_model_data
from leadscore.core.records import Event, Lead
from leadscore.core.stages import stages_at
from leadscore.testing.strategies import (
    AS_OF,
    DAY,
    ODD_VALUES,
    PATTERNS,
    TEXTS,
    scenarios,
    wide_event_conditions,
    wide_events,
    wide_lead_conditions,
    wide_leads,
    wide_models,
    wide_stage_conditions,
)

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

moments = st.one_of(
    st.integers(-5 * DAY, 130 * DAY).map(lambda d: AS_OF - d),
    st.sampled_from([AS_OF, AS_OF - DAY, AS_OF - 30 * DAY, AS_OF + 1]),
)
adjustment_lists = st.lists(
    st.builds(
        Adjustment,
        st.sampled_from(["o1", "o2", "override:7"]),
        st.sampled_from([-200, -40, -7.5, 0, 0.1, 12.34, 1 / 3, 55, 300]),
        st.sampled_from(["", "call went well"]),
    ),
    max_size=3,
)
probabilities = st.none() | st.floats(0, 1) | st.sampled_from([0.0, 1.0, 0.125, 1 / 3])


def _blended(data: dict[str, object], weight: float | None) -> dict[str, object]:
    """The model, blending a probability when it combines by weight and `weight` is given."""
    if weight is None or data.get("combine", "weighted") != "weighted":
        return data
    return {**data, "predictive": {"model": 1, "weight": weight}}


@SETTINGS
@given(
    scenarios(wide=True),
    st.none() | st.sampled_from([0.0, 0.3, 1 / 3, 1.0]),
    moments,
    st.data(),
)
def test_compiled_scores_are_the_reference_scores(scenario, weight, as_of, data) -> None:
    raw, people, histories = scenario
    model = validate_model_data(_blended(raw, weight))
    evaluator = compiled(model)
    for lead in people:
        history = histories[lead.id]
        adjustments = data.draw(adjustment_lists)
        probability = data.draw(probabilities)
        want = score_lead(model, lead, history, as_of, adjustments, probability)
        got = evaluator.score(lead, history, as_of, adjustments, probability)
        assert got == want
        assert got.explained() == want.explained()


@SETTINGS
@given(wide_models(), wide_leads(), wide_events(), moments)
def test_compiled_scores_without_adjustments_or_blend(raw, lead, history, as_of) -> None:
    model = validate_model_data(raw)
    assert compiled(model).score(lead, history, as_of) == score_lead(model, lead, history, as_of)


@SETTINGS
@given(scenarios(wide=True), st.lists(moments, max_size=5))
def test_stages_at_many_times_on_wide_scenarios(scenario, extra) -> None:
    raw, people, histories = scenario
    model = validate_model_data(raw)
    for lead in people:
        history = histories[lead.id]
        times = sorted({e.occurred_at for e in history} | set(extra))
        want = [score_lead(model, lead, history, t).stage for t in times]
        assert stages_at(model, lead, history, times) == want


def _parse(raw: object, stage: bool = False):  # type: ignore[no-untyped-def]
    errors: list[tuple[str, str]] = []
    node = parse_condition(raw, "c", errors, stage=stage)
    assert not errors, errors
    return node


@settings(max_examples=600, deadline=None)
@given(wide_lead_conditions(), st.lists(wide_leads(), min_size=1, max_size=8), moments)
def test_lead_conditions_hold_as_the_tree(raw, people, as_of) -> None:
    node = _parse(raw)
    ctx = EvalContext(as_of=as_of)
    predicate = compile_condition(node, lead_getter)
    assert [predicate(lead, ctx) for lead in people] == [
        node.holds(lead.get, ctx) for lead in people
    ]


@settings(max_examples=600, deadline=None)
@given(wide_event_conditions(), wide_events(max_size=16), moments)
def test_event_conditions_hold_as_the_tree(raw, history, as_of) -> None:
    node = _parse(raw)
    ctx = EvalContext(as_of=as_of)
    predicate = compile_condition(node, event_getter)
    assert [predicate(e, ctx) for e in history] == [node.holds(e.get, ctx) for e in history]


@settings(max_examples=400, deadline=None)
@given(wide_stage_conditions(), wide_leads(), wide_events(), moments)
def test_stage_conditions_with_no_event_hold_as_the_tree(raw, lead, history, as_of) -> None:
    node = _parse(raw, stage=True)
    past = sorted((e for e in history if e.occurred_at <= as_of), key=lambda e: e.occurred_at)
    ctx = EvalContext(as_of=as_of, events=past)
    assert compile_condition(node, lead_getter)(lead, ctx) is node.holds(lead.get, ctx)


TYPES = """
name: index
combine: sum
engagement:
  rules:
    - {id: twice-listed, event: [page_viewed, page_viewed], points: 1}
    - {id: idle, inactive_for: 2d, where: {field: url, starts_with: /pricing}, points: -4}
    - {id: views, event: [page_viewed, email_opened], points: 2, where: {field: n, gt: 1}}
    - {id: idle-mail, event: email_opened, inactive_for: 1d, points: -1}
stages:
  - {name: quiet, when: {no_event: page_viewed, within: 1d, where: {field: url, exists: true}}}
  - {name: lead}
"""


def test_the_type_index_keeps_each_rule_once_and_the_any_type_rules_for_every_type() -> None:
    model = load_model_text(TYPES)
    history = [
        Event("page_viewed", AS_OF - 3 * DAY, {"url": "/pricing", "n": 2}),
        Event("page_viewed", AS_OF - DAY // 2, {"url": "/blog", "n": "5"}),
        Event("custom_thing", AS_OF - DAY // 3, {"url": "/pricing/team"}),
        Event("email_opened", AS_OF - 5 * DAY, {"n": 0}),
    ]
    for as_of in (AS_OF - 4 * DAY, AS_OF - 2 * DAY, AS_OF, AS_OF + 3 * DAY):
        want = score_lead(model, Lead("L"), history, as_of)
        assert compiled(model).score(Lead("L"), history, as_of) == want
    got = compiled(model).score(Lead("L"), history, AS_OF)
    lines = {c.id: c for c in got.contributions if c.kind == "rule"}
    assert lines["twice-listed"].occurrences == 2  # not 4: a type listed twice counts once
    assert "idle" not in lines  # the custom event at /pricing/team is recent enough
    assert lines["views"].occurrences == 2  # n 2 and "5" hold; the e-mail with n 0 does not
    assert got.stage == "lead"


def test_one_evaluator_per_model_object() -> None:
    first, second = load_model_text(TYPES), load_model_text(TYPES)
    assert compiled(first) is compiled(first)
    assert compiled(second) is not compiled(first)
    assert isinstance(compiled(second), CompiledModel) and compiled(second).model is second


VALUES: list[object] = [
    *TEXTS,
    *ODD_VALUES,
    *("SOFTWARE", "Software", "ceo", " CEO ", "/PRICING/team", "/pricing", "True", "2.5"),
    *(["Software", "x"], ("CEO",), {"k": "v"}, 2.5, -1, 1e3, "2026-01-01", "2025-12-31T12:00Z"),
]
OPERANDS: list[object] = ["software", "CEO", " ceo ", 250, 2.5, True, False, "true", "", "1e3"]
LEAVES: list[dict[str, object]] = [
    *(
        {"field": "f", op: operand, "case_sensitive": cs}
        for op in ("equals", "not_equals", "contains", "not_contains", "starts_with", "ends_with")
        for operand in OPERANDS
        if not (isinstance(operand, bool) and op not in ("equals", "not_equals"))
        for cs in (False, True)
    ),
    *(
        {"field": "f", op: items, "case_sensitive": cs}
        for op in ("in", "not_in")
        for items in ([], ["software", " CEO"], ["SaaS", 250, True], [2.5, "x"], [False])
        for cs in (False, True)
    ),
    *({"field": "f", "matches": p, "case_sensitive": cs} for p in PATTERNS for cs in (False, True)),
    *({"field": "f", op: n} for op in ("gt", "gte", "lt", "lte") for n in (0, 2.5, 250, -1)),
    *({"field": "f", "between": pair} for pair in ([0, 250], [2.5, 2.5], [-5, 0])),
    *({"field": "f", op: b} for op in ("exists", "is_empty") for b in (True, False)),
    *({"field": "f", op: d} for op in ("within", "older_than") for d in ("1d", "30d", "2w")),
]


def test_every_operator_holds_as_the_tree_on_a_grid_of_values() -> None:
    """Each operator (with and without case) against text that differs only in case or
    spaces, numbers in text, booleans, lists, mappings, NaN, dates: the compiled leaf holds
    exactly when the tree's does, on leads and on events."""
    ctx = EvalContext(as_of=AS_OF)
    checked = 0
    for raw in LEAVES:
        node = _parse(raw)
        on_lead = compile_condition(node, lead_getter)
        on_event = compile_condition(_parse({**raw, "field": "properties.f"}), event_getter)
        for value in [*VALUES, None]:
            lead = Lead("L", None, {} if value is None else {"f": value})
            event = Event("page_viewed", AS_OF, {} if value is None else {"f": value})
            want = node.holds(lead.get, ctx)
            assert on_lead(lead, ctx) is want, (raw, value)
            assert on_event(event, ctx) is want, (raw, value)
            checked += 1
    assert checked > 10_000
