"""Keyset pagination, shared by the lists of leads, events and score history: a page
continues after the (sort value, key) of the last row of the page before, so pages stay
stable and fast however deep one goes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_


def after(
    column: ColumnElement[Any],
    pk_column: ColumnElement[int],
    value: object,
    pk: int,
    descending: bool,
) -> ColumnElement[bool]:
    """Keyset condition: rows after (value, pk) in the order (column, pk) ↑ or ↓."""
    if descending:
        return or_(column < value, and_(column == value, pk_column < pk))
    return or_(column > value, and_(column == value, pk_column > pk))
