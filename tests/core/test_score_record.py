"""The score record (§3) is declared once, in core/explain.py, beside ScoreResult."""

from __future__ import annotations

from dataclasses import fields

from leadscore.core.explain import SCORE_COLUMNS, SCORE_NAMES, ScoreResult

PYTHON_TYPES = {"id": "str", "number": "float", "label": "str | None"}


def test_score_result_starts_with_the_record_columns() -> None:
    declared = [(name, PYTHON_TYPES[kind]) for name, kind in SCORE_COLUMNS]
    head = fields(ScoreResult)[: len(SCORE_COLUMNS)]
    assert [(f.name, f.type) for f in head] == declared


def test_row_gives_the_record_in_order() -> None:
    result = ScoreResult("L1", 61.5, 70.0, 50.0, "A", "warm", None)
    assert tuple(result.row()) == SCORE_NAMES
    assert result.row() == {
        "lead_id": "L1",
        "score": 61.5,
        "fit": 70.0,
        "engagement": 50.0,
        "grade": "A",
        "tier": "warm",
        "stage": None,
    }
