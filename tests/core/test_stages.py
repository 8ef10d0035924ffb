"""`core.stages.stages_at`, the lifecycle fold's inner loop, is the reference scorer's stage
at every time, exactly: random models (time-relative `where` and fit conditions, count
windows, expiry, half-lives, `inactive_for`, `no_event` stage conditions), adjustments that
come and go, and a blended probability that changes with the time."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadscore.core.conditions import parse_condition
from leadscore.core.evaluate import score_lead
from leadscore.core.explain import Adjustment
from leadscore.core.loader import load_model_text, validate_model_data
from leadscore.core.model import Model
from leadscore.core.records import Event, Lead
from leadscore.core.stages import stages_at
from leadscore.core.timestamps import format_timestamp
from leadscore.testing.strategies import (
    AS_OF,
    DAY,
    events,
    leads,
    models,
    wide_events,
    wide_leads,
    wide_models,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EVERYTHING = """
name: every rule kind
fit:
  weight: 0.4
  max: 50
  rules:
    - {id: sw, when: {field: industry, equals: software}, points: 30}
    - {id: fresh, when: {field: signed_up, within: 10d}, points: 20}
engagement:
  weight: 0.6
  max: 100
  rules:
    - {id: open, event: email_opened, points: 7.77, half_life: 3d}
    - {id: pricing, event: page_viewed, where: {field: url, starts_with: /pricing}, points: 12,
       expires_after: 5d, max: 30}
    - {id: burst, event: page_viewed, count: {at_least: 3, within: 2d}, points: 25, once: true}
    - {id: recent, event: page_viewed, where: {field: seen_at, within: 2d}, points: 1/3}
    - {id: demo, event: demo_booked, points: 40, expires_after: 14d, half_life: 7d}
    - {id: idle, inactive_for: 20d, points: -15}
    - {id: idle_mail, event: email_opened, inactive_for: 6d, points: -5}
stages:
  - name: disqualified
    when: {field: industry, equals: student}
  - {name: sql, min_score: 60}
  - name: quiet
    when:
      all:
        - {no_event: [email_opened, page_viewed], within: 4d}
        - {not: {no_event: demo_booked, within: 30d, where: {field: source, equals: web}}}
  - {name: mql, min_score: 33.33}
  - {name: lead}
""".replace("1/3", str(1 / 3))


@st.composite
def in_force(draw: st.DrawFn, times: list[int]) -> list[tuple[int, int, Adjustment]]:
    """Points overrides, each in force from one time until (not at) another."""
    moments = st.sampled_from(times) if times else st.just(AS_OF)
    overrides = []
    for i in range(draw(st.integers(0, 3))):
        start, stop = draw(moments), draw(moments)
        points = draw(st.sampled_from([-40, -7.5, 0.1, 12.34, 55]))
        overrides.append((start, stop + draw(st.integers(0, 1)), Adjustment(f"o{i}", points)))
    return overrides


LADDER = [{"name": f"at {x / 100}", "min_score": x / 100} for x in range(15_000, -5_001, -25)]
"""A stage every 0.25 points from 150 down to −50: the stage then tells the rounded total
within 0.25, and whether it was rounded (a total just below a step rounds up onto it)."""


@st.composite
def blends(draw: st.DrawFn, data: dict[str, object]) -> dict[str, object]:
    """The model, blending a probability when it combines by weight (one time in two), and
    one time in two with the `LADDER` after its stages with conditions."""
    if draw(st.booleans()):
        stages: list[dict[str, object]] = data["stages"]  # type: ignore[assignment]
        conditional = [stage for stage in stages if "when" in stage]
        data = {**data, "stages": [*conditional, *LADDER, *stages]}
    if data.get("combine", "weighted") == "weighted" and draw(st.booleans()):
        weight = draw(st.sampled_from([0.0, 0.3, 1 / 3, 1.0]))
        return {**data, "predictive": {"model": 1, "weight": weight}}
    return data


def check(model, lead, history, extra, overrides, chances) -> None:  # type: ignore[no-untyped-def]
    """stages_at over the event times and `extra` times (ascending) is score_lead's stage."""
    times = sorted({e.occurred_at for e in history} | set(extra))

    def adjustments_at(t: int) -> list[Adjustment]:
        return [a for start, stop, a in overrides if start <= t < stop]

    def probability_at(t: int) -> float | None:
        return chances[t % len(chances)]

    expected = [
        score_lead(model, lead, history, t, adjustments_at(t), probability_at(t)).stage
        for t in times
    ]
    assert stages_at(model, lead, history, times, adjustments_at, probability_at) == expected
    plain = [score_lead(model, lead, history, t).stage for t in times]
    assert stages_at(model, lead, history, times) == plain


probabilities = st.lists(st.none() | st.floats(0, 1), min_size=1, max_size=4)
extra_times = st.lists(st.integers(-5 * DAY, 210 * DAY).map(lambda d: AS_OF - d), max_size=4)


