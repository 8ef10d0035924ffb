"""CRM webhooks in (§8): HubSpot's signed deliveries, applied like a sync page."""

from __future__ import annotations

from leadscore.service.connectors import registry
from leadscore.service.context import Context
from leadscore.service.errors import Invalid, NotFound, Problem, ServiceError
from leadscore.service.sync import apply_people
from leadscore.service.sync_report import Report
from leadscore.store import Connection
from leadscore.store import connectors as stored

READ_AGAIN = ("creation", "propertyChange", "restore", "merge", "associationChange")
GONE = ("deletion", "privacyDeletion")


class Unsigned(ServiceError):
    """A webhook request without a valid signature (401): nothing was read."""


def hubspot_webhook(
    ctx: Context, method: str, uri: str, body: bytes, headers: dict[str, str]
) -> Report:
    """HubSpot's webhook deliveries: the v3 signature checked first (over `uri`, the address
    HubSpot called), then contacts created or changed read back in one batch and applied like
    a sync page, deleted ones unlinked."""
    from leadscore.connectors.hubspot import HubSpotConnector, parse_webhook

    reg = registry(ctx)
    try:
        configured = reg.get("hubspot")
    except NotFound:  # nothing to verify with: unsigned to us (a 404 would describe the setup)
        raise Unsigned("no hubspot connector is configured: webhooks cannot be verified") from None
    connector = reg.client("hubspot")
    assert isinstance(connector, HubSpotConnector)
    if not connector.client_secret:
        raise Unsigned(
            "the hubspot connector has no client_secret: webhooks cannot be verified"
            " (LEADSCORE_HUBSPOT_CLIENT_SECRET)"
        )
    if not connector.verify_webhook(method, uri, body, headers):
        raise Unsigned("the X-HubSpot-Signature-v3 is missing, stale or wrong")
    try:
        events = parse_webhook(body)
    except ValueError as exc:
        raise Invalid([Problem(("body",), str(exc))]) from None
    report = Report("hubspot")
    changed_ids: list[str] = []
    gone: list[str] = []
    for event in events:
        if event.object != "contacts":
            report.counts["events ignored"] += 1
            continue
        kind = event.subscription_type.split(".", 1)[1]
        if kind in GONE:
            gone.append(event.object_id)
        elif kind in READ_AGAIN:
            changed_ids.append(event.primary_object_id or event.object_id)
    changed_ids = list(dict.fromkeys(i for i in changed_ids if i not in gone))
    people = connector.fetch("contacts", changed_ids) if changed_ids else []
    now = ctx.now()

    def work(conn: Connection) -> None:
        run = stored.start_run(conn, "hubspot", "webhook", False, now)
        apply_people(conn, ctx, connector, configured, people, now, report)
        for crm_id in gone:
            if stored.mark_deleted(conn, "hubspot", "contacts", crm_id, now):
                report.counts["deleted"] += 1
        counts = {**report.counts, "errors named": report.errors}
        stored.finish_run(conn, run, now, "ok", counts)

    ctx.db.transact(work)
    return report
