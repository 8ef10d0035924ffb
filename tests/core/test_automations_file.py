"""The automations file (§6) and when an automation fires, with no I/O."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadscore.core.automations import (
    AutomationsError,
    Environment,
    Occasion,
    State,
    firings,
    json_schema,
    load_automations_text,
)
from leadscore.core.records import Lead


def problems(text: str, env: Environment | None = None) -> dict[str, str]:
    with pytest.raises(AutomationsError) as caught:
        load_automations_text(text, env=env)
    return {p.path: p.message for p in caught.value.problems}


def test_crm_update_is_refused_until_a_connector_is_configured():
    text = """
automations:
  - name: to-crm
    when: {stage_changed: {to: sql}}
    actions: [{crm_update: {connector: hubspot}}]
"""
    found = problems(text)
    message = found["automations[0].actions[0].crm_update.connector"]
    assert "no hubspot connector is configured" in message
    parsed = load_automations_text(text, env=Environment(connectors=frozenset({"hubspot"})))
    assert parsed.automations[0].actions[0].kind == "crm_update"


def test_cross_checks_name_each_path():
    found = problems(
        """
automations:
  - name: a
    when: {schedule: {daily_at: "07:00"}}
    actions: [{assign_owner: {team: sales}}]
  - name: a
    when: {lead_created: {}}
    actions: [{notify: {email: {to: [x@y.co]}, template: digest}}]
"""
    )
    assert "can only `notify`" in found["automations[0].actions[0].assign_owner"]
    assert "already the name of automations[0]" in found["automations[1].name"]
    assert "scheduled" in found["automations[1].actions[0].notify.template"]


def test_one_trigger_one_action_key_and_required_parts():
    found = problems(
        """
automations:
  - name: a
    when: {lead_created: {}, tier_changed: {to: hot}}
    actions: [{add_to_list: {list: x}, enroll: {sequence: y}}]
  - name: b
    when: {schedule: {daily_at: "25:00"}}
    actions: [{webhook: {url: "http://x", url_env: X, secret_env: S}}]
  - name: c
    when: {tier_changed: {to: hot}}
    actions: [{notify: {}}, {assign_owner: {}}, {notify: {email: {to: []}}}]
"""
    )
    assert "exactly one trigger" in found["automations[0].when"]
    assert "exactly one action" in found["automations[0].actions[0]"]
    assert "automations[1].when.schedule.daily_at" in found
    assert "exactly one of `url` and `url_env`" in found["automations[1].actions[0].webhook"]
    assert "give a channel" in found["automations[2].actions[0].notify"]
    assert "give a `team`" in found["automations[2].actions[1].assign_owner"]
    assert "to_owner" in found["automations[2].actions[2].notify.email"]


def test_the_schema_is_json_and_names_every_trigger_and_action():
    schema = json.dumps(json_schema())
    for name in ("score_crossed", "event_received", "schedule", "assign_owner", "enroll"):
        assert name in schema
    assert '"from"' in schema  # the alias, as the file writes it


FILE = load_automations_text(
    """
automations:
  - name: up
    when: {score_crossed: {threshold: 50}}
    actions: [{add_to_list: {list: up}}]
  - name: down
    when: {score_crossed: {threshold: 50, direction: down}}
    actions: [{add_to_list: {list: down}}]
  - name: fit-up
    when: {score_crossed: {threshold: 30, on: fit}}
    conditions: {field: country, equals: PL}
    actions: [{add_to_list: {list: fit}}]
  - name: warm-from-cold
    when: {tier_changed: {from: cold, to: [warm, hot]}}
    conditions: {field: score, lt: 80}
    actions: [{add_to_list: {list: warm}}]
"""
)


def state(score: float, fit: float = 0.0, tier: str | None = None) -> State:
    return State(score, fit, score - fit, None, tier, None)


def fired(before: State | None, after: State | None, country: str = "PL") -> list[str]:
    occasion = Occasion(Lead("L", None, {"country": country}), None, 7, before, after)
    return [f.automation.name for f in firings(FILE.automations, occasion)]


def test_crossings():
    assert fired(state(49.99), state(50)) == ["up"]
    assert fired(None, state(60)) == ["up"]  # never scored: crossing up from nothing
    assert fired(state(50), state(70)) == []  # already above
    assert fired(state(50), state(49.9)) == ["down"]
    assert fired(None, state(10)) == []  # nothing to cross down from
    assert fired(state(10, 10), state(40, 35)) == ["fit-up"]
    assert fired(state(10, 10), state(40, 35), country="DE") == []  # its condition


def test_tier_changes_and_conditions_on_the_new_score():
    assert fired(state(40, tier="cold"), state(45, tier="warm")) == ["warm-from-cold"]
    assert fired(state(10, tier="cold"), state(85, tier="hot")) == ["up"]  # score ≥ 80
    assert fired(state(40, tier="warm"), state(45, tier="hot")) == []  # not from cold


@given(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=1, max_size=30))
def test_up_and_down_crossings_alternate(scores):
    """Along any path of scores, the `up` and `down` firings of one threshold alternate,
    starting with `up`: a lead cannot fire twice for the same crossing."""
    sequence, before = [], None
    for score in scores:
        after = state(score)
        sequence += [n for n in fired(before, after) if n in ("up", "down")]
        before = after
    assert all(a != b for a, b in zip(sequence, sequence[1:], strict=False))
    assert not sequence or sequence[0] == "up"
    expected_up = sum(
        1
        for prev, cur in zip([None, *scores], scores, strict=False)
        if cur >= 50 and (prev is None or prev < 50)
    )
    assert sequence.count("up") == expected_up


def test_occurrences_are_the_moment_or_the_event():
    occasion = Occasion(
        Lead("L"), None, 123, None, state(60), events=(("e1", "demo"), ("e2", "demo"))
    )
    text = """
automations:
  - name: demo
    when: {event_received: {type: demo}}
    actions: [{add_to_list: {list: d}}]
  - name: up
    when: {score_crossed: {threshold: 50}}
    actions: [{add_to_list: {list: u}}]
"""
    found = {
        (f.automation.name, f.occurrence)
        for f in firings(load_automations_text(text).automations, occasion)
    }
    assert found == {("demo", "event:e1"), ("demo", "event:e2"), ("up", "score:up:50@123")}
