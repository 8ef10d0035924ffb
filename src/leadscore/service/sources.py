"""Writing what lead sources deliver (§8): each submission is a lead upsert plus one event,
in one transaction, rescored at once, so automations (§6) act on it as on any event.

Replays are idempotent: a submission's event id is derived from the platform's own id, and
one already stored answers `duplicate` and writes nothing. A person who was erased (§9) is
`suppressed`, not an error: a platform would otherwise retry the delivery for days. A
delivery is all or nothing: one bad submission (a malformed e-mail, an attribute over the
limits) refuses the whole of it with the field named, before anything is written.

The sources file is read once per context (`configured`) and its secrets resolved then.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from leadscore.core.sources import (
    SecretError,
    SourcesError,
    SourcesFile,
    load_sources_text,
    resolve_secret,
)
from leadscore.core.submissions import Submission
from leadscore.core.timestamps import format_timestamp
from leadscore.service import metrics
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, Invalid, Problem
from leadscore.service.events import ingest_in
from leadscore.service.inputs import EventIn, LeadIn
from leadscore.service.leads import upsert_rows
from leadscore.service.suppression import Newcomer, refused
from leadscore.store import Connection
from leadscore.store import events as stored_events
from leadscore.store import leads as stored_leads

EXTRA = "sources"


class SourcesConfigError(Conflict):
    """The sources file cannot be read or is invalid (stops `serve`, named)."""


class Unsigned(Exception):
    """A delivery whose signature, key or token is missing or wrong (401): nothing read."""


class Malformed(Exception):
    """A delivery that is not what the platform documents (400), naming the field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def load_file(path: str | None) -> SourcesFile:
    """The sources file at `path` (an empty one when unset), or SourcesConfigError."""
    if path is None:
        return SourcesFile()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SourcesConfigError(f"{path}: cannot read the sources file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SourcesConfigError(
            f"{path}: the sources file is not UTF-8 text (byte {exc.start})"
        ) from None
    try:
        return load_sources_text(text, path)
    except SourcesError as exc:
        raise SourcesConfigError(str(exc)) from None


@dataclass
class Configured:
    """The sources file of a context and its secrets, resolved once."""

    file: SourcesFile
    environ: dict[str, str]

    clients: dict[str, Any] = field(default_factory=dict)
    """Open HTTP clients of the sources that fetch (Meta's Graph API), by platform."""

    def secret(self, value: str | None, where: str) -> str | None:
        """A secret of the file, resolved (`env:NAME`), or SourcesConfigError."""
        try:
            return resolve_secret(value, self.environ, where)
        except SecretError as exc:
            raise SourcesConfigError(str(exc)) from None

    def close(self) -> None:  # Context.reset_caches and close call it on every extra
        for client in self.clients.values():
            client.close()
        self.clients.clear()


def configured(ctx: Context) -> Configured:
    """The context's sources (read on first use, kept until the caches are reset)."""
    found = ctx.extras.get(EXTRA)
    if not isinstance(found, Configured):
        file = load_file(ctx.settings.sources_file)
        found = ctx.extras[EXTRA] = Configured(file, dict(os.environ))
    return found


# --- writing submissions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """What became of one submission."""

    status: str
    """stored, duplicate, suppressed (an erased person) or unknown (a person the source may
    not create, e.g. an e-mail tool's open by an address that is no lead)."""
    event_id: str
    lead_id: str | None = None
    created: bool = False
    score: float | None = None
    stage: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "event_id": self.event_id,
            "lead_id": self.lead_id,
            "created": self.created,
            "score": self.score,
            "stage": self.stage,
        }


