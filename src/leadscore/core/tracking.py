"""Website tracking (§8): the `tracking:` section of the sources file (sites, their public
keys and allowed origins) and the pure rules of beacons (docs/sources.md, "Website
tracking").

What a site's page sends (t.js) is a *beacon*: a page view, a click on a marked link, a form
submission or an identification. The rules here decide, without I/O or clock, whether a
beacon's Origin is one of the site's, whether its User-Agent is a robot's, whether the beacon
is well formed (every problem named by its field), what event it becomes, and whether an
e-mail link's signed token (`ls_t`) is genuine and unexpired. Times are passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field, field_validator

from leadscore.core.model import Strict

BeaconType = Literal["page_view", "click", "form_submit", "identify"]
BEACON_TYPES: tuple[BeaconType, ...] = ("page_view", "click", "form_submit", "identify")
EVENT_TYPES = {
    "page_view": "page_viewed",
    "click": "link_clicked",
    "form_submit": "form_submitted",
    "identify": "identified",
}
"""The event each beacon type becomes on the lead (the example models score `page_viewed`
by its `url`)."""

MAX_BEACON_BYTES = 8192
"""Largest beacon read (bytes): a page view is a few hundred; a form a few KB at most."""
MAX_TEXT = 2048
"""Longest url, referrer or title kept (characters)."""
MAX_PROPERTIES = 20
"""Most properties (marked link data, form fields) one beacon may carry."""
MAX_VALUE = 500
"""Longest property value (characters)."""

_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ORIGIN = re.compile(r"^(https?)://(\*\.)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


# --- the section of the sources file -------------------------------------------------------


SiteKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]


class Site(Strict):
    """One website: its public key (in the snippet, not a secret), where its pages live."""

    key: SiteKey
    allowed_origins: Annotated[list[str], Field(min_length=1)]
    consent: Literal["required", "not_required"] = "required"
    rate_limit: Annotated[int, Field(ge=1, le=1_000_000)] = 120
    """Beacons per minute per (site key, client IP)."""
    bots: Literal["filter", "keep"] = "filter"
    events: list[BeaconType] = Field(default_factory=lambda: list(BEACON_TYPES))
    """The beacon types this site accepts (others answer 400)."""

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        for value in values:
            if parse_origin(value) is None:
                raise ValueError(
                    f"{value!r} is not an origin: scheme://host[:port], e.g."
                    " https://www.example.com or https://*.example.com"
                )
        return values


class Tracking(Strict):
    """The `tracking:` section."""

    sites: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")], Site] = Field(
        default_factory=dict
    )
    bot_patterns: list[str] = Field(default_factory=list)
    """User-Agent patterns (regular expressions, case-insensitive) added to the shipped
    list (src/leadscore/data/bot_user_agents.txt)."""
    anonymous_days: Annotated[int, Field(ge=1, le=3650)] = 30
    """Anonymous visitors never identified are deleted this many days after their last beacon."""
    max_beacon_bytes: Annotated[int, Field(ge=512, le=65_536)] = MAX_BEACON_BYTES

    @field_validator("bot_patterns")
    @classmethod
    def _patterns(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a regular expression: {exc}") from None
        return values

    def site_of(self, key: str) -> tuple[str, Site] | None:
        """The site (name, config) whose public key this is."""
        for name, site in self.sites.items():
            if hmac.compare_digest(site.key, key):
                return name, site
        return None


# --- origins -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int
    wildcard: bool = False


def parse_origin(text: str) -> Origin | None:
    """`scheme://host[:port]` (as browsers send in `Origin`, or a config's `*.host`), the
    default port made explicit; None when it is not one."""
    found = _ORIGIN.match(text.strip())
    if found is None:
        return None
    scheme, star, host, port = found.groups()
    number = int(port) if port else _DEFAULT_PORTS[scheme]
    if not 0 < number < 65536:
        return None
    return Origin(scheme, host.lower().rstrip("."), number, star is not None)


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    """Whether a request's Origin is one of the site's: same scheme, host and port. A
    configured `https://*.example.com` allows every subdomain of example.com at any depth,
    not example.com itself (list it too) nor `evilexample.com`."""
    if not origin:
        return False
    found = parse_origin(origin)
    if found is None or found.wildcard:
        return False
    for entry in allowed:
        rule = parse_origin(entry)
        if rule is None or rule.scheme != found.scheme or rule.port != found.port:
            continue
        if rule.wildcard:
            if found.host.endswith("." + rule.host):
                return True
        elif found.host == rule.host:
            return True
    return False


# --- robots --------------------------------------------------------------------------------


def bot_matcher(patterns: Iterable[str]) -> re.Pattern[str]:
    """One case-insensitive expression of every pattern (lines of the shipped list and the
    file's own): blank lines and `#` comments skipped."""
    kept = [p.strip() for p in patterns if p.strip() and not p.strip().startswith("#")]
    return re.compile("|".join(f"(?:{p})" for p in kept) or r"(?!)", re.IGNORECASE)


def is_bot(user_agent: str | None, matcher: re.Pattern[str]) -> bool:
    """A robot: no User-Agent at all, or one a pattern matches (crawlers, headless
    browsers, monitoring tools, HTTP libraries)."""
    if not user_agent or not user_agent.strip():
        return True
    return matcher.search(user_agent) is not None


# --- beacons -------------------------------------------------------------------------------


class BeaconError(ValueError):
    """A malformed beacon; `field` names what is wrong."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Beacon:
    """One well-formed beacon."""

    site: str
    id: str
    """The beacon's own random id (t.js): the stored event's id derives from it."""
    type: str
    visitor: str
    url: str
    title: str | None = None
    referrer: str | None = None
    email: str | None = None
    token: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)


def _text(data: Mapping[str, object], name: str, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise BeaconError(f"{name} is required", name)
        return None
    if not isinstance(value, str):
        raise BeaconError(f"{name} must be a string", name)
    if len(value) > MAX_TEXT:
        raise BeaconError(f"{name} is longer than {MAX_TEXT} characters", name)
    return value


def parse_beacon(
    data: object, accepted: Iterable[str] = BEACON_TYPES, consent_required: bool = False
) -> Beacon:
    """A beacon from its decoded JSON, or BeaconError naming the first bad field. Where the
    site requires consent, a beacon must say it was given (`consent: given`): a snippet
    written `data-consent="not_required"` for such a site is refused, not silently obeyed."""
    if not isinstance(data, Mapping):
        raise BeaconError("a beacon is a JSON object", "body")
    known = {"site", "id", "type", "visitor", "consent", "url", "title", "referrer", "email"}
    known.add("token")
    for key in data:
        if key not in known and key != "properties":
            raise BeaconError(f"unknown field {key!r}", str(key))
    site = _text(data, "site", True) or ""
    kind = _text(data, "type", True) or ""
    if kind not in BEACON_TYPES:
        raise BeaconError(f"type must be one of {', '.join(BEACON_TYPES)}", "type")
    if kind not in accepted:
        raise BeaconError(f"this site does not accept {kind} beacons", "type")
    beacon_id = _text(data, "id", True) or ""
    if not _ID.match(beacon_id):
        raise BeaconError("id must be 8 to 64 letters, digits, - or _", "id")
    visitor = _text(data, "visitor", True) or ""
    if not _ID.match(visitor):
        raise BeaconError("visitor must be 8 to 64 letters, digits, - or _", "visitor")
    consent = _text(data, "consent", True)
    if consent not in ("given", "not_required"):
        raise BeaconError("consent must be given or not_required", "consent")
    if consent_required and consent != "given":
        raise BeaconError("this site requires consent before tracking (consent: given)", "consent")
    url = _text(data, "url", True) or ""
    if not url.startswith(("http://", "https://")):
        raise BeaconError("url must be an http(s) address", "url")
    email = _text(data, "email")
    if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
        raise BeaconError("email is not an e-mail address", "email")
    token = _text(data, "token")
    if kind == "identify" and token is None:
        raise BeaconError("an identify beacon carries the e-mail link's token", "token")
    return Beacon(
        site=site,
        id=beacon_id,
        type=kind,
        visitor=visitor,
        url=url,
        title=_text(data, "title"),
        referrer=_text(data, "referrer"),
        email=email,
        token=token,
        properties=_properties(data.get("properties")),
    )


def _properties(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BeaconError("properties must be an object", "properties")
    if len(value) > MAX_PROPERTIES:
        raise BeaconError(f"properties has more than {MAX_PROPERTIES} keys", "properties")
    out: dict[str, str] = {}
    for key, item in value.items():
        where = f"properties.{key}"
        if not isinstance(key, str) or not _PROPERTY.match(key):
            raise BeaconError("a property name is a letter then letters, digits or _", where)
        if key in ("url", "title", "referrer", "site"):
            raise BeaconError(f"{key} is a field of the beacon, not a property", where)
        if not isinstance(item, str | int | float):  # bool is an int: kept as True/False
            raise BeaconError("a property is a string, a number or a boolean", where)
        text = str(item)
        if len(text) > MAX_VALUE:
            raise BeaconError(f"longer than {MAX_VALUE} characters", where)
        out[key] = text
    return out


def event_id(site: str, visitor: str, beacon_id: str) -> str:
    """The stored event's id: the same beacon merged twice is one event (idempotent)."""
    digest = hashlib.sha256(f"{site}\x00{visitor}\x00{beacon_id}".encode()).hexdigest()
    return f"trk_{digest[:40]}"


def path_of(url: str) -> str:
    """The path (and query) of an absolute URL: what models match with `starts_with:
    /pricing` (the fragment dropped)."""
    rest = url.split("://", 1)[-1]
    slash = rest.find("/")
    path = rest[slash:] if slash >= 0 else "/"
    return path.split("#", 1)[0]


def event_properties(beacon: Beacon, site_name: str) -> dict[str, object]:
    """The stored event's properties: `url` is the page's path (what rules match), the full
    address in `page_url`, then the page's title, referrer and the beacon's own properties."""
    props: dict[str, object] = dict(beacon.properties)
    props.update(url=path_of(beacon.url), page_url=beacon.url, site=site_name)
    if beacon.title:
        props["title"] = beacon.title
    if beacon.referrer:
        props["referrer"] = beacon.referrer
    return props


# --- e-mail link tokens --------------------------------------------------------------------


class TokenError(ValueError):
    """A link token that is malformed, forged or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), b"ls_t1." + body.encode(), hashlib.sha256).digest())


def make_token(email: str, expires_at: int, secret: str) -> str:
    """The `ls_t` token of an e-mail link: the address and expiry (epoch seconds), signed
    with HMAC-SHA256 under LEADSCORE_SECRET_KEY. Not encrypted: the address is readable."""
    body = f"{_b64(email.strip().lower().encode())}.{expires_at}"
    return f"{body}.{_mac(secret, body)}"


def read_token(token: str, now: int, secret: str) -> str:
    """The e-mail a genuine, unexpired token names (`now` in epoch seconds), else
    TokenError saying why."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        raise TokenError("the token is not an ls_t token")
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_mac(secret, body), parts[2]):
        raise TokenError("the token's signature is wrong")
    if int(parts[1]) < now:
        raise TokenError("the token has expired")
    try:
        email = _unb64(parts[0]).decode()
    except (ValueError, UnicodeDecodeError):
        raise TokenError("the token is not an ls_t token") from None
    if not _EMAIL.match(email):
        raise TokenError("the token names no e-mail address")
    return email


# --- rate limits ---------------------------------------------------------------------------


@dataclass
class Bucket:
    """A token bucket: `per_minute` beacons a minute, as a burst or spread."""

    tokens: float
    at: float


def take(bucket: Bucket | None, per_minute: int, now: float) -> tuple[Bucket, float]:
    """Take one token at `now` (seconds): the bucket after, and 0 when allowed, else the
    seconds until a token is back (the 429's Retry-After)."""
    rate = per_minute / 60.0
    if bucket is None:
        bucket = Bucket(float(per_minute), now)
    tokens = min(float(per_minute), bucket.tokens + (now - bucket.at) * rate)
    if tokens >= 1.0:
        return Bucket(tokens - 1.0, now), 0.0
    return Bucket(tokens, now), (1.0 - tokens) / rate
