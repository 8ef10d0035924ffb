"""Plain-English lines for an automation's trigger and actions, for the dashboard: what a
person reads to know when an automation fires and what it does, without the YAML. Pure, so
it is unit-tested without a server."""

from __future__ import annotations

from leadscore.core.automations import Action, Moved, When


def _names(values: tuple[str, ...] | None) -> str:
    return " or ".join(values) if values else "any"


def _moved(what: str, moved: Moved) -> str:
    if moved.from_ is None and moved.to is None:
        return f"{what} changes"
    if moved.from_ is None:
        return f"{what} changes to {_names(moved.to)}"
    if moved.to is None:
        return f"{what} changes from {_names(moved.from_)}"
    return f"{what} changes from {_names(moved.from_)} to {_names(moved.to)}"


def describe_trigger(when: When) -> str:
    """When the automation fires, in one line: "score crosses 85 upwards"."""
    if when.lead_created is not None:
        return "a lead is created"
    if when.stage_changed is not None:
        return _moved("stage", when.stage_changed)
    if when.tier_changed is not None:
        return _moved("tier", when.tier_changed)
    if when.score_crossed is not None:
        crossed = when.score_crossed
        way = "upwards" if crossed.direction == "up" else "downwards"
        return f"{crossed.on} crosses {crossed.threshold:g} {way}"
    if when.event_received is not None:
        return f"an event {' or '.join(when.event_received.type)} is received"
    assert when.schedule is not None
    return f"daily at {when.schedule.daily_at} UTC"


def describe_action(action: Action) -> str:
    """What one action does, in one line: "e-mail sales@x.io and the owner"."""
    kind = action.kind
    if action.notify is not None:
        notify = action.notify
        parts = []
        if notify.email is not None:
            to = list(notify.email.to) + (["the owner"] if notify.email.to_owner else [])
            parts.append("e-mail " + ", ".join(to))
        if notify.slack is not None:
            parts.append(f"Slack (${notify.slack.url_env})")
        template = "" if notify.template == "notify" else f" ({notify.template} template)"
        return " and ".join(parts) + template
    if action.webhook is not None:
        hook = action.webhook
        return f"webhook to {hook.url or '$' + str(hook.url_env)}"
    if action.assign_owner is not None:
        assign = action.assign_owner
        target = f"team {assign.team}" if assign.team else f"owner {assign.owner}"
        if assign.territories:
            count = len(assign.territories)
            target += f" ({count} {'territory' if count == 1 else 'territories'} first)"
        return f"assign an owner from {target}, {assign.strategy.replace('_', ' ')}"
    if action.add_to_list is not None:
        return f"add to list {action.add_to_list.list}"
    if action.remove_from_list is not None:
        return f"remove from list {action.remove_from_list.list}"
    if action.enroll is not None:
        return f"enroll in sequence {action.enroll.sequence}"
    if action.set_stage is not None:
        return f"set the stage to {action.set_stage.stage}"
    if action.crm_update is not None:
        update = action.crm_update
        return f"write {', '.join(update.fields)} to {update.connector}"
    return kind
