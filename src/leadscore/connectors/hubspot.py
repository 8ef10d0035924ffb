"""HubSpot CRM v3: contacts and deals in, leadscore's properties out (docs/connectors-hubspot.md).

Reading pages a search sorted by `lastmodifieddate` as keyset windows: every request is a new
search "modified at or after the last stamp seen", skipping the ids already returned at that
stamp, so no query ever pages past HubSpot's 10,000-result cap, and a record modified while the
sync runs moves to the end instead of shifting an offset and being skipped. When more records
share one stamp than fit a page, that stamp is drained in `hs_object_id` order. Deletions come
from the archived listing (search never returns archived records).

Writing goes through `batch/update`, 100 inputs a call. HubSpot fails a whole batch for one
bad property or value (400), and reports missing records per id (207, or 400/404 naming them
in `context.ids`): the bad inputs are isolated, the rest written, and each bad one reported
with HubSpot's own words. A spent daily limit (429 with `policyName: DAILY`) becomes
`RateLimited` until midnight in the account's time zone instead of being retried.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from leadscore.connectors.base import (
    ConnectorError,
    Deal,
    FieldSpec,
    Http,
    Page,
    Person,
    RateLimited,
    Record,
    Update,
    UpdateResult,
    Value,
    vendor_message,
)

BASE_URL = "https://api.hubapi.com"
BATCH_SIZE = 100  # inputs per batch read/update call (HubSpot's documented maximum)
SEARCH_MAX_LIMIT = 200  # results per search page (documented maximum)
SIGNATURE_MAX_AGE_MS = 5 * 60 * 1000  # v3 signatures older than five minutes are refused

DEFAULT_FIELDS: Mapping[str, Any] = {
    "object": "contacts",
    "id_source": "hubspot",
    "deal_object": "deals",
    "in": (
        "email",
        "firstname",
        "lastname",
        "company",
        "jobtitle",
        "industry",
        "numemployees",
        "country",
        "city",
        "phone",
        "website",
        "lifecyclestage",
        "hubspot_owner_id",
    ),
    "stage": "lifecyclestage",
    "owner": "hubspot_owner_id",
    "group": "leadscore",
    "out": {
        "score": "leadscore_score",
        "fit": "leadscore_fit",
        "engagement": "leadscore_engagement",
        "grade": "leadscore_grade",
        "tier": "leadscore_tier",
        "stage": "leadscore_stage",
        "url": "leadscore_url",
    },
    "owner_out": "hubspot_owner_id",
    "deal_in": (
        "dealname",
        "dealstage",
        "pipeline",
        "amount",
        "closedate",
        "hs_is_closed_won",
        "hs_is_closed",
    ),
}
"""The default field names both ways (the lead's core config uses these names)."""

DEFAULT_OUT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("leadscore_score", "Leadscore score", "number", "The lead's total score"),
    FieldSpec("leadscore_fit", "Leadscore fit", "number", "The fit part of the score"),
    FieldSpec("leadscore_engagement", "Leadscore engagement", "number", "Engagement score"),
    FieldSpec("leadscore_grade", "Leadscore grade", "string", "The lead's grade"),
    FieldSpec("leadscore_tier", "Leadscore tier", "string", "The lead's tier"),
    FieldSpec("leadscore_stage", "Leadscore stage", "string", "The lead's stage in leadscore"),
    FieldSpec("leadscore_url", "Leadscore link", "string", "The lead in leadscore"),
)
"""The custom contact properties `ensure_fields` creates by default (group `leadscore`)."""

ALWAYS_READ = ("email", "lastmodifieddate", "hs_object_id", "hubspot_owner_id", "lifecyclestage")
STAMP = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}
_SURE_BAD = {"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"}
_FIELD_TYPES: Mapping[str, tuple[str, str]] = {
    "number": ("number", "number"),
    "string": ("string", "text"),
    "datetime": ("datetime", "date"),
}
_INVALID_PREFIX = "Property values were not valid: "


# --- time ------------------------------------------------------------------------------------


