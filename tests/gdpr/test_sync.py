"""A CRM sync (the fake Salesforce, over a real socket) skips and counts an erased person
instead of creating them again, and keeps syncing the others."""

from __future__ import annotations

import json

from tests.service.conftest import database_url, postgres_database

from leadscore.service import connectors, gdpr, scoring_models, sync
from leadscore.service.context import Context
from leadscore.settings import Settings
from leadscore.store import leads as stored_leads
from leadscore.testing.connectors import MODEL
from leadscore.testing.fakes.salesforce import FakeSalesforce

__all__ = ["database_url", "postgres_database"]


def test_a_sync_does_not_bring_an_erased_person_back(database_url: str, tmp_path) -> None:
    with FakeSalesforce() as org:
        ada = org.add_person("ada@example.com", {"Title": "VP"})
        org.add_person("bob@example.com", {"Title": "CTO"})
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
            assert sync.sync(ctx, "salesforce").counts["created"] == 2
            with ctx.db.read() as conn:
                pk = stored_leads.pks_by_email(conn, ["ada@example.com"])["ada@example.com"]
                lead_id = stored_leads.by_pk(conn, pk).id
            erased = gdpr.erase_lead(ctx, lead_id, "test")
            assert erased["suppressions"] == 2  # the e-mail and the Salesforce id
            org.change_person(ada, {"Title": "CEO"})
            carol = org.add_person("carol@example.com", {"Title": "CMO"})
            report = sync.sync(ctx, "salesforce", full=True)
            assert report.counts["erased"] == 1 and report.counts["errors"] == 0, report.as_dict()
            assert report.counts["created"] == 1, report.as_dict()  # carol
            with ctx.db.read() as conn:
                emails = ["ada@example.com", "bob@example.com", "carol@example.com"]
                found = stored_leads.pks_by_email(conn, emails)
            assert sorted(found) == emails[1:], carol
            connectors.registry(ctx).close()
