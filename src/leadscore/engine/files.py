"""Scoring files offline (SPEC §3), the engine's use case: read, score with the vectorised
kernel, return results.

Files are read into frames by engine/frames.py (falling back to the row-by-row reader of
engine/readers.py for its messages and skip reports) and scored by engine/kernel.py, which gives
the reference scorer's results (core/evaluate.py) for whole tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from leadscore.core.explain import ScoreResult
from leadscore.core.model import Model
from leadscore.engine.fields import text_ids
from leadscore.engine.frames import read_inputs
from leadscore.engine.predictions import read_probabilities
from leadscore.engine.readers import OnBadRow
from leadscore.engine.results import FrameResults


def score_files(
    model: Model,
    leads_path: str | Path,
    events_path: str | Path | None,
    as_of: int,
    on_bad_row: OnBadRow | None = None,
    progress: Callable[[int], None] | None = None,
    predictions: str | Path | None = None,
) -> Sequence[ScoreResult]:
    """Score every lead of the leads file, in its order, at `as_of` (epoch µs).

    The result is a sequence of ScoreResult (with contributions); `write_scores` writes it
    straight from the kernel's frame. `predictions`: a file of probabilities that a model
    with `predictive` blends into its totals (engine/predictions.py).
    """
    leads, events = read_inputs(model, leads_path, events_path, on_bad_row)
    probabilities = None
    if predictions is not None:
        ids = text_ids(leads["id"]).to_list()
        probabilities = read_probabilities(predictions, ids)
    results = FrameResults(leads, events, model, as_of, probabilities)
    if progress is not None:
        progress(len(results))
    return results
