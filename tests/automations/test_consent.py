"""Consent enforcement in the outbox worker (SPEC §9, LEADSCORE_REQUIRE_CONSENT=basis): no
e-mail or webhook about a lead without a lawful basis — the row is recorded delivered with
`skipped: no lawful basis` and keeps no personal data — and withdrawing consent stops even a
delivery already under way (checked again at each attempt). Over the real worker, a real
HTTP receiver and the mail file sink."""

from __future__ import annotations

import base64
import email
from email import policy

import pytest
from sqlalchemy import select
from tests.delivery.conftest import fails_then_succeeds

from leadscore.core.consent import has_lawful_basis
from leadscore.core.timestamps import format_timestamp, parse_timestamp
from leadscore.service import automations, digests, outbox, scoring_models
from leadscore.service.context import Context
from leadscore.service.events import ingest_events
from leadscore.service.inputs import ConsentIn, EventIn, LeadIn
from leadscore.service.leads import upsert_leads
from leadscore.service.owners import OwnerIn, create_owner
from leadscore.store import consent as stored_consent
from leadscore.store.tables import leads
from leadscore.store.tables import outbox as outbox_table

SECRET = "whsec_" + base64.b64encode(b"a test secret of 24 bytes").decode()
NOW = parse_timestamp("2026-12-07T10:00:00Z")
HOUR = 3_600_000_000
MODEL = """
name: consent
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
tiers: {hot: 75}
stages:
  - {name: sql, min_score: 75}
  - {name: lead}
"""
AUTOMATIONS = """
automations:
  - name: demo-alert
    when: {event_received: {type: demo_booked}}
    actions:
      - notify: {email: {to: [manager@example.com]}}
      - webhook: {url_env: TEST_HOOK_URL, secret_env: TEST_HOOK_SECRET}
"""
GIVEN = ConsentIn(basis="consent", given_at="2026-01-01T00:00:00Z", source="web form")


@pytest.fixture
def store(ctx: Context, tmp_path, monkeypatch) -> Context:
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    ctx.clock = lambda: NOW
    ctx.settings = ctx.settings.model_copy(
        update={
            "mail_dir": str(tmp_path / "mail"),
            "outbox_backoff_seconds": 30.0,
            "outbox_max_attempts": 4,
            "require_consent": "basis",
        }
    )
    scoring_models.activate(ctx, scoring_models.upload(ctx, MODEL, "t")["version"], "t")
    automations.upload(ctx, AUTOMATIONS, "t", activate=True)
    return ctx


def person(ctx: Context, lead_id: str, consent: ConsentIn | None) -> None:
    attributes = {"employees": 500, "first_name": f"Zebulon{lead_id}", "company": "Quux Ltd"}
    upsert_leads(
        ctx,
        [
            LeadIn(
                id=lead_id,
                email=f"{lead_id.lower()}@example.com",
                attributes=attributes,
                consent=consent,
            )
        ],
        "t",
    )


def demo(ctx: Context, lead_id: str, event_id: str) -> None:
    ingest_events(ctx, [EventIn(lead_id=lead_id, id=event_id, type="demo_booked")])


def rows(ctx: Context, lead_id: str, action: str) -> list:
    with ctx.db.read() as conn:
        query = (
            select(outbox_table)
            .join(leads, leads.c.pk == outbox_table.c.lead_pk)
            .where(leads.c.id == lead_id, outbox_table.c.action == action)
            .order_by(outbox_table.c.pk)
        )
        return list(conn.execute(query))


