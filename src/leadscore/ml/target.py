"""Reading the outcome column: which value means "converted"."""

from __future__ import annotations

import numpy as np
import polars as pl

from leadscore.ml import columns as col
from leadscore.ml.errors import MLInputError

POSITIVE_WORDS = ("1", "true", "yes", "y", "converted", "won")


def _keys(series: pl.Series) -> pl.Series:
    return col.clean_text(series).str.to_lowercase()


def detect_positive(series: pl.Series) -> str:
    """The value meaning a conversion: 1/true/yes/y/converted/won, whichever occurs."""
    keys = _keys(series)
    distinct = sorted(set(keys.drop_nulls().to_list()))
    if not distinct:
        raise MLInputError(f"target column {series.name!r} has no values")
    if len(distinct) == 1:
        raise MLInputError(
            f"target {series.name!r} has a single class (every row is {distinct[0]!r}); "
            "need both outcomes to train"
        )
    found = [w for w in POSITIVE_WORDS if w in distinct]
    if len(found) == 1 and len(distinct) <= 2:
        return found[0]
    shown = ", ".join(repr(v) for v in distinct[:10])
    raise MLInputError(
        f"cannot tell which value of target {series.name!r} means converted "
        f"(values: {shown}); pass --positive VALUE"
    )


def encode(series: pl.Series, positive: str) -> np.ndarray:
    """1.0 for the positive value, 0.0 for any other value, NaN when missing."""
    keys = _keys(series)
    wanted = positive.strip().lower()
    is_pos = (keys == wanted).fill_null(False).to_numpy()
    missing = keys.is_null().to_numpy()
    return np.where(missing, np.nan, np.where(is_pos, 1.0, 0.0))
