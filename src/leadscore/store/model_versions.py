"""Stored scoring-model versions, their activations, and the parsed models cached per version.

A stored version never changes, so its parsed `Model` is cached for the life of the process;
which version is active is read from the database in every transaction, so that an
activation in one process is seen by all the others at once.
"""

from __future__ import annotations

import threading

from sqlalchemy import Connection, insert, select, update

from leadscore.core.loader import load_model_text
from leadscore.core.model import Model
from leadscore.store.database import Row
from leadscore.store.tables import model_activations, model_versions

ACTIVE = select(model_versions.c.version).where(model_versions.c.active.is_(True))


class ModelCache:
    def __init__(self) -> None:
        self._models: dict[int, Model] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._models.clear()

    def model(self, conn: Connection, version: int) -> Model:
        model = self._models.get(version)
        if model is None:
            text = conn.scalar(
                select(model_versions.c.yaml).where(model_versions.c.version == version)
            )
            if text is None:
                raise LookupError(f"no model version {version}")
            model = load_model_text(text, source=f"model version {version}")
            with self._lock:
                self._models[version] = model
        return model

    def active(self, conn: Connection) -> tuple[int, Model] | None:
        """(version, model) of the active model, or None before any activation."""
        version = conn.scalar(ACTIVE)
        return None if version is None else (version, self.model(conn, version))

    def at(self, conn: Connection, moment: int) -> tuple[int, Model] | None:
        """(version, model) of the model that was active at `moment` (epoch µs)."""
        t = model_activations
        version = conn.scalar(
            select(t.c.version)
            .where(t.c.activated_at <= moment)
            .order_by(t.c.activated_at.desc(), t.c.pk.desc())
            .limit(1)
        )
        return None if version is None else (version, self.model(conn, version))


def active_version(conn: Connection) -> int | None:
    """The active version; None before any activation."""
    return conn.scalar(ACTIVE)


def add(conn: Connection, name: str, yaml: str, created_at: int, created_by: str) -> int:
    """Store a new (inactive) version; returns its number."""
    version: int = conn.scalar(
        insert(model_versions)
        .values(name=name, yaml=yaml, created_at=created_at, created_by=created_by)
        .returning(model_versions.c.version)
    )
    return version


def get(conn: Connection, version: int) -> Row | None:
    return conn.execute(
        select(model_versions).where(model_versions.c.version == version)
    ).one_or_none()


def newest_first(conn: Connection) -> list[Row]:
    """Every stored version, the newest first."""
    return list(conn.execute(select(model_versions).order_by(model_versions.c.version.desc())))


def activate(conn: Connection, version: int, now: int, kind: str, actor: str) -> None:
    """Make `version` the only active one and log the activation (`kind`: activate or
    rollback), which is how an as-of score finds the model active at a past time."""
    conn.execute(
        update(model_versions).where(model_versions.c.active.is_(True)).values(active=False)
    )
    conn.execute(
        update(model_versions)
        .where(model_versions.c.version == version)
        .values(active=True, activated_at=now)
    )
    conn.execute(
        insert(model_activations).values(version=version, activated_at=now, kind=kind, actor=actor)
    )


def active_before(conn: Connection, version: int) -> int | None:
    """The version that was active before the latest activation of `version`."""
    t = model_activations
    latest = conn.scalar(
        select(t.c.pk).where(t.c.version == version).order_by(t.c.pk.desc()).limit(1)
    )
    return conn.scalar(
        select(t.c.version)
        .where((t.c.pk < latest) & (t.c.version != version))
        .order_by(t.c.pk.desc())
        .limit(1)
    )
