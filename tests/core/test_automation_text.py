"""Each trigger and action kind in words, as the automations page shows them."""

from __future__ import annotations

import pytest

from leadscore.core.automation_text import describe_action, describe_trigger
from leadscore.core.automations import Action, When


@pytest.mark.parametrize(
    ("when", "text"),
    [
        ({"lead_created": {}}, "a lead is created"),
        ({"stage_changed": {}}, "stage changes"),
        ({"stage_changed": {"to": "sql"}}, "stage changes to sql"),
        ({"tier_changed": {"from": ["cold", "warm"]}}, "tier changes from cold or warm"),
        ({"tier_changed": {"from": "warm", "to": "hot"}}, "tier changes from warm to hot"),
        ({"score_crossed": {"threshold": 85}}, "score crosses 85 upwards"),
        (
            {"score_crossed": {"threshold": 40.5, "direction": "down", "on": "fit"}},
            "fit crosses 40.5 downwards",
        ),
        (
            {"event_received": {"type": ["demo_booked", "trial"]}},
            "an event demo_booked or trial is received",
        ),
        ({"schedule": {"daily_at": "07:00"}}, "daily at 07:00 UTC"),
    ],
)
def test_triggers(when: dict, text: str) -> None:
    assert describe_trigger(When.model_validate(when)) == text


@pytest.mark.parametrize(
    ("action", "text"),
    [
        ({"notify": {"email": {"to": ["a@x.io"], "to_owner": True}}}, "e-mail a@x.io, the owner"),
        (
            {"notify": {"slack": {"url_env": "SLACK_URL"}, "template": "digest"}},
            "Slack ($SLACK_URL) (digest template)",
        ),
        ({"webhook": {"url": "https://h.io/x", "secret_env": "S"}}, "webhook to https://h.io/x"),
        ({"webhook": {"url_env": "HOOK", "secret_env": "S"}}, "webhook to $HOOK"),
        ({"assign_owner": {"team": "emea"}}, "assign an owner from team emea, round robin"),
        (
            {"assign_owner": {"owner": "ana", "strategy": "least_loaded"}},
            "assign an owner from owner ana, least loaded",
        ),
        ({"add_to_list": {"list": "vip"}}, "add to list vip"),
        ({"remove_from_list": {"list": "vip"}}, "remove from list vip"),
        ({"enroll": {"sequence": "nurture"}}, "enroll in sequence nurture"),
        ({"set_stage": {"stage": "sql"}}, "set the stage to sql"),
        ({"crm_update": {"connector": "hubspot"}}, "write score, grade, stage, owner to hubspot"),
    ],
)
def test_actions(action: dict, text: str) -> None:
    assert describe_action(Action.model_validate(action)) == text
