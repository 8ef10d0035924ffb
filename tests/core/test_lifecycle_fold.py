"""The lifecycle folded in event time (SPEC §4 order independence, docs/lifecycle.md): the
reference `fold_stage` depends on the set of events, not their order, and equals the
forward-only rule applied to the events arriving one time after another, in time order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from leadscore.core.evaluate import score_lead
from leadscore.core.lifecycle import fold_stage, next_stage
from leadscore.core.loader import load_model_text
from leadscore.core.records import Event, Lead

MODEL_TEXT = """
name: fold
fit:
  weight: 0.5
  max: 50
  rules:
    - {id: sw, when: {field: industry, equals: software}, points: 50}
engagement:
  weight: 0.5
  max: 100
  rules:
    - {id: open, event: email_opened, points: 25, half_life: 5d}
    - {id: demo, event: demo_booked, points: 60, expires_after: 10d}
    - {id: unsub, event: email_unsubscribed, points: -100, expires_after: 15d}
stages:
  - name: disqualified
    when: {field: industry, equals: student}
  - {name: sql, min_score: 70}
  - {name: mql, min_score: 40, demote: DEMOTE}
  - name: nurture
    when: {no_event: email_opened, within: 7d}
  - {name: lead}
"""
MODELS = [load_model_text(MODEL_TEXT.replace("DEMOTE", d)) for d in ("false", "true")]
DAY = 86_400_000_000
TYPES = ["email_opened", "demo_booked", "email_unsubscribed", "page_viewed"]
STAGES = [None, "lead", "nurture", "mql", "sql", "disqualified", "customer"]

events_ = st.lists(
    st.builds(Event, st.sampled_from(TYPES), st.integers(0, 40).map(lambda d: d * DAY)),
    max_size=12,
)


def in_time_order(model, lead, events, base, base_time, as_of):
    """The forward-only rule of the live service applied as if every event had arrived at
    the moment it occurred, those of one moment together (the behaviour to reproduce)."""
    current = base
    for t in sorted({e.occurred_at for e in events}):
        if (base_time is None or t > base_time) and t <= as_of:
            arrived = [e for e in events if e.occurred_at <= t]
            current = next_stage(model, current, score_lead(model, lead, arrived, t).stage)
    return next_stage(model, current, score_lead(model, lead, events, as_of).stage)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(MODELS),
    st.sampled_from(["software", "retail", "student"]),
    events_,
    st.sampled_from(STAGES),
    st.none() | st.integers(0, 40).map(lambda d: d * DAY + 1),
    st.integers(0, 50).map(lambda d: d * DAY),
    st.data(),
)
def test_the_fold_is_a_function_of_the_set_of_events(
    model, industry, events, base, base_time, as_of, data
) -> None:
    lead = Lead("L", None, {"industry": industry})
    folded = fold_stage(model, lead, events, base, base_time, as_of)
    shuffled = data.draw(st.permutations(events))
    assert fold_stage(model, lead, shuffled, base, base_time, as_of) == folded
    assert folded.lifecycle == in_time_order(model, lead, events, base, base_time, as_of)
    pinned = fold_stage(model, lead, shuffled, base, base_time, as_of, "nurture")
    assert (pinned.lifecycle, pinned.shown) == (folded.lifecycle, "nurture")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(MODELS), events_, events_, st.integers(41, 50).map(lambda d: d * DAY))
def test_folding_forward_from_the_watermark_is_the_fold_from_the_base(
    model, before, after, as_of
) -> None:
    """What the live path keeps (the folded stage and its watermark) lets later events fold
    forward: the same as folding everything from the base."""
    lead = Lead("L", None, {"industry": "software"})
    first = fold_stage(model, lead, before, None, None, 20 * DAY)
    later = [Event(e.type, e.occurred_at + 20 * DAY + 1) for e in after]
    whole = fold_stage(model, lead, [*before, *later], None, None, as_of)
    forward = fold_stage(model, lead, [*before, *later], first.event_stage, first.watermark, as_of)
    assert forward == whole


def test_a_back_dated_event_changes_the_past() -> None:
    """A demo alone makes an SQL; the same demo after an unsubscribe never did."""
    model = MODELS[0]
    lead = Lead("L", None, {"industry": "software"})
    demo, unsub = Event("demo_booked", 10 * DAY), Event("email_unsubscribed", 5 * DAY)
    assert fold_stage(model, lead, [demo], None, None, 12 * DAY).lifecycle == "sql"
    assert fold_stage(model, lead, [demo, unsub], None, None, 12 * DAY).lifecycle == "mql"
