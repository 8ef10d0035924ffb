"""Scoring-model versions (§4): upload (validated, never half-applied), list, activate
(rescoring every lead, history cause `model`) and roll back to the version active before.

Versions are numbered by the store, 1, 2, 3, …; the `version` key inside the YAML is for
people and is kept as written. Every activation is logged in `model_activations`, which is
how an as-of score finds the model that was active at a past time.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, insert, select, update

from leadscore.core.loader import ModelError, load_model_text
from leadscore.core.timestamps import format_timestamp
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, Invalid, NotFound, Problem
from leadscore.service.recompute import recompute
from leadscore.store import audit
from leadscore.store.tables import model_activations, model_versions


def upload(ctx: Context, text: str, actor: str) -> dict:
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

    def work(conn: Connection) -> dict:
        version = conn.scalar(
            insert(model_versions)
            .values(name=model.name, yaml=text, created_at=now, created_by=actor)
            .returning(model_versions.c.version)
        )
        audit.record(conn, now, actor, "model.upload", str(version), name=model.name)
        return _describe(_row(conn, version))

    return ctx.db.transact(work)


def list_versions(ctx: Context) -> list[dict]:
    with ctx.db.read() as conn:
        rows = conn.execute(select(model_versions).order_by(model_versions.c.version.desc()))
        return [_describe(row) for row in rows]


def get_version(ctx: Context, version: int) -> dict:
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
) -> dict:
    """Make `version` the active model, then rescore every lead with it (history cause
    `model`). The switch is one transaction; the rescoring runs in batches after it, and an
    interrupted one is finished by the next recompute."""
    now = ctx.now()

    def switch(conn: Connection) -> None:
        _row(conn, version)
        conn.execute(
            update(model_versions).where(model_versions.c.active.is_(True)).values(active=False)
        )
        conn.execute(
            update(model_versions)
            .where(model_versions.c.version == version)
            .values(active=True, activated_at=now)
        )
        conn.execute(
            insert(model_activations).values(
                version=version, activated_at=now, kind=kind, actor=actor
            )
        )
        audit.record(conn, now, actor, f"model.{kind}", str(version))

    ctx.db.transact(switch)
    report = recompute(ctx, cause_kind="model", cause_ref=str(version), progress=progress)
    return {"version": version, "rescored": report.leads, "changed": report.changed}


def rollback(
    ctx: Context, version: int, actor: str, progress: Callable[[int], None] | None = None
) -> dict:
    """Undo the activation of `version` (the active one): reactivate the version that was
    active before it."""
    with ctx.db.read() as conn:
        row = _row(conn, version)
        if not row.active:
            raise Conflict(f"model version {version} is not the active one; nothing to roll back")
        t = model_activations
        latest = conn.scalar(
            select(t.c.pk).where(t.c.version == version).order_by(t.c.pk.desc()).limit(1)
        )
        previous = conn.scalar(
            select(t.c.version)
            .where((t.c.pk < latest) & (t.c.version != version))
            .order_by(t.c.pk.desc())
            .limit(1)
        )
    if previous is None:
        raise Conflict(f"no model was active before version {version}")
    return {**activate(ctx, previous, actor, kind="rollback", progress=progress), "from": version}


def _row(conn: Connection, version: int):
    row = conn.execute(
        select(model_versions).where(model_versions.c.version == version)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no model version {version}")
    return row


def _describe(row) -> dict:
    return {
        "version": row.version,
        "name": row.name,
        "active": bool(row.active),
        "created_at": format_timestamp(row.created_at),
        "created_by": row.created_by,
        "activated_at": None if row.activated_at is None else format_timestamp(row.activated_at),
    }
