"""The frames the store hands to predictive models (SPEC §7), declared once.

Training reads the store's history, the live service predicts stored leads and the bulk
recompute blends probabilities into whole chunks: all three must build the same frames from
the same JSON, or a lead would get a different probability on each path. They live here,
in the lowest layer that builds them; `ml/` only takes them in.
"""

from __future__ import annotations

from typing import Any

import polars as pl

EVENT_SCHEMA = {"lead_id": pl.String, "type": pl.String, "occurred_at": pl.Int64}
"""A predictor's events: the lead's id, the event type, when (epoch µs)."""
OUTCOME_SCHEMA = {"lead_id": pl.String, "outcome": pl.String, "occurred_at": pl.Int64}
"""A lead's outcome (converted or lost) and when (epoch µs)."""

RESERVED = frozenset({"lead_id", "outcome", "cutoff", "id", "email", "email_is_free"})
"""Attribute names that would collide with the columns a leads frame has or the predictors
add (`ml.store_training`'s ID, TARGET, cutoff and EMAIL_IS_FREE); left out."""


def attributes_frame(
    ids: list[str], emails: list[str | None], attributes: list[dict[str, Any]]
) -> pl.DataFrame:
    """`id`, `email` and one column per attribute name (sorted by name). A column whose
    values are all numbers is Float64, all booleans Boolean, anything else text."""
    names: dict[str, None] = {}
    for attrs in attributes:
        names.update(dict.fromkeys(k for k in attrs if k not in RESERVED))
    columns = [
        pl.Series("id", ids, dtype=pl.String),
        pl.Series("email", emails, dtype=pl.String),
    ]
    for name in sorted(names):  # JSONB reorders keys: sort, so every backend trains alike
        columns.append(typed_column(name, [a.get(name) for a in attributes]))
    return pl.DataFrame(columns)


def typed_column(name: str, values: list[Any]) -> pl.Series:
    """JSON values as one Polars column: numbers, booleans, or text (anything mixed)."""
    kinds = {type(v) for v in values if v is not None}
    if kinds == {bool}:
        return pl.Series(name, values, dtype=pl.Boolean)
    if kinds and kinds <= {int, float}:
        return pl.Series(name, [None if v is None else float(v) for v in values], pl.Float64)
    text = [None if v is None else _text(v) for v in values]
    return pl.Series(name, text, dtype=pl.String)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
