"""The kernel equals the reference scorer on random models, leads and events (SPEC §5).

Every lead of every example is compared with `core.evaluate.score_lead`: score, fit and
engagement after rounding (0.01 apart only within float noise of a midpoint), grade, tier and
stage exactly, and the explanation lines to 1e-9.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from leadscore.core.evaluate import score_lead
from leadscore.core.loader import validate_model_data
from leadscore.engine.fields import event_fields
from leadscore.engine.kernel import score_frame
from leadscore.engine.records import events_frame, frame_events, frame_leads, leads_frame
from leadscore.testing.conformance import assert_same_as_reference
from leadscore.testing.strategies import AS_OF, models, scenarios, typed_frames

FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=300)


def check(model, people, by_lead, explain: bool = True) -> None:
    frame = score_frame(
        leads_frame(people), events_frame(by_lead, event_fields(model)), model, AS_OF, explain
    )
    assert frame["lead_id"].to_list() == [p.id for p in people]
    for person, row in zip(people, frame.iter_rows(named=True), strict=True):
        reference = score_lead(model, person, by_lead.get(person.id, ()), AS_OF)
        assert_same_as_reference(model, reference, row, row.get("explanation"))


@pytest.mark.slow
@FAST
@given(scenarios())
def test_kernel_equals_reference(example) -> None:
    raw, people, by_lead = example
    check(validate_model_data(raw), people, by_lead)


@pytest.mark.slow
@FAST
@given(scenarios(wide=True))
def test_kernel_equals_reference_on_every_operator_and_odd_value(example) -> None:
    raw, people, by_lead = example
    check(validate_model_data(raw), people, by_lead)


@pytest.mark.slow
@settings(FAST, max_examples=200)
@given(models(), typed_frames())
def test_kernel_equals_reference_on_native_column_types(raw, frames) -> None:
    model = validate_model_data(raw)
    leads, events = frames
    out = score_frame(leads, events, model, AS_OF, explain=True)
    by_lead = frame_events(events)
    for person, row in zip(frame_leads(leads), out.iter_rows(named=True), strict=True):
        reference = score_lead(model, person, by_lead.get(person.id, ()), AS_OF)
        assert_same_as_reference(model, reference, row, row["explanation"])


@pytest.mark.slow
@settings(FAST, max_examples=150)
@given(scenarios(wide=True, max_leads=3))
def test_scores_without_explanation_are_the_same(example) -> None:
    raw, people, by_lead = example
    check(validate_model_data(raw), people, by_lead, explain=False)
