"""The `crm_update` action (§6, §8): the outbox's CRM writes, batched per connector.

The worker hands over every claimed crm_update row at once; each connector gets one
`update` call sequence for all of them (100 records per HubSpot call, 200 per Salesforce
call). Only fields that differ from what was last written to a record are sent, so a second
firing that changes nothing writes nothing. A lead with no record in that CRM is delivered
with nothing written (the result says so): crm_update writes to linked records, it does not
create CRM records. A lead without a lawful basis, when LEADSCORE_REQUIRE_CONSENT=basis, is
delivered with nothing written and `skipped: no lawful basis`. A rate limit longer than the
connector waits in line reschedules the rows after the vendor's Retry-After; a record the
vendor refuses (deleted, a bad field) fails its row at once with the vendor's message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from leadscore.connectors.base import ConnectorError, Update, UpdateResult
from leadscore.core.automations import Action
from leadscore.core.consent import NO_BASIS
from leadscore.service.actions import ActionFailed
from leadscore.service.connectors import ConfigurationError, Registry
from leadscore.service.context import Context
from leadscore.service.errors import NotFound
from leadscore.service.push import planned_updates, without_basis
from leadscore.store import Row


@dataclass
class Outcome:
    done: list[tuple[Row, dict[str, Any]]]
    failures: list[tuple[Row, ActionFailed]]
    written: dict[str, list[tuple[str, str, dict[str, Any]]]]
    """connector → (object, crm id, fields) written, to record with the rows' outcome."""


def _keyed(prefix: str) -> Callable[[int, str, str], str]:
    """Update keys that name the outbox row: `row|object|crm id`."""
    return lambda pk, obj, crm_id: f"{prefix}{obj}|{crm_id}"


def deliver(ctx: Context, registry: Registry, rows: Sequence[tuple[Row, Action]]) -> Outcome:
    outcome = Outcome([], [], {})
    by_connector: dict[str, list[tuple[Row, Action]]] = {}
    for row, action in rows:
        by_connector.setdefault(action.config.connector, []).append((row, action))
    for name, group in by_connector.items():
        _one_connector(ctx, registry, name, group, outcome)
    return outcome


def _one_connector(
    ctx: Context,
    registry: Registry,
    name: str,
    rows: list[tuple[Row, Action]],
    outcome: Outcome,
) -> None:
    try:
        configured = registry.get(name)
        connector = registry.ready_to_write(name)
        wants_owner = any("owner" in action.config.fields for _, action in rows)
        owner_ids = registry.owners(name) if wants_owner else {}
    except (NotFound, ConfigurationError) as exc:
        for row, _ in rows:
            outcome.failures.append((row, ActionFailed(str(exc), retryable=False)))
        return
    except ConnectorError as exc:
        for row, _ in rows:
            outcome.failures.append(
                (
                    row,
                    ActionFailed(exc.message, retryable=exc.retryable, retry_after=exc.retry_after),
                )
            )
        return
    updates: list[Update] = []
    per_row: dict[int, list[Update]] = {}
    with ctx.db.read() as conn:
        held = without_basis(ctx, conn, [r.lead_pk for r, _ in rows if r.lead_pk is not None])
        for row, action in rows:
            if row.lead_pk is None:
                outcome.failures.append((row, ActionFailed("no lead", retryable=False)))
                continue
            if row.lead_pk in held:
                outcome.done.append((row, {"connector": name, "written": [], "skipped": NO_BASIS}))
                continue
            prefix = f"{row.pk}|"
            planned, linked = planned_updates(
                ctx,
                conn,
                configured,
                [row.lead_pk],
                owner_ids,
                only=list(action.config.fields),
                key=_keyed(prefix),
            )
            if not linked:
                outcome.done.append(
                    (
                        row,
                        {
                            "connector": name,
                            "written": [],
                            "note": f"the lead has no {name} record",
                        },
                    )
                )
                continue
            per_row[row.pk] = planned
            updates.extend(planned)
    results: dict[str, UpdateResult] = {}
    if updates:
        try:
            results = {r.key: r for r in connector.update(updates)}
        except ConnectorError as exc:  # the whole call: rate limited, down, refused
            failed = ActionFailed(exc.message, retryable=exc.retryable, retry_after=exc.retry_after)
            for row, _ in rows:
                if row.pk in per_row:
                    outcome.failures.append((row, failed))
            return
    written = outcome.written.setdefault(name, [])
    for row, _ in rows:
        if row.pk not in per_row:
            continue
        mine = per_row[row.pk]
        answers = [results.get(u.key) for u in mine]
        bad = [(u, a) for u, a in zip(mine, answers, strict=True) if a is None or not a.ok]
        good = [u for u, a in zip(mine, answers, strict=True) if a is not None and a.ok]
        for u in good:
            written.append((u.object, u.id, dict(u.fields)))
        if not bad:
            outcome.done.append(
                (
                    row,
                    {
                        "connector": name,
                        "written": [
                            {"object": u.object, "id": u.id, "fields": dict(u.fields)} for u in mine
                        ],
                    },
                )
            )
            continue
        messages = "; ".join(
            f"{u.object} {u.id}: {a.message if a is not None else 'no answer'}" for u, a in bad
        )
        retryable = all(a is None or a.retryable for _, a in bad)
        retry_after = max((a.retry_after or 0.0 for _, a in bad if a is not None), default=0.0)
        outcome.failures.append(
            (
                row,
                ActionFailed(
                    f"{name}: {messages}",
                    retryable=retryable,
                    retry_after=retry_after or None,
                    result={"written": [{"object": u.object, "id": u.id} for u in good]},
                ),
            )
        )
