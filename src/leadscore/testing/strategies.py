"""Hypothesis strategies for random scoring models, leads and events.

Used by the property tests of the reference scorer and by the differential tests that hold
every faster engine to it. Requires the `test` extra (hypothesis).
"""

from __future__ import annotations

from hypothesis import strategies as st

from leadscore.core.records import Event, Lead

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


def _leaf_on_lead():
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


def lead_conditions(depth: int = 2):
    return st.recursive(
        _leaf_on_lead(),
        lambda inner: st.one_of(
            st.builds(lambda items: {"all": items}, st.lists(inner, max_size=3)),
            st.builds(lambda items: {"any": items}, st.lists(inner, max_size=3)),
            st.builds(lambda item: {"not": item}, inner),
        ),
        max_leaves=4,
    )


def event_conditions():
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
def engagement_rules(draw, rule_id: str, groups: list[str]):
    rule: dict = {"id": rule_id, "points": draw(points)}
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
    if groups and draw(st.booleans()):
        rule["group"] = draw(st.sampled_from(groups))
    return rule


@st.composite
def group_specs(draw, prefix: str):
    names = draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=2, unique=True))
    groups = {}
    for name in names:
        spec = {}
        if draw(st.booleans()):
            spec["max"] = draw(st.sampled_from([5, 15, 30]))
        if draw(st.integers(0, 2)) == 0:
            spec["min"] = draw(st.sampled_from([-10, 0, 3]))
            if "max" in spec and spec["max"] < spec["min"]:
                del spec["min"]
        groups[f"{prefix}{name}"] = spec
    return groups


@st.composite
def models(draw):
    """A random valid model as YAML-like data (a dict)."""
    combine = draw(st.sampled_from(["weighted", "sum"]))
    fit_groups = draw(group_specs("f"))
    eng_groups = draw(group_specs("e"))
    fit_rules = []
    for i in range(draw(st.integers(0, 5))):
        rule = {"id": f"f{i}", "when": draw(lead_conditions()), "points": draw(points)}
        if fit_groups and draw(st.booleans()):
            rule["group"] = draw(st.sampled_from(sorted(fit_groups)))
        fit_rules.append(rule)
    eng_rules = [
        draw(engagement_rules(f"e{i}", sorted(eng_groups))) for i in range(draw(st.integers(0, 6)))
    ]
    fit: dict = {"groups": fit_groups, "rules": fit_rules}
    engagement: dict = {"groups": eng_groups, "rules": eng_rules}
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
def leads(draw, lead_id: str = "L1"):
    email = draw(st.sampled_from(["jo@acme.com", "x@gmail.com", "bad", None, " A@B.io "]))
    attributes = {
        "industry": draw(st.sampled_from(INDUSTRIES)),
        "employees": draw(st.sampled_from(SIZES)),
        "job_title": draw(st.sampled_from(TITLES)),
        "signed_up": draw(st.sampled_from(["2025-12-20", "2025-06-01T10:00:00Z", "junk", None])),
    }
    return Lead(lead_id, email, attributes)


@st.composite
def events(draw, max_size: int = 25):
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
