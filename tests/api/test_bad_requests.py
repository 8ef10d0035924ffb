"""Hand-made bad requests, class by class (issue 10, item 1): none reaches a 500. Each is sent
over one keep-alive connection to the real server (SQLite and PostgreSQL) and must answer
with the expected status, the error model (`schemas.Error`, with the X-Request-ID) naming the
offending field, leave nothing written, and leave the connection usable for the next request.

Classes: forged cursors; integer ids and numbers out of range; NUL and lone surrogates in
bodies, paths and queries; unknown query parameters; lead ids that cannot be a path segment
(and the awkward ones that can). Size limits are in test_limits.py.
"""

from __future__ import annotations

import base64
import json
from typing import get_args
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.api.conftest import KeepAlive, Reply

from leadscore.api.routes.leads import SortOrder
from leadscore.service import queries
from leadscore.service.inputs import MAX_REASON

HUGE = 10**30
INT32 = 2**31


def forged(value: object) -> str:
    """A cursor holding any JSON (as this API encodes its own)."""
    raw = value if isinstance(value, str) else json.dumps(value)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def rejected(reply: Reply, status: int, *locs: list[str | int]) -> None:
    """The reply is `status` in the error model and names each of `locs` (in order)."""
    assert reply.status == status, reply.raw[:500]
    error = reply.error()
    assert not isinstance(error.detail, str), error.detail
    assert [d.loc for d in error.detail] == list(locs), error.detail


@pytest.fixture
def listed(api) -> None:
    """Three leads, each with three events and history, so that every list has pages."""
    api.model()
    for i in range(3):
        api.lead(id=f"L{i}", attributes={"industry": "software"})
        for j in range(3):
            api.event(lead_id=f"L{i}", type="email_opened", id=f"e{i}{j}")


# --- cursors -------------------------------------------------------------------------------

CURSORS = [
    "garbage!",  # not base64
    "é",  # not ASCII
    "A",  # truncated base64
    forged("not json"),
    forged({}),  # an object
    forged({"kind": "leads:-score", "value": 1, "pk": 1}),
    forged([]),  # a list of the wrong shape
    forged(["leads:-score", 1.0]),
    forged(["leads:-score", 1.0, 1, 1]),
    forged(["leads:-score", {"a": 1}, 1]),  # an object where a number belongs
    forged(["leads:-score", [1], 1]),
    forged(["leads:-score", "50", 1]),  # a string where a number belongs
    forged(["leads:-score", None, 1]),
    forged(["leads:-score", True, 1]),
    forged('["leads:-score", 1e999, 1]'),  # a number JSON reads as infinity
    forged('["leads:-score", NaN, 1]'),
    forged(["leads:-score", HUGE**12, 1]),  # too large for a float
    forged(["leads:-score", 1.0, HUGE]),  # a key beyond the column
    forged(["leads:-score", 1.0, INT32]),
    forged(["leads:-score", 1.0, 0]),
    forged(["leads:-score", 1.0, -1]),
    forged(["leads:-score", 1.0, "1"]),
    forged(["leads:-score", 1.0, 1.5]),
    forged(["leads:score", 1.0, 1]),  # another sort's
    forged(["events", 1, 1]),  # another list's
    forged('["leads:-score", 1, ' + "9" * 5000 + "]"),  # an integer Python will not read
]
TIME_CURSORS = [
    forged(["events", "2026-01-01", 1]),
    forged(["events", 1.5, 1]),
    forged(["events", HUGE, 1]),  # beyond BIGINT
    forged(["events", 2**63, 1]),
    forged(["history", 1, 1]),  # another list's
    forged(["leads:-created_at", 1, 1]),
]


def test_forged_cursors_are_422_naming_cursor(api, listed, connect) -> None:
    reader = connect("read")
    for cursor in CURSORS:
        rejected(
            reader.send("GET", f"/leads?limit=1&cursor={quote(cursor)}"), 422, ["query", "cursor"]
        )
        reader.still_usable()
    for sort, good in [("created_at", ["leads:created_at", 1, 1]), ("-fit", ["leads:-fit", 1, 1])]:
        assert reader.send("GET", f"/leads?sort={sort}&cursor={forged(good)}").status == 200
        for bad in (["leads:-score", 1, 1], [f"leads:{sort}", "x", 1], [f"leads:{sort}", None, 1]):
            reply = reader.send("GET", f"/leads?sort={sort}&cursor={forged(bad)}")
            rejected(reply, 422, ["query", "cursor"])
    for path, own in (("/leads/L1/events", "events"), ("/leads/L1/history", "history")):
        for cursor in [*CURSORS, *TIME_CURSORS]:
            if cursor == forged([own, 1, 1]):
                assert reader.send("GET", f"{path}?cursor={cursor}").status == 200
                continue  # the list's own shape: a valid cursor
            reply = reader.send("GET", f"{path}?cursor={quote(cursor)}")
            rejected(reply, 422, ["query", "cursor"])
    reader.still_usable()


