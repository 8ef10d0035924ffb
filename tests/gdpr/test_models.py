"""Trained predictive models and erasure (docs/privacy.md): a stored model keeps no per-lead
rows (the artifact, card and meta hold none of a training lead's id, e-mail or name), and
an erasure lists the stored models trained while the lead had an outcome."""

from __future__ import annotations

from sqlalchemy import select
from tests.gdpr.conftest import EMAIL, FIRST, LAST, MODEL

from leadscore import demo
from leadscore.service import predictions
from leadscore.service.imports import import_file
from leadscore.store.tables import predictive_models


def test_a_model_holds_no_lead_and_the_erasure_names_it(api, tmp_path) -> None:
    api.model(MODEL)
    paths = demo.write(demo.generate(300, seed=21, end="2026-01-01"), tmp_path)
    for kind in ("leads", "events", "outcomes"):
        assert import_file(api.ctx, kind, paths[kind]).written > 0
    lead = api.lead(email=EMAIL, attributes={"first_name": FIRST, "last_name": LAST})
    untrained = api.lead(email="late@example.com")
    api.event(lead_id=lead["id"], type="page_viewed", occurred_at="2025-06-01T00:00:00Z")
    outcome = {"lead_id": lead["id"], "outcome": "converted", "occurred_at": "2025-07-01T00:00:00Z"}
    assert api.writer.post("/outcomes", json=outcome).status_code in (200, 201)

    trained = predictions.train(api.ctx, actor="test", folds=3)
    with api.ctx.db.read() as conn:
        row = conn.execute(select(predictive_models)).one()
    stored = row.artifact + str(row.card).encode() + str(row.meta).encode()
    for secret in (EMAIL, FIRST, LAST, lead["id"], "example.org"):
        assert stored.count(secret.encode()) == 0, secret
    print(f"model {trained['version']}: {len(stored):,} bytes scanned, 0 found")

    reply = api.admin.delete(f"/leads/{lead['id']}", params={"erase": True})
    models = reply.json()["models_trained_with"]
    assert [(m["version"], m["active"]) for m in models] == [(trained["version"], True)]
    reply = api.admin.delete(f"/leads/{untrained['id']}", params={"erase": True})
    assert reply.json()["models_trained_with"] == []
