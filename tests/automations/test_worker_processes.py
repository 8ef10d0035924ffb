"""Workers that die and workers that race (§6): a worker killed between claiming an action
and acknowledging it loses nothing — its lease expires and a second worker completes the
work — and two workers at once never deliver one row twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

from sqlalchemy import select
from tests.automations.test_worker import MODEL, SECRET, automations_text, hot_lead
from tests.delivery.conftest import answer

from leadscore.service import automations, outbox, scoring_models
from leadscore.service.context import Context
from leadscore.service.events import ingest_events
from leadscore.service.inputs import EventIn, LeadIn
from leadscore.service.leads import upsert_leads
from leadscore.service.owners import OwnerIn, TeamIn, create_owner, create_team
from leadscore.store.tables import outbox as outbox_table

WEBHOOK_ONLY = """
automations:
  - name: demo-hook
    when: {event_received: {type: demo_booked}}
    actions:
      - webhook: {url_env: TEST_HOOK_URL, secret_env: TEST_HOOK_SECRET}
"""


def _setup(ctx, text):
    scoring_models.activate(ctx, scoring_models.upload(ctx, MODEL, "t")["version"], "t")
    create_owner(ctx, OwnerIn(id="ann@example.com", name="Ann", email="ann@example.com"), "t")
    create_team(ctx, TeamIn(name="sales", members=["ann@example.com"]), "t")
    automations.upload(ctx, text, "t", activate=True)


def _webhook_row(ctx):
    with ctx.db.read() as conn:
        return conn.execute(select(outbox_table).where(outbox_table.c.action == "webhook")).one()


def test_a_killed_worker_loses_nothing_and_another_completes_the_work(
    ctx, receiver, tmp_path, monkeypatch
):
    held = threading.Event()

    def respond(request, attempt):
        if attempt == 0:  # hold the first delivery until the worker is killed
            held.set()
            time.sleep(20)
        return answer(200, "ok")

    hook = receiver(respond)
    monkeypatch.setenv("TEST_HOOK_URL", hook.url)
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    _setup(ctx, automations_text())
    hot_lead(ctx)
    env = {
        **os.environ,
        "LEADSCORE_DATABASE_URL": ctx.settings.database_url,
        "LEADSCORE_OUTBOX_LEASE_SECONDS": "2",
        "LEADSCORE_MAIL_DIR": str(tmp_path / "mail"),
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "leadscore.cli", "worker"], env=env, stdout=out, stderr=out
        )
    try:
        assert held.wait(60), f"the worker never called the webhook: {log.read_text()}"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    row = _webhook_row(ctx)
    assert row.status == "delivering" and row.attempts == 1  # claimed, never acknowledged
    time.sleep(2.2)  # its lease runs out
    ctx.settings = ctx.settings.model_copy(update={"mail_dir": str(tmp_path / "mail")})
    with outbox.Worker(ctx) as second:
        assert second.run_until_idle() >= 1
    row = _webhook_row(ctx)
    assert row.status == "delivered" and row.attempts == 2
    assert len(hook.requests) == 2
    assert {r.headers["webhook-id"] for r in hook.requests} == {f"ob_{row.pk}"}
    with ctx.db.read() as conn:
        statuses = Counter(conn.scalars(select(outbox_table.c.status)))
    assert statuses == {"delivered": 4}  # owner, sequence, e-mail and webhook: none lost


def test_two_workers_at_once_never_deliver_a_row_twice(ctx, receiver, monkeypatch):
    hook = receiver(lambda request, attempt: answer(200, "ok"))
    monkeypatch.setenv("TEST_HOOK_URL", hook.url)
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    _setup(ctx, WEBHOOK_ONLY)
    upsert_leads(ctx, [LeadIn(id=f"L{i}") for i in range(200)], "t")
    ingest_events(
        ctx, [EventIn(lead_id=f"L{i}", id=f"e{i}", type="demo_booked") for i in range(200)]
    )
    settings = ctx.settings.model_copy(update={"outbox_batch_size": 7, "outbox_concurrency": 4})
    claimed = [0, 0]
    start = threading.Barrier(2)

    def work(k: int) -> None:
        with Context.open(settings) as own, outbox.Worker(own) as worker:
            start.wait()
            claimed[k] = worker.run_until_idle()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    ids = Counter(r.headers["webhook-id"] for r in hook.requests)
    assert len(ids) == 200
    assert set(ids.values()) == {1}, "a row was delivered twice"
    assert sum(claimed) == 200 and min(claimed) > 0, claimed
    with ctx.db.read() as conn:
        statuses = Counter(conn.scalars(select(outbox_table.c.status)))
    assert statuses == {"delivered": 200}
