"""What each action of an automation does (§6), for the outbox worker (service/outbox.py).

Store actions (`assign_owner`, `add_to_list`, `remove_from_list`, `enroll`, `set_stage`) run
inside the worker's transaction. Outside actions (`notify`, `webhook`) get a payload built
once from the lead as it was scored when the automation fired (the reasons are the
explanation of that score), then are handed to `leadscore.delivery`.

With `LEADSCORE_REQUIRE_CONSENT=basis`, nothing about a lead without a lawful basis
(`core.consent`) leaves: its payload keeps no personal data, nothing is sent, and the row is
recorded delivered with the result `{"skipped": "no lawful basis"}`; the basis is checked
again at every attempt, so consent withdrawn before a retry stops it. A digest leaves out the
leads without a basis (docs/retention-and-consent.md).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

import httpx

from leadscore.core.automations import Action, Automation
from leadscore.core.consent import NO_BASIS, has_lawful_basis
from leadscore.core.timestamps import format_timestamp, parse_timestamp
from leadscore.delivery import hooks, mail, render
from leadscore.delivery.errors import DeliveryError
from leadscore.service import assignment, lists
from leadscore.service.context import Context
from leadscore.service.errors import ServiceError
from leadscore.service.queries import explained_at
from leadscore.service.scoring import Cause, rescore
from leadscore.store import Connection, Row, audit
from leadscore.store import consent as stored_consent
from leadscore.store import leads as stored_leads
from leadscore.store import owners as stored_owners

REASONS = 5
"""Top reasons shown in a message: the contributions with the largest points."""


class ActionFailed(Exception):
    """An attempt that did not succeed: retried later unless `retryable` is False."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        result: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.result = result


def actor(automation: Automation) -> str:
    return f"automation:{automation.name}"


# --- in the store ----------------------------------------------------------------------


def internal(
    conn: Connection, ctx: Context, row: Row, automation: Automation, action: Action, now: int
) -> dict[str, Any]:
    """Do a store action in the worker's transaction; what it did."""
    if row.lead_pk is None:
        raise ActionFailed(f"{action.kind} needs a lead", retryable=False)
    config = action.config
    by = actor(automation)
    try:
        if action.kind == "assign_owner":
            territories = [
                assignment.Territory(t.when, t.team, t.owner) for t in config.territories
            ]
            done = assignment.assign_owner(
                conn,
                row.lead_pk,
                team=config.team,
                owner=config.owner,
                strategy=config.strategy,
                territories=territories,
                reassign=config.reassign,
                now=now,
                actor=by,
            )
            return {"owner": done.owner, "assigned": done.assigned, "reason": done.reason}
        if action.kind in ("add_to_list", "enroll"):
            name = config.list if action.kind == "add_to_list" else config.sequence
            kind = "list" if action.kind == "add_to_list" else "sequence"
            added = lists.add_to_list(conn, row.lead_pk, name, kind=kind, by=by, now=now)
            return {"list": name, "added": added}
        if action.kind == "remove_from_list":
            removed = lists.remove_from_list(conn, row.lead_pk, config.list, by=by, now=now)
            return {"list": config.list, "removed": removed}
        if action.kind == "set_stage":
            return _set_stage(conn, ctx, row.lead_pk, config.stage, by, now)
    except assignment.NoOwnerAvailable as exc:
        raise ActionFailed(str(exc)) from None
    except ServiceError as exc:
        raise ActionFailed(str(exc), retryable=False) from None
    raise ActionFailed(f"{action.kind} is not a store action", retryable=False)


def _set_stage(
    conn: Connection, ctx: Context, lead_pk: int, stage: str, by: str, now: int
) -> dict[str, Any]:
    """Set the lead's stage as a person or the CRM does (the lifecycle's new base), then
    rescore it: the change is in history, and may fire other automations."""
    row = stored_leads.lock(conn, [lead_pk])[lead_pk]
    if row.lifecycle_stage == stage:
        return {"stage": stage, "changed": False}
    stored_leads.change(
        conn, lead_pk, now, lifecycle_stage=stage, **stored_leads.new_base(stage, now)
    )
    audit.record(conn, now, by, "lead.stage", row.id, stage=stage, was=row.stage)
    fresh = stored_leads.lock(conn, [lead_pk])[lead_pk]
    rescore(conn, ctx, [fresh], None, Cause("automation", by))
    return {"stage": stage, "changed": True, "was": row.stage}


