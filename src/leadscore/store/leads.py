"""Lead rows: finding, creating, locking, changing and listing them, and writing their
scores."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    String,
    and_,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    text,
    tuple_,
    update,
)

from leadscore.store.database import Database, Row
from leadscore.store.tables import SEARCH_TABLE, lead_external_ids, leads, search_sql

SCORING_COLUMNS = (
    leads.c.pk,
    leads.c.id,
    leads.c.email,
    leads.c.attributes,
    leads.c.owner,
    leads.c.stage,
    leads.c.lifecycle_stage,
    leads.c.pinned_stage,
    leads.c.stage_base,
    leads.c.stage_base_at,
    leads.c.event_stage,
    leads.c.event_stage_at,
    leads.c.score,
    leads.c.fit,
    leads.c.engagement,
    leads.c.grade,
    leads.c.tier,
    leads.c.model_version,
    leads.c.scored_at,
)
"""What rescoring reads of a lead."""

CHUNK = 5000
"""Most values bound in one IN list."""

_pks: BindParameter[int] = bindparam("pks", expanding=True)
BY_ID = select(leads.c.id, leads.c.pk).where(leads.c.id.in_(bindparam("ids", expanding=True)))
BY_EMAIL = select(leads.c.email, leads.c.pk).where(
    leads.c.email.in_(bindparam("emails", expanding=True))
)
LOCK = select(*SCORING_COLUMNS).where(leads.c.pk.in_(_pks)).order_by(leads.c.pk).with_for_update()
BY_ONE_ID = select(leads.c.id, leads.c.pk).where(leads.c.id == bindparam("id"))
LOCK_ONE = select(*SCORING_COLUMNS).where(leads.c.pk == bindparam("pk")).with_for_update()
"""One lead (a single event's): `=` instead of an expanding IN, which SQLAlchemy rewrites
for every execution."""
UPDATE_SCORES = update(leads).where(leads.c.pk == bindparam("b_pk"))
"""Built once: it runs on every rescoring (the hot path of one event)."""
FILTERED = ("stage", "tier", "grade", "owner", "source")
"""The columns a list of leads can be filtered on by value."""


def _exact(conn: Connection, term: str) -> ColumnElement[bool]:
    """The search text holds `term`, ASCII letters in any case; `%` and `_` plain."""
    escaped = term.replace("/", "//").replace("%", "/%").replace("_", "/_")
    searched = literal_column(search_sql(conn.dialect.name), String)
    return searched.ilike(f"%{escaped}%", escape="/")


def _search(conn: Connection, term: str) -> ColumnElement[bool]:
    """Leads whose search text holds `term` (`_exact`). PostgreSQL: ILIKE, served by the
    trigram index. SQLite: for three characters or more, the candidates come from the FTS5
    trigram table (its LIKE has no ESCAPE, so a term with `%` or `_` finds a superset
    there, checked on the leads' own text); shorter terms scan the leads."""
    exact = _exact(conn, term)
    if conn.dialect.name != "sqlite" or len(term) < 3:
        return exact
    found = text(f"SELECT rowid FROM {SEARCH_TABLE} WHERE text LIKE :pattern")
    candidates = leads.c.pk.in_(found.bindparams(pattern=f"%{term}%").columns(leads.c.pk))
    return and_(candidates, exact) if any(c in term for c in "%_") else candidates


T = TypeVar("T")


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def pks_by_id(conn: Connection, ids: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    wanted = sorted(set(ids))
    if len(wanted) == 1:
        found.update(conn.execute(BY_ONE_ID, {"id": wanted[0]}).all())
        return found
    for part in chunks(wanted):
        found.update(conn.execute(BY_ID, {"ids": list(part)}).all())
    return found


def pks_by_email(conn: Connection, emails: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(sorted(set(emails))):
        found.update(conn.execute(BY_EMAIL, {"emails": list(part)}).all())
    return found


def pks_by_external(
    conn: Connection, refs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """(source, external id) → lead pk, for the references that exist."""
    by_source: dict[str, set[str]] = {}
    for source, external_id in refs:
        by_source.setdefault(source, set()).add(external_id)
    found: dict[tuple[str, str], int] = {}
    t = lead_external_ids
    for source, ids in by_source.items():
        for part in chunks(sorted(ids)):
            query = select(t.c.external_id, t.c.lead_pk).where(
                and_(t.c.source == source, t.c.external_id.in_(part))
            )
            found.update({(source, ext): pk for ext, pk in conn.execute(query)})
    return found


def lock(conn: Connection, pks: Iterable[int]) -> dict[int, Row]:
    """Read leads for rescoring, locking their rows (PostgreSQL) in key order.

    Locking in one order everywhere keeps two transactions from waiting on each other. On
    SQLite the whole database is already locked by the write transaction.
    """
    rows: dict[int, Row] = {}
    wanted = sorted(set(pks))
    if len(wanted) == 1:
        rows.update((row.pk, row) for row in conn.execute(LOCK_ONE, {"pk": wanted[0]}))
        return rows
    for part in chunks(wanted):
        rows.update((row.pk, row) for row in conn.execute(LOCK, {"pks": list(part)}))
    return rows


def lock_page(conn: Connection, after_pk: int, limit: int) -> list[Row]:
    """The next `limit` leads after `after_pk` in key order, locked (recompute batches)."""
    query = (
        select(*SCORING_COLUMNS)
        .where(leads.c.pk > after_pk)
        .order_by(leads.c.pk)
        .limit(limit)
        .with_for_update()
    )
    return list(conn.execute(query))


def insert_new(db: Database, conn: Connection, rows: Sequence[Mapping[str, object]]) -> None:
    """Insert leads, skipping any whose id or e-mail another transaction just created."""
    if rows:
        conn.execute(db.insert_ignore(leads), rows)


def link_external_ids(
    db: Database, conn: Connection, pk: int, refs: dict[str, str]
) -> dict[str, int]:
    """Give a lead these external ids (source → id), one id per source.

    Returns {source: other lead pk} for the ids another lead already owns; those are not
    linked. The lookup table and the lead's `external_ids` JSON change together.
    """
    if not refs:
        return {}
    rows = [{"source": s, "external_id": e, "lead_pk": pk} for s, e in refs.items()]
    conn.execute(db.insert_ignore(lead_external_ids), rows)
    owners = pks_by_external(conn, refs.items())
    taken = {s: owners[(s, e)] for s, e in refs.items() if owners.get((s, e)) != pk}
    current = conn.scalar(select(leads.c.external_ids).where(leads.c.pk == pk).with_for_update())
    assert current is not None  # the caller's lead exists; external_ids is NOT NULL
    merged = {**current, **{s: e for s, e in refs.items() if s not in taken}}
    if merged != current:
        t = lead_external_ids
        for source, old in current.items():
            if merged[source] != old:
                conn.execute(
                    delete(t).where(
                        and_(t.c.source == source, t.c.external_id == old, t.c.lead_pk == pk)
                    )
                )
        conn.execute(update(leads).where(leads.c.pk == pk).values(external_ids=merged))
    return taken


def by_id(conn: Connection, lead_id: str) -> Row | None:
    """The whole lead row of a lead id, if there is one."""
    return conn.execute(select(leads).where(leads.c.id == lead_id)).one_or_none()


def by_pk(conn: Connection, pk: int) -> Row | None:
    """The whole lead row of a lead key, if there is one."""
    return conn.execute(select(leads).where(leads.c.pk == pk)).one_or_none()


def lock_whole(conn: Connection, pk: int) -> Row:
    """The whole row of one lead, locked (PostgreSQL), to update it."""
    return conn.execute(select(leads).where(leads.c.pk == pk).with_for_update()).one()


def new_base(stage: str | None, at: int) -> dict[str, object]:
    """The columns that start a lead's lifecycle afresh from `stage` at `at` (a person or
    the CRM set its stage, its attributes changed, or another model scored it): the base,
    and the stage folded since (none yet)."""
    return {"stage_base": stage, "stage_base_at": at, "event_stage": stage, "event_stage_at": at}


def change(conn: Connection, pk: int, now: int, **values: object) -> None:
    """Set columns of one lead, stamping `updated_at` with `now`."""
    conn.execute(update(leads).where(leads.c.pk == pk).values(updated_at=now, **values))


def drop(conn: Connection, pk: int) -> None:
    """Delete a lead (its events, outcomes and history go with it: ON DELETE CASCADE)."""
    conn.execute(delete(leads).where(leads.c.pk == pk))


def write_scores(conn: Connection, rows: Sequence[Mapping[str, object]]) -> None:
    """Update leads after rescoring: each row holds `pk` and the columns to set (every row
    the same columns)."""
    if rows:
        conn.execute(UPDATE_SCORES, [_bound(row) for row in rows])


def _bound(row: Mapping[str, object]) -> dict[str, object]:
    values = dict(row)
    values["b_pk"] = values.pop("pk")
    return values


def page(
    conn: Connection,
    *,
    equal: Mapping[str, Sequence[str] | None],
    min_score: float | None,
    max_score: float | None,
    sort: str,
    descending: bool,
    after: tuple[object, int] | None,
    limit: int,
    pks: Sequence[int] | None = None,
    search: str | None = None,
) -> list[Row]:
    """Up to `limit` whole lead rows in the order (`sort` column, pk) ↑ or ↓, after the
    keyset `after` (sort value, pk), keeping those whose `equal` columns (of `FILTERED`)
    hold one of the values given, whose score is within the bounds given and, when `pks`
    is given, whose key is one of them (a lookup by e-mail or external id), and whose e-mail,
    name or company holds `search`."""
    column = leads.c[sort]
    chosen = {name: values for name in FILTERED if (values := equal.get(name))}
    walk = sort != "score" and bool(chosen) and _common(conn, chosen)
    clauses: list[ColumnElement[bool]] = [
        # `|| ''` hides a column's index from SQLite's planner (same values, NULL stays NULL)
        (leads.c[name].concat("") if walk else leads.c[name]).in_(values)
        for name, values in chosen.items()
    ]
    if pks is not None:
        clauses.append(leads.c.pk.in_(pks))
    if min_score is not None:
        clauses.append(leads.c.score >= min_score)
    if max_score is not None:
        clauses.append(leads.c.score <= max_score)
    if after is not None:
        # A row value, not pages.after's OR: PostgreSQL reads it as one index range, where
        # the OR made it walk every lead before the cursor (seconds for a deep page).
        key = tuple_(column, leads.c.pk)
        clauses.append(key < tuple_(*after) if descending else key > tuple_(*after))
    order = (column.desc(), leads.c.pk.desc()) if descending else (column, leads.c.pk)
    if search and conn.dialect.name == "sqlite" and len(search) >= 3:
        found = _probed(conn, clauses, order, _exact(conn, search), limit)
        if found is not None:
            return found
    if search:
        clauses.append(_search(conn, search))
    query = select(leads).where(*clauses).order_by(*order).limit(limit)
    return list(conn.execute(query))


SEARCH_PROBE = 5000
"""SQLite: how many leads in the list's order a search reads before it asks the FTS table."""


def _probed(
    conn: Connection,
    clauses: list[ColumnElement[bool]],
    order: tuple[ColumnElement[Any], ...],
    exact: ColumnElement[bool],
    limit: int,
) -> list[Row] | None:
    """A common term's page from the first SEARCH_PROBE leads in the list's order, or None
    when they hold fewer than `limit` matches. The FTS table finds a rare term's few leads at
    once, but a common term's tens of thousands must then all be sorted; reading the first
    leads in order and keeping the matches stops early instead. The probe is a prefix of the
    order, so a full page from it is the true page."""
    first = select(leads.c.pk).where(*clauses).order_by(*order).limit(SEARCH_PROBE)
    query = select(leads).where(leads.c.pk.in_(first.scalar_subquery()), exact).order_by(*order)
    rows = list(conn.execute(query.limit(limit)))
    return rows if len(rows) == limit else None


COMMON_SHARE = 50
"""A filter matching more than one lead in this many is common (see `_common`)."""


def _common(conn: Connection, chosen: Mapping[str, Sequence[str]]) -> bool:
    """SQLite, a value filter with a sort other than score: whether the filter is common.
    SQLite keeps no statistics unless told to, and its planner picks the filter's index, then
    sorts every match — a second at a million leads for a common value. A common filter is
    better served by walking the sort's index and keeping the matches (about COMMON_SHARE
    rows read per row shown); a rare one by its index and a sort of few rows. Counting stops
    at the threshold, so the question costs at most that many index entries. PostgreSQL's
    planner has statistics and decides alone."""
    if conn.dialect.name != "sqlite":
        return False
    threshold = (conn.scalar(select(func.max(leads.c.pk))) or 0) // COMMON_SHARE
    if threshold < 1000:
        return False  # a small table: either way is fast
    matching = select(leads.c.pk).where(
        *(leads.c[name].in_(values) for name, values in chosen.items())
    )
    counted = select(func.count()).select_from(matching.limit(threshold).subquery())
    return (conn.scalar(counted) or 0) >= threshold


def owners_and_attributes(
    conn: Connection, pks: Sequence[int]
) -> dict[int, tuple[str | None, dict[str, object]]]:
    """Per lead pk: its owner and attributes (what automations' conditions read)."""
    found: dict[int, tuple[str | None, dict[str, object]]] = {}
    for part in chunks(pks):
        query = select(leads.c.pk, leads.c.owner, leads.c.attributes).where(leads.c.pk.in_(part))
        for row in conn.execute(query):
            found[row.pk] = (row.owner, row.attributes)
    return found


def link_new_external_ids(
    db: Database, conn: Connection, refs: Sequence[tuple[str, str, int]]
) -> None:
    """Link (source, external id, lead pk) of leads just created with these ids already in
    their `external_ids` (a bulk insert's second half); an id another transaction took a
    moment ago stays with it."""
    if refs:
        rows = [{"source": s, "external_id": e, "lead_pk": pk} for s, e, pk in refs]
        conn.execute(db.insert_ignore(lead_external_ids), rows)
