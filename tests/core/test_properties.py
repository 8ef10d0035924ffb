"""Properties of the reference scorer that must hold for every model and every lead."""

from __future__ import annotations

import csv
import math
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadscore.core.evaluate import score_lead
from leadscore.core.loader import validate_model_data
from leadscore.core.timestamps import format_timestamp
from leadscore.engine.files import score_files
from leadscore.testing.strategies import AS_OF, DAY, events, leads, models

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(models(), leads(), events())
def test_explanation_adds_up_to_the_total(data, lead, history) -> None:
    result = score_lead(validate_model_data(data), lead, history, AS_OF)
    total = sum(c.score for c in result.contributions)
    assert math.isclose(total, result.score, abs_tol=0.005 + 1e-9)


@SETTINGS
@given(models(), leads(), events())
def test_caps_are_never_exceeded(data, lead, history) -> None:
    model = validate_model_data(data)
    result = score_lead(model, lead, history, AS_OF)
    bounds = {r.id: r.bounds for r in model.engagement.rules}
    for line in result.contributions:
        if line.kind == "rule" and line.section == "engagement":
            low, high = bounds[line.id]
            assert low <= line.capped <= high
    for section, points in (
        (model.fit, result.fit_points),
        (model.engagement, result.engagement_points),
    ):
        low, high = model.section_bounds(section)
        assert low - 1e-9 <= points <= high + 1e-9
    if model.combine == "weighted":
        assert 0 <= result.score <= 100
        assert result.fit <= 100 and result.engagement <= 100


@SETTINGS
@given(models(), leads(), events(), st.randoms())
def test_event_order_does_not_matter(data, lead, history, rnd) -> None:
    model = validate_model_data(data)
    shuffled = list(history)
    rnd.shuffle(shuffled)
    assert score_lead(model, lead, history, AS_OF) == score_lead(model, lead, shuffled, AS_OF)


@SETTINGS
@given(models(), leads(), events(), st.integers(-400 * DAY, 400 * DAY))
def test_shifting_all_times_changes_nothing(data, lead, history, shift) -> None:
    model = validate_model_data(data)
    # a date attribute is an absolute time that this shift does not move, so leave it out
    lead = replace(lead, attributes={**lead.attributes, "signed_up": None})
    moved = [replace(e, occurred_at=e.occurred_at + shift) for e in history]
    assert score_lead(model, lead, history, AS_OF) == score_lead(model, lead, moved, AS_OF + shift)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), leads("A"), leads("B"), events(10), events(10))
def test_one_leads_events_never_change_another_leads_score(tmp_path_factory, data, a, b, ea, eb):
    model = validate_model_data(data)
    folder = tmp_path_factory.mktemp("isolation")

    def write(path, rows, header):
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)

    attributes = ["industry", "employees", "job_title", "signed_up"]
    write(
        folder / "leads.csv",
        [
            [
                x.id,
                x.email or "",
                *[("" if x.attributes[k] is None else x.attributes[k]) for k in attributes],
            ]
            for x in (a, b)
        ],
        ["id", "email", *attributes],
    )

    def event_rows(lead_id, history):
        return [
            [
                lead_id,
                e.type,
                format_timestamp(e.occurred_at),
                e.properties.get("url") or "",
                e.source or "",
            ]
            for e in history
        ]

    header = ["lead_id", "type", "occurred_at", "url", "source"]
    write(folder / "alone.csv", event_rows("A", ea), header)
    write(folder / "both.csv", event_rows("A", ea) + event_rows("B", eb), header)
    alone = score_files(model, folder / "leads.csv", folder / "alone.csv", AS_OF)
    both = score_files(model, folder / "leads.csv", folder / "both.csv", AS_OF)
    assert alone[0] == both[0]