def test_only_leads_with_a_basis_are_mailed_or_posted(store, receiver, monkeypatch, tmp_path):
    hook = receiver(fails_then_succeeds(0))
    monkeypatch.setenv("TEST_HOOK_URL", hook.url)
    person(store, "WITH", GIVEN)
    person(store, "NONE", None)
    person(
        store,
        "GONE",
        ConsentIn(
            basis="consent", given_at="2026-01-01T00:00:00Z", withdrawn_at="2026-06-01T00:00:00Z"
        ),
    )
    for lead_id in ("WITH", "NONE", "GONE"):
        demo(store, lead_id, f"{lead_id}-1")
    with outbox.Worker(store) as worker:
        assert worker.run_until_idle() == 6
    assert [r.json()["lead"]["id"] for r in hook.requests] == ["WITH"]
    mails = list((tmp_path / "mail").glob("*.eml"))
    assert len(mails) == 1 and "ZebulonWITH" in mails[0].read_text()
    for lead_id in ("NONE", "GONE"):
        for action in ("notify", "webhook"):
            (row,) = rows(store, lead_id, action)
            assert row.status == "delivered" and row.result == {"skipped": "no lawful basis"}
            assert row.payload["skipped"] == "no lawful basis"
            kept = str(row.payload)
            assert "Zebulon" not in kept and "@example.com" not in kept and "Quux" not in kept
    for action in ("notify", "webhook"):
        (row,) = rows(store, "WITH", action)
        assert row.status == "delivered" and "skipped" not in (row.result or {})

    # The setting off: the same kind of lead is mailed and posted.
    store.settings = store.settings.model_copy(update={"require_consent": "off"})
    demo(store, "NONE", "NONE-2")
    with outbox.Worker(store) as worker:
        assert worker.run_until_idle() == 2
    assert [r.json()["lead"]["id"] for r in hook.requests] == ["WITH", "NONE"]


def test_consent_withdrawn_before_a_retry_stops_the_delivery(store, receiver, monkeypatch):
    hook = receiver(fails_then_succeeds(1))
    monkeypatch.setenv("TEST_HOOK_URL", hook.url)
    person(store, "L1", GIVEN)
    demo(store, "L1", "e1")
    with outbox.Worker(store) as worker:
        worker.run_until_idle()
    (row,) = rows(store, "L1", "webhook")
    assert row.status == "pending" and row.attempts == 1 and len(hook.requests) == 1
    assert row.payload["lead"]["email"] == "l1@example.com"  # built with a basis
    withdrawn = ConsentIn(withdrawn_at=format_timestamp(NOW))
    upsert_leads(store, [LeadIn(id="L1", consent=withdrawn)], "t")
    store.clock = lambda: NOW + HOUR
    with outbox.Worker(store) as worker:
        worker.run_until_idle()
    (row,) = rows(store, "L1", "webhook")
    assert row.status == "delivered" and row.result == {"skipped": "no lawful basis"}
    assert len(hook.requests) == 1  # the retry was not sent
    # Consent given again, later than the withdrawal: deliveries resume.
    again = ConsentIn(basis="consent", given_at=format_timestamp(NOW + HOUR))
    upsert_leads(store, [LeadIn(id="L1", consent=again)], "t")
    demo(store, "L1", "e2")
    with outbox.Worker(store) as worker:
        worker.run_until_idle()
    assert len(hook.requests) == 2 and hook.requests[-1].json()["lead"]["id"] == "L1"


@pytest.mark.parametrize(
    ("basis", "given", "withdrawn", "lawful"),
    [
        (None, None, None, False),
        ("", 5, None, False),
        ("consent", None, None, True),
        ("legitimate_interest", 5, None, True),
        ("consent", 5, 6, False),
        ("consent", 6, 6, True),
        ("consent", 7, 6, True),
        ("consent", None, 6, False),
    ],
)
def test_the_sql_rule_is_the_core_rule(ctx: Context, basis, given, withdrawn, lawful) -> None:
    assert has_lawful_basis(basis, given, withdrawn) is lawful
    upsert_leads(ctx, [LeadIn(id="X")], "t")

    def set_consent(conn) -> None:
        conn.execute(
            leads.update().values(
                consent_basis=basis, consent_given_at=given, consent_withdrawn_at=withdrawn
            )
        )

    ctx.db.transact(set_consent)
    with ctx.db.read() as conn:
        (pk,) = conn.scalars(select(leads.c.pk))
        assert (pk not in stored_consent.without_basis(conn, [pk])) is lawful
        assert ("X" not in stored_consent.without_basis_by_id(conn, ["X"])) is lawful