def test_an_empty_cursor_is_no_cursor_and_real_cursors_still_page(api, listed) -> None:
    for path in ("/leads", "/leads/L1/events", "/leads/L1/history"):
        assert api.get(path, cursor="") == api.get(path)
        first = api.get(path, limit=1)
        second = api.get(path, limit=1, cursor=first["next_cursor"])
        assert second["data"] and second["data"] != first["data"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cursor=st.one_of(
        st.text(max_size=40),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
            max_leaves=6,
        ).map(lambda v: forged(json.dumps(v))),
        st.tuples(
            st.sampled_from(["leads:-score", "events", "history", "x"]),
            st.one_of(st.integers(), st.floats(), st.text(max_size=4), st.none()),
            st.one_of(st.integers(), st.floats(), st.booleans()),
        ).map(lambda t: forged(json.dumps(list(t)))),
    ),
    path=st.sampled_from(["/leads", "/leads/L1/events", "/leads/L1/history"]),
)
def test_no_cursor_whatsoever_reaches_a_server_error(api, listed, cursor: str, path: str) -> None:
    response = api.reader.get(path, params={"cursor": cursor})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


# --- integer ids and numbers -----------------------------------------------------------------

OUT_OF_RANGE = [str(HUGE), str(INT32), "0", "-1", "1e3", "1.5", quote("２"), "%20"]


def test_integer_path_ids_out_of_range_are_422_naming_them(api, connect) -> None:
    api.lead(id="L1")
    admin = connect("admin")
    for bad in OUT_OF_RANGE:
        for method, path, name in [
            ("GET", f"/models/{bad}", "version"),
            ("POST", f"/models/{bad}/activate", "version"),
            ("POST", f"/models/{bad}/rollback", "version"),
            ("POST", f"/predictive-models/{bad}/activate", "version"),
            ("GET", f"/predictive-models/{bad}/drift", "version"),
            ("DELETE", f"/leads/L1/overrides/{bad}", "override_id"),
        ]:
            rejected(admin.send(method, path), 422, ["path", name])
            admin.still_usable()
    for method, path in [  # the largest id is in range: then it is merely unknown
        ("GET", f"/models/{INT32 - 1}"),
        ("POST", f"/models/{INT32 - 1}/activate"),
        ("POST", f"/predictive-models/{INT32 - 1}/activate"),
        ("GET", f"/predictive-models/{INT32 - 1}/drift"),
        ("DELETE", f"/leads/L1/overrides/{INT32 - 1}"),
    ]:
        reply = admin.send(method, path)
        assert reply.status == 404, reply.raw
        assert isinstance(reply.error().detail, str)


def test_the_sort_parameter_is_every_sort_either_way_and_nothing_else() -> None:
    both_ways = [f"{way}{name}" for name in queries.SORTS for way in ("", "-")]
    assert sorted(get_args(SortOrder)) == sorted(both_ways)


def test_query_numbers_out_of_range_are_422_naming_them(api, connect) -> None:
    reader = connect("read")
    for query, name in [
        (f"limit={HUGE}", "limit"),
        ("limit=501", "limit"),
        ("min_score=inf", "min_score"),
        ("max_score=nan", "max_score"),
        ("min_score=-Infinity", "min_score"),
        (f"max_score=1e{400}", "max_score"),
    ]:
        rejected(reader.send("GET", f"/leads?{query}"), 422, ["query", name])
    assert reader.send("GET", "/leads?min_score=-1e308&max_score=1e308").status == 200
    rejected(reader.send("GET", "/leads?sort=--score"), 422, ["query", "sort"])
    rejected(reader.send("GET", "/leads/L1/events?limit=0"), 422, ["query", "limit"])


