"""The bulk recompute (§4, §5): read in bulk, scored by the kernel, written in batches.

It must give exactly the reference scorer's numbers from whatever JSON the store holds, on
SQLite and PostgreSQL; leave a lead alone when live traffic rescored it meanwhile; keep what
an interrupted run committed; and explain a recomputed lead exactly when asked.
"""

from __future__ import annotations

import io
import json
import math
import sqlite3

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from sqlalchemy import func, insert, select

from leadscore.core.evaluate import score_lead
from leadscore.core.explain import Adjustment
from leadscore.core.lifecycle import next_stage
from leadscore.core.loader import load_model_text, validate_model_data
from leadscore.core.records import Event, Lead
from leadscore.core.timestamps import format_timestamp, parse_timestamp
from leadscore.service import recompute as bulk
from leadscore.service.events import ingest_events
from leadscore.service.inputs import EventIn
from leadscore.service.queries import get_lead, score_as_of
from leadscore.store.bulk_reads import ChunkReader, property_types
from leadscore.store.tables import (
    event_types,
    events,
    leads,
    model_activations,
    model_versions,
    overrides,
    score_history,
)
from leadscore.testing import scratch
from leadscore.testing.strategies import AS_OF, scenarios

EXAMPLE_RULES = """
fit:
  weight: 0.5
  max: 40
  rules:
    - {id: big, points: 30, when: {field: employees, gte: 100}}
    - {id: us, points: 10, when: {field: country, equals: US}}
engagement:
  weight: 0.5
  max: 60
  rules:
    - {id: pricing, event: page_viewed, points: 20, half_life: 30d,
       where: {field: url, starts_with: /pricing}}
    - {id: nested, event: page_viewed, points: 5, where: {field: meta.channel, equals: ads}}
    - {id: demo, event: demo_booked, points: 40, once: true}
tiers: {hot: 70, warm: 30}
stages:
  - {name: SQL, min_score: 70}
  - {name: MQL, min_score: 30}
  - {name: lead}
"""


def _yaml(data) -> str:
    """The model as YAML text, in block style: ruamel's emitter writes a string such as "?x"
    in a flow sequence unquoted, which reads back as a mapping."""
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.sort_base_mapping_type_on_output = False  # tiers and grades keep their order
    yaml.default_flow_style = False
    yaml.dump(data, out)
    return out.getvalue()


def _json_safe(value) -> bool:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    if "\\u0000" in text:  # PostgreSQL's JSONB cannot hold NUL characters
        return False
    return json.loads(text) == value and _same_types(json.loads(text), value)


