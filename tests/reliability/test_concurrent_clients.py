"""50 clients post events for ONE lead at once over real sockets (SPEC §9: concurrent events
for the same lead never lose an update): every acknowledged event is stored once, retries of
an id included, and the final stored score is the offline CLI's on the same events."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import Api, running
from tests.reliability import harness, stores

from leadscore.core.timestamps import format_timestamp, parse_timestamp
from leadscore.settings import Settings

AS_OF = "2026-03-01T00:00:00Z"


def test_fifty_clients_one_lead_every_acknowledged_event_once_and_the_cli_score(
    store, tmp_path: Path
) -> None:
    url = store("clients")
    with running(Settings(database_url=url, api_key_cache_seconds=60)) as server:
        api = Api(server)
        try:
            api.set_time(AS_OF)  # every rescore at this as-of time
            api.model(stores.MODEL)
            api.lead(id="L1", attributes={"industry": "software", "employees": 800})
            tally = harness.concurrent_clients(server.base_url, api.keys["write"], 50, 2, shared=3)
            lead = api.get("/leads/L1")
        finally:
            api.close()
    tally.count_stored(url)
    # 50 × 2 own events (every third client sends each twice) + 3 shared ids × 50 clients
    assert tally.sent == 50 * 2 + 17 * 2 + 50 * 3
    assert set(tally.statuses) <= {200, 201}, tally.statuses
    assert tally.statuses[201] == 50 * 2 + 3  # each id created once; every resend a duplicate
    assert len(tally.acknowledged) == 50 * 2 + 3
    assert (tally.stored, tally.lost, tally.duplicates) == (103, 0, 0)
    events = stores.stored_events(url)["L1"]
    offline = harness.offline_score(
        tmp_path, stores.MODEL, stores.stored_lead(url, "L1"), events, AS_OF
    )
    assert lead["scored_at"].startswith(format_timestamp(parse_timestamp(AS_OF))[:19])
    assert [f"{lead[c]:.2f}" for c in ("score", "fit", "engagement")] == [
        offline["score"],
        offline["fit"],
        offline["engagement"],
    ]
    assert (lead["grade"], lead["tier"]) == (offline["grade"], offline["tier"])
    assert stores.half_written(url) == []  # and the reference scorer agrees exactly
