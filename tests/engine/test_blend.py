"""Blending a predicted probability into the total (`predictive`, SPEC §7): the reference
scorer and the kernel agree on random models and probabilities, the explanation still adds
up, and the formula is the documented one."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadscore.core.evaluate import score_lead
from leadscore.core.loader import load_model_text, validate_model_data
from leadscore.core.records import Event, Lead
from leadscore.engine.fields import event_fields
from leadscore.engine.kernel import score_frame
from leadscore.engine.records import events_frame, leads_frame
from leadscore.testing.conformance import assert_same_as_reference
from leadscore.testing.strategies import AS_OF, scenarios

MODEL = """
fit:
  weight: 0.5
  max: 40
  rules:
    - {id: big, points: 40, when: {field: employees, gte: 100}}
engagement:
  weight: 0.5
  max: 60
  rules:
    - {id: demo, event: demo_booked, points: 60}
predictive: {model: 3, weight: 0.3}
tiers: {hot: 60, warm: 40}
"""


def test_the_blend_is_the_documented_formula() -> None:
    model = load_model_text(MODEL)
    lead = Lead("L1", None, {"employees": 500})  # fit 100, engagement 0: rule total 50
    result = score_lead(model, lead, [], AS_OF, probability=0.9)
    assert result.score == 0.7 * 50 + 0.3 * 90  # 62.0
    assert result.tier == "hot"
    lines = {c.kind: c for c in result.contributions}
    assert lines["predictive"].id == "model:3" and lines["predictive"].raw == 0.9
    assert math.isclose(sum(c.score for c in result.contributions), result.score)
    assert lines["rule"].score == pytest.approx(35.0)
    # Without a probability the rule total stands, and no predictive line is written.
    alone = score_lead(model, lead, [], AS_OF)
    assert alone.score == 50.0 and all(c.kind != "predictive" for c in alone.contributions)


def test_the_kernel_blends_only_leads_with_a_probability() -> None:
    model = load_model_text(MODEL)
    people = [Lead("A", None, {"employees": 500}), Lead("B", None, {"employees": 5})]
    events = {"B": [Event("demo_booked", AS_OF - 1)]}
    frame = score_frame(
        leads_frame(people),
        events_frame(events),
        model,
        AS_OF,
        explain=True,
        probabilities=np.array([0.9, np.nan]),
    )
    assert frame["score"].to_list() == [62.0, 50.0]
    kinds = [[line["kind"] for line in lines] for lines in frame["explanation"].to_list()]
    assert kinds == [["rule", "predictive"], ["rule"]]


def test_blending_needs_the_weighted_combination() -> None:
    from leadscore.core.loader import ModelError

    with pytest.raises(ModelError, match="predictive: blending a probability needs combine"):
        load_model_text(
            "combine: sum\nfit: {rules: []}\nengagement: {rules: []}\n"
            "predictive: {model: 1, weight: 0.5}\n"
        )


@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenarios(wide=True),
    st.floats(0, 1),
    st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=6, max_size=6),
)
@pytest.mark.slow
def test_kernel_equals_reference_when_blending(example, weight, chances) -> None:
    raw, people, by_lead = example
    if raw.get("combine", "weighted") != "weighted":
        raw = {**raw, "combine": "weighted"}
        raw["fit"] = {"weight": 0.5, "max": 10, **raw.get("fit", {})}
        raw["engagement"] = {"weight": 0.5, "max": 10, **raw.get("engagement", {})}
        for section in ("fit", "engagement"):
            raw[section]["weight"] = 0.5
            raw[section]["max"] = raw[section].get("max") or 10
    raw = {**raw, "predictive": {"model": "active", "weight": weight}}
    model = validate_model_data(raw)
    chances = chances[: len(people)]
    p = np.array([math.nan if c is None else c for c in chances])
    frame = score_frame(
        leads_frame(people),
        events_frame(by_lead, event_fields(model)),
        model,
        AS_OF,
        explain=True,
        probabilities=p,
    )
    for person, chance, row in zip(people, chances, frame.iter_rows(named=True), strict=True):
        reference = score_lead(model, person, by_lead.get(person.id, ()), AS_OF, (), chance)
        assert_same_as_reference(model, reference, row, row["explanation"])
