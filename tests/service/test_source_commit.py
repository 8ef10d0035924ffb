"""Group commit for source deliveries (service/source_commit.py), on SQLite and PostgreSQL:
deliveries written together give each its own answer, exactly as written one by one; a bad
delivery in a group fails alone with its own error and the others are written."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from tests.service.test_sources_receive import MODEL

from leadscore.core.submissions import Submission
from leadscore.service import scoring_models
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, Invalid
from leadscore.service.inputs import LeadIn
from leadscore.service.leads import upsert_leads
from leadscore.service.source_commit import SourceWriter
from leadscore.service.sources import receive


def booking(n: int, **extra: object) -> Submission:
    fields: dict = {
        "email": f"p{n}@example.com",
        "attributes": {"title": "CTO" if n % 2 else "intern"},
        "properties": {"form": "demo"},
    }
    fields.update(extra)
    return Submission("calendly", "form_submitted", f"calendly:{n}", None, **fields)


def rows(ctx: Context) -> tuple[int, int, int]:
    with ctx.db.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("leads", "events", "score_history")
        )


@pytest.fixture
def writer(ctx: Context):
    version = scoring_models.upload(ctx, MODEL, "test")["version"]
    scoring_models.activate(ctx, version, "test")
    found = SourceWriter(ctx)
    yield found
    found.close()


def test_deliveries_written_together_answer_as_if_written_alone(ctx: Context, writer) -> None:
    gate = threading.Barrier(12)

    def deliver(n: int):
        gate.wait()
        return writer.receive(ctx, [booking(n)], "webhook:calendly")

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(deliver, range(12)))
    assert [a[0].status for a in answers] == ["stored"] * 12
    assert writer.groups < 12  # released together, they were written in fewer transactions
    assert all(a[0].created for a in answers)
    scores = {a[0].event_id: a[0].score for a in answers}
    # the CTOs (odd n) get the fit points, as receive gives them one by one
    alone = receive(ctx, [booking(101)], "webhook:calendly")[0].score
    assert {scores[f"calendly:{n}"] for n in range(1, 12, 2)} == {alone}
    assert rows(ctx)[:2] == (13, 13)
    # a replay through the writer is a duplicate and writes nothing
    again = writer.receive(ctx, [booking(3)], "webhook:calendly")
    assert again[0].status == "duplicate"
    assert rows(ctx)[:2] == (13, 13)


def test_a_bad_delivery_in_a_group_fails_alone(ctx: Context, writer) -> None:
    # a person whose e-mail is one lead and whose CRM id is another: Conflict inside the
    # transaction (not a validation error, which is raised before queuing)
    upsert_leads(ctx, [LeadIn(email="owner@example.com")], "t")
    upsert_leads(ctx, [LeadIn(email="other@example.com", external_ids={"crm": "7"})], "t")
    bad = booking(99, email="owner@example.com", external_ids={"crm": "7"})
    gate = threading.Barrier(8)

    def deliver(n: int):
        gate.wait()
        try:
            return writer.receive(ctx, [bad if n == 4 else booking(n)], "webhook:calendly")
        except Conflict as exc:
            return exc

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(deliver, range(8)))
    assert isinstance(answers[4], Conflict)
    assert "name different leads" in str(answers[4])
    assert [a[0].status for i, a in enumerate(answers) if i != 4] == ["stored"] * 7
    assert rows(ctx)[:2] == (2 + 7, 7)


def test_validation_is_refused_before_queuing_naming_the_field(ctx: Context, writer) -> None:
    with pytest.raises(Invalid) as caught:
        writer.receive(ctx, [booking(1), booking(2, email="no address")], "webhook:calendly")
    assert caught.value.problems[0].loc[:3] == ("submissions", 1, "email")
    assert rows(ctx) == (0, 0, 0)
