"""A conformance suite for scoring engines: `check_engine(score)` (SPEC §2, §5).

An engine is a function `score(leads, events, model, as_of) -> pl.DataFrame` over Polars
frames (leads: `id`, optional `email`, attributes; events: `lead_id`, `type`, `occurred_at`,
optional `source`, properties) that returns one row per lead, in the order of `leads`, with
`lead_id, score, fit, engagement, grade, tier, stage`. The same hand-written cases, each with
the numbers worked out from the spec, run against the reference scorer (`reference_engine`),
the compiled per-lead evaluator of the live path (`compiled_engine`), the Polars kernel
(`leadscore.engine.kernel.score_frame`) and the Spark job — in the manner of scikit-learn's
`check_estimator`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from leadscore.core.compiled import compiled
from leadscore.core.evaluate import clamp, combine, score_lead
from leadscore.core.explain import ScoreResult
from leadscore.core.loader import load_model_text
from leadscore.core.model import Model
from leadscore.core.timestamps import parse_timestamp
from leadscore.engine.explain import results_frame
from leadscore.engine.records import frame_events, frame_leads

Engine = Callable[[pl.DataFrame, pl.DataFrame, Model, int], pl.DataFrame]
Row = tuple[float, float, float, str | None, str | None, str | None]
"""Expected (score, fit, engagement, grade, tier, stage) of a lead."""

AS_OF = "2026-01-10T00:00:00Z"
BASE = """
fit: {weight: 0.5, max: 100}
engagement: {weight: 0.5, max: 100}
"""


@dataclass(frozen=True)
class Case:
    name: str
    model: str
    leads: Sequence[dict[str, Any]]
    expected: dict[str, Row]
    events: Sequence[dict[str, Any]] = ()
    as_of: str = AS_OF
    why: str = ""

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        leads = pl.DataFrame(list(self.leads), infer_schema_length=None)
        schema = {"lead_id": pl.String, "type": pl.String, "occurred_at": pl.String}
        events = (
            pl.DataFrame(list(self.events), infer_schema_length=None)
            if self.events
            else pl.DataFrame(schema=schema)
        )
        return leads, events


def _fit(rules: str, extra: str = "") -> str:
    return f"fit:\n  weight: 0.5\n  max: 100\n{extra}  rules:\n{rules}" + (
        "engagement: {weight: 0.5, max: 100}\n"
    )


def _eng(rules: str, extra: str = "") -> str:
    return f"fit: {{weight: 0.5, max: 100}}\nengagement:\n  weight: 0.5\n  max: 100\n{extra}" + (
        f"  rules:\n{rules}"
    )


CASES: list[Case] = [
    Case(
        "text is trimmed and case-folded; numbers coerced from text",
        _fit(
            "    - {id: sw, when: {field: industry, equals: ' SOFTWARE'}, points: 30}\n"
            "    - {id: big, when: {field: employees, gte: 1000}, points: 20}\n"
            "    - {id: cs, when: {field: industry, equals: Software, case_sensitive: true},"
            " points: 7}\n"
        ),
        [
            {"id": "a", "industry": "  software ", "employees": "1e3"},
            {"id": "b", "industry": "Software", "employees": "1,000"},
            {"id": "c", "industry": None, "employees": " 999.5 "},
        ],
        {
            "a": (25.0, 50.0, 0.0, None, None, None),
            "b": (18.5, 37.0, 0.0, None, None, None),
            "c": (0.0, 0.0, 0.0, None, None, None),
        },
        why="'1e3' ≥ 1000; '1,000' is no number; case_sensitive keeps case but still trims",
    ),
    Case(
        "missing fields: only the negative operators hold",
        _fit(
            "    - {id: ne, when: {field: country, not_equals: US}, points: 10}\n"
            "    - {id: ni, when: {field: country, not_in: [US]}, points: 10}\n"
            "    - {id: nc, when: {field: country, not_contains: U}, points: 10}\n"
            "    - {id: ex, when: {field: country, exists: false}, points: 10}\n"
            "    - {id: em, when: {field: country, is_empty: true}, points: 10}\n"
            "    - {id: gt, when: {not: {field: country, gt: 0}}, points: 10}\n"
            "    - {id: eq, when: {field: country, equals: US}, points: 40}\n"
        ),
        [
            {"id": "none", "country": None},
            {"id": "blank", "country": "  "},
            {"id": "us", "country": "US"},
        ],
        {
            "none": (30.0, 60.0, 0.0, None, None, None),
            "blank": (25.0, 50.0, 0.0, None, None, None),
            "us": (25.0, 50.0, 0.0, None, None, None),
        },
        why="a blank text exists (and contains no U) but is empty",
    ),
    Case(
        "derived e-mail fields",
        _fit(
            "    - {id: free, when: {field: email_is_free, equals: true}, points: 10}\n"
            "    - {id: corp, when: {field: email_is_free, equals: false}, points: 20}\n"
            "    - {id: dom, when: {field: email_domain, ends_with: .io}, points: 40}\n"
            "    - {id: nomail, when: {field: email_is_free, exists: false}, points: 1}\n"
        ),
        [
            {"id": "g", "email": " Jo@GMAIL.com "},
            {"id": "c", "email": "x@y@acme.IO"},
            {"id": "n", "email": None},
            {"id": "bad", "email": "no-at-sign"},
        ],
        {
            "g": (5.0, 10.0, 0.0, None, None, None),
            "c": (30.0, 60.0, 0.0, None, None, None),
            "n": (0.5, 1.0, 0.0, None, None, None),
            "bad": (0.5, 1.0, 0.0, None, None, None),
        },
    ),
    Case(
        "regular expressions: searched, case-insensitive, Python syntax",
        _fit(
            "    - {id: dm, when: {field: title, matches: '\\b(ceo|vp)\\b'}, points: 20}\n"
            "    - {id: look, when: {field: title, matches: 'vp(?= sales)'}, points: 10}\n"
            "    - {id: cs, when: {field: title, matches: '^VP', case_sensitive: true},"
            " points: 40}\n"
        ),
        [{"id": "a", "title": " VP Sales"}, {"id": "b", "title": "vpn admin"}],
        {
            "a": (35.0, 70.0, 0.0, None, None, None),
            "b": (0.0, 0.0, 0.0, None, None, None),
        },
        why="the value is trimmed before matching; lookahead is Python-only syntax",
    ),
    Case(
        "dates: within and older_than against as_of",
        _fit(
            "    - {id: new, when: {field: signed_up, within: 7d}, points: 10}\n"
            "    - {id: old, when: {field: signed_up, older_than: 7d}, points: 20}\n"
        ),
        [
            {"id": "edge", "signed_up": "2026-01-03"},
            {"id": "older", "signed_up": "2026-01-02T23:59:59Z"},
            {"id": "future", "signed_up": "2026-02-01T00:00:00+01:00"},
            {"id": "junk", "signed_up": "yesterday"},
        ],
        {
            "edge": (5.0, 10.0, 0.0, None, None, None),
            "older": (10.0, 20.0, 0.0, None, None, None),
            "future": (5.0, 10.0, 0.0, None, None, None),
            "junk": (0.0, 0.0, 0.0, None, None, None),
        },
        why="age exactly 7d is within; a date after as_of is within",
    ),
    Case(
        "group and section clamps in weighted mode",
        "fit:\n  weight: 0.4\n  max: 50\n  groups: {g: {max: 25}, floor: {min: 5}}\n  rules:\n"
        "    - {id: a, group: g, when: {all: []}, points: 20}\n"
        "    - {id: b, group: g, when: {all: []}, points: 20}\n"
        "    - {id: c, when: {all: []}, points: 40}\n"
        "engagement: {weight: 0.6, max: 100}\n",
        [{"id": "x"}],
        {"x": (40.0, 100.0, 0.0, None, None, None)},
        why="g: 40 → 25; floor group gives 5 to everyone; 25+5+40 = 70 → fit.max 50 → 100",
    ),
    Case(
        "decay, expiry, once and caps",
        _eng(
            "    - {id: open, event: email_opened, points: 8, half_life: 10d, max: 10}\n"
            "    - {id: price, event: page_viewed, where: {field: url, starts_with: /pricing},"
            " points: 20, expires_after: 9d}\n"
            "    - {id: demo, event: demo_booked, points: 30, once: true}\n"
        ),
        [{"id": "x"}, {"id": "quiet"}],
        {
            "x": (29.0, 0.0, 58.0, None, None, None),
            "quiet": (0.0, 0.0, 0.0, None, None, None),
        },
        events=[
            {"lead_id": "x", "type": "email_opened", "occurred_at": "2025-12-31T00:00:00Z"},
            {"lead_id": "x", "type": "email_opened", "occurred_at": "2025-12-31"},
            {"lead_id": "x", "type": "page_viewed", "occurred_at": "2026-01-01", "url": "/pricing"},
            {"lead_id": "x", "type": "page_viewed", "occurred_at": "2026-01-02", "url": "/Pricing"},
            {"lead_id": "x", "type": "page_viewed", "occurred_at": "2026-01-03", "url": "/blog"},
            {"lead_id": "x", "type": "demo_booked", "occurred_at": "2026-01-05"},
            {"lead_id": "x", "type": "demo_booked", "occurred_at": "2026-01-06"},
            {"lead_id": "x", "type": "demo_booked", "occurred_at": "2026-01-11"},
            {"lead_id": "nobody", "type": "demo_booked", "occurred_at": "2026-01-05"},
        ],
        why="opens 10 days old: 4 + 4 = 8 (cap 10); the pricing view 9 days old has "
        "expired, the one 8 days old counts ('/Pricing' folds); demo once: 30; 58 in all",
    ),
    Case(
        "count windows are greedy and can award twice",
        _eng(
            "    - {id: burst, event: page_viewed, count: {at_least: 3, within: 1d}, points: 15}\n"
        ),
        [{"id": "x"}],
        {"x": (15.0, 0.0, 30.0, None, None, None)},
        events=[
            {"lead_id": "x", "type": "page_viewed", "occurred_at": f"2026-01-01T{h}:00:00Z"}
            for h in ("00", "01", "02")
        ]
        + [
            {"lead_id": "x", "type": "page_viewed", "occurred_at": f"2026-01-02T{h}:00:00Z"}
            for h in ("06", "07", "08")
        ]
        + [{"lead_id": "x", "type": "page_viewed", "occurred_at": "2026-01-05T00:00:00Z"}],
        why="views at 0, 1, 2, 30, 31, 32 h (and a lone one) award at 2 h and at 32 h",
    ),
    Case(
        "inactivity looks at (as_of − D, as_of]",
        _eng(
            "    - {id: idle, inactive_for: 7d, points: -10}\n"
            "    - {id: seen, event: email_opened, points: 50}\n"
            "    - {id: nodemo, inactive_for: 7d, event: demo_booked, points: -5}\n",
            "  min: -100\n",
        ),
        [{"id": "edge"}, {"id": "recent"}, {"id": "never"}],
        {
            "edge": (17.5, 0.0, 35.0, None, None, None),
            "recent": (22.5, 0.0, 45.0, None, None, None),
            "never": (0.0, 0.0, -15.0, None, None, None),
        },
        events=[
            {"lead_id": "edge", "type": "email_opened", "occurred_at": "2026-01-03"},
            {"lead_id": "recent", "type": "email_opened", "occurred_at": "2026-01-03T00:00:01"},
        ],
        why="an event exactly 7 days old is outside the window; no events at all is inactive",
    ),
    Case(
        "sum mode: raw points, section minimum, no total clamp",
        "combine: sum\nfit:\n  rules:\n    - {id: neg, when: {all: []}, points: -30}\n"
        "engagement:\n  min: -50\n  rules:\n    - {id: unsub, event: email_unsubscribed,"
        " points: -40}\n"
        "tiers: {hot: 10, cold: -100}\n",
        [{"id": "x"}],
        {"x": (-40.0, 0.0, -40.0, None, "cold", None)},
        events=[{"lead_id": "x", "type": "email_unsubscribed", "occurred_at": "2026-01-01"}],
        why="fit is clamped to [0, ∞); engagement to [-50, ∞)",
    ),
    Case(
        "rounding is half to even on the exact value, once, at the end",
        "combine: sum\nfit:\n  rules:\n"
        "    - {id: a, when: {field: k, equals: a}, points: 0.125}\n"
        "    - {id: b, when: {field: k, equals: b}, points: 0.375}\n"
        "    - {id: c, when: {field: k, equals: c}, points: 2.675}\n"
        "engagement: {}\n",
        [{"id": "a", "k": "a"}, {"id": "b", "k": "b"}, {"id": "c", "k": "c"}],
        {
            "a": (0.12, 0.12, 0.0, None, None, None),
            "b": (0.38, 0.38, 0.0, None, None, None),
            "c": (2.67, 2.67, 0.0, None, None, None),
        },
        why="2.675 is 2.67499999… in binary",
    ),
    Case(
        "grades, tiers and stages: order written, rounded values, no match",
        BASE + "grades: {B: 50, A: 75, F: 0}\ntiers: {hot: 80, warm: 10}\nstages:\n"
        "  - {name: sql, min_score: 37.5}\n  - {name: low, when: {field: k, equals: x}}\n",
        [{"id": "a", "k": "x"}, {"id": "b", "k": "y"}],
        {
            "a": (0.0, 0.0, 0.0, "F", None, "low"),
            "b": (0.0, 0.0, 0.0, "F", None, None),
        },
    ),
    Case(
        "a score that rounds up to a threshold meets it",
        "fit:\n  weight: 1.0\n  max: 100\n  rules:\n"
        "    - {id: t, when: {all: []}, points: 74.996}\n"
        "engagement: {weight: 0.0, max: 1}\ngrades: {A: 75, B: 0}\ntiers: {hot: 75, cold: 0}\n",
        [{"id": "x"}],
        {"x": (75.0, 75.0, 0.0, "A", "hot", None)},
        why="fit 74.996 is shown, and graded, as 75.00",
    ),
    Case(
        "stage conditions may test events: no_event with where",
        _eng("    - {id: v, event: page_viewed, points: 1}\n") + "stages:\n"
        "  - name: job-seeker\n    when:\n      all:\n"
        "        - not: {no_event: page_viewed, within: 30d, where: {field: url,"
        " starts_with: /careers}}\n"
        "        - {no_event: page_viewed, within: 30d, where: {not: {field: url,"
        " starts_with: /careers}}}\n"
        "  - {name: quiet, when: {no_event: [page_viewed, email_opened], within: 2d}}\n"
        "  - {name: lead}\n",
        [{"id": "seeker"}, {"id": "buyer"}, {"id": "idle"}],
        {
            "seeker": (0.5, 0.0, 1.0, None, None, "job-seeker"),
            "buyer": (1.0, 0.0, 2.0, None, None, "lead"),
            "idle": (0.0, 0.0, 0.0, None, None, "quiet"),
        },
        events=[
            {
                "lead_id": "seeker",
                "type": "page_viewed",
                "occurred_at": "2026-01-09",
                "url": "/careers/1",
            },
            {
                "lead_id": "buyer",
                "type": "page_viewed",
                "occurred_at": "2026-01-09",
                "url": "/careers",
            },
            {
                "lead_id": "buyer",
                "type": "page_viewed",
                "occurred_at": "2026-01-08",
                "url": "/pricing",
            },
            {
                "lead_id": "idle",
                "type": "page_viewed",
                "occurred_at": "2026-01-20",
                "url": "/pricing",
            },
        ],  # fmt: skip
    ),
    Case(
        "event fields: type, source and properties",
        _eng(
            "    - {id: web, event: [page_viewed, form_submitted], where: {field: source,"
            " equals: WEB}, points: 5}\n"
            "    - {id: form, event: [page_viewed, form_submitted], where: {field: type,"
            " equals: form_submitted}, points: 7}\n"
            "    - {id: plan, event: form_submitted, where: {field: seats, gte: 10}, points: 11}\n"
        ),
        [{"id": "x"}],
        {"x": (14.0, 0.0, 28.0, None, None, None)},
        events=[
            {
                "lead_id": "x",
                "type": "page_viewed",
                "occurred_at": "2026-01-01",
                "source": "web",
                "seats": None,
            },
            {
                "lead_id": "x",
                "type": "form_submitted",
                "occurred_at": "2026-01-02",
                "source": " Web ",
                "seats": "12",
            },
            {
                "lead_id": "x",
                "type": "Form_submitted",
                "occurred_at": "2026-01-02",
                "source": "web",
                "seats": "50",
            },
        ],  # fmt: skip
        why="event types are exact (Form_submitted is another type); 5+5+7+11 = 28",
    ),
]


def reference_engine(
    leads: pl.DataFrame, events: pl.DataFrame, model: Model, as_of: int, explain: bool = False
) -> pl.DataFrame:
    """The reference scorer (core/evaluate.py) as an engine over frames."""
    by_lead = frame_events(events)
    results = [
        score_lead(model, lead, by_lead.get(lead.id, ()), as_of) for lead in frame_leads(leads)
    ]
    return results_frame(results, explain)


def compiled_engine(
    leads: pl.DataFrame, events: pl.DataFrame, model: Model, as_of: int, explain: bool = False
) -> pl.DataFrame:
    """The model's compiled per-lead evaluator (core/compiled.py, the live path) as an engine."""
    by_lead = frame_events(events)
    evaluator = compiled(model)
    results = [
        evaluator.score(lead, by_lead.get(lead.id, ()), as_of) for lead in frame_leads(leads)
    ]
    return results_frame(results, explain)


