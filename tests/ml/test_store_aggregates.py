"""Event aggregates (pure): only events strictly before each lead's cutoff count, and the
feature set is the one fixed at training."""

from __future__ import annotations

import polars as pl
import pytest

from leadscore.ml import aggregates as agg

DAY = agg.DAY_US


def events(*rows: tuple[str, str, int]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["lead_id", "type", "occurred_at"], orient="row")


def test_counts_recency_and_totals_before_the_cutoff() -> None:
    ev = events(
        ("a", "open", 0),
        ("a", "open", 50 * DAY),
        ("a", "demo", 55 * DAY),
        ("a", "demo", 60 * DAY),  # at the cutoff: not before it
        ("a", "demo", 70 * DAY),  # after
        ("b", "open", 1 * DAY),
    )
    cutoffs = pl.DataFrame({"lead_id": ["b", "a", "c"], "cutoff": [1 * DAY, 60 * DAY, 5 * DAY]})
    out = agg.aggregate_events(cutoffs, ev, ["open", "demo"])
    assert out["lead_id"].to_list() == ["b", "a", "c"]
    a = out.row(1, named=True)
    assert a[agg.TOTAL] == 3
    assert a[agg.FIRST] == 60.0 and a[agg.LAST] == 5.0
    assert a[agg.count_name("open")] == 2 and a[agg.recent_name("open")] == 1
    assert a[agg.since_name("open")] == 10.0
    assert a[agg.count_name("demo")] == 1 and a[agg.since_name("demo")] == 5.0
    for empty in (out.row(0, named=True), out.row(2, named=True)):  # b's event is at its cutoff
        assert empty[agg.TOTAL] == 0 and empty[agg.count_name("open")] == 0
        assert empty[agg.since_name("open")] is None and empty[agg.LAST] is None


def test_feature_set_is_fixed_at_training() -> None:
    ev = events(("a", "open", 0), ("a", "late", 10 * DAY), ("b", "open", 0))
    cutoffs = pl.DataFrame({"lead_id": ["a", "b"], "cutoff": [5 * DAY, 5 * DAY]})
    types = agg.training_types(ev, cutoffs)
    assert types == ["open"]  # `late` never happened before a cutoff
    later = agg.aggregate_events(agg.with_cutoff(["a"], 20 * DAY), ev, types)
    assert later.columns == ["lead_id", *agg.feature_names(types)]
    assert later[agg.TOTAL].to_list() == [2]  # every event counts in the totals


def test_events_from_a_file_and_no_events() -> None:
    ev = pl.DataFrame(
        {"lead_id": ["a"], "type": ["open"], "occurred_at": ["1970-01-02T00:00:00Z"], "x": [1]}
    )
    out = agg.aggregate_events(agg.with_cutoff(["a"], 3 * DAY), ev, ["open"])
    assert out[agg.since_name("open")].to_list() == [2.0]
    none = agg.aggregate_events(agg.with_cutoff(["a"], 3 * DAY), None, ["open"])
    assert none[agg.TOTAL].to_list() == [0]
    with pytest.raises(ValueError, match="type"):
        agg.normalise_events(pl.DataFrame({"lead_id": ["a"], "occurred_at": [1]}))
