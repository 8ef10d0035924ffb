"""Daily digests (§6 `schedule: {daily_at: HH:MM}`): once a day, each owner gets one message
with the leads that match the automation's conditions and whose score moved in the last day
("new hot leads"); the leads nobody owns go to the automation's `to` addresses.

A digest is an outbox row like any action, keyed by (automation, day, owner): writing the
due digests again — every minute, from any number of processes — writes each one once, and
once a day's digests are written (its slot is recorded in `leases`, `digest:<name>`) the
minute's check reads one row instead of scanning the day's history again. A
day's digest is only written when the automations were active at its time, so activating a
file at 09:00 does not send the 07:00 digest of a day it did not cover.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from leadscore.core.automations import Automation, Firing, Occasion, State, holds
from leadscore.core.records import Lead
from leadscore.core.timestamps import format_timestamp
from leadscore.service.context import Context
from leadscore.service.firing import outbox_rows
from leadscore.service.lists import company_name, person_name
from leadscore.store import Connection, Row, leases
from leadscore.store import automations as stored_automations
from leadscore.store import history as stored_history
from leadscore.store import outbox as stored_outbox

DAY = 86_400_000_000
MOST_LEADS = 200
"""Most leads listed in one digest (the message says how many more there are)."""


def due_slot(minutes: int, now: int) -> int:
    """The latest time of day `minutes` after midnight UTC at or before `now` (epoch µs)."""
    midnight = now - now % DAY
    slot = midnight + minutes * 60_000_000
    return slot if slot <= now else slot - DAY


def write_due(ctx: Context) -> int:
    """Write the digests due now that are not written yet; how many rows were new."""
    now = ctx.now()

    def work(conn: Connection) -> int:
        active = ctx.automations.active(conn)
        if active is None:
            return 0
        version, automations = active
        row = stored_automations.get(conn, version)
        activated_at = row.activated_at if row is not None else None
        written = 0
        for automation in automations.scheduled():
            schedule = automation.when.schedule
            assert schedule is not None
            slot = due_slot(schedule.minutes, now)
            if activated_at is None or slot < activated_at:
                continue
            done = f"digest:{automation.name}"
            last = leases.done_slot(conn, done)
            if last is not None and last >= slot:  # written already: no scan of the day
                continue
            rows = digest_rows(conn, ctx, automation, version, slot, now)
            before = stored_outbox.count_keys(conn, [r["key"] for r in rows])
            stored_outbox.add(ctx.db, conn, rows)
            leases.mark_done(ctx.db, conn, done, slot, now)
            written += len(rows) - before
        return written

    return ctx.db.transact(work)


def digest_rows(
    conn: Connection, ctx: Context, automation: Automation, version: int, slot: int, now: int
) -> list[dict[str, Any]]:
    """One outbox row per owner (and one for the leads nobody owns) for the day before `slot`."""
    start = slot - DAY
    by_owner: dict[str | None, list[Row]] = defaultdict(list)
    for lead in stored_history.leads_changed(conn, start, slot):
        after = None
        if lead.model_version is not None:
            after = State(lead.score, lead.fit, lead.engagement, lead.grade, lead.tier, lead.stage)
        occasion = Occasion(
            Lead(lead.id, lead.email, lead.attributes or {}),
            lead.owner,
            slot,
            after,
            after,
            stage_before=lead.stage,
            stage_after=lead.stage,
        )
        if holds(automation, occasion):
            by_owner[lead.owner].append(lead)
    rows = []
    base = ctx.settings.public_url.rstrip("/")
    for owner, leads in sorted(by_owner.items(), key=lambda kv: kv[0] or ""):
        leads.sort(key=lambda r: -r.score)
        daily_at = automation.when.schedule.daily_at if automation.when.schedule else "?"
        trigger = {
            "kind": "schedule",
            "description": f"daily digest at {daily_at} UTC",
            "at": format_timestamp(slot),
            "window": {"from": format_timestamp(start), "to": format_timestamp(slot)},
            "owner": owner,
            "leads": [_lead(r, base) for r in leads[:MOST_LEADS]],
            "more": max(0, len(leads) - MOST_LEADS),
        }
        firing_rows = outbox_rows(None, version, _firing(automation, slot, owner, trigger), now)
        rows.extend(firing_rows)
    return rows


def _firing(
    automation: Automation, slot: int, owner: str | None, trigger: dict[str, Any]
) -> Firing:
    return Firing(automation, f"digest@{slot}:{owner or '-'}", trigger)


def _lead(row: Row, base: str) -> dict[str, Any]:
    attributes = row.attributes or {}
    return {
        "id": row.id,
        "email": row.email,
        "name": person_name(attributes),
        "company": company_name(attributes),
        "owner": row.owner,
        "score": row.score,
        "fit": row.fit,
        "engagement": row.engagement,
        "grade": row.grade,
        "tier": row.tier,
        "stage": row.stage,
        "previous": None,
        "reasons": [],
        "url": f"{base}/leads/{row.id}",
    }