def check_case(score: Engine, case: Case) -> None:
    """Run one case; raise AssertionError naming the case and the lead on a difference."""
    model = load_model_text(case.model, source=case.name)
    leads, events = case.frames()
    out = score(leads, events, model, parse_timestamp(case.as_of))
    ids = [str(i) for i in leads["id"].to_list()]
    got_ids = out["lead_id"].to_list()
    assert got_ids == ids, f"{case.name}: lead order {got_ids} != {ids}"
    for row in out.iter_rows(named=True):
        got = tuple(row[k] for k in ("score", "fit", "engagement", "grade", "tier", "stage"))
        want = case.expected[row["lead_id"]]
        assert got == want, f"{case.name}: lead {row['lead_id']}: {got} != expected {want}"


def check_engine(score: Engine, cases: Sequence[Case] = CASES) -> None:
    """Run every case against an engine; raise AssertionError listing every failure."""
    failures = []
    for case in cases:
        try:
            check_case(score, case)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


# --- comparing an engine with the reference, lead by lead -------------------------------

MIDPOINT_NOISE = 1e-9


def unrounded(model: Model, result: ScoreResult) -> tuple[float, float, float]:
    """(score, fit, engagement) of a reference result before rounding."""
    fit, engagement, total = combine(model, result.fit_points, result.engagement_points)
    if model.combine == "weighted":
        total = clamp(total, 0.0, 100.0)
    return total, fit, engagement


