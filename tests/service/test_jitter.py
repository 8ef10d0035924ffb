"""Retry jitter never touches the global `random` state: waiting threads (the outbox worker,
the database's retry, a connector's backoff) run beside user code and test frameworks that
seed or watch it (hypothesis fails a test whose strategies see that state move)."""

from __future__ import annotations

import random

from leadscore.connectors import base as connectors_base
from leadscore.service import outbox
from leadscore.store import database


def test_the_outbox_backoff_draws_from_its_own_generator() -> None:
    random.seed(16)
    before = random.getstate()
    delays = [outbox.backoff(attempt, 1.0, 60.0) for attempt in range(1, 50)]
    assert random.getstate() == before
    assert len(set(delays)) > 1  # still jittered
    assert all(0.5 <= d <= 60.0 for d in delays)


def test_every_jitter_generator_is_its_own() -> None:
    for module in (outbox, database, connectors_base):
        assert isinstance(module.JITTER, random.Random)
        assert module.JITTER is not random._inst  # type: ignore[attr-defined]
