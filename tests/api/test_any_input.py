"""No input reaches a server error (issue 10, item 1), as a property: bodies of every write
endpoint with the right keys and arbitrary values (any text, numbers of any size, nested
JSON, odd timestamps), and reads with arbitrary paths and query parameters, on SQLite and
PostgreSQL. Every answer is a success or a 4xx in the error model; a periodic activation
rescores whatever was stored, so stored oddities cannot break scoring later either.
(schemathesis drives the whole OpenAPI document; this drives our own field semantics.)"""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadscore.api import schemas

TEXT = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["L1", "L2", "a@x.io", "2026-01-01", "converted", "hubspot", "sql", "e1", ""]
)
NUMBER = st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.just(9.2e18)
SCALAR = st.none() | st.booleans() | NUMBER | TEXT
JSON = st.recursive(
    SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
TIME = TEXT | st.sampled_from(
    ["0001-01-01", "9999-12-31T23:59:59.999999999z", "0001-01-01T00:00:00+0100", "2026-01-01+23"]
)
EVENT = st.fixed_dictionaries(
    {"type": TEXT},
    optional={
        "lead_id": TEXT, "email": TEXT, "id": TEXT, "occurred_at": TIME, "source": TEXT,
        "properties": st.dictionaries(TEXT, JSON, max_size=3),
        "external_id": st.fixed_dictionaries({"source": TEXT, "id": TEXT}),
    },
)  # fmt: skip
LEAD = st.fixed_dictionaries(
    {},
    optional={
        "id": TEXT, "email": TEXT, "owner": TEXT | st.none(), "stage": TEXT,
        "external_ids": st.dictionaries(TEXT, TEXT, max_size=2),
        "attributes": st.dictionaries(TEXT, SCALAR, max_size=3),
        "consent": st.fixed_dictionaries({}, optional={"given_at": TIME, "basis": TEXT}),
    },
)  # fmt: skip
OUTCOME = st.fixed_dictionaries(
    {"outcome": st.sampled_from(["converted", "lost"])},
    optional={"lead_id": TEXT, "occurred_at": TIME, "value": NUMBER, "set_stage": st.booleans()},
)
OVERRIDE = st.fixed_dictionaries(
    {"reason": TEXT}, optional={"points": NUMBER, "stage": TEXT, "expires_at": TIME}
)
WRITES = st.one_of(
    EVENT.map(lambda b: ("/events", b)),
    st.lists(EVENT, min_size=1, max_size=3).map(lambda items: ("/events", {"events": items})),
    LEAD.map(lambda b: ("/leads", b)),
    st.lists(LEAD, min_size=1, max_size=3).map(lambda items: ("/leads", {"leads": items})),
    OUTCOME.map(lambda b: ("/outcomes", b)),
    OVERRIDE.map(lambda b: ("/leads/L1/overrides", b)),
    JSON.map(lambda b: ("/events", b)),
)
READS = st.sampled_from(
    ["/leads", "/leads/L1", "/leads/L1/events", "/leads/L1/history", "/leads/L1/score"]
) | TEXT.map(lambda t: "/leads/" + quote(t, safe=""))
PARAMS = st.lists(
    st.tuples(
        st.sampled_from(["stage", "owner", "min_score", "email", "external_id", "sort",
                         "cursor", "limit", "as_of"]),
        TEXT | NUMBER.map(str),
    ),
    max_size=3,
)  # fmt: skip
QUIET = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def answered(response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        schemas.Error.model_validate(response.json())


def seed(api) -> None:
    if not getattr(api, "seeded", False):
        api.set_time("2026-01-10T00:00:00Z")
        api.model()
        api.lead(id="L1", email="a@x.io", external_ids={"hubspot": "1"})
        api.seeded, api.writes = True, 0


@QUIET
@given(WRITES)
def test_no_body_reaches_a_server_error(api, case) -> None:
    seed(api)
    path, body = case
    answered(api.admin.post(path, content=json.dumps(body)))
    api.writes += 1
    if api.writes % 50 == 0:  # rescore everything stored so far, and read it back
        assert api.admin.post("/models/1/activate").status_code == 200
        for read in ("/leads", "/leads/L1", "/leads/L1/history", "/leads/L1/score"):
            answered(api.admin.get(read))


@QUIET
@given(READS, PARAMS)
def test_no_read_reaches_a_server_error(api, path, params) -> None:
    seed(api)
    answered(api.admin.get(path, params=params))
