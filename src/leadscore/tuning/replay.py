"""Walk one lead through its history: score it at each of its event times.

A score rises only when an event arrives (decay, expiry and inactivity only lower it), so
scoring at every event time — and once more at the end — finds the peak and the first time
each stage was reached. Not exactly: a negative rule that expires or decays, or a stage
condition such as `no_event … within` that starts to hold, can lift a lead between events;
such a crossing is seen at the lead's next event or at the end. Docs: docs/tuning.md.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from leadscore.core.evaluate import score_lead
from leadscore.core.model import Model
from leadscore.core.records import Event, Lead


@dataclass
class Trace:
    peak: float = float("-inf")
    """The highest total seen."""
    first: dict[str, int] = field(default_factory=dict)
    """Stage name (lower case) → first time the lead was seen in it."""


def replay(
    model: Model, lead: Lead, events: Sequence[Event], stop: int, until: str | None = None
) -> Trace:
    """Score `lead` at each distinct event time ≤ stop, and at stop; `events` sorted by time.

    With `until`, stop as soon as that stage (lower case) is reached (the peak is then
    partial).
    """
    times = [e.occurred_at for e in events]
    moments = sorted({t for t in times if t <= stop} | {stop})
    trace = Trace()
    for moment in moments:
        seen = events[: bisect_right(times, moment)]
        result = score_lead(model, lead, seen, moment)
        trace.peak = max(trace.peak, result.score)
        if result.stage is not None:
            trace.first.setdefault(result.stage.lower(), moment)
        if until is not None and until in trace.first:
            break
    return trace