# --- outside ------------------------------------------------------------------------------


def payload(conn: Connection, ctx: Context, row: Row, automation: Automation) -> dict[str, Any]:
    """What a message or webhook about this firing says (docs/automations.md)."""
    trigger = dict(row.trigger)
    if trigger.get("kind") == "schedule":
        listed = list(trigger.get("leads", []))
        digest: dict[str, Any] = {
            "id": f"ob_{row.pk}",
            "type": "digest.daily",
            "timestamp": format_timestamp(row.created_at),
            "automation": {"name": automation.name, "version": row.automations_version},
            "owner": _owner(conn, trigger.get("owner")),
            "window": trigger.get("window"),
            "leads": listed,
            "more": trigger.get("more", 0),
        }
        if requires_basis(ctx):
            ids = [entry.get("id") for entry in listed if isinstance(entry, dict)]
            held = stored_consent.without_basis_by_id(conn, [i for i in ids if i is not None])
            digest["leads"] = [
                e for e in listed if not isinstance(e, dict) or e.get("id") not in held
            ]
            if len(digest["leads"]) < len(listed):
                digest["withheld"] = len(listed) - len(digest["leads"])
            if not digest["leads"] and not digest["more"]:
                return _skipped(row, automation, "digest.daily")
        return digest
    lead = stored_leads.by_pk(conn, row.lead_pk) if row.lead_pk is not None else None
    if lead is None:
        raise ActionFailed("the lead is gone", retryable=False)
    lawful = has_lawful_basis(lead.consent_basis, lead.consent_given_at, lead.consent_withdrawn_at)
    if requires_basis(ctx) and not lawful:
        return _skipped(row, automation, f"lead.{trigger.get('kind')}")
    at = parse_timestamp(trigger["at"]) if isinstance(trigger.get("at"), str) else row.created_at
    data: dict[str, Any] = {
        "id": f"ob_{row.pk}",
        "type": f"lead.{trigger.get('kind')}",
        "timestamp": format_timestamp(row.created_at),
        "automation": {"name": automation.name, "version": row.automations_version},
        "trigger": {k: v for k, v in trigger.items() if k not in ("before", "after", "event")},
        "lead": lead_payload(conn, ctx, lead, trigger, at),
        "event": trigger.get("event"),
    }
    owner = lead.owner
    data["owner"] = _owner(conn, owner)
    return data


def requires_basis(ctx: Context) -> bool:
    """Whether deliveries about a lead need its lawful basis (LEADSCORE_REQUIRE_CONSENT)."""
    return ctx.settings.require_consent == "basis"


def _skipped(row: Row, automation: Automation, kind: str) -> dict[str, Any]:
    """The payload kept for a delivery not made for want of a lawful basis: no personal
    data, only what the outbox row says anyway."""
    return {
        "id": f"ob_{row.pk}",
        "type": kind,
        "timestamp": format_timestamp(row.created_at),
        "automation": {"name": automation.name, "version": row.automations_version},
        "skipped": NO_BASIS,
    }


def withheld(ctx: Context, row: Row, payload: dict[str, Any]) -> bool:
    """Whether this delivery must not be made: its payload was kept without personal data,
    or (checked at every attempt) its lead has lost its lawful basis since."""
    if payload.get("skipped") == NO_BASIS:
        return True
    if not requires_basis(ctx) or row.lead_pk is None or payload.get("type") == "digest.daily":
        return False
    with ctx.db.read() as conn:
        return bool(stored_consent.without_basis(conn, [row.lead_pk]))