def test_numbers_beyond_what_the_store_holds_are_422_in_bodies(api, connect) -> None:
    api.lead(id="L1")
    writer = connect("write")
    cases = [
        (b'{"id": "L2", "attributes": {"n": 1e400}}', ["body", "attributes", "n"]),
        (b'{"id": "L2", "attributes": {"n": -1e999}}', ["body", "attributes", "n"]),
        (f'{{"id": "L2", "attributes": {{"n": {HUGE}}}}}'.encode(), ["body", "attributes", "n"]),
        (f'{{"id": "L2", "attributes": {{"n": {2**63}}}}}'.encode(), ["body", "attributes", "n"]),
    ]
    for body, loc in cases:
        rejected(writer.send("POST", "/leads", body), 422, loc)
    event = b'{"lead_id": "L1", "type": "x", "properties": {"a": [1, {"b": 1e400}]}}'
    rejected(writer.send("POST", "/events", event), 422, ["body", "properties", "a", 1, "b"])
    big = f'{{"lead_id": "L1", "type": "x", "properties": {{"n": {-(2**63) - 1}}}}}'
    rejected(writer.send("POST", "/events", big.encode()), 422, ["body", "properties", "n"])
    rejected(writer.send("POST", "/leads", {"id": "L2", "attributes": {"x": 1e19}}), 422,
             ["body", "attributes", "x"])  # fmt: skip
    fine = {"id": "L2", "attributes": {"n": 2**63 - 1, "m": -(2**63), "x": 9.2e18, "y": 0.5}}
    assert writer.send("POST", "/leads", fine).status == 201
    assert api.get("/leads/L2")["attributes"] == fine["attributes"]
    assert api.get("/leads/L1/events")["data"] == []


# --- NUL and lone surrogates -----------------------------------------------------------------

NUL_BODIES = [  # path, body (JSON text: \\u0000 is JSON's escape of NUL), loc
    ("/leads", '{"id": "a\\u0000b"}', ["body", "id"]),
    ("/leads", '{"id": "L9", "email": "a\\u0000@x.io"}', ["body", "email"]),
    ("/leads", '{"id": "L9", "attributes": {"k": "v\\u0000"}}', ["body", "attributes", "k"]),
    ("/leads", '{"id": "L9", "attributes": {"k\\u0000": "v"}}', ["body", "attributes", "k\0"]),
    ("/leads", '{"leads": [{"id": "L9"}, {"owner": "\\u0000"}]}', ["body", "leads", 1, "owner"]),
    ("/leads", '{"id": "L9", "external_ids": {"crm": "\\u0000"}}', ["body", "external_ids", "crm"]),
    ("/events", '{"lead_id": "L1", "type": "a\\u0000"}', ["body", "type"]),
    ("/events", '{"lead_id": "\\u0000", "type": "a"}', ["body", "lead_id"]),
    ("/events", '{"lead_id": "L1", "type": "a", "id": "\\u0000"}', ["body", "id"]),
    (
        "/events",
        '{"lead_id": "L1", "type": "a", "properties": {"p": {"q": ["ok", "\\u0000"]}}}',
        ["body", "properties", "p", "q", 1],
    ),
    (
        "/events",
        '{"events": [{"lead_id": "L1", "type": "a"}, {"lead_id": "L1", "type": "a", '
        '"source": "\\u0000"}]}',
        ["body", "events", 1, "source"],
    ),
    ("/events", '{"lead_id": "L1", "type": "a", "nope\\u0000": 1}', ["body", "nope\0"]),
    ("/outcomes", '{"lead_id": "L1", "outcome": "lost\\u0000"}', ["body", "outcome"]),
    ("/leads/L1/overrides", '{"points": 1, "reason": "\\u0000"}', ["body", "reason"]),
]
SURROGATE_BODIES = [  # not valid JSON text: a lone surrogate escape, or its UTF-8-like bytes
    ("/leads", b'{"id": "a\\ud800"}'),
    ("/leads", b'{"id": "L9", "attributes": {"k": "\\udfff"}}'),
    ("/leads", b'{"id": "L9", "attributes": {"\\udc00": 1}}'),
    ("/events", b'{"lead_id": "L1", "type": "\xed\xa0\x80"}'),
    ("/events", b'{"lead_id": "L1", "type": "a", "properties": {"p": "\\ud83d"}}'),
    ("/leads/L1/overrides", b'{"points": 1, "reason": "\\ud800x"}'),
]


def _written(api) -> tuple[int, int, int]:
    lead = api.get("/leads/L1")
    return (len(api.get("/leads")["data"]), len(api.get("/leads/L1/events")["data"]),
            len(lead["overrides"]) + len(lead["outcomes"]))  # fmt: skip


