"""What a person does to many leads at once from the dashboard's list (issue 13): give them
an owner, add them to a list, export them as CSV.

The leads are the rows ticked on a page or every lead the current filters match. Changes
are one transaction each: an unknown owner, an owner at capacity or a list of another kind
refuses the whole request and nothing is written. A change to more than `MAX_CHANGED`
leads is refused (narrow the filters, or use the API or CLI in batches): one request should
not hold the write lock for minutes. The export has no such limit: it streams every lead
the filters match, a page at a time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Any

from leadscore.core.timestamps import format_timestamp
from leadscore.service.assignment import assign_owner
from leadscore.service.context import Context
from leadscore.service.errors import Invalid, NotFound, Problem
from leadscore.service.lists import FORMULA_START, add_to_list, company_name, person_name
from leadscore.service.queries import SORTS, LeadFilters
from leadscore.store import Connection, Row
from leadscore.store import leads as stored_leads

MAX_CHANGED = 10_000
"""Most leads one bulk change touches."""
EXPORT_PAGE = 1000
COLUMNS = (
    "lead_id",
    "email",
    "name",
    "company",
    "score",
    "fit",
    "engagement",
    "grade",
    "tier",
    "stage",
    "owner",
    "source",
    "created_at",
    "updated_at",
)
"""The export's columns, in order."""


def _rows(
    conn: Connection,
    filters: LeadFilters,
    sort: str,
    after: tuple[object, int] | None,
    limit: int,
) -> list[Row]:
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name not in SORTS:
        raise Invalid([Problem(("query", "sort"), f"unknown sort {sort!r}")])
    return stored_leads.page(
        conn,
        equal={n: getattr(filters, n) for n in stored_leads.FILTERED},
        min_score=filters.min_score,
        max_score=filters.max_score,
        sort=name,
        descending=descending,
        after=after,
        limit=limit,
        search=filters.search,
    )


def matching_ids(ctx: Context, filters: LeadFilters) -> list[str]:
    """The ids of every lead the filters match, or Invalid when more than MAX_CHANGED."""
    with ctx.db.read() as conn:
        rows = _rows(conn, filters, "-score", None, MAX_CHANGED + 1)
    if len(rows) > MAX_CHANGED:
        raise Invalid([Problem(("scope",), _too_many())])
    return [r.id for r in rows]


def _too_many() -> str:
    return (
        f"these filters match more than {MAX_CHANGED:,} leads; narrow them, or change the"
        " leads through the API in batches"
    )


def _pks(conn: Connection, lead_ids: Sequence[str]) -> dict[str, int]:
    if not lead_ids:
        raise Invalid([Problem(("lead",), "no lead chosen")])
    if len(lead_ids) > MAX_CHANGED:
        raise Invalid([Problem(("lead",), _too_many())])
    pks = stored_leads.pks_by_id(conn, lead_ids)
    missing = [i for i in lead_ids if i not in pks]
    if missing:
        raise NotFound(f"no lead {missing[0]!r}")
    return pks


def assign(ctx: Context, lead_ids: Sequence[str], owner: str, actor: str) -> dict[str, Any]:
    """Give every lead the owner `owner` (an owner id; capacity and activity checked as the
    `assign_owner` action checks them), audited `lead.assign` by `actor`. All or nothing."""
    owner = owner.strip()
    if not owner:
        raise Invalid([Problem(("owner",), "choose an owner")])
    now = ctx.now()

    def work(conn: Connection) -> dict[str, Any]:
        pks = _pks(conn, lead_ids)
        changed = 0
        for lead_id in dict.fromkeys(lead_ids):
            done = assign_owner(
                conn,
                pks[lead_id],
                team=None,
                owner=owner,
                strategy="round_robin",
                territories=(),
                reassign=True,
                now=now,
                actor=actor,
            )
            changed += done.assigned
        return {"owner": owner, "leads": len(pks), "changed": changed}

    return ctx.db.transact(work)


def add_to(ctx: Context, lead_ids: Sequence[str], name: str, actor: str) -> dict[str, Any]:
    """Add every lead to the list `name` (created on first use), by `actor`. All or
    nothing: a sequence of that name is a conflict."""
    now = ctx.now()

    def work(conn: Connection) -> dict[str, Any]:
        pks = _pks(conn, lead_ids)
        added = sum(
            add_to_list(conn, pks[lead_id], name, by=actor, now=now)
            for lead_id in dict.fromkeys(lead_ids)
        )
        return {"list": name.strip(), "leads": len(pks), "added": added}

    return ctx.db.transact(work)


def csv_lines(ctx: Context, filters: LeadFilters, sort: str = "-score") -> Iterator[str]:
    """Every lead the filters match in the order `sort`, as RFC 4180 CSV (CRLF): the header
    (COLUMNS), then one record per lead, read a page at a time in short reads so that an
    export of a million leads streams in constant memory. Text a spreadsheet would run as a
    formula is prefixed with a quote. A wrong sort raises Invalid before the first line."""
    if sort.lstrip("-") not in SORTS:
        raise Invalid([Problem(("query", "sort"), f"unknown sort {sort!r}")])
    return _records(ctx, filters, sort)


def _records(ctx: Context, filters: LeadFilters, sort: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def record(values: Sequence[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield record(COLUMNS)
    name = sort.lstrip("-")
    after: tuple[object, int] | None = None
    while True:
        with ctx.db.read() as conn:
            rows = _rows(conn, filters, sort, after, EXPORT_PAGE)
        for row in rows:
            yield record([_cell(v) for v in export_row(row)])
        if len(rows) < EXPORT_PAGE:
            return
        after = (getattr(rows[-1], name), rows[-1].pk)


def export_row(row: Row) -> list[object]:
    """A lead as the export's COLUMNS (numbers empty for a lead never scored)."""
    attributes = row.attributes or {}
    scored = row.model_version is not None
    return [
        row.id,
        row.email,
        person_name(attributes),
        company_name(attributes),
        row.score if scored else None,
        row.fit if scored else None,
        row.engagement if scored else None,
        row.grade,
        row.tier,
        row.stage,
        row.owner,
        row.source,
        format_timestamp(row.created_at),
        format_timestamp(row.updated_at),
    ]


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
