"""The pure rules of website tracking (core/tracking.py): the sites' section, origins, robots,
beacons, e-mail link tokens and the rate limit's bucket."""

from __future__ import annotations

import pytest

from leadscore.core import tracking as rules
from leadscore.core.sources import SourcesError, load_sources_text
from leadscore.service.tracking import bot_patterns

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like"
    " Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " HeadlessChrome/131.0.0.0 Safari/537.36"
)
# Robots' User-Agents as their operators document them (Google's "Googlebot" crawler page,
# Bing's "Which crawlers does Bing use", UptimeRobot's and Pingdom's FAQs).
ROBOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0;"
    " +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    HEADLESS,
]

SITE = {
    "key": "pk_site_0123456789",
    "allowed_origins": ["https://www.example.com"],
}


def beacon(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "site": "pk_site_0123456789",
        "id": "b0123456789abcdef",
        "type": "page_view",
        "visitor": "v0123456789abcdef",
        "consent": "given",
        "url": "https://www.example.com/pricing?plan=pro#top",
        "title": "Pricing",
        "referrer": "https://www.google.com/",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- the section ----------------------------------------------------------------------------


def test_a_sites_section_loads_with_its_defaults() -> None:
    text = """
tracking:
  sites:
    www:
      key: pk_site_0123456789
      allowed_origins: [https://www.example.com, "https://*.example.com"]
"""
    site = load_sources_text(text).tracking.sites["www"]
    assert site.consent == "required"
    assert site.bots == "filter"
    assert site.rate_limit == 120
    assert site.events == list(rules.BEACON_TYPES)


@pytest.mark.parametrize(
    ("origin", "path"),
    [
        ("www.example.com", "tracking.sites.www.allowed_origins"),
        ("https://www.example.com/path", "tracking.sites.www.allowed_origins"),
        ("ftp://example.com", "tracking.sites.www.allowed_origins"),
    ],
)
def test_a_bad_origin_is_named_with_its_line(origin: str, path: str) -> None:
    text = f"""
tracking:
  sites:
    www:
      key: pk_site_0123456789
      allowed_origins: ["{origin}"]
"""
    with pytest.raises(SourcesError) as caught:
        load_sources_text(text)
    assert caught.value.problems[0].path == path
    assert "not an origin" in caught.value.problems[0].message
    assert caught.value.problems[0].line == 6


def test_a_short_key_and_an_unknown_consent_are_refused() -> None:
    text = """
tracking:
  sites:
    www: {key: short, allowed_origins: [https://a.example], consent: maybe}
"""
    with pytest.raises(SourcesError) as caught:
        load_sources_text(text)
    paths = {p.path for p in caught.value.problems}
    assert {"tracking.sites.www.key", "tracking.sites.www.consent"} <= paths


def test_a_bad_bot_pattern_is_refused() -> None:
    with pytest.raises(SourcesError, match="not a regular expression"):
        load_sources_text("tracking:\n  bot_patterns: ['(unclosed']\n")


def test_a_site_is_found_by_its_key_only() -> None:
    section = rules.Tracking.model_validate({"sites": {"www": SITE}})
    assert section.site_of("pk_site_0123456789") == ("www", section.sites["www"])
    assert section.site_of("pk_site_0123456780") is None


# --- origins ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://www.example.com", True),
        ("https://www.example.com:443", True),  # the default port, explicit
        ("https://WWW.Example.com", True),
        ("http://www.example.com", False),  # another scheme
        ("https://www.example.com:8443", False),  # another port
        ("https://example.com", False),
        ("https://www.example.com.evil.net", False),
        ("https://shop.example.com", True),  # by the wildcard
        ("https://a.b.example.com", True),
        ("https://evilexample.com", False),
        ("null", False),  # a sandboxed frame, a file: page
        ("", False),
        (None, False),
    ],
)
def test_origins_match_scheme_host_and_port(origin: str | None, allowed: bool) -> None:
    rules_ = ["https://www.example.com", "https://*.example.com"]
    assert rules.origin_allowed(origin, rules_) is allowed


def test_a_wildcard_does_not_allow_the_bare_domain() -> None:
    assert not rules.origin_allowed("https://example.com", ["https://*.example.com"])
    assert rules.origin_allowed("http://127.0.0.1:8000", ["http://127.0.0.1:8000"])
    assert not rules.origin_allowed("http://127.0.0.1:8001", ["http://127.0.0.1:8000"])


# --- robots -----------------------------------------------------------------------------------


@pytest.mark.parametrize("agent", ROBOTS)
def test_robots_are_recognised(agent: str) -> None:
    assert rules.is_bot(agent, rules.bot_matcher(bot_patterns()))


@pytest.mark.parametrize("agent", [CHROME, FIREFOX, SAFARI_IOS])
def test_browsers_are_not_robots(agent: str) -> None:
    assert not rules.is_bot(agent, rules.bot_matcher(bot_patterns()))