def inputs(
    submissions: Sequence[Submission], where: str = "submissions"
) -> list[tuple[LeadIn | None, EventIn]]:
    """Each submission as the API's own inputs (the same limits and normalisation), or
    Invalid naming `where`[index].field of every bad value."""
    problems: list[Problem] = []
    out: list[tuple[LeadIn | None, EventIn]] = []
    for index, sub in enumerate(submissions):
        lead: LeadIn | None = None
        event: EventIn | None = None
        ref: dict[str, Any] = {}
        if sub.email is not None:
            ref["email"] = sub.email
        elif sub.external_ids:
            source, ext = next(iter(sub.external_ids.items()))
            ref["external_id"] = {"source": source, "id": ext}
        else:
            problems.append(
                Problem((where, index), "no e-mail address or external id names the person")
            )
            continue
        try:
            if sub.attributes or sub.external_ids or sub.consent is not None:
                lead = LeadIn.model_validate(_lead_fields(sub))
            event = EventIn.model_validate(
                {
                    **ref,
                    "id": sub.event_id,
                    "type": sub.event_type,
                    "occurred_at": _instant(sub.occurred_at),
                    "properties": dict(sub.properties),
                    "source": sub.source,
                }
            )
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(str(part) for part in error["loc"])
                problems.append(Problem((where, index, *loc), error["msg"]))
            continue
        if lead is not None and sub.email is not None:
            event = event.model_copy(update={"email": lead.email})
        out.append((lead, event))
    if problems:
        raise Invalid(problems)
    return out


def _instant(micros: int | None) -> str | None:
    """A submission's time as the inputs take it (ISO 8601 text; they refuse bare numbers)."""
    return None if micros is None else format_timestamp(micros)


def _lead_fields(sub: Submission) -> dict[str, Any]:
    fields: dict[str, Any] = {"attributes": dict(sub.attributes)}
    if sub.email is not None:
        fields["email"] = sub.email
    if sub.external_ids:
        fields["external_ids"] = dict(sub.external_ids)
    if sub.consent is not None:
        at = _instant(sub.occurred_at)
        if sub.consent.given:
            fields["consent"] = {"basis": "consent", "given_at": at, "source": sub.consent.source}
        else:  # the box left unticked: no consent from this form, recorded as withdrawn
            fields["consent"] = {"withdrawn_at": at, "source": sub.consent.source}
    return fields


Pairs = list[tuple[LeadIn | None, EventIn]]


def prepared(submissions: Sequence[Submission], now: int, where: str = "submissions") -> Pairs:
    """The submissions as the API's inputs (Invalid naming each bad value), their times set:
    an event without one happened `now`, a consent without one was given (or withdrawn)
    with its event."""
    return [
        (_dated(lead, event.occurred_at or now), _timed(event, now))
        for lead, event in inputs(submissions, where)
    ]


def counted(submissions: Sequence[Submission], results: Sequence[Received]) -> None:
    """Count what became of each submission (leadscore_source_submissions_total)."""
    for sub, result in zip(submissions, results, strict=True):
        metrics.SOURCE_SUBMISSIONS.labels(sub.source, result.status).inc()


def receive(ctx: Context, submissions: Sequence[Submission], actor: str) -> list[Received]:
    """Write the submissions of one delivery, all or nothing (see the module's docstring).
    The API writes through `service.source_commit.SourceWriter`, which does the same for the
    deliveries waiting together in one transaction."""
    now = ctx.now()
    stamped = prepared(submissions, now)
    creates = [s.create for s in submissions]
    type_ids = ctx.event_types.ensure(ctx.db, {event.type for _, event in stamped})
    results = ctx.db.transact(
        lambda conn: receive_in(conn, ctx, stamped, creates, type_ids, now, actor)
    )
    counted(submissions, results)
    return results


Write = Callable[[Context, Sequence[Submission], str], list[Received]]
"""How a route writes a delivery: `receive`, or a SourceWriter's `receive`."""


def _timed(event: EventIn, now: int) -> EventIn:
    """An event without a time happened when it was received."""
    if event.occurred_at is not None:
        return event
    return event.model_copy(update={"occurred_at": now})


def _dated(lead: LeadIn | None, at: int) -> LeadIn | None:
    """A consent given or withdrawn with the submission, dated by it."""
    if lead is None or lead.consent is None:
        return lead
    consent = lead.consent
    if consent.basis is not None and consent.given_at is None:
        consent = consent.model_copy(update={"given_at": at})
    if consent.basis is None and consent.withdrawn_at is None:
        consent = consent.model_copy(update={"withdrawn_at": at})
    return lead.model_copy(update={"consent": consent})