def test_nul_anywhere_in_a_body_is_422_naming_the_field(api, connect) -> None:
    api.lead(id="L1")
    writer = connect("write")
    before = _written(api)
    for path, body, loc in NUL_BODIES:
        reply = writer.send("POST", path, body, {"Content-Type": "application/json"})
        rejected(reply, 422, loc)
        assert "NUL" in reply.error().detail[0].msg
        writer.still_usable()
    assert _written(api) == before
    pair = writer.send("POST", "/leads", '{"id": "L9", "owner": "\\u0000", "stage": "\\u0000"}')
    rejected(pair, 422, ["body", "owner"], ["body", "stage"])  # every bad field, in order


def test_lone_surrogates_in_a_body_are_422(api, connect) -> None:
    api.lead(id="L1")
    writer = connect("write")
    before = _written(api)
    for path, body in SURROGATE_BODIES:
        reply = writer.send("POST", path, body, {"Content-Type": "application/json"})
        rejected(reply, 422, ["body"])
        assert reply.error().detail[0].type == "json_invalid"
        writer.still_usable()
    pair = b'{"id": "L9", "attributes": {"emoji": "\\ud83d\\ude00"}}'  # a proper pair is fine
    assert writer.send("POST", "/leads", pair).status == 201
    assert api.get("/leads/L9")["attributes"] == {"emoji": "😀"}
    assert _written(api)[1:] == before[1:]


def test_nul_in_a_path_or_query_is_422_naming_the_parameter(api, connect) -> None:
    api.lead(id="L1")
    admin, anon = connect("admin"), connect(None)
    cases = [
        ("GET", "/leads/L1%00", ["path", "lead_id"]),
        ("GET", "/leads/%00/events", ["path", "lead_id"]),
        ("GET", "/leads/L1/history?cursor=%00", ["query", "cursor"]),
        ("GET", "/leads/L1/score?as_of=2026-01-01%00", ["query", "as_of"]),
        ("GET", "/leads?stage=mql&stage=%00", ["query", "stage"]),
        ("GET", "/leads?email=a%00@x.io", ["query", "email"]),
        ("GET", "/leads?%00=1", ["query", "\0"]),
        ("POST", "/leads/L1%00/overrides", ["path", "lead_id"]),
        ("DELETE", "/leads/%00/overrides/1", ["path", "lead_id"]),
    ]
    for method, path, loc in cases:
        body = {"points": 1, "reason": "r"} if method == "POST" else None
        rejected(admin.send(method, path, body), 422, loc)
        admin.still_usable()
    rejected(anon.send("GET", "//health?x=%00"), 422, ["query", "x"])
    assert api.get("/leads/L1")["overrides"] == []


def test_invalid_utf_8_in_a_path_or_query_reads_as_the_replacement_character(api, connect) -> None:
    """The server decodes percent-escapes as UTF-8 with U+FFFD for what is not UTF-8 (an
    encoded surrogate included): such text can name nothing, and reaches SQL harmlessly."""
    api.lead(id="L1")
    reader = connect("read")
    assert reader.send("GET", "/leads/%ED%A0%80").status == 404
    assert reader.send("GET", "/leads?owner=%ED%A0%80").json() == {"data": [], "next_cursor": None}


def test_the_model_upload_obeys_the_text_rule(api, connect) -> None:
    admin = connect("admin")
    for body in ("name: a\u0000b\ncombine: sum\n".encode(), b"name: \xed\xa0\x80\n"):
        reply = admin.send("POST", "/models", body, {"Content-Type": "application/yaml"})
        rejected(reply, 422, ["body"])
        assert reply.error().detail[0].type == "text_invalid"
    assert api.get("/models") == []


def test_a_hostile_model_upload_is_a_422_not_a_hang_or_a_500(api, connect) -> None:
    from tests.core.test_loader import BOMB

    admin = connect("admin")
    for body in (BOMB, "a: &a [1, *a]\n", "a: " + "[" * 5000 + "]" * 5000):
        reply = admin.send("POST", "/models", body, {"Content-Type": "application/yaml"})
        rejected(reply, 422, ["body"])
        admin.still_usable()
    assert api.get("/models") == []


# --- unknown query parameters ----------------------------------------------------------------


