"""The shared conformance cases pass for the reference scorer, the compiled per-lead evaluator
(the live path) and the Polars kernel (the Spark job runs them in test_spark.py)."""

from __future__ import annotations

import polars as pl
import pytest

from leadscore.engine.kernel import score_frame
from leadscore.testing.conformance import (
    CASES,
    check_case,
    check_engine,
    compiled_engine,
    reference_engine,
)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_reference_scorer(case) -> None:
    check_case(reference_engine, case)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_compiled_evaluator(case) -> None:
    check_case(compiled_engine, case)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_polars_kernel(case) -> None:
    check_case(score_frame, case)


def test_lazy_frames_score_the_same() -> None:
    def lazy(leads, events, model, as_of):
        return score_frame(leads.lazy(), events.lazy(), model, as_of)

    check_engine(lazy)


def test_a_wrong_engine_fails_naming_the_case_and_lead() -> None:
    def off_by_a_cent(leads, events, model, as_of):
        out = score_frame(leads, events, model, as_of)
        return out.with_columns(pl.col("score") + 0.01)

    with pytest.raises(AssertionError, match=r"lead \w+: \("):
        check_engine(off_by_a_cent)