def receive_in(
    conn: Connection,
    ctx: Context,
    pairs: Sequence[tuple[LeadIn | None, EventIn]],
    creates: Sequence[bool],
    type_ids: dict[str, int],
    now: int,
    actor: str,
) -> list[Received]:
    """The transaction body of `receive`."""
    results: list[Received | None] = [None] * len(pairs)
    known = stored_events.owners(conn, [event.id for _, event in pairs if event.id])
    seen: set[str] = set()
    todo: list[int] = []
    for index, (_, event) in enumerate(pairs):
        assert event.id is not None
        if event.id in known or event.id in seen:
            owner = known.get(event.id)
            results[index] = Received("duplicate", event.id, owner[1] if owner else None)
        else:
            seen.add(event.id)
            todo.append(index)
    by_email = stored_leads.pks_by_email(
        conn, [email for i in todo if (email := pairs[i][1].email) is not None]
    )
    by_external = stored_leads.pks_by_external(
        conn,
        [
            (ext.source, ext.id)
            for i in todo
            if (ext := pairs[i][1].external_id) is not None and pairs[i][1].email is None
        ],
    )

    def exists(event: EventIn) -> bool:
        if event.email is not None:
            return event.email in by_email
        ext = event.external_id
        return ext is not None and (ext.source, ext.id) in by_external

    def person(event: EventIn) -> object:
        ext = event.external_id
        return event.email if event.email is not None else (ext.source, ext.id) if ext else None

    newcomers = [i for i in todo if not exists(pairs[i][1])]
    # a person the same delivery creates (a registration, then an attendance) is no stranger
    created_here = {person(pairs[i][1]) for i in newcomers if creates[i]}
    for i in [i for i in newcomers if not creates[i]]:
        if person(pairs[i][1]) not in created_here:
            results[i] = Received("unknown", pairs[i][1].id or "")
    newcomers = [i for i in newcomers if results[i] is None]
    people = [_newcomer(*pairs[i]) for i in newcomers]
    erased = refused(conn, ctx, people, now, actor)
    for position in erased:
        i = newcomers[position]
        results[i] = Received("suppressed", pairs[i][1].id or "")
    writing = [i for i in todo if results[i] is None]
    leads = [(i, lead) for i in writing if (lead := pairs[i][0]) is not None]
    created: set[str] = set()
    upserted: frozenset[int] = frozenset()
    if leads:  # rows only: each of these leads has an event below, which rescores it once
        rows = upsert_rows(conn, ctx, [lead for _, lead in leads], actor, now, erased_checked=True)
        upserted = frozenset(pk for pk, new in rows if new)
    events = [pairs[i][1] for i in writing]
    if events:
        ids = [event.id or "" for event in events]
        done = ingest_in(
            conn,
            ctx,
            events,
            ids,
            type_ids,
            now,
            lambda k: ("submissions", k),
            created_before=upserted,
        )
        created |= {change.lead_id for change in done.leads if change.lead_pk in done.created}
        by_lead = {change.lead_id: change for change in done.leads}
        for i, status in zip(writing, done.events, strict=True):
            change = by_lead[status["lead_id"]]
            results[i] = Received(
                status["status"],
                status["id"],
                status["lead_id"],
                status["lead_id"] in created,
                change.after.score if change.after is not None else None,
                change.stage,
            )
    return [r for r in results if r is not None]


def _newcomer(lead: LeadIn | None, event: EventIn) -> Newcomer:
    externals = list(lead.external_ids.items()) if lead is not None else []
    if event.external_id is not None and not externals:
        externals = [(event.external_id.source, event.external_id.id)]
    given = lead.consent.given_at if lead is not None and lead.consent is not None else None
    return Newcomer(event.email, externals, given)


def use(ctx: Context, file: SourcesFile, environ: dict[str, str] | None = None) -> Configured:
    """Give the context this sources file (tests, and `leadscore webhooks test`), in place of
    LEADSCORE_SOURCES_FILE; `environ` resolves its `env:` secrets (the process's by default)."""
    old = ctx.extras.pop(EXTRA, None)
    if isinstance(old, Configured):
        old.close()
    found = ctx.extras[EXTRA] = Configured(file, dict(os.environ if environ is None else environ))
    return found
