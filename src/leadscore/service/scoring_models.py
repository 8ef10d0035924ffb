"""Scoring-model versions (§4): upload (validated, never half-applied), list, activate
(rescoring every lead, history cause `model`) and roll back to the version active before.

Versions are numbered by the store, 1, 2, 3, …; the `version` key inside the YAML is for
people and is kept as written. Every activation is logged in `model_activations`, which is
how an as-of score finds the model that was active at a past time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from leadscore.core.loader import ModelError, load_model_text
from leadscore.core.model import Model
from leadscore.core.timestamps import format_timestamp
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, Invalid, NotFound, Problem
from leadscore.service.recompute import recompute
from leadscore.store import Connection, Row, audit
from leadscore.store import model_versions as stored_models


def upload(ctx: Context, text: str, actor: str) -> dict[str, Any]:
    """Validate model YAML and store it as a new (inactive) version."""
    try:
        model = load_model_text(text, source="body")
    except ModelError as exc:
        raise Invalid(
            [
                Problem(
                    ("body", p.path) if p.path else ("body",),
                    p.message,
                    "model",
                    {"path": p.path, "line": p.line},
                )
                for p in exc.problems
            ]
        ) from None
    now = ctx.now()

    def work(conn: Connection) -> dict[str, Any]:
        version = stored_models.add(conn, model.name, text, now, actor)
        audit.record(conn, now, actor, "model.upload", str(version), name=model.name)
        return _describe(_row(conn, version))

    return ctx.db.transact(work)


def list_versions(ctx: Context) -> list[dict[str, Any]]:
    with ctx.db.read() as conn:
        return [_describe(row) for row in stored_models.newest_first(conn)]


def get_version(ctx: Context, version: int) -> dict[str, Any]:
    with ctx.db.read() as conn:
        row = _row(conn, version)
        return {**_describe(row), "yaml": row.yaml}


def activate(
    ctx: Context,
    version: int,
    actor: str,
    *,
    kind: str = "activate",
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Make `version` the active model, then rescore every lead with it (history cause
    `model`). The switch is one transaction; the rescoring runs in batches after it, and an
    interrupted one is finished by the next recompute."""
    now = ctx.now()

    def switch(conn: Connection) -> None:
        _row(conn, version)
        stored_models.activate(conn, version, now, kind, actor)
        audit.record(conn, now, actor, f"model.{kind}", str(version))

    ctx.db.transact(switch)
    report = recompute(ctx, cause_kind="model", cause_ref=str(version), progress=progress)
    return {"version": version, "rescored": report.leads, "changed": report.changed}


def rollback(
    ctx: Context, version: int, actor: str, progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Undo the activation of `version` (the active one): reactivate the version that was
    active before it."""
    previous = rollback_target(ctx, version)
    return {**activate(ctx, previous, actor, kind="rollback", progress=progress), "from": version}


def rollback_target(ctx: Context, version: int) -> int:
    """The version that rolling back `version` reactivates (Conflict when `version` is not
    the active one, or none was active before it)."""
    with ctx.db.read() as conn:
        row = _row(conn, version)
        if not row.active:
            raise Conflict(f"model version {version} is not the active one; nothing to roll back")
        previous = stored_models.active_before(conn, version)
    if previous is None:
        raise Conflict(f"no model was active before version {version}")
    return previous


def model_of(ctx: Context, version: int) -> Model:
    """The parsed model of a stored version (NotFound when there is none)."""
    with ctx.db.read() as conn:
        _row(conn, version)
        return ctx.models.model(conn, version)


def active_version(ctx: Context) -> int | None:
    """The active version (None before any activation); raises when the database cannot
    be read, which is what the health check asks."""
    with ctx.db.read() as conn:
        return stored_models.active_version(conn)


def _row(conn: Connection, version: int) -> Row:
    row = stored_models.get(conn, version)
    if row is None:
        raise NotFound(f"no model version {version}")
    return row


def _describe(row: Row) -> dict[str, Any]:
    return {
        "version": row.version,
        "name": row.name,
        "active": bool(row.active),
        "created_at": format_timestamp(row.created_at),
        "created_by": row.created_by,
        "activated_at": None if row.activated_at is None else format_timestamp(row.activated_at),
    }
