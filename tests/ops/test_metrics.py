"""GET /metrics scraped over a real socket and parsed with prometheus_client's parser: the
counters move by what was done between two scrapes (the registry is the process's, so every
figure is a difference)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.api.conftest import Api, running

from leadscore.connectors.base import ConnectorError
from leadscore.service import automations, outbox, sync
from leadscore.service.imports import import_file
from leadscore.service.recompute import recompute
from leadscore.settings import Settings
from leadscore.testing.fakes.pipedrive import FakePipedrive

HOOK = """
automations:
  - name: alarm-hook
    when: {event_received: {type: alarm}}
    actions:
      - webhook: {url: "http://127.0.0.1:1/hook", secret_env: OPS_TEST_HOOK_SECRET}
"""
"""One webhook per `alarm` event, to a port where nothing listens: its delivery fails."""

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(api: Api) -> Samples:
    response = api.reader.get(api.server.base_url + "/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    assert key in after, f"{name}{labels} is not exposed"
    return after[key] - before.get(key, 0.0)


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPS_TEST_HOOK_SECRET", "whsec_" + "a" * 32)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'metrics.db'}",
        api_key_cache_seconds=60,
        worker_enabled=False,  # the test runs the worker itself, once
    )
    with running(settings) as server:
        clients = Api(server)
        clients.model()
        yield clients
        clients.close()


def test_metrics_need_a_key_and_count_what_happened(api: Api, tmp_path: Path) -> None:
    base = api.server.base_url
    assert httpx.get(base + "/metrics").status_code == 401
    automations.upload(api.ctx, HOOK, "test", activate=True)
    api.lead(id="a")
    before = scrape(api)

    for n in range(4):
        api.event(lead_id="a", type="page_viewed", id=f"e{n}")
    api.event(lead_id="a", type="page_viewed", id="e0")  # a duplicate: not counted
    api.event(lead_id="a", type="alarm", id="alarm")
    batch = api.writer.post(
        "/events", json={"events": [{"lead_id": "a", "type": "email_opened"}] * 3}
    )
    assert batch.status_code == 200 and batch.json()["stored"] == 3
    events_csv = tmp_path / "events.csv"
    events_csv.write_text("lead_id,type\na,email_opened\na,demo_booked\n")
    assert import_file(api.ctx, "events", events_csv).written == 2
    with outbox.Worker(api.ctx) as worker:
        assert worker.run_once() == 1  # the webhook, which fails
    recompute(api.ctx)

    after = scrape(api)
    assert moved(before, after, "leadscore_events_ingested_total", source="api") == 4 + 1 + 3
    assert moved(before, after, "leadscore_events_ingested_total", source="import") == 2
    groups = moved(before, after, "leadscore_rescore_seconds_count", path="group")
    assert 1 <= groups <= 7  # 7 requests; concurrent ones may share a transaction
    assert moved(before, after, "leadscore_rescore_seconds_sum", path="group") > 0
    route = "/api/v1/events"
    assert (
        moved(
            before, after, "leadscore_http_requests_total", method="POST", route=route, status="201"
        )
        == 5
    )
    assert (
        moved(
            before, after, "leadscore_http_requests_total", method="POST", route=route, status="200"
        )
        == 2
    )  # the duplicate and the batch
    assert (
        moved(
            before,
            after,
            "leadscore_http_requests_total",
            method="GET",
            route="/metrics",
            status="200",
        )
        == 1
    )  # the first scrape
    failures = {
        outcome: moved(
            before,
            after,
            "leadscore_outbox_delivery_failures_total",
            action="webhook",
            outcome=outcome,
        )
        for outcome in ("retry", "failed")
        if (
            "leadscore_outbox_delivery_failures_total",
            (("action", "webhook"), ("outcome", outcome)),
        )
        in after
    }
    assert sum(failures.values()) == 1, failures
    depth = {
        s: after[("leadscore_outbox_depth", (("status", s),))]
        for s in ("pending", "delivering", "failed")
    }
    assert depth == {
        "pending": failures.get("retry", 0),
        "delivering": 0,
        "failed": failures.get("failed", 0),
    }
    assert moved(before, after, "leadscore_recompute_seconds_count") == 1
    assert after[("leadscore_recompute_last_duration_seconds", ())] > 0


def test_sync_runs_and_errors_are_counted_by_connector(tmp_path: Path) -> None:
    with FakePipedrive() as crm:
        crm.add_person("ada@example.com", {"job_title": "CTO"})
        (tmp_path / "c.yaml").write_text(f"pipedrive:\n  base_url: {crm.url}\n  push: false\n")
        (tmp_path / "s.json").write_text(json.dumps({"pipedrive": crm.secrets()}))
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'sync.db'}",
            connectors_file=str(tmp_path / "c.yaml"),
            secrets_file=str(tmp_path / "s.json"),
            worker_enabled=False,
        )
        with running(settings) as server:
            api = Api(server)
            before = scrape(api)
            sync.sync(api.ctx, "pipedrive")
            crm.spend_daily_budget()  # the vendor refuses every call until tomorrow
            with pytest.raises(ConnectorError):
                sync.sync(api.ctx, "pipedrive", full=True)
            after = scrape(api)
            api.close()
    runs = "leadscore_sync_runs_total"
    assert moved(before, after, runs, connector="pipedrive", status="ok") == 1
    assert moved(before, after, runs, connector="pipedrive", status="failed") == 1
    assert moved(before, after, "leadscore_sync_errors_total", connector="pipedrive") == 1