def test_no_user_agent_is_a_robot_and_the_list_extends() -> None:
    matcher = rules.bot_matcher([*bot_patterns(), "Firefox/13[0-9]"])
    assert rules.is_bot(None, matcher)
    assert rules.is_bot("  ", matcher)
    assert rules.is_bot(FIREFOX, matcher)
    assert not rules.is_bot(FIREFOX, rules.bot_matcher(["# only a comment", ""]))


# --- beacons ----------------------------------------------------------------------------------


def test_a_page_view_becomes_a_page_viewed_event_with_its_path() -> None:
    parsed = rules.parse_beacon(beacon())
    assert parsed.type == "page_view"
    props = rules.event_properties(parsed, "www")
    assert props["url"] == "/pricing?plan=pro"
    assert props["page_url"] == "https://www.example.com/pricing?plan=pro#top"
    assert props["title"] == "Pricing"
    assert rules.EVENT_TYPES[parsed.type] == "page_viewed"
    assert rules.path_of("https://www.example.com") == "/"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type": "purchase"}, "type"),
        ({"type": None}, "type"),
        ({"id": "short"}, "id"),
        ({"visitor": "has space in it"}, "visitor"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://x.example/" + "a" * 3000}, "url"),
        ({"title": 42}, "title"),
        ({"email": "not-an-address"}, "email"),
        ({"type": "identify"}, "token"),
        ({"consent": None}, "consent"),
        ({"consent": "maybe"}, "consent"),
        ({"extra": 1}, "extra"),
        ({"properties": []}, "properties"),
        ({"properties": {"1bad": "x"}}, "properties.1bad"),
        ({"properties": {"plan": {"nested": 1}}}, "properties.plan"),
        ({"properties": {"plan": "x" * 501}}, "properties.plan"),
        ({"properties": {f"k{i}": i for i in range(21)}}, "properties"),
        ({"site": None}, "site"),
    ],
)
def test_a_malformed_beacon_names_its_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(rules.BeaconError) as caught:
        rules.parse_beacon(beacon(**changes))
    assert caught.value.field == field


def test_a_body_that_is_no_object_is_refused() -> None:
    with pytest.raises(rules.BeaconError) as caught:
        rules.parse_beacon(["page_view"])
    assert caught.value.field == "body"


def test_a_site_may_refuse_beacon_types_and_require_consent() -> None:
    with pytest.raises(rules.BeaconError, match="does not accept click"):
        rules.parse_beacon(beacon(type="click"), ["page_view"])
    with pytest.raises(rules.BeaconError) as caught:
        rules.parse_beacon(beacon(consent="not_required"), consent_required=True)
    assert caught.value.field == "consent"
    assert rules.parse_beacon(beacon(consent="not_required")).visitor == "v0123456789abcdef"


def test_event_ids_are_deterministic_and_distinct() -> None:
    one = rules.event_id("www", "v0123456789abcdef", "b0123456789abcdef")
    assert one == rules.event_id("www", "v0123456789abcdef", "b0123456789abcdef")
    assert one != rules.event_id("shop", "v0123456789abcdef", "b0123456789abcdef")
    assert one != rules.event_id("www", "v0123456789abcdef", "b0123456789abcdef0")
    assert one.startswith("trk_") and len(one) == 44


# --- tokens -----------------------------------------------------------------------------------

SECRET = "a-long-random-secret-key-for-tests"


def test_a_token_names_its_address_until_it_expires() -> None:
    token = rules.make_token("Ada@Example.com", 1_000, SECRET)
    assert rules.read_token(token, 999, SECRET) == "ada@example.com"
    assert rules.read_token(token, 1_000, SECRET) == "ada@example.com"
    with pytest.raises(rules.TokenError, match="expired"):
        rules.read_token(token, 1_001, SECRET)


def test_a_forged_token_is_refused() -> None:
    token = rules.make_token("ada@example.com", 1_000, SECRET)
    body, expiry, mac = token.split(".")
    other = rules.make_token("eve@example.com", 1_000, SECRET).split(".")[0]
    for forged in (
        f"{other}.{expiry}.{mac}",  # another address under the same signature
        f"{body}.9999999.{mac}",  # a longer life
        rules.make_token("ada@example.com", 1_000, "another-secret"),
    ):
        with pytest.raises(rules.TokenError, match="signature"):
            rules.read_token(forged, 0, SECRET)
    for junk in ("", "abc", "a.b.c", f"{body}.{expiry}"):
        with pytest.raises(rules.TokenError):
            rules.read_token(junk, 0, SECRET)


# --- the rate limit's bucket --------------------------------------------------------------------


def test_the_bucket_allows_a_burst_then_one_per_interval() -> None:
    bucket = None
    for _ in range(3):
        bucket, wait = rules.take(bucket, 3, 100.0)
        assert wait == 0
    bucket, wait = rules.take(bucket, 3, 100.0)
    assert wait == pytest.approx(20.0)  # 3 a minute: one every 20 s
    bucket, wait = rules.take(bucket, 3, 110.0)
    assert wait == pytest.approx(10.0)
    bucket, wait = rules.take(bucket, 3, 120.0)
    assert wait == 0
