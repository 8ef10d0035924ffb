"""Seeded synthetic B2B leads, events and outcomes (`leadscore demo-data`).

Demos, tests and benchmarks need realistic data that nobody has to hand over. Every lead gets
a hidden propensity, the probability that it converts once decided, computed from its fit
(industry, company size, seniority, country, source) plus noise. The same propensity drives
the events the lead produces (hot leads read pricing, attend webinars, book demos and start
trials; cold ones open a few e-mails or nothing) and its outcome, so that a sensible rule score
or a trained model finds a real signal. The propensity is never written to the files; the
Python API returns it so that tests can check it is recoverable.

Decided leads get their outcome after their buying steps (forms, downloads, webinars, demos,
trials, and their browsing as prospects); e-mails keep arriving afterwards and customers keep
reading the docs, as in real data, so features must be cut at the outcome's time (leakage).

Generation is vectorised with numpy and polars and runs in chunks of `CHUNK_LEADS` leads, each
with its own random stream, so a million leads stream to disk in bounded memory and the same
(leads, seed, end) always give byte-identical files.

The run lives here; `vocabulary` holds the data tables, `leads` and `events` draw a chunk,
`tables` turns it into frames and `output` writes them; the CLI command is in
leadscore/cli/demo.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from leadscore.demo.events import draw_events, make_calendar
from leadscore.demo.leads import draw_companies, draw_leads
from leadscore.demo.output import write, write_all
from leadscore.demo.sampling import micros, stream
from leadscore.demo.tables import DemoData, event_frame, lead_frame, outcome_frame
from leadscore.demo.vocabulary import CONTENT as CONTENT
from leadscore.demo.vocabulary import COUNTRIES as COUNTRIES
from leadscore.demo.vocabulary import EVENT_TYPES as EVENT_TYPES
from leadscore.demo.vocabulary import INDUSTRIES as INDUSTRIES
from leadscore.demo.vocabulary import SOURCES as SOURCES
from leadscore.demo.vocabulary import TITLES as TITLES

__all__ = [
    "CHUNK_LEADS",
    "DemoData",
    "as_end",
    "generate",
    "iter_chunks",
    "write",
    "write_demo",
]

# Read at call time from this module, so that setting `demo.CHUNK_LEADS` (tests do) takes effect.
CHUNK_LEADS = 50_000


def iter_chunks(
    n_leads: int, seed: int = 0, end: datetime | date | None = None
) -> Iterator[DemoData]:
    """Generate the data set chunk by chunk (`CHUNK_LEADS` leads each) in bounded memory."""
    if n_leads <= 0:
        raise ValueError(f"the number of leads must be positive, not {n_leads}")
    if seed < 0:
        raise ValueError(f"the seed must not be negative, not {seed}")
    return _chunks(n_leads, seed, as_end(end))


def _chunks(n_leads: int, seed: int, end: datetime) -> Iterator[DemoData]:
    end_us = micros(end)
    co, cal = draw_companies(n_leads, seed), make_calendar(end)
    width = max(7, len(str(n_leads)))
    seen, events_so_far = pl.Series([], dtype=pl.String), 0
    for chunk, start in enumerate(range(0, n_leads, CHUNK_LEADS)):
        rng = stream(seed, 1, chunk)
        leads = draw_leads(rng, start, min(CHUNK_LEADS, n_leads - start), co, end_us)
        frame, used = lead_frame(leads, co, rng, width, seen)
        seen = pl.concat([seen, used])
        ev = draw_events(rng, leads, cal, end_us)
        events = event_frame(ev, frame["id"], cal, events_so_far + 1)
        events_so_far += events.height
        outcomes = outcome_frame(rng, leads, frame["id"])
        yield DemoData(frame, events, outcomes, leads.propensity)


def generate(n_leads: int, seed: int = 0, end: datetime | date | None = None) -> DemoData:
    """The whole data set in memory; for large N prefer `write_demo`, which streams."""
    chunks = list(iter_chunks(n_leads, seed, end))
    return DemoData(
        leads=pl.concat([c.leads for c in chunks]),
        events=pl.concat([c.events for c in chunks]),
        outcomes=pl.concat([c.outcomes for c in chunks]),
        propensity=np.concatenate([c.propensity for c in chunks]),
    )


def as_end(end: datetime | date | str | None) -> datetime:
    """The end of the data (UTC): a date means its midnight, naive times are UTC."""
    if end is None:
        end = datetime.now(UTC).date()
    if isinstance(end, str):
        end = datetime.fromisoformat(end) if "T" in end or " " in end else date.fromisoformat(end)
    if not isinstance(end, datetime):
        return datetime(end.year, end.month, end.day, tzinfo=UTC)
    return end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)


def write_demo(
    n_leads: int,
    seed: int,
    end: datetime | date | None,
    out_dir: Path | str,
    fmt: str = "parquet",
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Generate and write chunk by chunk; returns the row count of each table."""
    return write_all(iter_chunks(n_leads, seed, end), Path(out_dir), fmt, progress)[1]