DIGEST = """
automations:
  - name: morning
    when: {schedule: {daily_at: "07:00"}}
    conditions: {field: tier, equals: hot}
    actions: [{notify: {email: {to_owner: true}, template: digest}}]
"""


def test_a_digest_leaves_out_the_leads_without_a_basis(store, tmp_path):
    day = parse_timestamp("2026-12-08T00:00:00Z")
    for name in ("ann", "bob"):
        create_owner(
            store, OwnerIn(id=f"{name}@example.com", name=name, email=f"{name}@example.com"), "t"
        )
    automations.upload(store, DIGEST, "t", activate=True)
    owners = {"H1": "ann@example.com", "H2": "ann@example.com", "H3": "bob@example.com"}
    for lead_id, owner in owners.items():
        consent = GIVEN if lead_id == "H1" else None
        upsert_leads(
            store,
            [LeadIn(id=lead_id, owner=owner, attributes={"employees": 500}, consent=consent)],
            "t",
        )
        demo(store, lead_id, f"{lead_id}-d")
    store.clock = lambda: day + 7 * HOUR + 1
    assert digests.write_due(store) == 2
    with outbox.Worker(store) as worker:
        worker.run_until_idle()
    with store.db.read() as conn:
        rows = conn.execute(
            select(outbox_table).where(outbox_table.c.lead_pk.is_(None)).order_by(outbox_table.c.pk)
        ).all()
    by_owner = {r.trigger["owner"]: r for r in rows}
    ann, bob = by_owner["ann@example.com"], by_owner["bob@example.com"]
    assert [lead["id"] for lead in ann.payload["leads"]] == ["H1"]
    assert ann.payload["withheld"] == 1 and ann.status == "delivered"
    assert bob.status == "delivered" and bob.result == {"skipped": "no lawful basis"}
    assert "H3" not in str(bob.payload)
    mails = list((tmp_path / "mail").glob("*.eml"))
    assert len(mails) == 1
    message = email.message_from_bytes(mails[0].read_bytes(), policy=policy.default)
    body = message.get_body(("plain",)).get_content()
    assert message["To"] == "ann@example.com" and "H1" in body and "H2" not in body


def test_a_forms_consent_answer_decides_what_automations_send(store, receiver, monkeypatch):
    """Issue 17: the consent box of a lead form (a source's submission) is stored on the
    lead and respected like any consent: ticked, the demo request is mailed and posted;
    left unticked, the rows are skipped with no personal data."""
    from leadscore.core.submissions import Submission, SubmittedConsent
    from leadscore.service.sources import receive

    hook = receiver(fails_then_succeeds(0))
    monkeypatch.setenv("TEST_HOOK_URL", hook.url)

    def booked(name: str, ticked: bool) -> Submission:
        return Submission(
            "calendly",
            "demo_booked",
            f"calendly:{name}",
            None,
            email=f"{name.lower()}@example.com",
            attributes={"employees": 500, "first_name": f"Zebulon{name}", "company": "Quux"},
            consent=SubmittedConsent(ticked, "calendly"),
        )

    done = receive(store, [booked("TICKED", True), booked("UNTICKED", False)], "test")
    assert [r.status for r in done] == ["stored", "stored"]
    with outbox.Worker(store) as worker:
        assert worker.run_until_idle() == 4
    assert [r.json()["lead"]["email"] for r in hook.requests] == ["ticked@example.com"]
    with store.db.read() as conn:
        held = stored_consent.without_basis_by_id(conn, [done[0].lead_id, done[1].lead_id])
    assert held == {done[1].lead_id}
    for action in ("notify", "webhook"):
        (row,) = rows(store, done[1].lead_id or "", action)
        assert row.result == {"skipped": "no lawful basis"}
        assert "Zebulon" not in str(row.payload)
