"""/api/v1/costs over a real socket on SQLite and PostgreSQL: store (PUT and POST, a write
key), replace by key, list with filters, delete; a bad row is a 422 naming its item and
field, and nothing of the request is written."""

from __future__ import annotations

from tests.api.conftest import Api

ROWS = [
    {"source": "ads", "campaign": "spring", "month": "2026-01", "amount": "1200.50",
     "currency": "EUR"},
    {"source": "ads", "month": "2026-01", "amount": 300, "currency": "EUR"},
    {"source": "ads", "month": "2026-02", "amount": "99.99", "currency": "PLN"},
    {"source": "seo", "campaign": None, "month": "2026-02", "amount": "0", "currency": "RSD"},
]  # fmt: skip


def test_store_list_replace_and_delete(api: Api) -> None:
    stored = api.writer.put("/costs", json={"costs": ROWS})
    assert stored.status_code == 200, stored.text
    assert stored.json() == {
        "rows": 4,
        "inserted": 4,
        "replaced": 0,
        "totals": {"EUR": "1500.50", "PLN": "99.99", "RSD": "0.00"},
    }
    listed = api.get("/costs")
    assert [
        (r["source"], r["campaign"], r["month"], r["amount"], r["currency"]) for r in listed
    ] == [
        ("ads", None, "2026-01", "300.00", "EUR"),
        ("ads", None, "2026-02", "99.99", "PLN"),
        ("ads", "spring", "2026-01", "1200.50", "EUR"),
        ("seo", None, "2026-02", "0.00", "RSD"),
    ]
    assert listed[0]["created_by"] == "write-key"
    again = api.writer.post(
        "/costs",
        json={"costs": [{**ROWS[0], "amount": "1000"}, {**ROWS[0], "amount": "1100"}]},
    )
    assert again.json()["replaced"] == 1 and again.json()["rows"] == 1  # the last one wins
    assert [r["amount"] for r in api.get("/costs", campaign="spring")] == ["1100.00"]
    assert [r["month"] for r in api.get("/costs", source="ads", **{"from": "2026-02"})] == [
        "2026-02"
    ]
    assert [r["source"] for r in api.get("/costs", currency="RSD")] == ["seo"]
    assert [r["campaign"] for r in api.get("/costs", source="ads", campaign="")] == [None, None]

    gone = api.writer.delete(
        "/costs",
        params={"source": "ads", "campaign": "spring", "month": "2026-01", "currency": "EUR"},
    )
    assert gone.status_code == 204
    assert len(api.get("/costs")) == 3
    again_gone = api.writer.delete(
        "/costs",
        params={"source": "ads", "campaign": "spring", "month": "2026-01", "currency": "EUR"},
    )
    assert again_gone.status_code == 404 and "spring" in again_gone.json()["detail"]


def test_a_bad_row_is_named_and_nothing_is_written(api: Api) -> None:
    bad = [
        ROWS[0],
        {**ROWS[1], "currency": "GBP"},
        {**ROWS[2], "amount": "12.345"},
        {**ROWS[3], "month": "2026-13"},
    ]
    answer = api.writer.put("/costs", json={"costs": bad})
    assert answer.status_code == 422
    where = {tuple(p["loc"]): p["msg"] for p in answer.json()["detail"]}
    assert set(where) == {
        ("body", "costs", 1, "currency"),
        ("body", "costs", 2, "amount"),
        ("body", "costs", 3, "month"),
    }
    assert "EUR, PLN, RON, RSD, USD" in where[("body", "costs", 1, "currency")]
    assert "2 decimals" in where[("body", "costs", 2, "amount")]
    assert api.get("/costs") == []  # the good first row was not written either


def test_scopes(api: Api) -> None:
    assert api.reader.put("/costs", json={"costs": ROWS}).status_code == 403
    assert api.anon.get("/costs").status_code == 401
    assert (
        api.reader.delete(
            "/costs", params={"source": "ads", "month": "2026-01", "currency": "EUR"}
        ).status_code
        == 403
    )
    assert api.get("/costs") == []
