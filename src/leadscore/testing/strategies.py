"""Hypothesis strategies for random scoring models, leads and events.

Used by the property tests of the reference scorer and by the differential tests that hold
every faster engine to it. Requires the `test` extra (hypothesis).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, TypeAlias

from hypothesis import strategies as st

from leadscore.core.records import Event, Lead

if TYPE_CHECKING:
    import polars as pl

Data: TypeAlias = dict[str, Any]
"""Model data as YAML gives it: a model, a rule or a condition."""
Strategy: TypeAlias = st.SearchStrategy[Data]

DAY = 86_400_000_000
AS_OF = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
EVENT_TYPES = ("email_opened", "page_viewed", "demo_booked", "webinar_attended")
URLS = ("/", "/pricing", "/pricing/team", "/careers", "/blog/a", None)
INDUSTRIES = ("software", "SaaS", " retail ", "finance", None, "")
SIZES = ("5", "50", "250", "1e3", "12,000", "n/a", None, 7, 12000.0)
TITLES = ("CEO", "vp sales", "Student", "Engineer", "head of growth", None)
DURATIONS = ("1h", "12h", "1d", "3d", "7d", "30d", "90d", "2w")

points = st.sampled_from([-30, -5, -2.5, 0, 1, 2.5, 5, 10, 15, 20, 25, 33.3, 40])
durations = st.sampled_from(DURATIONS)


@cache
def _leaf_on_lead() -> Strategy:
    return st.one_of(
        st.builds(
            lambda v, cs: {"field": "industry", "equals": v, "case_sensitive": cs},
            st.sampled_from(["software", "saas", "retail"]),
            st.booleans(),
        ),
        st.builds(
            lambda v: {"field": "industry", "in": v},
            st.lists(st.sampled_from(["software", "saas", "finance", "x"]), max_size=3),
        ),
        st.builds(
            lambda v: {"field": "industry", "not_in": v},
            st.lists(st.sampled_from(["software", "retail"]), max_size=2),
        ),
        st.builds(
            lambda op, n: {"field": "employees", op: n},
            st.sampled_from(["gt", "gte", "lt", "lte"]),
            st.sampled_from([10, 100, 250, 1000]),
        ),
        st.builds(
            lambda lo, width: {"field": "employees", "between": [lo, lo + width]},
            st.sampled_from([0, 50, 200]),
            st.sampled_from([0, 100, 5000]),
        ),
        st.builds(
            lambda p: {"field": "job_title", "matches": p},
            st.sampled_from([r"\b(ceo|vp|head)\b", "student|intern", "^eng"]),
        ),
        st.builds(
            lambda op, v: {"field": "job_title", op: v},
            st.sampled_from(["contains", "not_contains", "starts_with", "ends_with"]),
            st.sampled_from(["e", "vp", "ceo", "er"]),
        ),
        st.builds(
            lambda op, b: {"field": "industry", op: b},
            st.sampled_from(["exists", "is_empty"]),
            st.booleans(),
        ),
        st.builds(lambda v: {"field": "email_is_free", "equals": v}, st.booleans()),
        st.builds(
            lambda d, op: {"field": "signed_up", op: d},
            durations,
            st.sampled_from(["within", "older_than"]),
        ),
        st.builds(
            lambda v: {"field": "industry", "not_equals": v}, st.sampled_from(["software", 5])
        ),
    )


@cache
def lead_conditions(depth: int = 2) -> Strategy:
    return st.recursive(
        _leaf_on_lead(),
        lambda inner: st.one_of(
            st.builds(lambda items: {"all": items}, st.lists(inner, max_size=3)),
            st.builds(lambda items: {"any": items}, st.lists(inner, max_size=3)),
            st.builds(lambda item: {"not": item}, inner),
        ),
        max_leaves=4,
    )


@cache
def event_conditions() -> Strategy:
    return st.one_of(
        st.builds(
            lambda v: {"field": "url", "starts_with": v}, st.sampled_from(["/pricing", "/c", "/"])
        ),
        st.builds(
            lambda v: {"field": "properties.url", "contains": v},
            st.sampled_from(["pricing", "blog"]),
        ),
        st.builds(lambda v: {"field": "source", "equals": v}, st.sampled_from(["web", "email"])),
        st.builds(lambda b: {"field": "url", "exists": b}, st.booleans()),
        st.builds(
            lambda v: {"not": {"field": "url", "in": v}},
            st.lists(st.sampled_from(["/", "/careers"]), max_size=2),
        ),
    )


@st.composite
def engagement_rules(draw: st.DrawFn, rule_id: str, groups: list[str]) -> Data:
    rule: Data = {"id": rule_id, "points": draw(points)}
    if draw(st.integers(0, 6)) == 0:
        rule["inactive_for"] = draw(durations)
        if draw(st.booleans()):
            rule["event"] = draw(st.sampled_from(EVENT_TYPES))
    else:
        types = draw(st.lists(st.sampled_from(EVENT_TYPES), min_size=1, max_size=2, unique=True))
        rule["event"] = types[0] if len(types) == 1 and draw(st.booleans()) else types
        if draw(st.booleans()):
            rule["half_life"] = draw(durations)
        if draw(st.booleans()):
            rule["expires_after"] = draw(durations)
        if draw(st.integers(0, 3)) == 0:
            rule["once"] = True
        if draw(st.integers(0, 2)) == 0:
            rule["count"] = {"at_least": draw(st.integers(1, 4)), "within": draw(durations)}
    if draw(st.booleans()):
        rule["where"] = draw(event_conditions())
    if draw(st.integers(0, 2)) == 0:
        rule["max"] = draw(st.sampled_from([0, 10, 25, 50]))
    if draw(st.integers(0, 3)) == 0:
        rule["min"] = draw(st.sampled_from([-20, -5, 0]))
        if "max" in rule and rule["max"] < rule["min"]:
            del rule["max"]
    # bool(): in `x and draw(...)`, mypy would take the type of x for the draw's.
    if groups and bool(draw(st.booleans())):
        rule["group"] = draw(st.sampled_from(groups))
    return rule


@st.composite
def group_specs(draw: st.DrawFn, prefix: str) -> dict[str, dict[str, float]]:
    names = draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=2, unique=True))
    groups = {}
    for name in names:
        spec: dict[str, float] = {}
        if draw(st.booleans()):
            spec["max"] = draw(st.sampled_from([5, 15, 30]))
        if draw(st.integers(0, 2)) == 0:
            spec["min"] = draw(st.sampled_from([-10, 0, 3]))
            if "max" in spec and spec["max"] < spec["min"]:
                del spec["min"]
        groups[f"{prefix}{name}"] = spec
    return groups


@st.composite
def models(draw: st.DrawFn) -> Data:
    """A random valid model as YAML-like data (a dict)."""
    combine = draw(st.sampled_from(["weighted", "sum"]))
    fit_groups = draw(group_specs("f"))
    eng_groups = draw(group_specs("e"))
    fit_rules = []
    for i in range(draw(st.integers(0, 5))):
        rule = {"id": f"f{i}", "when": draw(lead_conditions()), "points": draw(points)}
        if fit_groups and bool(draw(st.booleans())):  # bool(): as in engagement_rules
            rule["group"] = draw(st.sampled_from(sorted(fit_groups)))
        fit_rules.append(rule)
    eng_rules = [
        draw(engagement_rules(f"e{i}", sorted(eng_groups))) for i in range(draw(st.integers(0, 6)))
    ]
    fit: Data = {"groups": fit_groups, "rules": fit_rules}
    engagement: Data = {"groups": eng_groups, "rules": eng_rules}
    if combine == "weighted":
        weight = draw(st.sampled_from([0.0, 0.25, 0.4, 0.5, 1.0]))
        fit.update(weight=weight, max=draw(st.sampled_from([10, 50, 100])))
        engagement.update(weight=1.0 - weight, max=draw(st.sampled_from([20, 100, 150])))
    else:
        if draw(st.booleans()):
            fit["max"] = draw(st.sampled_from([10, 50]))
        if draw(st.booleans()):
            engagement["max"] = draw(st.sampled_from([30, 100]))
    for section in (fit, engagement):
        if draw(st.integers(0, 3)) == 0:
            section["min"] = draw(st.sampled_from([-50, -10]))
    stages = [
        {"name": "disqualified", "when": draw(lead_conditions())},
        {"name": "sql", "min_score": draw(st.sampled_from([50, 75]))},
        {"name": "quiet", "when": {"no_event": list(EVENT_TYPES[:2]), "within": draw(durations)}},
        {"name": "mql", "min_score": 30},
        {"name": "lead"},
    ]
    return {
        "name": "random",
        "combine": combine,
        "fit": fit,
        "engagement": engagement,
        "grades": {"A": 75, "B": 50, "C": 25, "D": 0},
        "tiers": {"hot": 70, "warm": 40, "cold": 0},
        "stages": stages,
    }


@st.composite
def leads(draw: st.DrawFn, lead_id: str = "L1") -> Lead:
    email = draw(st.sampled_from(["jo@acme.com", "x@gmail.com", "bad", None, " A@B.io "]))
    attributes = {
        "industry": draw(st.sampled_from(INDUSTRIES)),
        "employees": draw(st.sampled_from(SIZES)),
        "job_title": draw(st.sampled_from(TITLES)),
        "signed_up": draw(st.sampled_from(["2025-12-20", "2025-06-01T10:00:00Z", "junk", None])),
    }
    return Lead(lead_id, email, attributes)


@st.composite
def events(draw: st.DrawFn, max_size: int = 25) -> list[Event]:
    """Events around AS_OF (some after it), with exact ties and boundary ages."""
    offsets = st.one_of(
        st.integers(-3 * DAY, 200 * DAY),
        st.sampled_from([0, DAY, 7 * DAY, 30 * DAY, 90 * DAY, 14 * DAY]),
    )
    items = draw(
        st.lists(
            st.tuples(
                st.sampled_from(EVENT_TYPES),
                offsets,
                st.sampled_from(URLS),
                st.sampled_from(["web", "email", None]),
            ),
            max_size=max_size,
        )
    )
    return [
        Event(kind, AS_OF - offset, {} if url is None else {"url": url}, source)
        for kind, offset, url, source in items
    ]


# ---------------------------------------------------------------------------------------
# Wider strategies for the differential tests of faster engines: every operator, both case
# modes, typed and odd values (Unicode, whitespace, numbers as text, NaN, dates), nested
# properties, several leads per example and `no_event` anywhere in a stage condition.

FIELDS = ("industry", "employees", "job_title", "signed_up", "flag", "score_hint", "tags")
TEXTS = (
    "software", "SaaS", " Software ", "retail", "finance", "", "   ", "İstanbul", "STRASSE",
    "straße", "ǅemal", "ΣΑΣ", "naïve café", "x\u3000", "\x1cpad\x1f", "CEO", "vp, sales",
    "Head of Growth", "student", "intern\n", "1e3", " 250 ", "250.0", "+5", ".5", "1,000",
    "TRUE", "false", "2025-12-20", "2025-06-01T10:00:00Z", "2025-12-31 23:59:59.5+01:00",
    "٢٠٢٥-١٢-٢٠", "2024-02-30", "nan", "inf", "K", "ſ",
)  # fmt: skip
ODD_VALUES: tuple[object, ...] = (
    None, 0, 7, 250, -3, 12000, 2**60, 0.5, 250.0, 1e3, float("nan"), float("inf"), -0.0,
    True, False, ["a", "b"], [], {"k": 1},
)  # fmt: skip
PATTERNS = (
    r"\b(ceo|vp|head)\b", "student|intern", "^eng", r"(?i)straße", r"^\s*\d+$", r"a(?=b)",
    r"(\w)\1", r"^$", r"sales$", r"(?-i:CEO)", r"ß", r"[a-z]{3,}", r"\Afin",
    r"x{,2}y", r"[^\W\d]", r"s\b", r"(?s)intern.",
)  # fmt: skip
EVENT_FIELDS = ("url", "properties.url", "source", "type", "n", "meta.channel", "properties.type")
MORE_POINTS = (-30, -5, -2.5, 0, 0.1, 1, 2.5, 5, 10, 15, 20, 25, 33.3, 40, 1 / 3, 7.77)

wide_points = st.sampled_from(MORE_POINTS)
texts = st.one_of(st.sampled_from(TEXTS), st.text(max_size=6))
scalars = st.one_of(
    texts, st.sampled_from([0, 5, 250, 1000, 2.5, -1, True, False]), st.integers(-5, 300)
)


def _leaf(field_names: Sequence[str]) -> Strategy:
    field = st.sampled_from(field_names)
    cs = st.booleans()
    return st.one_of(
        st.builds(
            lambda f, op, v, c: {"field": f, op: v, "case_sensitive": c},
            field, st.sampled_from(["equals", "not_equals"]), scalars, cs,
        ),
        st.builds(
            lambda f, op, v, c: {"field": f, op: v, "case_sensitive": c},
            field, st.sampled_from(["in", "not_in"]), st.lists(scalars, max_size=3), cs,
        ),
        st.builds(
            lambda f, op, v, c: {"field": f, op: v, "case_sensitive": c},
            field, st.sampled_from(["contains", "not_contains", "starts_with", "ends_with"]),
            st.one_of(texts, st.sampled_from([5, 2.5])), cs,
        ),
        st.builds(
            lambda f, p, c: {"field": f, "matches": p, "case_sensitive": c},
            field, st.sampled_from(PATTERNS), cs,
        ),
        st.builds(
            lambda f, op, n: {"field": f, op: n},
            field, st.sampled_from(["gt", "gte", "lt", "lte"]),
            st.sampled_from([0, 5, 10, 250, 1000, 0.5, -1, float("inf")]),
        ),
        st.builds(
            lambda f, lo, w: {"field": f, "between": [lo, lo + w]},
            field, st.sampled_from([-1, 0, 5, 250]), st.sampled_from([0, 0.5, 245, 1e4]),
        ),
        st.builds(
            lambda f, op, b: {"field": f, op: b},
            field, st.sampled_from(["exists", "is_empty"]), st.booleans(),
        ),
        st.builds(
            lambda f, op, d: {"field": f, op: d},
            field, st.sampled_from(["within", "older_than"]), durations,
        ),
    )  # fmt: skip


def _tree(leaf: Strategy, extra: tuple[Strategy, ...] = ()) -> Strategy:
    base = st.one_of(leaf, *extra) if extra else leaf
    return st.recursive(
        base,
        lambda inner: st.one_of(
            st.builds(lambda items: {"all": items}, st.lists(inner, max_size=3)),
            st.builds(lambda items: {"any": items}, st.lists(inner, max_size=3)),
            st.builds(lambda item: {"not": item}, inner),
        ),
        max_leaves=5,
    )


@cache
def wide_lead_conditions() -> Strategy:
    names = (*FIELDS, "email", "email_domain", "email_is_free", "id", "missing")
    return _tree(_leaf(names))


@cache
def wide_event_conditions() -> Strategy:
    return _tree(_leaf(EVENT_FIELDS))


@cache
def no_event_conditions() -> Strategy:
    return st.builds(
        lambda types, d, where: {"no_event": types, "within": d, **where},
        st.one_of(st.sampled_from(EVENT_TYPES), st.lists(st.sampled_from(EVENT_TYPES), min_size=1,
                                                         max_size=2)),
        durations,
        st.one_of(st.just({}), st.builds(lambda w: {"where": w}, wide_event_conditions())),
    )  # fmt: skip


@cache
def wide_stage_conditions() -> Strategy:
    """Lead conditions with `no_event` (and its `where`) at any depth."""
    return _tree(_leaf((*FIELDS, "email", "email_domain", "email_is_free", "id", "missing")),
                 (no_event_conditions(),))  # fmt: skip


@st.composite
def wide_engagement_rules(draw: st.DrawFn, rule_id: str, groups: list[str]) -> Data:
    rule = draw(engagement_rules(rule_id, groups))
    rule["points"] = draw(wide_points)
    if "where" in rule and draw(st.booleans()):
        rule["where"] = draw(wide_event_conditions())
    return rule


@st.composite
def wide_models(draw: st.DrawFn) -> Data:
    """Like `models()`, with every operator, odd points and weights, and `no_event` at any
    depth of the stage conditions."""
    combine = draw(st.sampled_from(["weighted", "sum"]))
    fit_groups = draw(group_specs("f"))
    eng_groups = draw(group_specs("e"))
    fit_rules = []
    for i in range(draw(st.integers(0, 5))):
        rule = {"id": f"f{i}", "when": draw(wide_lead_conditions()), "points": draw(wide_points)}
        if fit_groups and bool(draw(st.booleans())):  # bool(): as in engagement_rules
            rule["group"] = draw(st.sampled_from(sorted(fit_groups)))
        fit_rules.append(rule)
    eng_rules = [
        draw(wide_engagement_rules(f"e{i}", sorted(eng_groups)))
        for i in range(draw(st.integers(0, 7)))
    ]
    fit: Data = {"groups": fit_groups, "rules": fit_rules}
    engagement: Data = {"groups": eng_groups, "rules": eng_rules}
    if combine == "weighted":
        weight = draw(st.sampled_from([0.0, 0.3, 0.4, 0.7, 1.0, 0.1]))
        fit.update(weight=weight, max=draw(st.sampled_from([10, 30, 50, 100, 7])))
        engagement.update(weight=1.0 - weight, max=draw(st.sampled_from([20, 100, 150, 3])))
    else:
        if draw(st.booleans()):
            fit["max"] = draw(st.sampled_from([10, 50]))
        if draw(st.booleans()):
            engagement["max"] = draw(st.sampled_from([30, 100]))
    for section in (fit, engagement):
        if draw(st.integers(0, 3)) == 0:
            section["min"] = draw(st.sampled_from([-50, -10]))
    stage_when = wide_stage_conditions()
    stages = [
        {"name": "disqualified", "when": draw(stage_when)},
        {"name": "sql", "min_score": draw(st.sampled_from([50, 75, 12.34]))},
        {"name": "quiet", "when": draw(stage_when), "min_score": draw(st.sampled_from([0, 20]))},
        {"name": "mql", "min_score": 30},
        *([{"name": "lead"}] if draw(st.booleans()) else []),
    ]
    grades = dict(draw(st.permutations([("A", 75), ("B", 50), ("C", 25.5), ("D", 0)])))
    tiers = {"hot": 70, "warm": 40.04, "cold": 0} if draw(st.booleans()) else {}
    return {
        "name": "wide",
        "combine": combine,
        "fit": fit,
        "engagement": engagement,
        "grades": grades,
        "tiers": tiers,
        "stages": stages,
    }


@st.composite
def wide_leads(draw: st.DrawFn, lead_id: str = "L1") -> Lead:
    email = draw(
        st.sampled_from(
            ["jo@acme.com", "X@GMAIL.com ", "bad", None, " A@B.io ", "a@b@proton.me", "z@", ""]
        )
    )
    attributes = {
        name: draw(st.one_of(texts, st.sampled_from(ODD_VALUES))) for name in FIELDS
        if draw(st.integers(0, 4))
    }  # fmt: skip
    return Lead(lead_id, email, attributes)


@st.composite
def wide_events(draw: st.DrawFn, max_size: int = 25) -> list[Event]:
    """Events with odd properties (numbers, booleans, nested objects) and repeated times."""
    offsets = st.one_of(
        st.integers(-2 * DAY, 120 * DAY),
        st.sampled_from([0, 1, DAY, DAY - 1, 7 * DAY, 14 * DAY, 30 * DAY, 90 * DAY, 3600 * 10**6]),
    )
    values = st.one_of(st.sampled_from(URLS), texts, st.sampled_from(ODD_VALUES))
    items = draw(
        st.lists(
            st.tuples(
                st.sampled_from(EVENT_TYPES),
                offsets,
                st.dictionaries(st.sampled_from(["url", "n", "type", "meta"]), values, max_size=3),
                st.sampled_from(["web", "email", "WEB ", None]),
                st.sampled_from(["chan", "Chan", None]),
            ),
            max_size=max_size,
        )
    )
    out = []
    for kind, offset, props, source, channel in items:
        if channel is not None:
            props = {**props, "meta": {"channel": channel}}
        out.append(Event(kind, AS_OF - offset, props, source))
    return out


@st.composite
def scenarios(
    draw: st.DrawFn, wide: bool = False, max_leads: int = 6
) -> tuple[Data, list[Lead], dict[str, list[Event]]]:
    """(model data, leads, {lead id: events}): several leads per example, with their events."""
    model = draw(wide_models() if wide else models())
    count = draw(st.integers(1, max_leads))
    people = [draw((wide_leads if wide else leads)(f"L{i}")) for i in range(count)]
    size = 25 if count <= 2 else 12
    timeline = wide_events(max_size=size) if wide else events(max_size=size)
    return model, people, {person.id: draw(timeline) for person in people}


# ---------------------------------------------------------------------------------------
# Frames with one native type per column, as Parquet gives them to the kernel.


def _column(draw: st.DrawFn, name: str, n: int, kinds: Sequence[str]) -> pl.Series:
    """A Polars column of `n` values of one type drawn from `kinds`."""
    import polars as pl

    kind = draw(st.sampled_from(kinds))
    maybe = st.one_of(st.none(), st.just(1))
    values: list[object]
    if kind == "text":
        values = [draw(st.one_of(st.none(), texts)) for _ in range(n)]
        return pl.Series(name, values, dtype=pl.String)
    if kind == "int":
        values = [draw(st.one_of(st.none(), st.sampled_from([0, 5, 250, 1000, -3, 2**53 + 1])))
                  for _ in range(n)]  # fmt: skip
        return pl.Series(name, values, dtype=pl.Int64)
    if kind == "float":
        pool = [0.5, 250.0, 1e3, float("nan"), float("inf"), -0.0, 999.5, 1e-7, 2.675]
        values = [draw(st.one_of(st.none(), st.sampled_from(pool))) for _ in range(n)]
        return pl.Series(name, values, dtype=pl.Float64)
    if kind == "bool":
        return pl.Series(name, [draw(st.one_of(st.none(), st.booleans())) for _ in range(n)])
    if kind in ("date", "datetime", "naive"):
        moments = [draw(maybe) and AS_OF - draw(st.integers(-3 * DAY, 60 * DAY)) for _ in range(n)]
        series = pl.Series(name, moments, dtype=pl.Int64)
        if kind == "date":
            return (series // DAY).cast(pl.Int32).cast(pl.Date)
        zone = "UTC" if kind == "datetime" else None
        return series.cast(pl.Datetime("us")).dt.replace_time_zone(zone)
    return pl.Series(name, [draw(st.sampled_from(["a", "b"])) for _ in range(n)]).cast(
        pl.Categorical
    )


@st.composite
def typed_frames(draw: st.DrawFn, max_leads: int = 6) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(leads, events) frames: native column types (text, integers, floats with NaN,
    booleans, dates, UTC and naive datetimes, categoricals), events of unknown leads, and
    `occurred_at` as a datetime, epoch µs or ISO text."""
    import polars as pl

    n = draw(st.integers(1, max_leads))
    ids = [f"L{i}" for i in range(n)]
    any_kind = ("text", "int", "float", "bool", "date", "datetime", "naive", "category")
    leads = pl.DataFrame(
        [
            pl.Series("id", ids),
            pl.Series(
                "email", [draw(st.sampled_from(["a@gmail.com", "b@acme.io", None])) for _ in ids]
            ),  # fmt: skip
            _column(draw, "industry", n, ("text", "category")),
            _column(draw, "employees", n, ("int", "float", "text")),
            _column(draw, "job_title", n, ("text",)),
            _column(draw, "signed_up", n, ("date", "datetime", "naive", "text")),
            _column(draw, "flag", n, any_kind),
            _column(draw, "score_hint", n, any_kind),
        ]
    )
    m = draw(st.integers(0, 30))
    owners = [draw(st.sampled_from([*ids, "L404"])) for _ in range(m)]
    ages = st.one_of(st.integers(-2 * DAY, 100 * DAY), st.sampled_from([0, DAY, 7 * DAY]))
    moments = [AS_OF - draw(ages) for _ in range(m)]
    time_kind = draw(st.sampled_from(["datetime", "micros", "text", "nanos"]))
    times = pl.Series("occurred_at", moments, dtype=pl.Int64)
    if time_kind == "datetime":
        times = times.cast(pl.Datetime("us", "UTC"))
    elif time_kind == "nanos":
        times = (times * 1000 + 999).cast(pl.Datetime("ns", "UTC"))
    elif time_kind == "text":
        times = times.cast(pl.Datetime("us")).dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
    events = pl.DataFrame(
        [
            pl.Series("lead_id", owners, dtype=pl.String),
            pl.Series(
                "type", [draw(st.sampled_from(EVENT_TYPES)) for _ in range(m)], dtype=pl.String
            ),  # fmt: skip
            times,
            pl.Series(
                "source",
                [draw(st.sampled_from(["web", "Email", None])) for _ in range(m)],
                dtype=pl.String,
            ),  # fmt: skip
            _column(draw, "url", m, ("text", "category")),
            _column(draw, "n", m, ("int", "float", "bool", "text")),
        ]
    )
    return leads, events
