"""Event aggregates per lead, cut at a per-lead moment (pure: Polars in, Polars out).

A lead's behaviour becomes a fixed set of numbers: for each event type chosen at training
time, how often it happened (ever, and in the last `WINDOW_DAYS` days) and how many days ago
it last happened; plus the total number of events and the days since the first and the last
one. Only events strictly before the lead's cutoff count: at training the cutoff is the time
of the lead's outcome (nothing recorded after the outcome may inform the model), at
prediction it is the scoring time `as_of`. The same function serves both, so the features are
computed identically.

Times are epoch microseconds (Int64), as everywhere in the store.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from leadscore.core.records import EVENT_REQUIRED
from leadscore.ml import columns as col

WINDOW_DAYS = 30
DAY_US = 86_400_000_000
MAX_TYPES = 50
"""At most this many event types become features (the most frequent ones)."""

TOTAL = "events: total"
FIRST = "events: days since first"
LAST = "events: days since last"


def count_name(event_type: str) -> str:
    return f"{event_type}: count"


def recent_name(event_type: str) -> str:
    return f"{event_type}: count last {WINDOW_DAYS} days"


def since_name(event_type: str) -> str:
    return f"{event_type}: days since last"


def feature_names(types: Sequence[str]) -> list[str]:
    """The aggregate columns, in output order."""
    names = [TOTAL, FIRST, LAST]
    for t in types:
        names += [count_name(t), recent_name(t), since_name(t)]
    return names


def missing_phrase(name: str) -> str | None:
    """How a reason names an aggregate that is missing: the event never happened."""
    if name in (FIRST, LAST):
        return "no events yet"
    suffix = ": days since last"
    if name.endswith(suffix):
        return f"no {name.removesuffix(suffix)} yet"
    return None


def normalise_events(events: pl.DataFrame | None) -> pl.DataFrame:
    """`lead_id` String, `type` String, `occurred_at` Int64 µs; other columns dropped.

    `occurred_at` may also be a datetime or ISO 8601 text (an events file); rows without a
    lead, a type or a readable time are left out."""
    schema = {"lead_id": pl.String, "type": pl.String, "occurred_at": pl.Int64}
    if events is None or events.height == 0:
        return pl.DataFrame(schema=schema)
    missing = [c for c in EVENT_REQUIRED if c not in events.columns]
    if missing:
        raise ValueError(f"events need the column(s) {', '.join(missing)}")
    moment = events["occurred_at"]
    if moment.dtype != pl.Int64:
        seconds = col.to_epoch_seconds(moment)
        micros = np.where(np.isnan(seconds), np.nan, np.round(seconds * 1e6))
        moment = pl.Series("occurred_at", micros).fill_nan(None).cast(pl.Int64)
    frame = pl.DataFrame(
        {
            "lead_id": events["lead_id"].cast(pl.String),
            "type": events["type"].cast(pl.String),
            "occurred_at": moment,
        }
    )
    return frame.drop_nulls()


def training_types(events: pl.DataFrame, cutoffs: pl.DataFrame) -> list[str]:
    """The event types seen before the cutoffs of the training leads, most frequent first
    (ties by name), at most `MAX_TYPES`."""
    before = _before_cutoff(normalise_events(events), cutoffs)
    counts = before.group_by("type").len().sort(["len", "type"], descending=[True, False])
    return counts["type"].head(MAX_TYPES).to_list()


def with_cutoff(lead_ids: pl.Series | Sequence[str], as_of: int) -> pl.DataFrame:
    """The cutoff frame for scoring every lead at one moment."""
    ids = pl.Series("lead_id", lead_ids, dtype=pl.String)
    return pl.DataFrame({"lead_id": ids, "cutoff": pl.repeat(as_of, len(ids), eager=True)})


def _before_cutoff(events: pl.DataFrame, cutoffs: pl.DataFrame) -> pl.DataFrame:
    keys = cutoffs.select(pl.col("lead_id").cast(pl.String), pl.col("cutoff").cast(pl.Int64))
    joined = events.join(keys.unique("lead_id", keep="first"), on="lead_id", how="inner")
    return joined.filter(pl.col("occurred_at") < pl.col("cutoff"))


def aggregate_events(
    cutoffs: pl.DataFrame, events: pl.DataFrame | None, types: Sequence[str]
) -> pl.DataFrame:
    """One row per row of `cutoffs` (`lead_id`, `cutoff` µs), in its order: `lead_id` and
    the columns of `feature_names(types)`. Counts are 0 without events; days since are null
    when the event never happened before the cutoff."""
    before = _before_cutoff(normalise_events(events), cutoffs).with_columns(
        days=(pl.col("cutoff") - pl.col("occurred_at")) / DAY_US
    )
    recent = pl.col("days") < WINDOW_DAYS
    aggs: list[pl.Expr] = [
        pl.len().cast(pl.Int64).alias(TOTAL),
        pl.col("days").max().alias(FIRST),
        pl.col("days").min().alias(LAST),
    ]
    for t in types:
        is_t = pl.col("type") == t
        aggs += [
            is_t.sum().cast(pl.Int64).alias(count_name(t)),
            (is_t & recent).sum().cast(pl.Int64).alias(recent_name(t)),
            pl.col("days").filter(is_t).min().alias(since_name(t)),
        ]
    per_lead = before.group_by("lead_id").agg(aggs)
    out = cutoffs.select(pl.col("lead_id").cast(pl.String)).join(
        per_lead, on="lead_id", how="left", maintain_order="left"
    )
    counts = [TOTAL] + [n for t in types for n in (count_name(t), recent_name(t))]
    out = out.with_columns(pl.col(c).fill_null(0) for c in counts)
    return out.select("lead_id", *feature_names(types))
