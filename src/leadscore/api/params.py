"""Path and query parameters shared by several routes, with the ranges they are checked
against before they reach SQL: a key or version is a positive 32-bit integer (an INTEGER
column on PostgreSQL), so `/models/2147483648` or `/models/10**30` is a 422 naming the
parameter, on SQLite as on PostgreSQL, not a database error."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from leadscore.service.cursors import PK_MAX

Version = Annotated[
    int, Path(ge=1, le=PK_MAX, description="A version number (1, 2, …; at most 2147483647).")
]
OverrideId = Annotated[
    int, Path(ge=1, le=PK_MAX, description="An override's id (at most 2147483647).")
]
