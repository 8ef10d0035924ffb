"""What every use case needs: the database, the settings, the caches and the clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from leadscore.service.principals import Principal
from leadscore.settings import Settings
from leadscore.store.automations import AutomationsCache
from leadscore.store.database import Database
from leadscore.store.events import EventTypes
from leadscore.store.model_versions import ModelCache


def wall_clock() -> int:
    """Now, in epoch microseconds."""
    return time.time_ns() // 1000


@dataclass
class Context:
    settings: Settings
    db: Database
    models: ModelCache = field(default_factory=ModelCache)
    automations: AutomationsCache = field(default_factory=AutomationsCache)
    event_types: EventTypes = field(default_factory=EventTypes)
    clock: Callable[[], int] = wall_clock
    key_cache: dict[str, tuple[Principal, float]] = field(default_factory=dict)
    """sha256 of an API key → (principal, monotonic time it was read); see service.keys."""
    extras: dict[str, Any] = field(default_factory=dict)
    """What adapters keep per context (the connectors' registry)."""

    @classmethod
    def open(cls, settings: Settings | None = None, *, migrate: bool = True) -> Context:
        """Connect to the configured database, bringing its schema up to date."""
        settings = settings or Settings()
        db = Database(settings)
        if migrate:
            db.migrate()
        return cls(settings=settings, db=db)

    def now(self) -> int:
        return self.clock()

    def reset_caches(self) -> None:
        """Forget cached ids and models (after the database was emptied, in tests)."""
        self.models.clear()
        self.automations.clear()
        self.event_types.clear()
        self.key_cache.clear()
        # Loaded predictors are keyed by (database, version, creation time): an emptied
        # database can hold a new version 1 created at the same instant as the old one.
        from leadscore.ml.store_model import CACHE  # sklearn: loaded only when it is needed

        CACHE.clear()
        for extra in self.extras.values():
            closing = getattr(extra, "close", None)
            if callable(closing):
                closing()
        self.extras.clear()

    def close(self) -> None:
        for extra in self.extras.values():  # the connectors' open HTTP clients
            closing = getattr(extra, "close", None)
            if callable(closing):
                closing()
        self.extras.clear()
        self.db.dispose()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
