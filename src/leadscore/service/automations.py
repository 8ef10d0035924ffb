"""Versions of the automations file (§6): upload (validated, never half-applied), list,
show, activate one (or none).

Activation only changes what fires from then on: rows already in the outbox keep the version
that wrote them, so a pending e-mail is sent as the rules said when it fired.
"""

from __future__ import annotations

from typing import Any

from leadscore.core.automations import (
    AutomationsError,
    AutomationsFile,
    Environment,
    load_automations_text,
)
from leadscore.core.timestamps import format_timestamp
from leadscore.service import connectors
from leadscore.service.assignment import Territory, check_targets
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, Invalid, NotFound, Problem
from leadscore.service.owners import UnknownOwner, UnknownTeam
from leadscore.store import Connection, Row, audit
from leadscore.store import automations as stored


def environment(ctx: Context) -> Environment:
    """What a file is checked against: the connectors configured (LEADSCORE_CONNECTORS_FILE)."""
    return Environment(connectors=connectors.configured_names(ctx.settings))


def parse(ctx: Context, text: str, source: str = "body") -> AutomationsFile:
    """Validate automations YAML, or raise Invalid naming each problem's key path and line."""
    try:
        return load_automations_text(text, source=source, env=environment(ctx))
    except AutomationsError as exc:
        raise Invalid(
            [
                Problem(
                    (source, p.path) if p.path else (source,),
                    p.message,
                    "automations",
                    {"path": p.path, "line": p.line},
                )
                for p in exc.problems
            ]
        ) from None


def upload(ctx: Context, text: str, actor: str, *, activate: bool = False) -> dict[str, Any]:
    """Store a validated file as a new version (and make it the active one when asked)."""
    parsed = parse(ctx, text)
    now = ctx.now()

    def work(conn: Connection) -> dict[str, Any]:
        version = stored.add(conn, text, str(parsed.version), now, actor)
        audit.record(conn, now, actor, "automations.upload", str(version))
        if activate:
            check_store(conn, parsed)
            stored.activate(conn, version, now)
            audit.record(conn, now, actor, "automations.activate", str(version))
        return describe(_row(conn, version), parsed)

    return ctx.db.transact(work)


def list_versions(ctx: Context) -> list[dict[str, Any]]:
    with ctx.db.read() as conn:
        return [
            describe(row, ctx.automations.file(conn, row.version))
            for row in stored.newest_first(conn)
        ]


def get_version(ctx: Context, version: int) -> dict[str, Any]:
    with ctx.db.read() as conn:
        row = _row(conn, version)
        return {**describe(row, ctx.automations.file(conn, version)), "yaml": row.yaml}


def activate(ctx: Context, version: int | None, actor: str) -> dict[str, Any]:
    """Make `version` the active automations; None switches automations off."""
    now = ctx.now()

    def work(conn: Connection) -> dict[str, Any]:
        if version is not None:
            _row(conn, version)
            check_store(conn, ctx.automations.file(conn, version))
        stored.activate(conn, version, now)
        action = "automations.activate" if version is not None else "automations.deactivate"
        audit.record(conn, now, actor, action, None if version is None else str(version))
        return {"active": version}

    return ctx.db.transact(work)


def deactivate(ctx: Context, version: int, actor: str) -> dict[str, Any]:
    """Switch automations off; `version` must be the active one (Conflict otherwise)."""
    with ctx.db.read() as conn:
        row = _row(conn, version)
    if not row.active:
        raise Conflict(f"automations version {version} is not the active one")
    return activate(ctx, None, actor)


def active(ctx: Context) -> tuple[int, AutomationsFile] | None:
    with ctx.db.read() as conn:
        return ctx.automations.active(conn)


def check_store(conn: Connection, parsed: AutomationsFile) -> None:
    """Refuse to activate a file whose `assign_owner` actions name a team or an owner the
    store does not hold (Conflict naming the key path): found when it is switched on, not
    when a hot lead waits for an owner."""
    for i, automation in enumerate(parsed.automations):
        for j, action in enumerate(automation.actions):
            if action.kind != "assign_owner":
                continue
            config = action.config
            territories = [Territory(t.when, t.team, t.owner) for t in config.territories]
            try:
                check_targets(conn, team=config.team, owner=config.owner, territories=territories)
            except (UnknownTeam, UnknownOwner) as exc:
                path = f"automations[{i}].actions[{j}].assign_owner"
                raise Conflict(f"{path}: {exc}", ("body", path)) from None


def _row(conn: Connection, version: int) -> Row:
    row = stored.get(conn, version)
    if row is None:
        raise NotFound(f"no automations version {version}")
    return row


def describe(row: Row, parsed: AutomationsFile) -> dict[str, Any]:
    return {
        "version": row.version,
        "label": row.label,
        "active": row.active,
        "created_at": format_timestamp(row.created_at),
        "created_by": row.created_by,
        "activated_at": None if row.activated_at is None else format_timestamp(row.activated_at),
        "automations": [
            {
                "name": a.name,
                "description": a.description,
                "enabled": a.enabled,
                "trigger": a.when.kind,
                "actions": [action.kind for action in a.actions],
            }
            for a in parsed.automations
        ],
    }
