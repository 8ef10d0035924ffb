"""Salesforce through the service: a converted Lead and its Contact are one lead, and scores
go to the Contact only (Salesforce refuses writes to a converted Lead)."""

from __future__ import annotations

import json

from leadscore.service import connectors, push, scoring_models, sync
from leadscore.service.context import Context
from leadscore.settings import Settings
from leadscore.store import leads as stored_leads
from leadscore.testing.connectors import MODEL
from leadscore.testing.fakes.salesforce import FakeSalesforce


def test_a_converted_lead_is_its_contact_and_only_the_contact_is_written(
    database_url: str, tmp_path
) -> None:
    with FakeSalesforce() as org:
        lead = org.add_person(
            "ada@example.com", {"Title": "VP Engineering", "Company": "Analytical"}, object="Lead"
        )
        (tmp_path / "c.yaml").write_text(f"salesforce:\n  base_url: {org.url}\n  push: false\n")
        (tmp_path / "s.json").write_text(json.dumps({"salesforce": org.secrets()}))
        settings = Settings(
            database_url=database_url,
            connectors_file=str(tmp_path / "c.yaml"),
            secrets_file=str(tmp_path / "s.json"),
        )
        with Context.open(settings) as ctx:
            version = scoring_models.upload(ctx, MODEL, "test")["version"]
            scoring_models.activate(ctx, version, "test")
            sync.sync(ctx, "salesforce")
            contact = org.convert_lead(lead)
            report = sync.sync(ctx, "salesforce")
            assert report.counts["errors"] == 0, report.as_dict()
            with ctx.db.read() as conn:
                pk = stored_leads.pks_by_email(conn, ["ada@example.com"])["ada@example.com"]
                row = stored_leads.by_pk(conn, pk)
            assert row.external_ids == {"salesforce_lead": lead, "salesforce_contact": contact}
            pushed = push.push_scores(ctx, "salesforce")
            assert pushed.counts["pushed"] == 1 and not pushed.counts["push failed"], (
                pushed.as_dict()
            )
            assert float(org.person_fields(contact)["Leadscore_Score__c"]) == row.score
            assert org.person_fields(lead, object="Lead")["Leadscore_Score__c"] is None
            connectors.registry(ctx).close()
