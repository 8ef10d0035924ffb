"""The outbox worker (§6) against real receivers: store actions exactly once, webhooks
signed and retried with backoff until they succeed or are kept as failed (then retryable),
e-mail over a real SMTP server or into the file sink."""

from __future__ import annotations

import base64
import email
import hashlib
import hmac
from collections import Counter
from email import policy

import pytest
from sqlalchemy import select
from tests.delivery.conftest import answer, fails_then_succeeds

from leadscore.service import automations, outbox, scoring_models
from leadscore.service.events import ingest_events
from leadscore.service.inputs import EventIn, LeadIn
from leadscore.service.leads import upsert_leads
from leadscore.service.owners import OwnerIn, TeamIn, create_owner, create_team
from leadscore.store.tables import leads, list_members, lists
from leadscore.store.tables import outbox as outbox_table

SECRET = "whsec_" + base64.b64encode(b"a test secret of 24 bytes").decode()

MODEL = """
name: worker
fit:
  weight: 0.5
  max: 40
  rules:
    - {id: big, points: 40, when: {field: employees, gte: 100}}
engagement:
  weight: 0.5
  max: 60
  rules:
    - {id: demo, event: demo_booked, points: 60}
tiers: {hot: 75, warm: 40}
stages:
  - {name: sql, min_score: 75}
  - {name: lead}
"""


def automations_text(url_env: str = "TEST_HOOK_URL") -> str:
    return f"""
automations:
  - name: sql-owner
    when: {{stage_changed: {{to: sql}}}}
    actions:
      - assign_owner: {{team: sales}}
      - enroll: {{sequence: nurture}}
  - name: hot-alert
    when: {{score_crossed: {{threshold: 85}}}}
    actions:
      - notify: {{email: {{to: [manager@example.com]}}}}
  - name: demo-hook
    when: {{event_received: {{type: demo_booked}}}}
    actions:
      - webhook: {{url_env: {url_env}, secret_env: TEST_HOOK_SECRET}}
"""


@pytest.fixture
def store(ctx, tmp_path, monkeypatch):
    """A store with the model, two owners in team `sales`, the automations active; e-mail
    into a file sink under tmp_path; retries due at once."""
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    ctx.settings = ctx.settings.model_copy(
        update={
            "mail_dir": str(tmp_path / "mail"),
            "outbox_backoff_seconds": 0.0,
            "outbox_max_attempts": 4,
        }
    )
    scoring_models.activate(ctx, scoring_models.upload(ctx, MODEL, "t")["version"], "t")
    for name in ("ann", "bob"):
        create_owner(
            ctx, OwnerIn(id=f"{name}@example.com", name=name, email=f"{name}@example.com"), "t"
        )
    create_team(ctx, TeamIn(name="sales", members=["ann@example.com", "bob@example.com"]), "t")
    automations.upload(ctx, automations_text(), "t", activate=True)
    return ctx


def rows(ctx, **where):
    with ctx.db.read() as conn:
        query = select(outbox_table).order_by(outbox_table.c.pk)
        for name, value in where.items():
            query = query.where(outbox_table.c[name] == value)
        return conn.execute(query).all()


def hot_lead(ctx, lead_id="L1", event_id="e1"):
    upsert_leads(ctx, [LeadIn(id=lead_id, attributes={"employees": 500})], "t")
    ingest_events(ctx, [EventIn(lead_id=lead_id, id=event_id, type="demo_booked")])


def test_store_actions_are_done_once_and_the_mail_lands_in_the_sink(
    store, receiver, monkeypatch, tmp_path
):
    hook = receiver(fails_then_succeeds(0))
    monkeypatch.setenv("TEST_HOOK_URL", hook.url)
    hot_lead(store, "L1", "e1")
    hot_lead(store, "L2", "e2")
    with outbox.Worker(store) as worker:
        assert worker.run_until_idle() == 8  # 2 leads × (owner, enroll, mail, webhook)
        assert worker.run_until_idle() == 0
    assert {r.status for r in rows(store)} == {"delivered"}
    with store.db.read() as conn:
        owners = {i: o for i, o in conn.execute(select(leads.c.id, leads.c.owner))}
        members = conn.execute(
            select(lists.c.name, lists.c.kind, list_members.c.lead_pk).join(lists)
        ).all()
    assert owners == {"L1": "ann@example.com", "L2": "bob@example.com"}  # round-robin
    assert sorted(members) == [("nurture", "sequence", 1), ("nurture", "sequence", 2)]
    sent = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(sent) == 2
    message = email.message_from_bytes(sent[0].read_bytes(), policy=policy.default)
    assert message["To"] == "manager@example.com"
    body = message.get_body(("plain",)).get_content()
    assert "100" in body and "demo" in body  # the score and the reason that made it
    mail_row = rows(store, action="notify")[0]
    assert outbox.get_row(store, mail_row.pk)["result"]["email"]["message"].startswith(
        sent[0].read_bytes().decode()[:40]
    )
    assert len(hook.requests) == 2
    # The same events again: duplicates, nothing fires, nothing is sent.
    ingest_events(store, [EventIn(lead_id="L1", id="e1", type="demo_booked")])
    with outbox.Worker(store) as worker:
        assert worker.run_until_idle() == 0
    assert len(rows(store)) == 8


