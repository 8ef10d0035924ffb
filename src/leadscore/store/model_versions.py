"""Stored scoring-model versions, and the parsed models cached per version.

A stored version never changes, so its parsed `Model` is cached for the life of the process;
which version is active is read from the database in every transaction, so that an
activation in one process is seen by all the others at once.
"""

from __future__ import annotations

import threading

from sqlalchemy import Connection, select

from leadscore.core.loader import load_model_text
from leadscore.core.model import Model
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
