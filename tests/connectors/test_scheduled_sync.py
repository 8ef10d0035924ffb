"""The scheduled sync in `serve` (§8): each connector synced when its `sync_every` has passed
since its last sync started, under the scheduler's lease (so never twice at once)."""

from __future__ import annotations

import json

from leadscore.core.timestamps import parse_timestamp
from leadscore.scheduler import Scheduler
from leadscore.service import sync
from leadscore.service.context import Context
from leadscore.settings import Settings
from leadscore.store import connectors as stored
from leadscore.testing.fakes.pipedrive import FakePipedrive

MINUTE = 60_000_000


def test_each_connector_syncs_when_its_interval_has_passed(database_url: str, tmp_path) -> None:
    with FakePipedrive() as crm:
        crm.add_person("ada@example.com", {"job_title": "CTO"})
        (tmp_path / "c.yaml").write_text(
            f"pipedrive:\n  base_url: {crm.url}\n  sync_every: 15m\n  push: false\n"
        )
        (tmp_path / "s.json").write_text(json.dumps({"pipedrive": crm.secrets()}))
        settings = Settings(
            database_url=database_url,
            connectors_file=str(tmp_path / "c.yaml"),
            secrets_file=str(tmp_path / "s.json"),
        )
        with Context.open(settings) as ctx:
            now = parse_timestamp("2026-12-07T10:00:30Z")
            ctx.clock = lambda: now
            scheduler = Scheduler.connectors(ctx)
            assert sync.due(ctx) == ["pipedrive"]
            assert not scheduler.tick()  # a new lease starts at the next minute's slot
            now += MINUTE
            assert scheduler.tick()
            with ctx.db.read() as conn:
                runs = stored.runs(conn, "pipedrive", kind="sync")
            assert [(r.status, r.counts["created"]) for r in runs] == [("ok", 1)]
            now += 10 * MINUTE  # 10 minutes later: not due; the next minute's slot runs nothing
            assert sync.due(ctx) == []
            assert scheduler.tick()
            with ctx.db.read() as conn:
                assert len(stored.runs(conn, "pipedrive", kind="sync")) == 1
            now += 6 * MINUTE
            assert sync.due(ctx) == ["pipedrive"]
            crm.add_person("bob@example.com", {"job_title": "VP"})
            assert scheduler.tick()
            with ctx.db.read() as conn:
                runs = stored.runs(conn, "pipedrive", kind="sync")
            assert len(runs) == 2 and runs[0].counts["created"] == 1