def lead_payload(
    conn: Connection, ctx: Context, lead: Row, trigger: dict[str, Any], at: int
) -> dict[str, Any]:
    attributes = lead.attributes or {}
    after = trigger.get("after") or {}
    before = trigger.get("before")
    reasons: list[dict[str, Any]] = []
    if lead.model_version is not None:
        explained = explained_at(ctx, conn, lead, at)
        if explained is not None:
            lines = [c for c in explained["contributions"] if c.get("score")]
            lines.sort(key=lambda c: -abs(c["score"]))
            reasons = [
                {"rule": c["id"], "section": c.get("section"), "points": c["score"]}
                for c in lines[:REASONS]
            ]
    base = ctx.settings.public_url.rstrip("/")
    return {
        "id": lead.id,
        "email": lead.email,
        "name": lists.person_name(attributes),
        "company": lists.company_name(attributes),
        "owner": lead.owner,
        **{k: after.get(k) for k in ("score", "fit", "engagement", "grade", "tier", "stage")},
        "previous": None
        if before is None
        else {k: before.get(k) for k in ("score", "tier", "stage")},
        "reasons": reasons,
        "url": f"{base}/leads/{lead.id}",
    }


def _owner(conn: Connection, owner: str | None) -> dict[str, Any] | None:
    if owner is None:
        return None
    found = stored_owners.owner(conn, owner)
    if found is None:
        return {"id": owner, "name": None, "email": None}
    return {"id": found.id, "name": found.name, "email": found.email}


def external(
    ctx: Context,
    client: httpx.Client,
    row: Row,
    automation: Automation,
    action: Action,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """Send a message or call a webhook; what the receiver said. Nothing is sent about a
    lead without a lawful basis when one is required (`withheld`)."""
    if action.kind in ("notify", "webhook") and withheld(ctx, row, payload):
        return {"skipped": NO_BASIS}
    try:
        if action.kind == "notify":
            return _notify(ctx, client, row, action, payload)
        if action.kind == "webhook":
            config = action.config
            url = config.url or _env(config.url_env, "the webhook URL")
            secret = _env(config.secret_env, "the webhook's signing secret")
            now = ctx.now() // 1_000_000
            sent = hooks.post_webhook(client, url, secret, payload["id"], payload, now=now)
            return {"url": url, **asdict(sent)}
    except DeliveryError as exc:
        raise ActionFailed(
            exc.message, retryable=exc.retryable, retry_after=exc.retry_after
        ) from None
    if action.kind == "crm_update":
        raise ActionFailed(f"no {action.config.connector} connector is configured", retryable=False)
    raise ActionFailed(f"{action.kind} is not an outside action", retryable=False)


def _notify(
    ctx: Context, client: httpx.Client, row: Row, action: Action, payload: dict[str, Any]
) -> dict[str, Any]:
    config = action.config
    settings = ctx.settings
    result: dict[str, Any] = {}
    if config.email is not None:
        to = list(config.email.to)
        owner = payload.get("owner") or {}
        if config.email.to_owner and owner.get("email"):
            to = [owner["email"], *[a for a in to if a != owner["email"]]]
        if not to:
            raise ActionFailed("the lead has no owner with an e-mail address", retryable=False)
        rendered = render.render(
            config.template,
            payload,
            templates_dir=settings.templates_dir,
            language=config.language or settings.language,
        )
        sink = mail.MailSettings.from_url(settings.smtp_url, settings.mail_dir)
        message = mail.send_mail(
            sink,
            sender=settings.mail_from,
            to=to,
            rendered=rendered,
            # the row's id and creation time: the same on every retry, and not shared with
            # another installation's row of the same number
            message_id=f"{payload['id']}.{row.created_at}",
        )
        result["email"] = {
            "to": to,
            "subject": rendered.subject,
            "message": message.decode("utf-8", "replace"),
        }
    if config.slack is not None:
        url = _env(config.slack.url_env, "the Slack webhook URL")
        text = render.render_slack(
            config.template, payload, settings.templates_dir, config.language or settings.language
        )
        sent = hooks.post_slack(client, url, text)
        result["slack"] = asdict(sent)
    return result


def _env(name: str | None, what: str) -> str:
    value = os.environ.get(name or "")
    if not value:
        raise ActionFailed(f"{name} is not set: it must hold {what}", retryable=False)
    return value
