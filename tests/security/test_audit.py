"""The audit log (OWASP API5, API9): every change made by hand over the API — models,
automations, owners and teams, keys, overrides, outcomes, costs, lists, stages — leaves an
entry naming who (the key), what (action and target), when and from where (the client IP),
and admins read it with filters and cursor pages."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import MODEL

YAML = {"Content-Type": "application/yaml"}
AUTOMATIONS = "automations:\n  - name: hello\n    when: {lead_created: {}}\n    actions: [{add_to_list: {list: new}}]\n"
COST = {"source": "ads", "month": "2026-01", "amount": "10", "currency": "EUR"}
COST_KEY = {"source": "ads", "month": "2026-01", "currency": "EUR"}


def by_hand(site) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(client, method, path, request options) of changes made by hand, in order."""
    return [
        ("admin", "POST", "/models", {"content": MODEL, "headers": YAML}),
        ("admin", "POST", "/models/1/activate", {}),
        ("admin", "POST", "/models", {"content": MODEL + "\n", "headers": YAML}),
        ("admin", "POST", "/models/2/activate", {}),
        ("admin", "POST", "/models/2/rollback", {}),
        ("admin", "POST", "/automations", {"content": AUTOMATIONS, "headers": YAML}),
        ("admin", "POST", "/automations/1/activate", {}),
        ("admin", "POST", "/automations/1/deactivate", {}),
        ("admin", "POST", "/owners", {"json": {"id": "ann", "name": "Ann"}}),
        ("admin", "PATCH", "/owners/ann", {"json": {"capacity": 5}}),
        ("admin", "POST", "/teams", {"json": {"name": "sales", "members": []}}),
        ("admin", "PUT", "/teams/sales/members", {"json": {"members": ["ann"]}}),
        ("admin", "POST", "/keys", {"json": {"name": "temp", "scopes": ["read"]}}),
        ("admin", "DELETE", "/keys/temp", {}),
        ("writer", "POST", "/leads", {"json": {"id": "L1", "stage": "sql"}}),
        ("writer", "POST", "/leads/L1/overrides", {"json": {"points": 5, "reason": "met"}}),
        ("writer", "DELETE", "/leads/L1/overrides/1", {}),
        ("writer", "POST", "/outcomes", {"json": {"lead_id": "L1", "outcome": "lost"}}),
        ("writer", "PUT", "/costs", {"json": {"costs": [COST]}}),
        ("writer", "DELETE", "/costs", {"params": COST_KEY}),
        ("writer", "POST", "/lists/hot/members", {"json": {"lead_ids": ["L1"]}}),
        ("writer", "DELETE", "/lists/hot/members/L1", {}),
    ]


EXPECTED = {  # action → (actor, target)
    "model.upload": ("admin-key", "2"),
    "model.activate": ("admin-key", "2"),
    "model.rollback": ("admin-key", None),
    "automations.upload": ("admin-key", "1"),
    "automations.activate": ("admin-key", "1"),
    "automations.deactivate": ("admin-key", None),
    "owner.create": ("admin-key", "ann"),
    "owner.update": ("admin-key", "ann"),
    "team.create": ("admin-key", "sales"),
    "team.members": ("admin-key", "sales"),
    "apikey.create": ("admin-key", "temp"),
    "apikey.revoke": ("admin-key", "temp"),
    "lead.stage": ("write-key", "L1"),
    "override.add": ("write-key", "L1"),
    "override.delete": ("write-key", "L1"),
    "outcome.lost": ("write-key", "L1"),
    "costs.store": ("write-key", None),
    "costs.delete": ("write-key", None),
    "list.remove": ("write-key", "hot"),
}


def entries(site, **params: Any) -> list[dict[str, Any]]:
    """Every entry the filters give, page by page (a small page, to walk the cursor)."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = site.admin.get("/audit", params={**params, "limit": 3, "cursor": cursor})
        assert page.status_code == 200, page.text
        body = page.json()
        found += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def test_every_change_by_hand_is_audited_with_who_what_when_and_where(site) -> None:
    clients = {"admin": site.admin, "writer": site.writer}
    for name, method, path, options in by_hand(site):
        answer = clients[name].request(method, path, **options)
        assert answer.status_code < 300, (method, path, answer.text)
    everything = entries(site)
    assert len({e["id"] for e in everything}) == len(everything)  # pages do not overlap
    assert [e["at"] for e in everything] == sorted((e["at"] for e in everything), reverse=True)
    latest: dict[str, dict[str, Any]] = {}
    for entry in everything:
        latest.setdefault(entry["action"], entry)
    missing = set(EXPECTED) - set(latest)
    assert not missing, sorted(latest)
    for action, (actor, target) in EXPECTED.items():
        entry = latest[action]
        assert entry["actor"] == actor, entry
        assert entry["ip"] == "127.0.0.1", entry
        if target is not None:
            assert entry["target"] == target, entry

    by_writer = entries(site, actor="write-key")
    assert by_writer and {e["actor"] for e in by_writer} == {"write-key"}
    keys = entries(site, action="apikey.")
    assert {e["action"] for e in keys} == {"apikey.create", "apikey.revoke"}
    assert [e["target"] for e in entries(site, action="apikey.revoke")] == ["temp"]
    middle = everything[len(everything) // 2]["at"]
    later = entries(site, since=middle)
    earlier = entries(site, until=middle)
    assert {e["id"] for e in later} | {e["id"] for e in earlier} == {e["id"] for e in everything}
    assert not {e["id"] for e in later} & {e["id"] for e in earlier}


def test_bad_audit_filters_are_named(site) -> None:
    for params, name in (({"since": "yesterday"}, "since"), ({"cursor": "nope"}, "cursor")):
        answer = site.admin.get("/audit", params=params)
        assert answer.status_code == 422, answer.text
        assert any(name in problem["loc"] for problem in answer.json()["detail"])
