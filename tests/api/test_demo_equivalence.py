"""§3: the same model on the same data gives the same numbers offline and live. A few hundred
demo leads are imported into the store; every live score — as of a time over the API, and
after a recompute at that time — equals `leadscore.engine.files.score_files`."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadscore import demo
from leadscore.core.timestamps import parse_timestamp
from leadscore.engine.files import score_files
from leadscore.engine.model_file import load_model_file
from leadscore.service.imports import import_file
from leadscore.service.recompute import recompute

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "b2b-saas.yaml"
AS_OF = "2026-01-02T00:00:00Z"


@pytest.mark.slow
def test_live_scores_equal_offline_scores(api, tmp_path) -> None:
    paths = demo.write(demo.generate(300, seed=11, end="2026-01-01"), tmp_path)
    api.set_time("2025-01-01T00:00:00Z")  # the model is active before the first event
    api.model(EXAMPLE.read_text())
    api.set_time(AS_OF)
    for kind in ("leads", "events", "outcomes"):
        assert import_file(api.ctx, kind, paths[kind]).written > 0
    as_of = parse_timestamp(AS_OF)
    model = load_model_file(EXAMPLE)
    offline = {r.lead_id: r for r in score_files(model, paths["leads"], paths["events"], as_of)}
    assert len(offline) == 300

    for lead_id, expected in offline.items():
        live = api.get(f"/leads/{lead_id}/score", as_of=AS_OF)
        assert {k: live[k] for k in expected.row() if k != "lead_id"} == {
            k: v for k, v in expected.row().items() if k != "lead_id"
        }, lead_id
        assert live["explanation"]["contributions"] == expected.explained()["contributions"]

    recompute(api.ctx, as_of)
    stored, cursor = {}, None
    while True:
        page = api.get("/leads", limit=500, **({"cursor": cursor} if cursor else {}))
        stored.update((lead["id"], lead) for lead in page["data"])
        if (cursor := page["next_cursor"]) is None:
            break
    assert stored.keys() == offline.keys()
    for lead_id, expected in offline.items():
        lead = stored[lead_id]
        got = (lead["score"], lead["fit"], lead["engagement"], lead["grade"], lead["tier"])
        assert got == (
            expected.score,
            expected.fit,
            expected.engagement,
            expected.grade,
            expected.tier,
        )
        model_stage = api.get(f"/leads/{lead_id}")["explanation"]["model_stage"]
        assert model_stage == expected.stage
