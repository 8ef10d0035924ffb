"""Kernel results that behave as the list of ScoreResult the offline API always returned, and
that `write_scores` (engine/writers.py) writes straight from the frame.

Scores are computed once, without explanations; the explanation (and ScoreResult objects with
their contributions) is computed only when something asks for it: `--explain`, JSON Lines
output, or a caller that iterates the results (the `top` command).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import overload

import numpy as np
import polars as pl

from leadscore.core.explain import ScoreResult
from leadscore.core.model import Model
from leadscore.engine.explain import to_results
from leadscore.engine.kernel import score_frame


class FrameResults(Sequence[ScoreResult]):
    """The scores of a leads frame, in its order."""

    def __init__(
        self,
        leads: pl.DataFrame,
        events: pl.DataFrame | None,
        model: Model,
        as_of: int,
        probabilities: np.ndarray | None = None,
    ) -> None:
        self._inputs = (leads, events, model, as_of, probabilities)
        self.frame = score_frame(leads, events, model, as_of, probabilities=probabilities)

    @cached_property
    def explained(self) -> pl.DataFrame:
        """The scores with fit_points, engagement_points and the explanation column."""
        leads, events, model, as_of, probabilities = self._inputs
        return score_frame(leads, events, model, as_of, explain=True, probabilities=probabilities)

    @cached_property
    def _results(self) -> list[ScoreResult]:
        return to_results(self.explained)

    def __len__(self) -> int:
        return self.frame.height

    @overload
    def __getitem__(self, index: int) -> ScoreResult: ...
    @overload
    def __getitem__(self, index: slice) -> list[ScoreResult]: ...
    def __getitem__(self, index: int | slice) -> ScoreResult | list[ScoreResult]:
        return self._results[index]

    def __iter__(self) -> Iterator[ScoreResult]:
        return iter(self._results)
