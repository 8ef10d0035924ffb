"""Probabilities to blend offline (`leadscore score --predictions FILE`, SPEC §7).

Offline there is no store to load a predictive model from: the probabilities come from a
file, typically what `leadscore predict` wrote (an id column and `probability`). A lead the
file does not list keeps its rule total, as it does live when no probability is available.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from leadscore.engine.readers import InputError, read_rows, text_id

ID_COLUMNS = ("lead_id", "id")


def read_probabilities(path: str | Path, lead_ids: Sequence[str]) -> np.ndarray:
    """Per lead id (in the given order) its probability from the file, NaN when absent."""
    found: dict[str, float] = {}
    for row in read_rows(path):
        values = row.values
        key = next((name for name in ID_COLUMNS if name in values), None)
        if key is None:
            raise InputError(path, row.where, "needs a lead_id (or id) column")
        if "probability" not in values:
            raise InputError(path, row.where, "needs a probability column")
        lead = text_id(values[key])
        if lead is None:
            raise InputError(path, row.where, f"{key} is empty")
        raw = values["probability"]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            p = float(raw)
        except (TypeError, ValueError):
            raise InputError(path, row.where, f"probability {raw!r} is not a number") from None
        if math.isnan(p) or not 0.0 <= p <= 1.0:
            raise InputError(path, row.where, f"probability {raw!r} is not between 0 and 1")
        if lead in found:
            raise InputError(path, row.where, f"lead {lead!r} repeats")
        found[lead] = p
    return np.array([found.get(lead, math.nan) for lead in lead_ids], dtype=np.float64)