def parse_stamp(value: Any) -> int | None:
    """A HubSpot date-time (ISO 8601, or epoch milliseconds as text) as epoch milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def seconds_to_midnight(now: float, time_zone: str) -> float:
    """Seconds from `now` (epoch seconds) to the next midnight in `time_zone`, when HubSpot's
    daily limit resets ("midnight based on the time zone setting of the HubSpot account")."""
    try:
        zone: Any = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    local = datetime.fromtimestamp(now, zone)
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone) + timedelta(days=1)
    return max(1.0, midnight.timestamp() - now)


# --- webhooks --------------------------------------------------------------------------------

_URI_DECODE = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


def _decode_uri(uri: str) -> str:
    return re.sub(
        r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)",
        lambda m: _URI_DECODE[m.group(0).upper()],
        uri,
        flags=re.IGNORECASE,
    )


def sign_v3(client_secret: str, method: str, uri: str, body: bytes | str, timestamp: str) -> str:
    """The `X-HubSpot-Signature-v3` value for a request: base64 of HMAC-SHA256 keyed with the
    app's client secret over method + URI + body + timestamp (UTF-8)."""
    raw = body.decode("utf-8") if isinstance(body, bytes) else body
    message = f"{method.upper()}{_decode_uri(uri)}{raw}{timestamp}".encode()
    digest = hmac.new(client_secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature_v3(
    client_secret: str,
    method: str,
    uri: str,
    body: bytes | str,
    timestamp_header: str | None,
    signature_header: str | None,
    now_ms: int,
) -> bool:
    """Whether a webhook request is HubSpot's: a v3 signature over the full request URI
    (https://host/path?query as HubSpot called it) with a timestamp at most five minutes old
    (and not more than five minutes ahead, so a captured request cannot be replayed later)."""
    if not client_secret or not timestamp_header or not signature_header:
        return False
    try:
        stamp = int(timestamp_header.strip())
    except ValueError:
        return False
    if abs(now_ms - stamp) > SIGNATURE_MAX_AGE_MS:
        return False
    try:
        expected = sign_v3(client_secret, method, uri, body, timestamp_header.strip())
    except UnicodeDecodeError:
        return False
    return hmac.compare_digest(expected.encode(), signature_header.strip().encode())


class WebhookEvent(NamedTuple):
    """One event of a HubSpot webhook request (they come in arrays of up to 100)."""

    subscription_type: str  # contact.creation, contact.propertyChange, contact.deletion, …
    object_id: str
    occurred_at: int  # epoch microseconds
    property_name: str | None = None
    property_value: str | None = None
    event_id: str | None = None
    merged_object_ids: tuple[str, ...] = ()
    primary_object_id: str | None = None
    change_source: str | None = None
    portal_id: int | None = None

    @property
    def object(self) -> str:
        """The CRM object the event is about: contacts, deals, companies, …"""
        kind = self.subscription_type.split(".", 1)[0]
        return {"contact": "contacts", "deal": "deals", "company": "companies"}.get(kind, kind)


def parse_webhook(body: bytes | str) -> list[WebhookEvent]:
    """The events of a webhook request body; ValueError when it is not HubSpot's shape."""
    data = json.loads(body)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValueError("a HubSpot webhook body is a JSON array of events")
    events: list[WebhookEvent] = []
    for item in data:
        if not isinstance(item, dict) or "subscriptionType" not in item:
            raise ValueError("a HubSpot webhook event has a subscriptionType")
        merged = item.get("mergedObjectIds") or ()
        object_id = item.get("objectId", item.get("primaryObjectId", ""))
        primary = item.get("primaryObjectId")
        value = item.get("propertyValue")
        events.append(
            WebhookEvent(
                subscription_type=str(item["subscriptionType"]),
                object_id=str(object_id),
                occurred_at=int(item.get("occurredAt") or 0) * 1000,
                property_name=item.get("propertyName"),
                property_value=None if value is None else str(value),
                event_id=None if item.get("eventId") is None else str(item["eventId"]),
                merged_object_ids=tuple(str(i) for i in merged),
                primary_object_id=None if primary is None else str(primary),
                change_source=item.get("changeSource"),
                portal_id=item.get("portalId"),
            )
        )
    return events


# --- values ----------------------------------------------------------------------------------


def to_hubspot(value: Value) -> str:
    """HubSpot takes every property value as text; an empty string clears it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def from_hubspot(value: Any, kind: str | None) -> Value:
    """A property value as read (always text) as a JSON scalar of the property's type."""
    if value is None or value == "":
        return None
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    if kind == "number":
        try:
            return int(text) if re.fullmatch(r"-?\d+", text) else float(text)
        except ValueError:
            return text
    if kind == "bool":
        return text.lower() == "true"
    return text


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _invalid_properties(message: str) -> list[dict[str, Any]]:
    """The per-property verdicts of HubSpot's "Property values were not valid: [...]"."""
    start = message.find(_INVALID_PREFIX)
    if start < 0:
        return []
    try:
        items = json.loads(message[start + len(_INVALID_PREFIX) :])
    except ValueError:
        return []
    return [i for i in items if isinstance(i, dict) and isinstance(i.get("name"), str)]


# --- cursor ----------------------------------------------------------------------------------


class _State:
    """Where a read is: the search watermark `t` (ms) with the ids already returned at `t`,
    whether `t` itself is done (`strict`), a tie drain of `t` in id order (`tie_after`), and
    the archived listing's own watermark and paging token."""

    def __init__(self, raw: str | None) -> None:
        data: dict[str, Any] = json.loads(raw) if raw else {}
        self.t: int | None = data.get("t")
        self.seen: set[str] = set(data.get("b", ()))
        self.strict: bool = bool(data.get("s", False))
        self.tie_after: int | None = data.get("a")
        self.phase: str = data.get("p", "search")
        self.arch_since: int | None = data.get("at")
        self.arch_after: str | None = data.get("aa")
        self.arch_high: int | None = data.get("ah")
        self.arch_seen: set[str] = set(data.get("ab", ()))
        self.arch_high_ids: set[str] = set(data.get("ahb", ()))

    def dump(self) -> str:
        data: dict[str, Any] = {"v": 1, "t": self.t, "b": sorted(self.seen), "s": self.strict}
        if self.tie_after is not None:
            data["a"] = self.tie_after
        data["p"] = self.phase
        data["at"] = self.arch_since
        if self.arch_after is not None:
            data["aa"] = self.arch_after
        if self.arch_high is not None:
            data["ah"] = self.arch_high
            data["ahb"] = sorted(self.arch_high_ids)
        if self.arch_seen:
            data["ab"] = sorted(self.arch_seen)
        return json.dumps(data, separators=(",", ":"))


# --- the connector ---------------------------------------------------------------------------


class HubSpotConnector:
    """HubSpot through a private app's access token (Authorization: Bearer)."""

    name = "hubspot"
    batch_size = BATCH_SIZE

    def __init__(
        self,
        *,
        access_token: str,
        base_url: str = BASE_URL,
        client_secret: str | None = None,
        fields: Mapping[str, Sequence[str]] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_wait: float = 60.0,
        page_size: int = 100,
        read_deals: bool = True,
        read_archived: bool = True,
        time_zone: str = "UTC",
        property_group: str = "leadscore",
        timeout: float = 30.0,
    ) -> None:
        if not 1 <= page_size <= SEARCH_MAX_LIMIT:
            raise ValueError(f"page_size must be 1..{SEARCH_MAX_LIMIT} (HubSpot's search limit)")
        self.access_token = access_token
        self.client_secret = client_secret
        self.fields = fields
        self.page_size = page_size
        self.read_deals = read_deals
        self.read_archived = read_archived
        self.time_zone = time_zone
        self.property_group = property_group
        self.limits: dict[str, int] = {}
        """The last X-HubSpot-RateLimit-* headers seen (lower-case names without prefix)."""
        self._daily_until = 0.0
        self._pause_until = 0.0
        self._types: dict[str, dict[str, str]] = {}
        self.http = Http(
            base_url=base_url,
            headers=lambda: {"Authorization": f"Bearer {self.access_token}"},
            transport=transport,
            timeout=timeout,
            max_wait=max_wait,
            sleep=sleep,
            clock=clock,
            observe=self._observe,
        )

    # --- the protocol ----------------------------------------------------------------------

    def people_objects(self) -> tuple[str, ...]:
        return ("contacts",)

    def deal_objects(self) -> tuple[str, ...]:
        return ("deals",) if self.read_deals else ()

    def id_source(self, object: str) -> str:
        return "hubspot" if object == "contacts" else f"hubspot_{object.rstrip('s')}"

    def close(self) -> None:
        self.http.close()

    def read(self, object: str, cursor: str | None) -> Iterator[Page]:
        state = _State(cursor)
        properties = self._properties(object)
        last: str | None = None
        if state.phase == "search":
            while True:
                rows, done = self._search_page(object, state, properties)
                if done:
                    state.phase = "archived" if self.read_archived else "search"
                records = self._records(object, rows)
                if records:
                    last = state.dump()
                    yield Page(records, last)
                if done:
                    break
        if state.phase == "archived":
            while True:
                records, more = self._archived_page(object, state)
                if not more:
                    state.phase = "search"
                    state.arch_after = None
                    if state.arch_high is not None:
                        state.arch_since, state.arch_seen = state.arch_high, state.arch_high_ids
                        state.arch_high, state.arch_high_ids = None, set()
                if records:
                    last = state.dump()
                    yield Page(records, last)
                if not more:
                    break
        final = state.dump()
        if final != last:
            yield Page([], final)

    def fetch(self, object: str, ids: Sequence[str]) -> list[Person]:
        properties = self._properties(object)
        found: dict[str, Person] = {}
        unique = list(dict.fromkeys(str(i) for i in ids))
        for start in range(0, len(unique), BATCH_SIZE):
            chunk = unique[start : start + BATCH_SIZE]
            response = self._call(
                "POST",
                f"/crm/v3/objects/{object}/batch/read",
                json_body={"inputs": [{"id": i} for i in chunk], "properties": properties},
                ok=(207,),
            )
            for row in _body(response).get("results", []):
                person = self._person(object, row)
                found[person.id] = person
        return [found[i] for i in unique if i in found]

    def update(self, updates: Sequence[Update]) -> list[UpdateResult]:
        results: dict[int, UpdateResult] = {}
        halted: ConnectorError | None = None
        for object, chunk in self._chunks(updates):
            if halted is not None:
                for index, update in chunk:
                    results[index] = self._retry_later(update, halted)
                continue
            try:
                self._update_batch(object, chunk, results)
            except ConnectorError as exc:
                if not exc.retryable:
                    raise
                halted = exc  # slow down: the rest waits for the next round, none is dropped
                for index, update in chunk:
                    if index not in results:
                        results[index] = self._retry_later(update, exc)
        return [results[i] for i in range(len(updates))]

    def ensure_fields(self, object: str, fields: Sequence[FieldSpec]) -> list[str]:
        response = self._call("GET", f"/crm/v3/properties/{object}")
        existing = {p.get("name") for p in _body(response).get("results", [])}
        missing = [f for f in fields if f.name not in existing]
        if not missing:
            return []
        self._call(
            "POST",
            f"/crm/v3/properties/{object}/groups",
            json_body={"name": self.property_group, "label": "Leadscore", "displayOrder": -1},
            ok=(409,),  # the group is there already
        )
        created: list[str] = []
        for spec in missing:
            kind, field_type = _FIELD_TYPES[spec.type]
            response = self._call(
                "POST",
                f"/crm/v3/properties/{object}",
                json_body={
                    "name": spec.name,
                    "label": spec.label,
                    "type": kind,
                    "fieldType": field_type,
                    "groupName": self.property_group,
                    "description": spec.description,
                },
                ok=(409,),  # created meanwhile by someone else
            )
            if response.status_code != 409:
                created.append(spec.name)
        self._types.pop(object, None)
        return created

    def owners(self) -> dict[str, str]:
        owners: dict[str, str] = {}
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100}
            if after:
                params["after"] = after
            body = _body(self._call("GET", "/crm/v3/owners", params=params))
            for owner in body.get("results", []):
                email = owner.get("email")
                if email and not owner.get("archived"):
                    owners[str(email).lower()] = str(owner["id"])
            after = (body.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return owners

    def verify_webhook(
        self,
        method: str,
        uri: str,
        body: bytes | str,
        headers: Mapping[str, str],
        now_ms: int | None = None,
    ) -> bool:
        """`verify_signature_v3` with this app's client secret and the request's headers."""
        lower = {k.lower(): v for k, v in headers.items()}
        now = int(self.http.clock() * 1000) if now_ms is None else now_ms
        return verify_signature_v3(
            self.client_secret or "",
            method,
            uri,
            body,
            lower.get("x-hubspot-request-timestamp"),
            lower.get("x-hubspot-signature-v3"),
            now,
        )

    # --- calls and limits ------------------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        ok: Sequence[int] = (),
    ) -> httpx.Response:
        now = self.http.clock()
        if self._daily_until > now:
            raise RateLimited(
                f"HubSpot daily API limit spent; it resets at midnight ({self.time_zone})",
                self._daily_until - now,
            )
        if self._pause_until > now:  # the ten-secondly window is used up: let it roll
            wait = self._pause_until - now
            self._pause_until = 0.0
            self.http.waited += wait
            self.http.sleep(wait)
        return self.http.call(method, url, json_body=json_body, params=params, ok=ok)

    def _observe(self, response: httpx.Response) -> None:
        prefix = "x-hubspot-ratelimit-"
        for key, value in response.headers.items():
            if key.lower().startswith(prefix):
                with contextlib.suppress(ValueError):
                    self.limits[key.lower()[len(prefix) :]] = int(value)
        now = self.http.clock()
        if response.status_code == 429:
            if _body(response).get("policyName") == "DAILY":
                wait = seconds_to_midnight(now, self.time_zone)
                self._daily_until = now + wait
                raise RateLimited(f"HubSpot daily limit reached: {vendor_message(response)}", wait)
            return
        if response.status_code < 400:
            if response.headers.get("x-hubspot-ratelimit-daily-remaining") == "0":
                self._daily_until = now + seconds_to_midnight(now, self.time_zone)
            if response.headers.get("x-hubspot-ratelimit-remaining") == "0":
                interval = self.limits.get("interval-milliseconds", 10_000)
                self._pause_until = now + interval / 1000

    # --- reading ---------------------------------------------------------------------------

    def _properties(self, object: str) -> list[str]:
        if object == "deals":
            return list(dict.fromkeys(["hs_lastmodifieddate", *DEFAULT_FIELDS["deal_in"]]))
        extra = DEFAULT_FIELDS["in"] if self.fields is None else self.fields.get(object, ())
        return list(dict.fromkeys([*ALWAYS_READ, *extra]))

    def _property_types(self, object: str) -> dict[str, str]:
        if object not in self._types:
            try:
                body = _body(self._call("GET", f"/crm/v3/properties/{object}"))
            except ConnectorError as exc:
                if exc.retryable:
                    raise
                body = {}  # no schema scope: values stay text
            self._types[object] = {
                str(p["name"]): str(p.get("type", "string"))
                for p in body.get("results", [])
                if "name" in p
            }
        return self._types[object]

    def _search_page(
        self, object: str, state: _State, properties: list[str]
    ) -> tuple[list[dict[str, Any]], bool]:
        """One keyset window; the rows not returned before, and whether the search is done."""
        stamp = STAMP.get(object, "hs_lastmodifieddate")
        limit = self.page_size
        if state.tie_after is not None and state.t is not None:
            filters = [
                {"propertyName": stamp, "operator": "EQ", "value": str(state.t)},
                {"propertyName": "hs_object_id", "operator": "GT", "value": str(state.tie_after)},
            ]
            sorts = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        else:
            filters = []
            if state.t is not None:
                operator = "GT" if state.strict else "GTE"
                filters.append({"propertyName": stamp, "operator": operator, "value": str(state.t)})
            sorts = [{"propertyName": stamp, "direction": "ASCENDING"}]
        body = {
            "filterGroups": [{"filters": filters}] if filters else [],
            "sorts": sorts,
            "properties": properties,
            "limit": limit,
        }
        rows: list[dict[str, Any]] = _body(
            self._call("POST", f"/crm/v3/objects/{object}/search", json_body=body)
        ).get("results", [])
        full = len(rows) >= limit
        fresh: list[dict[str, Any]] = []
        if state.tie_after is not None:
            for row in rows:
                state.tie_after = max(state.tie_after, int(row["id"]))
                if str(row["id"]) not in state.seen:
                    fresh.append(row)
            if not full:  # the stamp is drained: go on strictly after it
                state.tie_after = None
                state.strict = True
                state.seen = set()
            return fresh, False
        before = state.t
        stuck = full and all(self._stamp(object, r) == before for r in rows)
        for row in rows:
            ms = self._stamp(object, row)
            ident = str(row["id"])
            if state.t is not None and ms == state.t and ident in state.seen:
                continue
            fresh.append(row)
            if ms is None:
                continue
            if state.t is None or ms > state.t:
                state.t, state.seen, state.strict = ms, {ident}, False
            elif ms == state.t:
                state.seen.add(ident)
        if full and (stuck or len(state.seen) >= limit):
            state.tie_after = 0  # more records share this stamp than a page holds
            return fresh, False
        return fresh, not full

    def _archived_page(self, object: str, state: _State) -> tuple[list[Record], bool]:
        params: dict[str, Any] = {"archived": "true", "limit": 100}
        if object == "contacts":
            params["properties"] = "email"
        if state.arch_after:
            params["after"] = state.arch_after
        body = _body(self._call("GET", f"/crm/v3/objects/{object}", params=params))
        records: list[tuple[int, Record]] = []
        for row in body.get("results", []):
            when = parse_stamp(row.get("archivedAt")) or parse_stamp(row.get("updatedAt")) or 0
            ident = str(row["id"])
            if state.arch_since is not None and (
                when < state.arch_since or (when == state.arch_since and ident in state.arch_seen)
            ):
                continue  # reported by an earlier pass
            if state.arch_high is None or when > state.arch_high:
                state.arch_high, state.arch_high_ids = when, {ident}
            elif when == state.arch_high:
                state.arch_high_ids.add(ident)
            record: Record
            if object in STAMP and object != "contacts":
                record = Deal(object, ident, (), "open", None, None, when * 1000, deleted=True)
            else:
                email = (row.get("properties") or {}).get("email") or None
                record = Person(object, ident, email, {}, when * 1000, deleted=True)
            records.append((when, record))
        records.sort(key=lambda pair: pair[0])
        state.arch_after = (body.get("paging") or {}).get("next", {}).get("after")
        return [r for _, r in records], bool(state.arch_after)

    def _stamp(self, object: str, row: Mapping[str, Any]) -> int | None:
        properties = row.get("properties") or {}
        return parse_stamp(properties.get(STAMP.get(object, "hs_lastmodifieddate"))) or (
            parse_stamp(row.get("updatedAt"))
        )

    def _records(self, object: str, rows: list[dict[str, Any]]) -> list[Record]:
        if not rows:
            return []
        if object == "deals":
            people = self._deal_contacts([str(r["id"]) for r in rows])
            return [self._deal(row, people.get(str(row["id"]), ())) for row in rows]
        return [self._person(object, row) for row in rows]

    def _person(self, object: str, row: Mapping[str, Any]) -> Person:
        types = self._property_types(object)
        properties = row.get("properties") or {}
        fields = {name: from_hubspot(value, types.get(name)) for name, value in properties.items()}
        email = properties.get("email") or None
        return Person(
            object=object,
            id=str(row["id"]),
            email=None if email is None else str(email),
            fields=fields,
            modified_at=(self._stamp(object, row) or 0) * 1000,
            deleted=bool(row.get("archived", False)),
        )

    def _deal(self, row: Mapping[str, Any], people: tuple[tuple[str, str], ...]) -> Deal:
        properties = row.get("properties") or {}
        won = str(properties.get("hs_is_closed_won") or "").lower() == "true"
        closed = won or str(properties.get("hs_is_closed") or "").lower() == "true"
        amount = from_hubspot(properties.get("amount"), "number")
        closed_ms = parse_stamp(properties.get("closedate")) if closed else None
        return Deal(
            object="deals",
            id=str(row["id"]),
            people=people,
            status="won" if won else "lost" if closed else "open",
            amount=float(amount) if isinstance(amount, int | float) else None,
            closed_at=None if closed_ms is None else closed_ms * 1000,
            modified_at=(self._stamp("deals", row) or 0) * 1000,
            stage=properties.get("dealstage"),
        )

    def _deal_contacts(self, ids: list[str]) -> dict[str, tuple[tuple[str, str], ...]]:
        """The contacts of each deal (associations v4 batch read; its first page of 500)."""
        people: dict[str, tuple[tuple[str, str], ...]] = {}
        for start in range(0, len(ids), 1000):
            response = self._call(
                "POST",
                "/crm/v4/associations/deals/contacts/batch/read",
                json_body={"inputs": [{"id": i} for i in ids[start : start + 1000]]},
                ok=(207,),
            )
            for result in _body(response).get("results", []):
                source = str((result.get("from") or {}).get("id"))
                people[source] = tuple(
                    ("contacts", str(to["toObjectId"])) for to in result.get("to", [])
                )
        return people

    # --- writing ---------------------------------------------------------------------------

    @staticmethod
    def _chunks(updates: Sequence[Update]) -> Iterator[tuple[str, list[tuple[int, Update]]]]:
        """Batches of at most 100 inputs of one object, never the same id twice in one batch
        (HubSpot refuses duplicate ids in a batch)."""
        open_chunks: dict[str, tuple[list[tuple[int, Update]], set[str]]] = {}
        for index, update in enumerate(updates):
            chunk, ids = open_chunks.setdefault(update.object, ([], set()))
            if len(chunk) >= BATCH_SIZE or update.id in ids:
                yield update.object, chunk
                chunk, ids = [], set()
                open_chunks[update.object] = (chunk, ids)
            chunk.append((index, update))
            ids.add(update.id)
        for object, (chunk, _) in open_chunks.items():
            if chunk:
                yield object, chunk

    @staticmethod
    def _retry_later(update: Update, exc: ConnectorError) -> UpdateResult:
        return UpdateResult(update.key, False, exc.message, True, exc.retry_after)

    def _update_batch(
        self, object: str, items: list[tuple[int, Update]], results: dict[int, UpdateResult]
    ) -> None:
        items = [(i, u) for i, u in items if i not in results]
        for index, update in items:
            if not update.fields:  # nothing to write; HubSpot refuses an empty update
                results[index] = UpdateResult(update.key, True)
        items = [(i, u) for i, u in items if i not in results]
        if not items:
            return
        body = {
            "inputs": [
                {"id": u.id, "properties": {k: to_hubspot(v) for k, v in u.fields.items()}}
                for _, u in items
            ]
        }
        response = self._call(
            "POST",
            f"/crm/v3/objects/{object}/batch/update",
            json_body=body,
            ok=(207, 400, 404, 409),
        )
        data = _body(response)
        if response.status_code in (200, 201, 207):
            failed: dict[str, str] = {}
            for error in data.get("errors", []) or []:
                for ident in (error.get("context") or {}).get("ids", []) or []:
                    failed[str(ident)] = str(error.get("message") or "not updated")
            for index, update in items:
                message = failed.get(update.id)
                results[index] = UpdateResult(update.key, message is None, message)
            return
        self._isolate(object, items, response, data, results)

    def _isolate(
        self,
        object: str,
        items: list[tuple[int, Update]],
        response: httpx.Response,
        data: dict[str, Any],
        results: dict[int, UpdateResult],
    ) -> None:
        """A refused batch: fail the inputs HubSpot's answer names, write the rest again, and
        halve what cannot be told apart until each bad input stands alone."""
        message = vendor_message(response)
        by_name: dict[str, list[dict[str, Any]]] = {}
        for verdict in _invalid_properties(str(data.get("message") or "")):
            by_name.setdefault(str(verdict["name"]), []).append(verdict)

        def verdicts(update: Update) -> list[dict[str, Any]]:
            return [v for name in update.fields for v in by_name.get(name, [])]

        def reason(found: list[dict[str, Any]]) -> str:
            texts = dict.fromkeys(str(v.get("message") or v.get("error")) for v in found)
            return "; ".join(texts) if texts else message

        if len(items) == 1:
            index, update = items[0]
            results[index] = UpdateResult(update.key, False, reason(verdicts(update)))
            return
        named = {str(i) for i in (data.get("context") or {}).get("ids", []) or []}
        suspects: list[tuple[int, Update]] = []
        rest: list[tuple[int, Update]] = []
        for index, update in items:
            found = verdicts(update)
            if update.id in named:
                results[index] = UpdateResult(update.key, False, message)
            elif any(v.get("error") in _SURE_BAD for v in found):
                sure = [v for v in found if v.get("error") in _SURE_BAD]
                results[index] = UpdateResult(update.key, False, reason(sure))
            elif found:  # a bad value, but whose is not said: halve the suspects
                suspects.append((index, update))
            else:
                rest.append((index, update))
        if len(rest) == len(items):  # nothing identified: halve the whole batch
            half = len(items) // 2
            self._update_batch(object, items[:half], results)
            self._update_batch(object, items[half:], results)
            return
        if rest:
            self._update_batch(object, rest, results)
        if len(suspects) == 1:
            self._update_batch(object, suspects, results)
        elif suspects:
            half = len(suspects) // 2
            self._update_batch(object, suspects[:half], results)
            self._update_batch(object, suspects[half:], results)
