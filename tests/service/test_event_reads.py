"""`store.events.for_leads` reads properties as JSON text and decodes them itself (orjson,
`json` for what orjson refuses): the values, and their exact Python types, are what the JSON
column gave through SQLAlchemy before — on SQLite and PostgreSQL, for one lead (the single
event's path, driver SQL) and for many, with and without `until`."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from leadscore.service import leads as upserts
from leadscore.service.inputs import LeadIn
from leadscore.store import events as stored_events
from leadscore.store import leads as stored_leads
from leadscore.store.tables import events

T0 = 1_767_225_600_000_000

COMMON: list[dict[str, object]] = [
    {"url": "/pricing", "n": 7, "f": 1.0, "neg0": -0.0, "half": 0.5, "e16": 1e16},
    {
        "big": 2**70,
        "u64": 2**64 - 1,
        "i64": -(2**63),
        "tiny": 5e-324,
        "huge": 1.7976931348623157e308,
    },
    {"text": "naïve café ✓ 😀 \u3000", "esc": 'quote " back \\ slash\n\t', "empty": ""},
    {"nested": {"a": [1, 2.5, None, True, False, {"b": "c"}], "meta": {"channel": "Chan"}}},
    {"list": [], "map": {}, "null": None, "third": 1 / 3, "float_int": 12.0, "e": 2.5e-7},
    {},
]
SQLITE_ONLY: list[dict[str, object]] = [
    # json.dumps writes NaN and Infinity; orjson refuses them, `json` decodes them.
    {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")},
    {"surrogate": "\ud800 lone"},
]


def same(a: object, b: object) -> bool:
    """Equal with exactly the same types, all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    return a == b


def _store(ctx) -> dict[str, int]:  # type: ignore[no-untyped-def]
    upserts.upsert_leads(ctx, [LeadIn(id="A"), LeadIn(id="B")], "test")
    properties = COMMON + (SQLITE_ONLY if ctx.db.is_sqlite else [])
    type_ids = ctx.event_types.ensure(ctx.db, ["page_viewed", "email_opened"])
    with ctx.db.write() as conn:
        pks = stored_leads.pks_by_id(conn, ["A", "B"])
        rows = [
            {
                "event_id": f"{lead}{i}",
                "lead_pk": pks[lead],
                "type_id": type_ids["page_viewed" if i % 2 else "email_opened"],
                "occurred_at": T0 + i,
                "properties": props,
                "source": None if i % 3 else "web",
                "received_at": T0,
            }
            for lead in ("A", "B")
            for i, props in enumerate(properties)
        ]
        assert len(stored_events.insert(ctx.db, conn, rows)) == len(rows)
    return pks


def test_events_read_back_with_the_types_the_json_column_gave(ctx) -> None:
    pks = _store(ctx)
    with ctx.db.read() as conn:
        column = {
            event_id: (lead_pk, props)
            for event_id, lead_pk, props in conn.execute(
                select(events.c.event_id, events.c.lead_pk, events.c.properties)
            )
        }
        one = stored_events.for_leads(conn, ctx.event_types, [pks["A"]])
        both = stored_events.for_leads(conn, ctx.event_types, [pks["A"], pks["B"], pks["A"]])
        until = stored_events.for_leads(conn, ctx.event_types, [pks["B"]], until=T0 + 2)
        until_both = stored_events.for_leads(conn, ctx.event_types, list(pks.values()), until=T0)
    assert list(one) == [pks["A"]]
    assert sorted(both) == sorted(pks.values())
    assert len(both[pks["A"]]) == len(both[pks["B"]]) == len(column) // 2 >= len(COMMON)
    assert [e.occurred_at for e in until[pks["B"]]] == [T0, T0 + 1, T0 + 2]
    assert {pk: [e.id for e in found] for pk, found in until_both.items()} == {
        pks["A"]: ["A0"],
        pks["B"]: ["B0"],
    }
    for found in (one, both, until, until_both):
        for lead_pk, stored in found.items():
            for event in stored:
                assert event.id is not None
                want_pk, want = column[event.id]
                assert lead_pk == want_pk
                assert same(event.properties, want), (event.id, event.properties, want)
                i = int(event.id[1:])
                assert event.type == ("page_viewed" if i % 2 else "email_opened")
                assert event.occurred_at == T0 + i
                assert event.source == (None if i % 3 else "web")


def test_a_lead_without_events_reads_as_none(ctx) -> None:
    pks = _store(ctx)
    upserts.upsert_leads(ctx, [LeadIn(id="C")], "test")
    with ctx.db.read() as conn:
        c = stored_leads.pks_by_id(conn, ["C"])["C"]
        assert stored_events.for_leads(conn, ctx.event_types, [c]) == {}
        assert stored_events.for_leads(conn, ctx.event_types, [pks["A"]], until=T0 - 1) == {}
        assert stored_events.for_leads(conn, ctx.event_types, []) == {}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(2**64), 2**64)
    | st.floats()
    | st.sampled_from([0.1, 1 / 3, 1e16, 1e22, 5e-324, 2.2250738585072014e-308, -0.0, 12.0])
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)
number_texts = st.from_regex(r"\A-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?\Z")
"""Numbers as PostgreSQL's jsonb writes them back (any number of digits, no NaN)."""


@settings(max_examples=1_000, deadline=None)
@given(json_values, st.booleans())
def test_decoding_is_json_loads_on_what_json_dumps_writes(value, ascii_only) -> None:
    text = json.dumps({"v": value}, ensure_ascii=ascii_only)
    assert same(stored_events.decode_properties(text), json.loads(text))


@settings(max_examples=1_000, deadline=None)
@given(st.lists(number_texts, min_size=1, max_size=5))
def test_decoding_is_json_loads_on_numbers_of_any_length(numbers) -> None:
    text = "{" + ", ".join(f'"k{i}": {n}' for i, n in enumerate(numbers)) + "}"
    assert same(stored_events.decode_properties(text), json.loads(text))
