"""Syncing a CRM (§8): people in as leads, deals in as stages and outcomes, scores out.

Each page a connector reads is written in one transaction together with the cursor that
follows it, so a sync that dies (a crash, a 5xx burst the client gave up on) resumes after
the last page written, and a page read twice changes nothing the second time: leads are
matched on the CRM's id, then e-mail, and outcomes are unique by (lead, kind, time). A record
that cannot be taken (an e-mail another lead owns, a value the lead schema refuses) is
counted and named in the run's errors; the rest of its page is still written.

The push (service/push.py) then writes scores out; webhooks in are service/crm_webhooks.py.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from leadscore.connectors.base import (
    Connector,
    ConnectorError,
    Deal,
    Person,
)
from leadscore.core.connectors import (
    attributes_of,
    deal_stage,
    stage_of,
)
from leadscore.core.timestamps import format_timestamp
from leadscore.service import metrics
from leadscore.service.connectors import Configured, registry
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, Invalid, ServiceError
from leadscore.service.inputs import LeadIn, OutcomeIn
from leadscore.service.leads import new_row, upsert_in
from leadscore.service.outcomes import record_in
from leadscore.service.push import push_scores
from leadscore.service.resolve import new_lead_id
from leadscore.service.scoring import Cause, Change, rescore
from leadscore.service.suppression import Erased, Newcomer, refused
from leadscore.service.sync_report import Progress, Report, actor
from leadscore.store import Connection, audit
from leadscore.store import connectors as stored
from leadscore.store import leads as stored_leads

log = logging.getLogger("leadscore.sync")

# --- people ----------------------------------------------------------------------------------


def _lead_in(person: Person, connector: Connector, configured: Configured) -> LeadIn:
    m = configured.mapping
    external = {connector.id_source(person.object): person.id}
    for obj, other in person.links:
        external.setdefault(connector.id_source(obj), other)
    data: dict[str, Any] = {
        "external_ids": external,
        "attributes": attributes_of(person.fields, person.object, m),
    }
    if person.email:
        data["email"] = person.email
    stage = stage_of(person.fields, person.object, m)
    if stage is not None:
        data["stage"] = stage
    return LeadIn.model_validate(data)


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}"
    if isinstance(exc, Invalid):
        return "; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in exc.problems)
    return str(exc)


def apply_people(
    conn: Connection,
    ctx: Context,
    connector: Connector,
    configured: Configured,
    people: Sequence[Person],
    now: int,
    report: Report,
) -> None:
    """Write one page of people: deleted records unlinked, the others upserted and linked."""
    name = configured.name
    items: list[tuple[Person, LeadIn]] = []
    for person in people:
        report.counts["read"] += 1
        if person.deleted:
            if stored.mark_deleted(conn, name, person.object, person.id, now):
                report.counts["deleted"] += 1
            continue
        try:
            items.append((person, _lead_in(person, connector, configured)))
        except ValidationError as exc:
            report.error(f"{person.object} {person.id}: {_problem(exc)}")
    if not configured.config.create_leads:
        before = len(items)
        items = _known(conn, items)
        report.counts["not known"] += before - len(items)
    if not items:
        return
    slow, linked = _bulk(conn, ctx, configured, items, now, report)
    done: list[tuple[Change, bool] | None] = []
    for person, lead in slow:  # one by one, each in a savepoint, so a bad one is only skipped
        one = conn.begin_nested()
        try:
            done.extend(upsert_in(conn, ctx, [lead], actor(name), now))
        except Erased:  # a person erased (GDPR): skipped and counted, not an error
            one.rollback()
            report.counts["erased"] += 1
            done.append(None)
        except (Conflict, Invalid) as exc:
            one.rollback()
            report.error(f"{person.object} {person.id}: {_problem(exc)}")
            done.append(None)
        else:
            one.commit()
    for (person, _), result in zip(slow, done, strict=True):
        if result is None:
            continue
        change, created = result
        report.counts["created" if created else "updated"] += 1
        linked.append((person.object, person.id, change.lead_pk))
    stored.link_many(conn, name, linked, now)
    for person, _ in items:  # closed to writes (a converted Salesforce Lead): never pushed
        if not person.writable:
            stored.mark_deleted(conn, name, person.object, person.id, now)


def _bulk(
    conn: Connection,
    ctx: Context,
    configured: Configured,
    items: list[tuple[Person, LeadIn]],
    now: int,
    report: Report,
) -> tuple[list[tuple[Person, LeadIn]], list[tuple[str, str, int]]]:
    """The fast path of a page: people matching no lead are created together (one insert,
    one rescore), people whose lead already says everything they say are only linked. The
    rest — changes, conflicts, duplicates within the page — are returned for the one-by-one
    path, which names any problem."""
    refs = [ref for _, lead in items for ref in lead.external_ids.items()]
    by_ref = stored_leads.pks_by_external(conn, refs)
    by_email = stored_leads.pks_by_email(conn, [lead.email for _, lead in items if lead.email])
    slow: list[tuple[Person, LeadIn]] = []
    new: list[tuple[Person, LeadIn]] = []
    existing: list[tuple[Person, LeadIn, int]] = []
    taken: set[object] = set()  # e-mails and refs of this page's new leads
    for person, lead in items:
        pks = {by_ref[r] for r in lead.external_ids.items() if r in by_ref}
        if lead.email is not None and lead.email in by_email:
            pks.add(by_email[lead.email])
        names = [lead.email, *lead.external_ids.items()]
        if len(pks) == 1:
            existing.append((person, lead, pks.pop()))
        elif pks or any(n in taken for n in names if n is not None):
            slow.append((person, lead))
        else:
            taken.update(n for n in names if n is not None)
            new.append((person, lead))
    linked: list[tuple[str, str, int]] = []
    if existing:
        rows = stored_leads.lock(conn, {pk for _, _, pk in existing})
        for person, lead, pk in existing:
            row = rows[pk]
            same = (
                all(by_ref.get(r) == pk for r in lead.external_ids.items())
                and (lead.email is None or lead.email == row.email)
                and all(row.attributes.get(k, _ABSENT) == v for k, v in lead.attributes.items())
                and ("stage" not in lead.model_fields_set or lead.stage == row.lifecycle_stage)
            )
            if same:
                report.counts["unchanged"] += 1
                linked.append((person.object, person.id, pk))
            else:
                slow.append((person, lead))
    if new:
        created = _create_many(conn, ctx, configured, new, now, report)
        linked.extend(created)
    return slow, linked


_ABSENT = object()


def _create_many(
    conn: Connection,
    ctx: Context,
    configured: Configured,
    new: list[tuple[Person, LeadIn]],
    now: int,
    report: Report,
) -> list[tuple[str, str, int]]:
    people = [Newcomer(lead.email, list(lead.external_ids.items())) for _, lead in new]
    erased = refused(conn, ctx, people, now, actor(configured.name))
    if erased:  # people erased (GDPR): skipped and counted (docs/privacy.md)
        report.counts["erased"] += len(erased)
        new = [pair for index, pair in enumerate(new) if index not in erased]
        if not new:
            return []
    ids = [new_lead_id() for _ in new]
    rows = []
    for (_, lead), lead_id in zip(new, ids, strict=True):
        row = new_row(lead, lead_id, now)
        row["external_ids"] = dict(lead.external_ids)
        rows.append(row)
    stored_leads.insert_new(ctx.db, conn, rows)
    pks = stored_leads.pks_by_id(conn, ids)
    refs = [
        (source, ext, pks[lead_id])
        for (_, lead), lead_id in zip(new, ids, strict=True)
        if lead_id in pks
        for source, ext in lead.external_ids.items()
    ]
    stored_leads.link_new_external_ids(ctx.db, conn, refs)
    by = actor(configured.name)
    linked = []
    for (person, lead), lead_id in zip(new, ids, strict=True):
        if lead_id not in pks:  # another transaction took this e-mail a moment ago
            report.error(
                f"{person.object} {person.id}: email {lead.email!r} belongs to another lead"
            )
            continue
        report.counts["created"] += 1
        linked.append((person.object, person.id, pks[lead_id]))
        if lead.stage is not None:
            audit.record(conn, now, by, "lead.stage", lead_id, stage=lead.stage)
    locked = stored_leads.lock(conn, pks.values())
    ordered = [locked[pk] for pk in sorted(locked)]
    cause = Cause("lead", {row.pk: row.id for row in ordered}, created=frozenset(locked))
    rescore(conn, ctx, ordered, None, cause)
    return linked


def _known(conn: Connection, items: list[tuple[Person, LeadIn]]) -> list[tuple[Person, LeadIn]]:
    refs = [ref for _, lead in items for ref in lead.external_ids.items()]
    externals = stored_leads.pks_by_external(conn, refs)
    emails = stored_leads.pks_by_email(conn, [lead.email for _, lead in items if lead.email])
    return [
        (person, lead)
        for person, lead in items
        if any(ref in externals for ref in lead.external_ids.items())
        or (lead.email is not None and lead.email in emails)
    ]


# --- deals -----------------------------------------------------------------------------------


def apply_deals(
    conn: Connection,
    ctx: Context,
    connector: Connector,
    configured: Configured,
    deals: Sequence[Deal],
    now: int,
    report: Report,
) -> None:
    """Open deals move their people to `opportunity`; won and lost ones are outcomes (with
    the amount) that move them to `customer` or `lost` — a customer stays a customer when
    another deal is lost."""
    name = configured.name
    refs = [(connector.id_source(obj), pid) for d in deals for obj, pid in d.people]
    found = stored_leads.pks_by_external(conn, refs)
    rows = stored_leads.lock(conn, set(found.values()))
    opportunities: dict[str, LeadIn] = {}
    outcomes: list[OutcomeIn] = []
    for deal in deals:
        report.counts["deals read"] += 1
        if deal.deleted:
            continue
        keys = [(connector.id_source(o), p) for o, p in deal.people]
        pks = {found[k] for k in keys if k in found and found[k] in rows}
        if not pks:
            report.counts["deals without a known person"] += 1
            continue
        for pk in sorted(pks):
            row = rows[pk]
            if deal.status == "open":
                if row.lifecycle_stage not in ("opportunity", "customer"):
                    opportunities[row.id] = LeadIn(id=row.id, stage=deal_stage("open"))
                continue
            at = deal.closed_at if deal.closed_at is not None else deal.modified_at
            outcomes.append(
                OutcomeIn.model_validate(
                    {
                        "lead_id": row.id,
                        "outcome": "converted" if deal.status == "won" else "lost",
                        "occurred_at": format_timestamp(at),
                        "value": deal.amount if deal.status == "won" else None,
                        "set_stage": deal.status == "won" or row.lifecycle_stage != "customer",
                    }
                )
            )
    if opportunities:
        upsert_in(conn, ctx, list(opportunities.values()), actor(name), now)
        report.counts["opportunities"] += len(opportunities)
    if outcomes:
        written = record_in(conn, ctx, outcomes, actor(name), now)
        report.counts["outcomes"] += sum(1 for o in written if o["status"] == "recorded")


# --- a whole sync ----------------------------------------------------------------------------


def sync(
    ctx: Context,
    name: str,
    *,
    full: bool = False,
    push: bool | None = None,
    progress: Progress | None = None,
) -> Report:
    """Sync connector `name`: its people, then its deals, then (when configured) the push.

    Incremental from the stored cursors unless `full`; a failure stops the run, which is
    recorded as failed with what it had written (the next run resumes)."""
    reg = registry(ctx)
    configured = reg.get(name)
    report = Report(name, full)
    run = ctx.db.transact(lambda conn: stored.start_run(conn, name, "sync", full, ctx.now()))
    calls = 0
    try:
        connector = reg.client(name)
        calls = connector.http.calls
        try:
            for obj in connector.people_objects():
                _objects(ctx, connector, configured, obj, full, report, progress, people=True)
            if configured.config.deals:
                for obj in connector.deal_objects():
                    _objects(ctx, connector, configured, obj, full, report, progress, people=False)
            if configured.config.push if push is None else push:
                push_scores(ctx, name, report=report, progress=progress)
        finally:
            report.counts["api calls"] += connector.http.calls - calls
    except (ConnectorError, ServiceError) as exc:
        message = exc.message if isinstance(exc, ConnectorError) else str(exc)
        _finish(ctx, run, "failed", report, message)
        metrics.synced(name, ok=False)
        raise
    except BaseException:
        _finish(ctx, run, "failed", report, "unexpected error (see the server log)")
        metrics.synced(name, ok=False)
        raise
    _finish(ctx, run, "ok", report, None)
    metrics.synced(name, ok=True)
    return report


def _finish(ctx: Context, run: int, status: str, report: Report, error: str | None) -> None:
    counts = {**report.counts, "errors named": report.errors}
    ctx.db.transact(lambda conn: stored.finish_run(conn, run, ctx.now(), status, counts, error))


def _objects(
    ctx: Context,
    connector: Connector,
    configured: Configured,
    obj: str,
    full: bool,
    report: Report,
    progress: Progress | None,
    *,
    people: bool,
) -> None:
    name = configured.name
    with ctx.db.read() as conn:
        start = None if full else stored.cursor(conn, name, obj)
    seen = 0
    grown = Growth(ctx)
    for page in connector.read(obj, start):
        now = ctx.now()

        def work(
            conn: Connection,
            records: list[Any] = page.records,
            cursor: str = page.cursor,
            now: int = now,
        ) -> None:
            if people:
                apply_people(conn, ctx, connector, configured, records, now, report)
            else:
                apply_deals(conn, ctx, connector, configured, records, now, report)
            stored.set_cursor(conn, name, obj, cursor, now)

        before = report.counts.copy()
        try:
            ctx.db.transact(work)
        except BaseException:
            report.counts = before  # the page was not written
            raise
        seen += len(page.records)
        grown.add(report.counts["created"] - before["created"])
        if progress is not None:
            progress(obj, seen)


GROWN_TABLES = ("leads", "lead_external_ids", "connector_records", "score_history")


@dataclass
class Growth:
    """Counts the leads a sync creates and refreshes the planner's statistics each time the
    tables have doubled since the last refresh (from 1,000 rows on), so a first sync of a
    large CRM keeps its index plans on PostgreSQL."""

    ctx: Context
    created: int = 0
    next_at: int = 1_000

    def add(self, n: int) -> None:
        self.created += n
        if self.created >= self.next_at:
            self.ctx.db.analyze(GROWN_TABLES)
            self.next_at = self.created * 2


def due(ctx: Context) -> list[str]:
    """The connectors whose `sync_every` has passed since their last sync started."""
    from leadscore.core.durations import parse_duration

    reg = registry(ctx)
    now = ctx.now()
    found = []
    with ctx.db.read() as conn:
        for name in reg.names():
            every = reg.get(name).config.sync_every
            if every is None:
                continue
            last = stored.runs(conn, name, 1, kind="sync")
            if not last or last[0].started_at + parse_duration(every) <= now:
                found.append(name)
    return found
