"""Which leads have a lawful basis (the SQL form of `core.consent.has_lawful_basis`)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Connection, and_, not_, or_, select

from leadscore.store.leads import chunks
from leadscore.store.tables import leads

LAWFUL: ColumnElement[bool] = and_(
    leads.c.consent_basis.is_not(None),
    leads.c.consent_basis != "",
    or_(
        leads.c.consent_withdrawn_at.is_(None),
        and_(
            leads.c.consent_given_at.is_not(None),
            leads.c.consent_withdrawn_at <= leads.c.consent_given_at,
        ),
    ),
)
"""A lead row has a lawful basis."""


def without_basis(conn: Connection, pks: Iterable[int]) -> set[int]:
    """The leads among `pks` that have no lawful basis (one query per 5,000 leads)."""
    found: set[int] = set()
    for part in chunks(sorted(set(pks))):
        query = select(leads.c.pk).where(and_(leads.c.pk.in_(part), not_(LAWFUL)))
        found.update(conn.scalars(query))
    return found


def without_basis_by_id(conn: Connection, ids: Iterable[str]) -> set[str]:
    """The lead ids among `ids` that have no lawful basis (gone leads are not listed)."""
    found: set[str] = set()
    for part in chunks(sorted(set(ids))):
        query = select(leads.c.id).where(and_(leads.c.id.in_(part), not_(LAWFUL)))
        found.update(conn.scalars(query))
    return found
