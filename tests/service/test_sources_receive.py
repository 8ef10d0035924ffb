"""Writing what a lead source delivers (service/sources.py), on SQLite and PostgreSQL: a
lead upsert plus an event in one transaction, idempotent by event id, erased people
suppressed, a bad submission refusing the whole delivery with nothing written."""

from __future__ import annotations

from dataclasses import replace

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from leadscore.core.submissions import Submission, SubmittedConsent
from leadscore.service import scoring_models
from leadscore.service.context import Context
from leadscore.service.errors import Invalid
from leadscore.service.gdpr import erase_lead
from leadscore.service.queries import get_lead
from leadscore.service.sources import receive

MODEL = """
name: forms
fit:
  weight: 0.5
  max: 50
  rules:
    - {id: cto, when: {field: title, equals: CTO}, points: 50}
engagement:
  weight: 0.5
  max: 100
  rules:
    - {id: demo, event: form_submitted, where: {field: form, equals: demo}, points: 80}
stages:
  - {name: sql, min_score: 60}
  - {name: lead}
"""


def demo_request(event_id: str = "linkedin:1", email: str = "Ada@Example.com") -> Submission:
    return Submission(
        source="linkedin",
        event_type="form_submitted",
        event_id=event_id,
        occurred_at=None,
        email=email,
        attributes={"title": "CTO", "company": "Acme"},
        properties={"form": "demo", "campaign": "spring"},
        consent=SubmittedConsent(True, "linkedin"),
    )


def counts(ctx: Context) -> tuple[int, int]:
    with ctx.db.read() as conn:
        leads = conn.execute(text("SELECT count(*) FROM leads")).scalar_one()
        events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    return leads, events


@pytest.fixture
def scored(ctx: Context) -> Context:
    version = scoring_models.upload(ctx, MODEL, "test")["version"]
    scoring_models.activate(ctx, version, "test")
    return ctx


def test_a_submission_becomes_a_scored_lead_with_its_event_and_consent(scored: Context) -> None:
    [done] = receive(scored, [demo_request()], "source:linkedin")
    assert (done.status, done.created, done.event_id) == ("stored", True, "linkedin:1")
    assert done.score == 90.0 and done.stage == "sql"  # fit 50/50 → 100·0.5, + 80·0.5
    lead = get_lead(scored, done.lead_id or "")
    assert lead["email"] == "ada@example.com"
    assert lead["attributes"] == {"title": "CTO", "company": "Acme"}
    assert lead["consent"]["basis"] == "consent"
    assert lead["consent"]["source"] == "linkedin"
    assert lead["consent"]["given_at"] is not None
    assert counts(scored) == (1, 1)


def counted(status: str) -> float:
    labels = {"source": "linkedin", "status": status}
    return REGISTRY.get_sample_value("leadscore_source_submissions_total", labels) or 0.0


def test_a_replayed_delivery_writes_nothing(scored: Context) -> None:
    stored, duplicates = counted("stored"), counted("duplicate")
    [first] = receive(scored, [demo_request()], "source:linkedin")
    [again] = receive(scored, [demo_request()], "source:linkedin")
    assert again.status == "duplicate" and again.lead_id == first.lead_id
    assert (counted("stored"), counted("duplicate")) == (stored + 1, duplicates + 1)
    assert counts(scored) == (1, 1)
    # the same id twice in one delivery: the second is the duplicate
    twice = receive(scored, [demo_request("linkedin:2"), demo_request("linkedin:2")], "x")
    assert [r.status for r in twice] == ["stored", "duplicate"]
    assert counts(scored) == (1, 2)


def test_a_bad_submission_refuses_the_whole_delivery_naming_it(scored: Context) -> None:
    bad = Submission("meta", "form_submitted", "meta:9", None, email="not an address")
    with pytest.raises(Invalid) as caught:
        receive(scored, [demo_request(), bad], "source:meta")
    [problem] = caught.value.problems
    assert problem.loc[:3] == ("submissions", 1, "email")
    anonymous = Submission("meta", "form_submitted", "meta:10", None)
    with pytest.raises(Invalid, match="submissions.0: no e-mail address or external id"):
        receive(scored, [anonymous], "source:meta")
    assert counts(scored) == (0, 0)


def test_an_erased_person_is_suppressed_and_an_unknown_one_not_created(scored: Context) -> None:
    [done] = receive(scored, [demo_request()], "source:linkedin")
    erase_lead(scored, done.lead_id or "", "test")
    without_consent = replace(demo_request("linkedin:3"), consent=None)
    [again] = receive(scored, [without_consent], "source:linkedin")
    assert again.status == "suppressed"
    opened = Submission("sendgrid", "email_opened", "sg:1", None, email="x@y.co", create=False)
    [unknown] = receive(scored, [opened], "source:sendgrid")
    assert unknown.status == "unknown"
    assert counts(scored) == (0, 0)
    # consent given on a new form, after the erasure, lets the person back in (§9)
    [back] = receive(scored, [demo_request("linkedin:4")], "source:linkedin")
    assert back.status == "stored" and back.created
    assert counts(scored) == (1, 1)


def test_an_unticked_consent_box_is_recorded_as_no_consent(scored: Context) -> None:
    refused = Submission(
        "google",
        "form_submitted",
        "google:1",
        None,
        email="bo@example.com",
        consent=SubmittedConsent(False, "google"),
    )
    [done] = receive(scored, [refused], "source:google")
    consent = get_lead(scored, done.lead_id or "")["consent"]
    assert consent["basis"] is None and consent["withdrawn_at"] is not None