def _same_types(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return math.isfinite(a)
    return True


def _store(ctx, model_text: str, people, by_lead, adjustments=None, pins=None) -> None:
    """Write leads, events and overrides straight into an empty store, the model active."""
    scratch.empty(ctx.db)
    adjustments, pins = adjustments or {}, pins or {}
    with ctx.db.write() as conn:
        conn.execute(
            insert(model_versions).values(
                name="m", yaml=model_text, created_at=0, active=True, activated_at=0
            )
        )
        conn.execute(insert(model_activations).values(version=1, activated_at=0, kind="activate"))
        names = sorted({e.type for evs in by_lead.values() for e in evs})
        for i, name in enumerate(names, start=1):
            conn.execute(insert(event_types).values(id=i, name=name))
        type_id = {name: i for i, name in enumerate(names, start=1)}
        for n, person in enumerate(people, start=1):
            conn.execute(
                insert(leads).values(
                    pk=n,
                    id=person.id,
                    email=person.email,
                    external_ids={},
                    attributes=dict(person.attributes),
                    created_at=0,
                    updated_at=0,
                )
            )
            for k, event in enumerate(by_lead.get(person.id, ())):
                conn.execute(
                    insert(events).values(
                        event_id=f"{person.id}-{k}",
                        lead_pk=n,
                        type_id=type_id[event.type],
                        occurred_at=event.occurred_at,
                        properties=dict(event.properties),
                        source=event.source,
                        received_at=0,
                    )
                )
            for points in adjustments.get(person.id, ()):
                conn.execute(
                    insert(overrides).values(
                        lead_pk=n,
                        kind="points",
                        points=points,
                        reason="r",
                        author="a",
                        created_at=0,
                    )  # fmt: skip
                )
            if person.id in pins:
                conn.execute(
                    insert(overrides).values(
                        lead_pk=n,
                        kind="stage",
                        stage=pins[person.id],
                        reason="r",
                        author="a",
                        created_at=0,
                    )  # fmt: skip
                )
    ctx.models.clear()


def _stored(ctx) -> dict[str, dict]:
    with ctx.db.read() as conn:
        return {row.id: row._asdict() for row in conn.execute(select(leads))}


def _expected(model, person, by_lead, as_of, points=(), pin=None):
    adjust = [Adjustment(f"a{i}", p, "r") for i, p in enumerate(points)]
    result = score_lead(model, person, by_lead.get(person.id, ()), as_of, adjust)
    stage = next_stage(model, None, result.stage, pin)
    return (result.score, result.fit, result.engagement, result.grade, result.tier, stage)


def _got(row: dict) -> tuple:
    return (row["score"], row["fit"], row["engagement"], row["grade"], row["tier"], row["stage"])


@settings(
    deadline=None,
    max_examples=30,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(
    scenarios(wide=True, max_leads=4),
    st.lists(st.sampled_from([5.0, -12.5, 100.0, 0.25]), max_size=2),
    st.sampled_from([None, "lead", "SQL"]),
)
@pytest.mark.slow
def test_recompute_equals_the_reference_on_random_models_and_json(
    ctx, example, points, pin
) -> None:
    raw, people, by_lead = example
    assume(all(_json_safe(dict(p.attributes)) for p in people))
    assume(all(_json_safe(dict(e.properties)) for evs in by_lead.values() for e in evs))
    model = validate_model_data(raw)
    seen: set = set()
    for i, person in enumerate(people):  # e-mails are unique in the store
        if person.email in seen:
            people[i] = Lead(person.id, None, person.attributes)
        seen.add(person.email)
    first = people[0].id
    _store(ctx, _yaml(raw), people, by_lead, {first: points}, {first: pin} if pin else {})
    report = bulk.recompute(ctx, AS_OF, batch_size=2)
    assert report.leads == len(people)
    stored = _stored(ctx)
    for person in people:
        mine = person.id == first
        expected = _expected(
            model, person, by_lead, AS_OF, points if mine else (), pin if mine else None
        )
        assert _got(stored[person.id]) == expected, (person.id, raw, points, pin)


@pytest.fixture
def example_store(ctx):
    """Thirty leads with pricing-page views (some with nested properties), demos and a
    property whose type varies between events."""
    day = 86_400_000_000
    people, by_lead = [], {}
    for i in range(30):
        person = Lead(
            f"L{i:02d}",
            f"p{i}@acme.io",
            {"employees": [5, 150, "200", None][i % 4], "country": ["US", "DE"][i % 2]},
        )
        people.append(person)
        by_lead[person.id] = [
            Event("page_viewed", AS_OF - (i % 7) * day, {"url": ["/pricing", 7, None][i % 3]}),
            Event("page_viewed", AS_OF - i * day, {"meta": {"channel": "ads"}}),
            Event("demo_booked", AS_OF - 2 * day, {}) if i % 5 == 0 else None,
        ]
        by_lead[person.id] = [e for e in by_lead[person.id] if e is not None]
    _store(ctx, EXAMPLE_RULES, people, by_lead)
    return load_model_text(EXAMPLE_RULES), people, by_lead


def test_recompute_writes_history_once_and_a_rerun_changes_nothing(ctx, example_store) -> None:
    model, people, by_lead = example_store
    report = bulk.recompute(ctx, AS_OF, cause_ref="nightly", batch_size=7)
    assert (report.leads, report.changed, report.batches) == (30, 30, 5)
    stored = _stored(ctx)
    for person in people:
        assert _got(stored[person.id]) == _expected(model, person, by_lead, AS_OF)
    again = bulk.recompute(ctx, AS_OF, batch_size=7)
    assert (again.leads, again.changed) == (30, 0)
    with ctx.db.read() as conn:
        kinds = conn.execute(
            select(score_history.c.cause_kind, score_history.c.cause_ref, func.count()).group_by(
                score_history.c.cause_kind, score_history.c.cause_ref
            )
        ).all()
    assert kinds == [("recompute", "nightly", 30)]


def test_an_interrupted_recompute_keeps_its_chunks_and_a_rerun_finishes(ctx, example_store) -> None:
    model, people, by_lead = example_store
    calls = []

    def stop_after_two_chunks(n: int) -> None:
        calls.append(n)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bulk.recompute(ctx, AS_OF, batch_size=6, progress=stop_after_two_chunks)
    scored = sum(row["model_version"] is not None for row in _stored(ctx).values())
    # The two chunks reported, and on PostgreSQL the one its second writer had under way.
    assert scored in ((12,) if ctx.db.is_sqlite else (12, 18))
    report = bulk.recompute(ctx, AS_OF, batch_size=6)
    assert (report.leads, report.changed) == (30, 30 - scored)
    stored = _stored(ctx)
    for person in people:
        assert _got(stored[person.id]) == _expected(model, person, by_lead, AS_OF)
    with ctx.db.read() as conn:
        assert conn.scalar(select(func.count()).select_from(score_history)) == 30


def test_a_lead_rescored_live_meanwhile_is_not_overwritten(ctx, example_store) -> None:
    model, _, _ = example_store
    plan = ChunkReader(ctx.db, model)
    from leadscore.store import arrow

    with arrow.connect(ctx.db) as source:
        chunk = plan.read(source, 0, None, AS_OF)
    rows = bulk.score_chunk(ctx, model, 1, chunk, AS_OF)
    # Live traffic: a demo for L01 arrives and rescores it before the recompute writes.
    ctx.clock = lambda: AS_OF + 1
    when = format_timestamp(AS_OF)
    ingest_events(ctx, [EventIn(lead_id="L01", type="demo_booked", occurred_at=when)])
    live = _stored(ctx)["L01"]
    assert live["model_version"] == 1
    written = ctx.db.transact(lambda conn: bulk.write_chunk(ctx, conn, rows, "recompute", None))
    assert written == 29
    assert _stored(ctx)["L01"] == live
    with ctx.db.read() as conn:
        causes = conn.execute(
            select(score_history.c.cause_kind).where(score_history.c.lead_pk == 2)
        ).scalars()
        assert list(causes) == ["event"]


def test_a_recomputed_lead_is_explained_exactly_when_read(ctx, example_store) -> None:
    bulk.recompute(ctx, AS_OF)
    ctx.clock = lambda: AS_OF
    for lead_id in ("L00", "L03", "L10"):
        lead = get_lead(ctx, lead_id)
        explained = lead["explanation"]
        again = score_as_of(ctx, lead_id, AS_OF)
        assert explained == again["explanation"]
        total = sum(line["score"] for line in explained["contributions"])
        assert round(total, 2) == lead["score"]


def test_recompute_uses_the_as_of_time_of_the_run(ctx, example_store) -> None:
    model, people, by_lead = example_store
    later = parse_timestamp("2026-03-01")
    ctx.clock = lambda: later
    bulk.recompute(ctx)
    stored = _stored(ctx)
    for person in people:
        assert _got(stored[person.id]) == _expected(model, person, by_lead, later)
        assert stored[person.id]["scored_at"] == later


def test_text_beyond_ascii_is_read_exactly(ctx) -> None:
    """Ids, e-mails and event sources with non-ASCII characters (and escapes) come back from
    the bulk read as stored: a domain read one character too long would lose its points."""
    rules = """
fit:
  weight: 0.5
  max: 40
  rules:
    - {id: domain, points: 40, when: {field: email_domain, equals: exämple.de}}
engagement:
  weight: 0.5
  max: 60
  rules:
    - {id: partner, event: page_viewed, points: 60, where: {field: source, equals: "café\\\\nord"}}
stages:
  - {name: lead}
"""
    people = [
        Lead("Zoë-1", "zoë@exämple.de", {}),
        Lead("日本-2", "taro@exämple.de", {}),
        Lead('q"3', "q@example.de", {}),
    ]
    by_lead = {p.id: [Event("page_viewed", AS_OF - 1, {}, source="café\\nord")] for p in people}
    _store(ctx, rules, people, by_lead)
    model = load_model_text(rules)
    bulk.recompute(ctx, AS_OF)
    stored = _stored(ctx)
    assert set(stored) == {p.id for p in people}
    for person in people:
        assert _got(stored[person.id]) == _expected(model, person, by_lead, AS_OF)
    assert stored["Zoë-1"]["score"] == 100.0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite's log only
def test_the_reads_hold_no_snapshot_between_chunks(ctx, example_store) -> None:
    """SQLite can reset its write-ahead log only while no reader holds an old snapshot: a
    reader that kept one for the whole run made the log grow by every chunk written."""
    assert ctx.db.is_sqlite
    model, _, _ = example_store
    from leadscore.store import arrow

    path = ctx.db.url.removeprefix("sqlite:///")
    plan = ChunkReader(ctx.db, model)
    with arrow.connect(ctx.db) as source:
        assert plan.read(source, 0, 10, AS_OF) is not None
        ctx.db.transact(lambda conn: conn.execute(leads.update().values(updated_at=1)))
        other = sqlite3.connect(path, timeout=0)
        try:
            busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            other.close()
        assert busy == 0
        chunk = plan.read(source, 10, None, AS_OF)
    assert chunk is not None
    assert chunk.leads["updated_at"].to_list() == [1] * 20


def test_a_property_is_read_only_from_the_event_types_that_test_it() -> None:
    model = load_model_text(
        """
fit: {weight: 0.5, max: 10, rules: [{id: f, points: 10, when: {field: x, exists: true}}]}
engagement:
  weight: 0.5
  max: 10
  rules:
    - {id: pricing, event: page_viewed, points: 5, where: {field: url, starts_with: /pricing}}
    - {id: docs, event: content_downloaded, points: 5,
       where: {all: [{field: properties.content_type, equals: pdf}, {field: url, exists: true}]}}
    - {id: quiet, inactive_for: 30d, points: -5, where: {field: channel, equals: ads}}
stages:
  - name: gone
    when: {no_event: [webinar_attended], within: 30d, where: {field: meta.kind, equals: live}}
  - {name: lead}
"""
    )
    assert property_types(model) == {
        "url": {"page_viewed", "content_downloaded"},
        "content_type": {"content_downloaded"},
        "channel": None,
        "meta.kind": {"webinar_attended"},
    }
