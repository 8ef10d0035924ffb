"""The connector contract (leadscore.testing.connectors) for the three CRMs, on SQLite and
PostgreSQL: each case through the whole service against a fake vendor over a real socket."""

from __future__ import annotations

from typing import Any

import pytest

from leadscore.testing.connectors import CASES, check_connector
from leadscore.testing.fakes.hubspot import FakeHubSpot
from leadscore.testing.fakes.pipedrive import FakePipedrive
from leadscore.testing.fakes.salesforce import FakeSalesforce

FAKES: dict[str, Any] = {
    "hubspot": FakeHubSpot,
    "salesforce": FakeSalesforce,
    "pipedrive": FakePipedrive,
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("vendor", FAKES)
def test_contract(vendor: str, case: str, database_url: str, tmp_path) -> None:
    check_connector(FAKES[vendor], database_url, tmp_path, {case: CASES[case]})


def test_the_contract_fails_a_connector_that_loses_writes(tmp_path) -> None:
    """Through the service the registry builds the real client, so a fake that only lies in
    `connector()` is not enough: the suite must catch a CRM whose records do not change."""

    class Frozen(FakeHubSpot):
        def person_fields(self, id: str, *, object: str | None = None) -> dict[str, Any]:
            found = super().person_fields(id, object=object)
            return {k: v for k, v in found.items() if not k.startswith("leadscore_")}

    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(AssertionError, match="write-back of changed fields"):
        check_connector(
            Frozen,
            url,
            tmp_path,
            {"write-back of changed fields": CASES["write-back of changed fields"]},
        )
