"""Consent enforcement in the CRM push and the outbox's crm_update (SPEC §9,
LEADSCORE_REQUIRE_CONSENT=basis), against the fake CRM servers over real sockets: a lead
without a lawful basis is not pushed (counted `skipped_no_basis`), one with a basis is, and
withdrawing consent stops it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from leadscore.core.timestamps import format_timestamp
from leadscore.service import automations, connectors, push, scoring_models, sync
from leadscore.service.context import Context, wall_clock
from leadscore.service.events import ingest_events
from leadscore.service.inputs import ConsentIn, EventIn, LeadIn
from leadscore.service.leads import upsert_leads
from leadscore.service.outbox import Worker
from leadscore.settings import Settings
from leadscore.store import leads as stored_leads
from leadscore.store.tables import outbox
from leadscore.testing.connectors import AUTOMATIONS, MODEL
from leadscore.testing.fakes.hubspot import FakeHubSpot
from leadscore.testing.fakes.pipedrive import FakePipedrive

GIVEN = ConsentIn(basis="legitimate_interest", given_at="2026-01-01T00:00:00Z")
PEOPLE = ("with", "none", "gone")


def field(ctx: Context, name: str, obj: str, lead: str) -> str:
    m = connectors.registry(ctx).get(name).mapping
    for f in [*m.inbound(obj), *m.outbound(obj)]:
        if f.lead == lead:
            return f.crm
    raise AssertionError(f"no {lead} in the {name} mapping")


def score(ctx: Context, who: str) -> float:
    with ctx.db.read() as conn:
        pk = stored_leads.pks_by_email(conn, [f"{who}@example.com"])[f"{who}@example.com"]
        row = stored_leads.by_pk(conn, pk)
    assert row is not None
    return float(row.score)


@pytest.mark.parametrize("fake_type", [FakeHubSpot, FakePipedrive], ids=["hubspot", "pipedrive"])
def test_only_leads_with_a_basis_are_pushed(fake_type, database_url: str, tmp_path) -> None:
    with fake_type() as crm:
        probe = crm.connector()
        name = probe.name
        probe.close()
        (tmp_path / "c.yaml").write_text(
            f"{name}:\n  base_url: {crm.url}\n  sync_every: null\n  push: false\n"
        )
        (tmp_path / "s.json").write_text(json.dumps({name: crm.secrets()}))
        settings = Settings(
            database_url=database_url,
            connectors_file=str(tmp_path / "c.yaml"),
            secrets_file=str(tmp_path / "s.json"),
            require_consent="basis",
        )
        with Context.open(settings) as ctx:
            obj = crm.person_object
            title, stage_field, score_field = (
                field(ctx, name, obj, lead) for lead in ("job_title", "stage", "score")
            )
            ids = {
                who: crm.add_person(f"{who}@example.com", {title: "VP Analytics"}) for who in PEOPLE
            }
            scoring_models.activate(ctx, scoring_models.upload(ctx, MODEL, "t")["version"], "t")
            automations.upload(ctx, AUTOMATIONS % name, "t", activate=True)
            sync.sync(ctx, name)
            for who in ("with", "gone"):
                upsert_leads(ctx, [LeadIn(email=f"{who}@example.com", consent=GIVEN)], "t")

            # The crm_update of an automation: the lead without a basis is not written.
            ingest_events(
                ctx,
                [
                    EventIn(email=f"{w}@example.com", type="demo_booked", id=f"{w}-d")
                    for w in PEOPLE
                ],
            )
            with Worker(ctx) as worker:
                worker.run_until_idle()
            assert crm.person_fields(ids["with"])[stage_field] == "sql"
            assert crm.person_fields(ids["gone"])[stage_field] == "sql"
            assert crm.person_fields(ids["none"]).get(stage_field) in (None, "")
            with ctx.db.read() as conn:
                results = {
                    r.status: r.result
                    for r in conn.execute(select(outbox).where(outbox.c.action == "crm_update"))
                    if r.result.get("skipped")
                }
            assert results == {
                "delivered": {"connector": name, "written": [], "skipped": "no lawful basis"}
            }

            # Consent withdrawn, then every score moves: the push writes only `with`.
            gone_before = score(ctx, "gone")
            withdrawn = ConsentIn(withdrawn_at=format_timestamp(wall_clock()))
            upsert_leads(ctx, [LeadIn(email="gone@example.com", consent=withdrawn)], "t")
            upsert_leads(
                ctx,
                [
                    LeadIn(email=f"{w}@example.com", attributes={"industry": "software"})
                    for w in PEOPLE
                ],
                "t",
            )
            assert score(ctx, "with") != gone_before
            report = push.push_scores(ctx, name)
            assert report.counts["pushed"] == 1, report.as_dict()
            assert report.counts["skipped_no_basis"] == 2, report.as_dict()
            assert float(str(crm.person_fields(ids["with"])[score_field])) == score(ctx, "with")
            assert float(str(crm.person_fields(ids["gone"])[score_field])) == gone_before
            assert crm.person_fields(ids["none"]).get(score_field) in (None, "")

            # Without the requirement the same push writes them.
            ctx.settings = ctx.settings.model_copy(update={"require_consent": "off"})
            report = push.push_scores(ctx, name)
            assert report.counts["pushed"] == 2 and not report.counts["skipped_no_basis"]
            assert float(str(crm.person_fields(ids["none"])[score_field])) == score(ctx, "none")
