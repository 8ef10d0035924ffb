"""Simulate automations before switching them on (§6): replay the stored score history of a
window and count how often each automation would have fired, per day and per owner — so that
a threshold can be set to what the sales team can handle before anyone gets an e-mail.

The replay uses the one definition of firing (`core.automations.firings`) on what history
recorded: each recorded change (its state before and after), each event stored, each lead
created. Conditions read the lead's current attributes and owner (attributes are not
versioned). History records changes of the score, fit, engagement or stage; a tier that
moved with no score change (a model activation that only moved tier thresholds) is counted
by the activation's own history rows. Nothing is written or sent.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from leadscore.core.automations import AutomationsFile, Occasion, State, firings
from leadscore.core.records import Lead
from leadscore.core.timestamps import format_timestamp
from leadscore.service.context import Context
from leadscore.store import replay

UNASSIGNED = "(unassigned)"


def _day(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1_000_000, UTC).date().isoformat()


def simulate(ctx: Context, automations: AutomationsFile, window: int) -> dict[str, Any]:
    """The firing counts of `automations` over the last `window` µs of stored history."""
    now = ctx.now()
    start = now - window
    live = automations.live()
    fired: dict[str, Counter[str]] = {a.name: Counter() for a in live}
    owners: dict[str, Counter[str]] = {a.name: Counter() for a in live}
    counted = {"history_rows": 0, "events": 0, "leads_created": 0}

    def count(occasion: Occasion) -> None:
        for firing in firings(live, occasion):
            name = firing.automation.name
            fired[name][_day(occasion.at)] += 1
            owners[name][occasion.owner or UNASSIGNED] += 1

    with ctx.db.read() as conn:
        for lead in replay.leads_in_window(conn, start, now):
            record = Lead(lead.id, lead.email, lead.attributes or {})
            states = lead.states  # (at, State) in time order, the one before `start` first
            if lead.created_at >= start:
                counted["leads_created"] += 1
                first = next((s for at, s in states if at >= lead.created_at), None)
                count(
                    Occasion(
                        record,
                        lead.owner,
                        lead.created_at,
                        None,
                        first,
                        stage_after=None if first is None else first.stage,
                        created=True,
                    )
                )
            previous: State | None = None
            for at, state in states:
                if at >= start:
                    counted["history_rows"] += 1
                    count(
                        Occasion(
                            record,
                            lead.owner,
                            at,
                            previous,
                            state,
                            stage_before=None if previous is None else previous.stage,
                            stage_after=state.stage,
                        )
                    )
                previous = state
            for event_id, event_type, at in lead.events:
                counted["events"] += 1
                current = _state_at(states, at)
                count(
                    Occasion(
                        record,
                        lead.owner,
                        at,
                        current,
                        current,
                        stage_before=None if current is None else current.stage,
                        stage_after=None if current is None else current.stage,
                        events=((event_id, event_type),),
                    )
                )
    days = max(1.0, window / 86_400_000_000)
    report = []
    for automation in live:
        per_day = dict(sorted(fired[automation.name].items()))
        total = sum(per_day.values())
        busiest = max(per_day.items(), key=lambda kv: kv[1], default=None)
        report.append(
            {
                "name": automation.name,
                "trigger": automation.when.kind,
                "fired": total,
                "per_day_mean": total / days,
                "busiest_day": None
                if busiest is None
                else {"day": busiest[0], "fired": busiest[1]},
                "per_day": per_day,
                "per_owner": dict(owners[automation.name].most_common()),
            }
        )
    return {
        "from": format_timestamp(start),
        "to": format_timestamp(now),
        **counted,
        "automations": report,
        "not_simulated": [a.name for a in automations.scheduled()],
    }


def _state_at(states: list[tuple[int, State]], at: int) -> State | None:
    found = None
    for moment, state in states:
        if moment > at:
            break
        found = state
    return found
