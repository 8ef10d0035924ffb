"""The forward-only lifecycle of SPEC §4."""

from __future__ import annotations

import pytest

from leadscore.core.lifecycle import next_stage
from leadscore.core.loader import validate_model_data

MODEL = validate_model_data(
    {
        "combine": "sum",
        "stages": [
            {"name": "disqualified", "when": {"field": "x", "equals": "student"}},
            {"name": "sql", "min_score": 75},
            {"name": "mql", "min_score": 40, "demote": True},
            {"name": "lead"},
        ],
    }
)


@pytest.mark.parametrize(
    ("current", "computed", "expected"),
    [
        (None, "mql", "mql"),
        ("lead", "mql", "mql"),
        ("mql", "sql", "sql"),
        ("lead", "sql", "sql"),
        ("sql", "mql", "sql"),  # sql does not demote
        ("sql", "lead", "sql"),
        ("mql", "lead", "lead"),  # mql says demote: true
        ("sql", "disqualified", "disqualified"),  # at any time
        ("lead", "disqualified", "disqualified"),
        ("disqualified", "lead", "lead"),  # the disqualifying condition no longer holds
        ("customer", "sql", "customer"),  # a person's or the CRM's stage is kept
        ("opportunity", "disqualified", "opportunity"),
        ("lost", "lead", "lost"),
        ("mql", None, "mql"),
    ],
)
def test_next_stage(current, computed, expected) -> None:
    assert next_stage(MODEL, current, computed) == expected


def test_pinned_stage_wins() -> None:
    assert next_stage(MODEL, "lead", "sql", pinned="mql") == "mql"
    assert next_stage(MODEL, "customer", "sql", pinned="lead") == "lead"