@SETTINGS
@given(st.data(), leads(), events(), extra_times, probabilities)
def test_stages_at_is_the_reference_stage_at_every_time(
    data, lead, history, extra, chances
) -> None:
    model = validate_model_data(data.draw(models().flatmap(blends)))
    overrides = data.draw(in_force(sorted(e.occurred_at for e in history)))
    check(model, lead, history, extra, overrides, chances)


@SETTINGS
@given(st.data(), wide_leads(), wide_events(), extra_times, probabilities)
def test_stages_at_is_the_reference_stage_with_every_operator(
    data, lead, history, extra, chances
) -> None:
    """Wide models: time-relative `where` and fit conditions, `no_event` at any depth."""
    model = validate_model_data(data.draw(wide_models().flatmap(blends)))
    overrides = data.draw(in_force(sorted(e.occurred_at for e in history)))
    check(model, lead, history, extra, overrides, chances)


def _every_kind() -> dict[tuple[bool, bool], Model]:
    """EVERYTHING, with or without the LADDER, blending or not."""
    ladder = "".join(f"  - {{name: '{s['name']}', min_score: {s['min_score']}}}\n" for s in LADDER)
    models = {}
    for laddered in (False, True):
        for blended in (False, True):
            text = (
                EVERYTHING.replace("  - {name: mql", ladder + "  - {name: mql")
                if laddered
                else EVERYTHING
            )
            if blended:
                text += "predictive: {model: 1, weight: 0.25}\n"
            models[laddered, blended] = load_model_text(text)
    return models


EVERY_KIND = _every_kind()
KINDS = ["email_opened", "page_viewed", "demo_booked"]
timed_events = st.lists(
    st.builds(
        lambda kind, hours, url, source, seen: Event(
            kind,
            AS_OF + hours * 3_600_000_000,
            {"url": url, "seen_at": format_timestamp(AS_OF + seen * 3_600_000_000)},
            source,
        ),
        st.sampled_from(KINDS),
        st.integers(0, 40 * 24),
        st.sampled_from(["/pricing", "/blog", "/pricing/team"]),
        st.sampled_from(["web", None]),
        st.integers(-48, 30 * 24),
    ),
    max_size=30,
)


@SETTINGS
@given(
    st.sampled_from(["software", "student", "retail"]),
    st.integers(-20, 40),
    timed_events,
    st.data(),
    probabilities,
)
def test_stages_at_with_every_rule_kind(industry, signed_up, history, data, chances) -> None:
    model = EVERY_KIND[data.draw(st.sampled_from(sorted(EVERY_KIND)))]
    lead = Lead(
        "L", None, {"industry": industry, "signed_up": format_timestamp(AS_OF + signed_up * DAY)}
    )
    overrides = data.draw(in_force(sorted(e.occurred_at for e in history)))
    extra = [AS_OF + h * 3_600_000_000 for h in data.draw(st.lists(st.integers(-5, 45 * 24)))]
    check(model, lead, history, extra, overrides, chances)


def test_no_times_no_stages() -> None:
    model = load_model_text(EVERYTHING)
    assert stages_at(model, Lead("L"), [Event("email_opened", AS_OF)], []) == []


def test_time_dependence_is_read_from_the_condition_tree() -> None:
    def depends(raw: object) -> bool:
        errors: list[tuple[str, str]] = []
        condition = parse_condition(raw, "c", errors, stage=True)
        assert not errors
        return condition.depends_on_time()

    assert not depends({"field": "url", "starts_with": "/p"})
    assert depends({"field": "seen_at", "within": "2d"})
    assert depends(
        {"not": {"any": [{"field": "a", "exists": True}, {"field": "b", "older_than": "1d"}]}}
    )
    assert not depends({"all": [{"field": "a", "exists": True}, {"not": {"field": "b", "gt": 1}}]})
    assert depends({"no_event": "email_opened", "within": "1d"})


QUIET = load_model_text("""
name: quiet
combine: sum
engagement:
  rules:
    - {id: open, event: email_opened, points: 10, where: {field: url, exists: false}}
stages:
  - name: quiet
    when: {no_event: [email_opened, page_viewed], within: 2d, where: {field: url, exists: true}}
  - {name: cold, when: {no_event: email_opened, within: 1d}}
  - {name: lead}
""")
day_events = st.lists(
    st.builds(
        lambda kind, day, url: Event(kind, AS_OF + day * DAY, {} if url is None else {"url": url}),
        st.sampled_from(KINDS),
        st.integers(0, 12),
        st.sampled_from(["/pricing", None]),
    ),
    max_size=12,
)


@SETTINGS
@given(day_events, st.lists(st.sampled_from([-1, 0, 1])))
def test_no_event_windows_at_their_bounds(history, nudges) -> None:
    """Events a whole number of days apart, times at a window's bound and a µs either side."""
    bounds = {e.occurred_at + d * DAY for e in history for d in (1, 2)}
    extra = [t + nudge for t in sorted(bounds) for nudge in nudges]
    check(QUIET, Lead("L"), history, extra, [], [None])