def test_unknown_query_parameters_are_422_naming_them_on_every_route(api, connect) -> None:
    api.model()
    api.lead(id="L1")
    admin, anon = connect("admin"), connect(None)
    routes = [
        ("GET", "/leads"),
        ("GET", "/leads/L1"),
        ("GET", "/leads/L1/events"),
        ("GET", "/leads/L1/history"),
        ("GET", "/leads/L1/score"),
        ("GET", "/models"),
        ("GET", "/models/1"),
        ("GET", "/predictive-models"),
        ("POST", "/events"),
        ("POST", "/leads"),
        ("POST", "/outcomes"),
        ("POST", "/leads/L1/overrides"),
        ("DELETE", "/leads/L1/overrides/1"),
        ("POST", "/models/1/activate"),
    ]
    bodies = {
        "/events": {"lead_id": "L1", "type": "x"},
        "/leads": {"id": "L2"},
        "/outcomes": {"lead_id": "L1", "outcome": "lost"},
        "/leads/L1/overrides": {"points": 1, "reason": "r"},
    }
    for method, path in routes:
        body = bodies.get(path) if method == "POST" else None
        reply = admin.send(method, f"{path}?stag=mql&limit=5&stag=sql&x=", body)
        if method == "GET" and path.endswith(("/events", "/history", "/leads")):
            rejected(reply, 422, ["query", "stag"], ["query", "x"])  # limit is theirs
        else:
            rejected(reply, 422, ["query", "stag"], ["query", "limit"], ["query", "x"])
        assert "unknown query parameter 'stag'" in reply.error().detail[0].msg
        admin.still_usable()
    rejected(anon.send("GET", "//health?verbose=1"), 422, ["query", "verbose"])
    rejected(anon.send("GET", "/health?verbose=1"), 422, ["query", "verbose"])
    assert [e["id"] for e in api.get("/leads")["data"]] == ["L1"]  # the POSTs wrote nothing
    assert api.get("/leads/L1/events")["data"] == []
    assert api.get("/leads/L1")["overrides"] == [] and api.get("/leads/L1")["outcomes"] == []
    assert anon.send("GET", "/leads?stag=mql").status == 401  # the key is checked first


# --- lead ids --------------------------------------------------------------------------------

AWKWARD_IDS = ["with space", "100%", "what?", "#1", "ünïcödé-名前", "a+b", " pad ", "..."]


def test_a_lead_id_that_cannot_be_a_path_segment_is_refused_at_creation(api, connect) -> None:
    writer = connect("write")
    for lead_id in ("a/b", "/", "a/", ".", ".."):
        rejected(writer.send("POST", "/leads", {"id": lead_id}), 422, ["body", "id"])
        batch = {"leads": [{"id": "ok"}, {"id": lead_id}]}
        rejected(writer.send("POST", "/leads", batch), 422, ["body", "leads", 1, "id"])
    assert api.get("/leads")["data"] == []


@pytest.mark.parametrize("lead_id", AWKWARD_IDS)
def test_awkward_lead_ids_work_in_every_route(api, connect, lead_id: str) -> None:
    api.model()
    created = api.lead(id=lead_id)
    assert created["id"] == lead_id and created["created"] is True
    path = "/leads/" + quote(lead_id, safe="")
    admin: KeepAlive = connect("admin")
    assert admin.send("POST", "/events", {"lead_id": lead_id, "type": "demo_booked"}).status == 201
    outcome = {"lead_id": lead_id, "outcome": "lost", "set_stage": False}
    assert admin.send("POST", "/outcomes", outcome).status == 201
    override = admin.send("POST", f"{path}/overrides", {"points": 5, "reason": "r"})
    assert override.status == 201, override.raw
    for suffix in ("", "/events", "/history", "/score"):
        reply = admin.send("GET", path + suffix)
        assert reply.status == 200, (suffix, reply.raw)
    lead = admin.send("GET", path).json()
    assert lead["id"] == lead_id and len(lead["outcomes"]) == 1 and len(lead["overrides"]) == 1
    listed = admin.send("GET", "/leads?" + urlencode({"owner": "nobody"}))
    assert listed.status == 200
    override_id = override.json()["override"]["id"]
    assert admin.send("DELETE", f"{path}/overrides/{override_id}").status == 200
    assert admin.send("POST", "/leads", {"id": lead_id, "owner": "ann"}).status == 200


def test_an_override_reason_over_2000_characters_is_422_and_writes_nothing(api, connect) -> None:
    api.lead(id="L1")
    writer = connect("write")
    before = _written(api)
    body = json.dumps({"points": 1, "reason": "x" * (MAX_REASON + 1)})
    reply = writer.send("POST", "/leads/L1/overrides", body, {"Content-Type": "application/json"})
    rejected(reply, 422, ["body", "reason"])
    assert f"at most {MAX_REASON} characters" in reply.error().detail[0].msg
    assert _written(api) == before
    body = json.dumps({"points": 1, "reason": " " + "x" * MAX_REASON + " "})
    reply = writer.send("POST", "/leads/L1/overrides", body, {"Content-Type": "application/json"})
    assert reply.status == 201, reply.raw
