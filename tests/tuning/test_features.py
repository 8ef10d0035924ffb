"""Rule features read from explanations: 1/0 for fit and inactivity rules, the decayed,
capped number of occurrences for event rules — and nothing after the outcome."""

from __future__ import annotations

import numpy as np
import pytest

from leadscore.core.loader import load_model_text
from leadscore.core.records import Event, Lead
from leadscore.core.timestamps import parse_timestamp
from leadscore.tuning.features import feature_table, rule_specs
from leadscore.tuning.history import DAY_US, History, Outcome

MODEL = """\
combine: sum
fit:
  rules:
    - id: saas
      when: {field: industry, equals: saas}
      points: 10
engagement:
  rules:
    - id: open
      event: email_opened
      points: 4
      max: 6
      half_life: 10d
    - id: visit
      event: page_viewed
      points: 0
    - id: quiet
      inactive_for: 30d
      points: -5
"""

T = parse_timestamp("2026-06-01")


def history(leads, events, outcomes) -> History:
    return History(leads, events, outcomes, T - 100 * DAY_US, T + 100 * DAY_US)


def test_features_per_kind_of_rule() -> None:
    model = load_model_text(MODEL)
    active = Lead("A", attributes={"industry": "SaaS"})
    idle = Lead("B")
    events = {
        "A": [
            Event("email_opened", T - 20 * DAY_US),  # worth 1
            Event("email_opened", T - 10 * DAY_US),  # worth 2
            Event("page_viewed", T - 5 * DAY_US),
            Event("page_viewed", T - 4 * DAY_US),
            Event("email_opened", T - 1),  # worth 4 (almost): total 7, capped at 6
            Event("email_opened", T + 1),  # the outcome's own time and later: ignored
            Event("page_viewed", T + 2 * DAY_US),
        ]
    }
    outcomes = {"A": Outcome(True, T + 1), "B": Outcome(False, T + 1)}
    table = feature_table(model, history([active, idle], events, outcomes))
    assert [s.id for s in table.specs] == ["saas", "open", "visit", "quiet"]
    assert [s.kind for s in table.specs] == ["fit", "event", "event", "inactivity"]
    np.testing.assert_allclose(table.X, [[1.0, 1.5, 2.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    assert table.y.tolist() == [1, 0]
    assert table.scores.tolist() == [16.0, 0.0]  # B's -5 is clamped by the engagement min 0


def test_specs_keep_rule_caps() -> None:
    specs = rule_specs(load_model_text(MODEL))
    assert (specs[1].min, specs[1].max, specs[1].points) == (None, 6, 4)
    assert specs[3].section == "engagement" and specs[0].section == "fit"


@pytest.mark.parametrize("points", [2, 8])
def test_an_event_feature_does_not_depend_on_the_points(points: int) -> None:
    text = MODEL.replace("points: 4\n      max: 6", f"points: {points}\n      max: {1.5 * points}")
    model = load_model_text(text)
    events = {"A": [Event("email_opened", T - 20 * DAY_US), Event("email_opened", T - 1)]}
    table = feature_table(model, history([Lead("A")], events, {"A": Outcome(True, T)}))
    assert table.X[0, 1] == pytest.approx(1.25)  # 1 + 0.5^2, whatever the points
