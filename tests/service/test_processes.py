"""§4: several API processes side by side on one database. Two servers take 200 events for
the same lead at once; none is lost and the final score is the reference scorer's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from leadscore.core.evaluate import score_lead
from leadscore.core.records import Event, Lead
from leadscore.core.timestamps import parse_timestamp
from leadscore.engine.model_file import load_model_file
from leadscore.service import keys
from leadscore.service.context import Context
from leadscore.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "b2b-saas.yaml"
SERVER = (
    "import sys, uvicorn; from leadscore.api import create_app; "
    "uvicorn.run(create_app(), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(process: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/health")
            return
        except httpx.TransportError:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)


@pytest.mark.slow
def test_two_servers_one_lead_200_events(database_url, tmp_path) -> None:
    with Context.open(Settings(database_url=database_url)) as ctx:
        key = keys.create_key(ctx, "test", "admin")
    env = {
        **os.environ,
        "LEADSCORE_DATABASE_URL": database_url,
        "LEADSCORE_SCHEDULER_ENABLED": "false",
    }
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [sys.executable, "-c", SERVER, str(p)], env=env, cwd=tmp_path, stderr=subprocess.PIPE
        )
        for p in ports
    ]
    urls = [f"http://127.0.0.1:{p}/api/v1" for p in ports]
    clients = [httpx.Client(base_url=u, headers={"Authorization": f"Bearer {key}"}) for u in urls]
    try:
        for server, url in zip(servers, urls, strict=True):
            wait_until_up(server, url)
        model = clients[0].post(
            "/models?activate=true",
            content=EXAMPLE.read_text(),
            headers={"Content-Type": "application/yaml"},
        )
        assert model.status_code == 201
        clients[1].post(
            "/leads", json={"id": "L1", "attributes": {"industry": "saas"}}
        ).raise_for_status()

        def post(i: int) -> int:
            body = {
                "lead_id": "L1",
                "id": f"e{i}",
                "type": ["email_opened", "page_viewed", "webinar_registered"][i % 3],
                "occurred_at": f"2025-12-{1 + i % 28:02d}T10:00:00Z",
                "properties": {"url": "/pricing" if i % 5 == 0 else "/"},
            }
            return clients[i % 2].post("/events", json=body).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            assert set(pool.map(post, range(200))) == {201}

        events, cursor = [], None
        while True:
            page = (
                clients[0]
                .get(
                    "/leads/L1/events",
                    params={"limit": 500, **({"cursor": cursor} if cursor else {})},
                )
                .json()
            )
            events += page["data"]
            if (cursor := page["next_cursor"]) is None:
                break
        assert len(events) == 200
        lead = clients[1].get("/leads/L1").json()
        records = [
            Event(
                e["type"], parse_timestamp(e["occurred_at"]), e["properties"], e["source"], e["id"]
            )
            for e in events
        ]
        expected = score_lead(
            load_model_file(EXAMPLE),
            Lead("L1", None, lead["attributes"]),
            records,
            parse_timestamp(lead["scored_at"]),
        )
        assert (lead["score"], lead["fit"], lead["engagement"]) == (
            expected.score,
            expected.fit,
            expected.engagement,
        )
    finally:
        for client in clients:
            client.close()
        for server in servers:
            server.terminate()
            server.wait(10)
            server.stderr.close()
