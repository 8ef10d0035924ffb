"""The API servers of tests/api (a SQLite file and a scratch PostgreSQL database, reached over
a real socket), and a person with distinctive data spread over every table that holds it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from tests.api.conftest import (  # noqa: F401  (fixtures)
    MODEL,
    Api,
    api,
    database_url,
    postgres_url,
    server,
    sqlite_url,
)

EMAIL = "zq-erase-7f3a@example.org"
FIRST, LAST = "Xylophonia", "Quandt"
NAME = f"{FIRST} {LAST}"
SECRETS = (EMAIL, NAME, FIRST, LAST)
"""What must not be found anywhere after the erasure."""

AUTOMATIONS = """
automations:
  - name: welcome
    when: {lead_created: {}}
    actions:
      - notify:
          email: {to: [sales@example.com]}
"""


@dataclass
class Person:
    lead_id: str
    other_id: str


def settled(clients: Api, timeout: float = 30.0) -> None:
    """Wait until the outbox worker has delivered everything."""
    deadline = time.monotonic() + timeout
    while True:
        counts = clients.get("/outbox", limit=1)["counts"]
        if counts["pending"] + counts["delivering"] == 0:
            return
        assert time.monotonic() < deadline, counts
        time.sleep(0.05)


def spread(clients: Api) -> Person:
    """The person in the lead, events (the name in properties), history, an override and a
    pin whose reasons name them, a list, an outbox row (the e-mail as sent names them), the
    audit log; and another lead, which must survive untouched."""
    clients.model(MODEL)
    reply = clients.admin.post(
        "/automations",
        params={"activate": True},
        content=AUTOMATIONS,
        headers={"Content-Type": "application/yaml"},
    )
    assert reply.status_code == 201, reply.text
    lead = clients.lead(
        email=EMAIL,
        attributes={"first_name": FIRST, "last_name": LAST, "industry": "software"},
        external_ids={"hubspot": "hs-90210"},
        stage="lead",
    )
    other = clients.lead(email="someone-else@example.com", attributes={"first_name": "Ann"})
    lead_id = lead["id"]
    for n in range(3):
        clients.event(
            id=f"zq-event-{n}",
            email=EMAIL,
            type="page_viewed",
            properties={"url": "/pricing", "form_name": NAME, "note": f"visit {n} of {NAME}"},
        )
    clients.event(id="other-event", lead_id=other["id"], type="email_opened")
    reply = clients.writer.post(
        f"/leads/{lead_id}/overrides", json={"points": 5, "reason": f"{NAME} called us"}
    )
    assert reply.status_code == 201, reply.text
    reply = clients.writer.post(
        f"/leads/{lead_id}/overrides", json={"stage": "sql", "reason": f"pinned for {NAME}"}
    )
    assert reply.status_code == 201, reply.text
    reply = clients.writer.post("/lists/vip/members", json={"lead_ids": [lead_id, other["id"]]})
    assert reply.status_code in (200, 201), reply.text
    settled(clients)
    return Person(lead_id, other["id"])


@pytest.fixture
def person(api: Api) -> Person:  # noqa: F811  (the fixture)
    return spread(api)