def near_midpoint(value: float) -> bool:
    """Within float noise of x.xx5, where rounding to 2 decimals may go either way (§2.5)."""
    scaled = abs(value) * 100.0
    return abs(scaled - (int(scaled) + 0.5)) <= MIDPOINT_NOISE * 100.0


def assert_same_as_reference(
    model: Model,
    reference: ScoreResult,
    row: dict[str, Any],
    explanation: Sequence[dict[str, Any]] | None = None,
) -> None:
    """An engine's output row equals the reference result: values after rounding (0.01 apart
    only near a midpoint), grade, tier and stage exactly, and — when given — the explanation
    lines with numbers within 1e-9."""
    lead = reference.lead_id
    assert row["lead_id"] == lead
    for name, exact in zip(
        ("score", "fit", "engagement"), unrounded(model, reference), strict=True
    ):
        got, want = row[name], getattr(reference, name)
        if got != want:
            assert abs(got - want) <= 0.01 + 1e-12 and near_midpoint(exact), (
                f"{lead}: {name} {got} != reference {want} (unrounded {exact!r})"
            )
    for name in ("grade", "tier", "stage"):
        assert row[name] == getattr(reference, name), (
            f"{lead}: {name} {row[name]!r} != reference {getattr(reference, name)!r}"
        )
    if explanation is None:
        return
    want_lines = [c for c in reference.contributions]
    assert len(explanation) == len(want_lines), (
        f"{lead}: {len(explanation)} explanation lines != reference {len(want_lines)}"
    )
    for got, want in zip(explanation, want_lines, strict=True):
        for key in ("kind", "id", "section", "group"):
            assert got[key] == getattr(want, key), f"{lead}: line {want.id}: {key}"
        if want.kind == "rule":
            assert got["occurrences"] == want.occurrences, f"{lead}: {want.id}: occurrences"
            assert tuple(got["cut_by"]) == want.cut_by, f"{lead}: {want.id}: cut_by"
        for key in ("raw", "capped", "score"):
            a, b = got[key], getattr(want, key)
            assert a == b or abs(a - b) <= 1e-9, f"{lead}: {want.id}: {key} {a!r} != {b!r}"
