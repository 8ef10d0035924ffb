"""The stores of the failure scenarios (tests/reliability/harness.py): how they are filled,
and how what they hold is read back and checked — straight from the tables, never through
the API that stored it."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from leadscore.core.evaluate import score_lead
from leadscore.core.loader import load_model_text
from leadscore.core.records import Event, Lead
from leadscore.core.timestamps import parse_timestamp
from leadscore.service import keys, scoring_models
from leadscore.service.context import Context
from leadscore.service.events import ingest_events
from leadscore.service.inputs import EventIn, LeadIn
from leadscore.service.leads import upsert_leads
from leadscore.settings import Settings
from leadscore.store import tables

MODEL = """
name: reliability
fit:
  weight: 0.5
  max: 50
  rules:
    - {id: sw, when: {field: industry, equals: software}, points: 25}
    - {id: big, when: {field: employees, gte: 500}, points: 25}
engagement:
  weight: 0.5
  max: 100
  rules:
    - {id: pricing, event: page_viewed, where: {field: url, contains: /pricing}, points: 30}
    - {id: open, event: email_opened, points: 10, half_life: 10d}
    - {id: demo, event: demo_booked, points: 60, expires_after: 30d}
    - {id: unsub, event: email_unsubscribed, points: -100}
grades: {A: 75, B: 50, C: 0}
tiers: {hot: 70, warm: 40, cold: 0}
stages:
  - {name: sql, min_score: 70}
  - {name: mql, min_score: 40}
  - {name: lead}
"""


"""Decay (half_life) and expiry make a score depend on when it is computed: a lead rescored
at another time differs, so a recompute visibly rewrites every lead."""


T0 = "2026-03-01T00:00:00Z"


T1 = "2026-04-15T00:00:00Z"


TYPES = ("page_viewed", "email_opened", "demo_booked", "email_opened", "page_viewed")


SCORE_COLUMNS = ("score", "fit", "engagement", "grade", "tier")


def lead_attributes(i: int) -> dict[str, object]:
    return {
        "industry": "software" if i % 2 else "retail",
        "employees": (i * 37) % 1000,
    }


def event_body(event_id: str, lead_id: str, k: int) -> dict[str, Any]:
    """An event in the month before T0, of a type and URL chosen by `k`."""
    return {
        "id": event_id,
        "lead_id": lead_id,
        "type": TYPES[k % len(TYPES)],
        "occurred_at": f"2026-02-{1 + k % 28:02d}T{k % 24:02d}:00:00Z",
        "properties": {"url": "/pricing" if k % 3 == 0 else "/blog"},
    }


def prepare(database_url: str, leads: int, model: str = MODEL) -> str:
    """Migrate the store, activate `model`, create leads L0…, and return an admin key."""
    with Context.open(Settings(database_url=database_url)) as ctx:
        key = keys.create_key(ctx, f"reliability-{time.monotonic_ns()}", "admin")
        version = scoring_models.upload(ctx, model, "reliability")["version"]
        scoring_models.activate(ctx, version, "reliability")
        for start in range(0, leads, 1000):
            batch = [
                LeadIn(id=f"L{i}", attributes=lead_attributes(i))
                for i in range(start, min(leads, start + 1000))
            ]
            upsert_leads(ctx, batch, "reliability")
    return key


def fill(database_url: str, leads: int, events_per_lead: int, at: str = T0) -> None:
    """A store of `leads` leads with their events, every one scored at `at`."""
    prepare(database_url, 0)
    moment = parse_timestamp(at)
    with Context.open(Settings(database_url=database_url)) as ctx:
        ctx.clock = lambda: moment
        rows = [LeadIn(id=f"L{i}", attributes=lead_attributes(i)) for i in range(leads)]
        for start in range(0, leads, 1000):
            upsert_leads(ctx, rows[start : start + 1000], "reliability")
        bodies = [
            event_body(f"L{i}-e{k}", f"L{i}", i + k)
            for i in range(leads)
            for k in range(events_per_lead)
        ]
        for start in range(0, len(bodies), 2000):
            ingest_events(ctx, [EventIn(**b) for b in bodies[start : start + 2000]])


@contextmanager
def opened(database_url: str) -> Iterator[Context]:
    with Context.open(Settings(database_url=database_url)) as ctx:
        yield ctx


def stored_event_ids(database_url: str) -> Counter[str]:
    """How many rows each event id has in the events table."""
    with opened(database_url) as ctx, ctx.db.read() as conn:
        return Counter(conn.scalars(select(tables.events.c.event_id)))


def lead_rows(database_url: str) -> dict[str, tuple[Any, ...]]:
    """Each lead's stored score, fit, engagement, grade, tier, stage and scoring time."""
    t = tables.leads
    columns = [t.c[name] for name in (*SCORE_COLUMNS, "stage", "scored_at")]
    with opened(database_url) as ctx, ctx.db.read() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(select(t.c.id, *columns))}


