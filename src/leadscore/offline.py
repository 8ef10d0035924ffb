"""Offline scoring of files (SPEC §3): read, score with the reference engine, return results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from leadscore.core.evaluate import score_lead
from leadscore.core.explain import ScoreResult
from leadscore.core.model import Model
from leadscore.engine.io import OnBadRow, read_events, read_leads


def score_files(
    model: Model,
    leads_path: str | Path,
    events_path: str | Path | None,
    as_of: int,
    on_bad_row: OnBadRow | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[ScoreResult]:
    """Score every lead of the leads file, in its order, at `as_of` (epoch µs)."""
    leads = read_leads(leads_path, on_bad_row)
    events = {}
    if events_path is not None:
        events = read_events(events_path, {lead.id for lead in leads}, on_bad_row)
    results = []
    for lead in leads:
        results.append(score_lead(model, lead, events.get(lead.id, ()), as_of))
        if progress is not None:
            progress(1)
    return results