def test_a_webhook_is_signed_retried_with_one_id_and_delivered(store, receiver, monkeypatch):
    hook = receiver(fails_then_succeeds(2))
    monkeypatch.setenv("TEST_HOOK_URL", hook.url)
    hot_lead(store)
    with outbox.Worker(store) as worker:
        for _ in range(3):
            worker.run_until_idle()
    (row,) = rows(store, action="webhook")
    assert row.status == "delivered" and row.attempts == 3
    assert len(hook.requests) == 3
    ids = {r.headers["webhook-id"] for r in hook.requests}
    assert ids == {f"ob_{row.pk}"}  # receivers dedupe on it
    bodies = {r.body for r in hook.requests}
    assert len(bodies) == 1  # every retry sends the same bytes
    last = hook.requests[-1]
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{last.headers['webhook-id']}.{last.headers['webhook-timestamp']}.".encode()
    expected = base64.b64encode(hmac.new(key, signed + last.body, hashlib.sha256).digest())
    assert last.headers["webhook-signature"] == "v1," + expected.decode()
    assert last.json()["lead"]["id"] == "L1" and last.json()["type"] == "lead.event_received"


def test_a_receiver_that_never_succeeds_leaves_a_failed_row_that_can_be_retried(
    store, receiver, monkeypatch
):
    broken = receiver(fails_then_succeeds(100))
    monkeypatch.setenv("TEST_HOOK_URL", broken.url)
    hot_lead(store)
    with outbox.Worker(store) as worker:
        for _ in range(6):
            worker.run_until_idle()
    (row,) = rows(store, action="webhook")
    assert row.status == "failed" and row.attempts == 4
    assert "503" in row.last_error and "attempt 4" in row.last_error
    assert len(broken.requests) == 4
    fixed = receiver(fails_then_succeeds(0))
    monkeypatch.setenv("TEST_HOOK_URL", fixed.url)
    again = outbox.retry(store, row.pk, "t")
    assert again["status"] == "pending" and again["attempts"] == 0
    with outbox.Worker(store) as worker:
        worker.run_until_idle()
    assert rows(store, action="webhook")[0].status == "delivered"
    assert len(fixed.requests) == 1


def test_a_permanent_refusal_fails_at_once(store, receiver, monkeypatch):
    refusing = receiver(lambda request, attempt: answer(410, "gone"))
    monkeypatch.setenv("TEST_HOOK_URL", refusing.url)
    hot_lead(store)
    with outbox.Worker(store) as worker:
        worker.run_until_idle()
    (row,) = rows(store, action="webhook")
    assert row.status == "failed" and row.attempts == 1
    assert "410" in row.last_error


def test_a_missing_secret_is_a_clear_permanent_failure(store, monkeypatch):
    monkeypatch.delenv("TEST_HOOK_URL", raising=False)
    hot_lead(store)
    with outbox.Worker(store) as worker:
        worker.run_until_idle()
    (row,) = rows(store, action="webhook")
    assert row.status == "failed"
    assert "TEST_HOOK_URL is not set" in row.last_error


def test_backoff_doubles_with_jitter_and_a_cap():
    low = [outbox.backoff(n, 30, 3600, lambda: 0.0) for n in range(1, 10)]
    high = [outbox.backoff(n, 30, 3600, lambda: 1.0) for n in range(1, 10)]
    assert high[:5] == [30, 60, 120, 240, 480]
    assert low[:3] == [15, 30, 60]
    assert max(high) == 3600


def test_an_smtp_server_receives_the_alert(store, smtp_server, receiver, monkeypatch):
    inbox = smtp_server("plain")
    hook = receiver(fails_then_succeeds(0))
    monkeypatch.setenv("TEST_HOOK_URL", hook.url)
    store.settings = store.settings.model_copy(
        update={"smtp_url": f"smtp://127.0.0.1:{inbox.port}?starttls=false"}
    )
    hot_lead(store)
    with outbox.Worker(store) as worker:
        worker.run_until_idle()
    (message,) = inbox.messages
    assert message.rcpt_tos == ["manager@example.com"]
    parsed = email.message_from_bytes(message.content, policy=policy.default)
    assert "L1" in parsed.get_body(("plain",)).get_content() or "100" in parsed["Subject"]


def test_a_bad_smtp_url_stops_the_worker_at_start_without_showing_the_password(ctx):
    from leadscore.delivery.errors import DeliveryError

    ctx.settings = ctx.settings.model_copy(update={"smtp_url": "smtp://me:s3cret@:notaport"})
    with pytest.raises(DeliveryError) as caught:
        outbox.Worker(ctx)
    assert "s3cret" not in str(caught.value)


def test_only_delivered_rows_past_the_retention_are_pruned(store, monkeypatch):
    monkeypatch.delenv("TEST_HOOK_URL", raising=False)  # the webhook fails: kept as failed
    now = 1_800_000_000_000_000
    store.clock = lambda: now
    hot_lead(store)
    with outbox.Worker(store) as worker:
        worker.run_until_idle()
    statuses = Counter(r.status for r in rows(store))
    assert statuses == {"delivered": 3, "failed": 1}
    store.clock = lambda: now + 29 * 86_400_000_000
    assert outbox.prune(store) == 0  # within the 30 days
    store.clock = lambda: now + 31 * 86_400_000_000
    assert outbox.prune(store) == 3
    assert [r.status for r in rows(store)] == ["failed"]  # failed rows are never pruned