def history_counts(database_url: str) -> Counter[str]:
    """History rows per lead."""
    h, t = tables.score_history, tables.leads
    query = select(t.c.id, func.count()).join(h, h.c.lead_pk == t.c.pk).group_by(t.c.id)
    with opened(database_url) as ctx, ctx.db.read() as conn:
        return Counter({lead: n for lead, n in conn.execute(query)})


def stored_events(database_url: str) -> dict[str, list[Event]]:
    """Every lead's stored events as the scorer's records."""
    e, ty, t = tables.events, tables.event_types, tables.leads
    query = (
        select(t.c.id, ty.c.name, e.c.occurred_at, e.c.properties, e.c.source, e.c.event_id)
        .join(e, e.c.lead_pk == t.c.pk)
        .join(ty, ty.c.id == e.c.type_id)
    )
    found: dict[str, list[Event]] = {}
    with opened(database_url) as ctx, ctx.db.read() as conn:
        for lead_id, kind, at, props, source, event_id in conn.execute(query):
            found.setdefault(lead_id, []).append(Event(kind, at, props, source, event_id))
    return found


def half_written(database_url: str, model: str = MODEL) -> list[str]:
    """The leads whose stored score is not the reference scorer's score of their stored
    events at the time the lead says it was scored: a lead whose events and score were not
    written together (or a score from a half-finished recompute)."""
    parsed = load_model_text(model)
    events = stored_events(database_url)
    t = tables.leads
    query = select(
        t.c.id, t.c.email, t.c.attributes, t.c.scored_at, *(t.c[c] for c in SCORE_COLUMNS)
    )
    wrong = []
    with opened(database_url) as ctx, ctx.db.read() as conn:
        rows = list(conn.execute(query))
    for row in rows:
        if row.scored_at is None:
            if events.get(row.id):
                wrong.append(row.id)  # events stored, never scored
            continue
        result = score_lead(
            parsed, Lead(row.id, row.email, row.attributes), events.get(row.id, []), row.scored_at
        )
        expected = tuple(getattr(result, c) for c in SCORE_COLUMNS)
        if tuple(getattr(row, c) for c in SCORE_COLUMNS) != expected:
            wrong.append(row.id)
    return wrong


@dataclass
class Tally:
    """What the clients sent and were told, against what the store holds."""

    sent: int = 0
    acknowledged: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    stored: int = 0
    lost: int = 0
    duplicates: int = 0

    def count_stored(self, database_url: str) -> Tally:
        rows = stored_event_ids(database_url)
        self.stored = sum(rows.values())
        self.lost = sum(1 for i in self.acknowledged if rows[i] == 0)
        self.duplicates = sum(n - 1 for n in rows.values() if n > 1)
        return self


def stored_lead(database_url: str, lead_id: str) -> Lead:
    t = tables.leads
    with opened(database_url) as ctx, ctx.db.read() as conn:
        row = conn.execute(select(t.c.email, t.c.attributes).where(t.c.id == lead_id)).one()
    return Lead(lead_id, row.email, row.attributes)


def count_scored_at(database_url: str | Context, at: str) -> int:
    """Leads scored at `at` (pass an open Context to poll without reconnecting)."""
    t = tables.leads
    moment = parse_timestamp(at)
    query = select(func.count()).where(t.c.scored_at == moment)
    if isinstance(database_url, Context):
        with database_url.db.read() as conn:
            return int(conn.scalar(query) or 0)
    with opened(database_url) as ctx, ctx.db.read() as conn:
        return int(conn.scalar(query) or 0)


def outbox_statuses(database_url: str) -> Counter[str]:
    with opened(database_url) as ctx, ctx.db.read() as conn:
        return Counter(conn.scalars(select(tables.outbox.c.status)))


def outbox_keys(database_url: str) -> set[str]:
    with opened(database_url) as ctx, ctx.db.read() as conn:
        return {f"ob_{pk}" for pk in conn.scalars(select(tables.outbox.c.pk))}
