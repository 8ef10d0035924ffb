"""A local HubSpot: CRM v3 contacts and deals, properties, owners, associations v4, rate limits
and signed webhooks, as HubSpot's documentation and published OpenAPI specs describe them.

What it reproduces (sources in docs/connectors-hubspot.md): private-app bearer tokens and the
401 `INVALID_AUTHENTICATION` body; search with `filterGroups`, one sort, `limit` of at most
200, the numeric `after` paging token and the 10,000-result cap (400 past it), no archived
records in search; batch read/update of at most 100 inputs (207 with `OBJECT_NOT_FOUND` and
`context.ids` for missing or archived ids; 400 `VALIDATION_ERROR` "Property values were not
valid" for an unknown or read-only property or a bad number, failing the whole batch; 400 for
duplicate ids); property and property-group creation (409 when present); owners with paging;
the `X-HubSpot-RateLimit-*` headers on every answer and 429 with `policyName` DAILY or
TEN_SECONDLY_ROLLING, the search endpoints' own per-second limit; webhook requests signed
with `X-HubSpot-Signature-v3`.

Records are kept in memory with their modification stamps in a sorted index, so a search
window or a batch costs O(page · log n) however many contacts there are.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadscore.connectors.base import Connector, Value
from leadscore.connectors.hubspot import HubSpotConnector, sign_v3
from leadscore.testing.fakes.server import FakeServer

Handler = Callable[[Request], Awaitable[Response]]

OBJECT_ALIASES = {"contacts": "contacts", "0-1": "contacts", "deals": "deals", "0-3": "deals"}
STAMP_PROPERTY = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}
READ_ONLY = {"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"}
SEARCH_DEFAULTS = {
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
}
ALWAYS_RETURNED = {
    "contacts": ("createdate", "hs_object_id", "lastmodifieddate"),
    "deals": ("createdate", "hs_object_id", "hs_lastmodifieddate"),
}
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
DEAL_STAGES = {"open": "appointmentscheduled", "won": "closedwon", "lost": "closedlost"}
MAX_INT = 2**63


def _prop(
    name: str,
    label: str,
    type: str = "string",
    field_type: str = "text",
    group: str = "contactinformation",
    *,
    options: Sequence[str] = (),
    hubspot_defined: bool = True,
    description: str = "",
) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": type,
        "fieldType": field_type,
        "groupName": group,
        "description": description,
        "options": [
            {"label": o, "value": o, "displayOrder": n, "hidden": False}
            for n, o in enumerate(options)
        ],
        "hubspotDefined": hubspot_defined,
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": name in READ_ONLY,
        },
        "formField": False,
        "hidden": False,
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "archived": False,
        "hasUniqueValue": False,
    }


def _contact_properties() -> dict[str, dict[str, Any]]:
    stages = (
        "subscriber",
        "lead",
        "marketingqualifiedlead",
        "salesqualifiedlead",
        "opportunity",
        "customer",
        "evangelist",
        "other",
    )
    props = [
        _prop("email", "Email"),
        _prop("firstname", "First Name"),
        _prop("lastname", "Last Name"),
        _prop("company", "Company Name"),
        _prop("jobtitle", "Job Title"),
        _prop("industry", "Industry"),
        _prop("numemployees", "Number of Employees", "enumeration", "select"),
        _prop("country", "Country/Region"),
        _prop("city", "City"),
        _prop("phone", "Phone Number", "string", "phonenumber"),
        _prop("website", "Website URL"),
        _prop("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", options=stages),
        _prop("hubspot_owner_id", "Contact owner", "enumeration", "select"),
        _prop("hs_lead_status", "Lead Status", "enumeration", "radio"),
        _prop("createdate", "Create Date", "datetime", "date"),
        _prop("lastmodifieddate", "Last Modified Date", "datetime", "date"),
        _prop("hs_object_id", "Record ID", "number", "number"),
    ]
    return {p["name"]: p for p in props}


def _deal_properties() -> dict[str, dict[str, Any]]:
    props = [
        _prop("dealname", "Deal Name", group="dealinformation"),
        _prop("amount", "Amount", "number", "number", "dealinformation"),
        _prop(
            "dealstage",
            "Deal Stage",
            "enumeration",
            "radio",
            "dealinformation",
            options=tuple(DEAL_STAGES.values()),
        ),
        _prop("pipeline", "Pipeline", "enumeration", "select", "dealinformation"),
        _prop("closedate", "Close Date", "datetime", "date", "dealinformation"),
        _prop("hs_is_closed_won", "Is closed won", "bool", "booleancheckbox", "dealinformation"),
        _prop("hs_is_closed", "Is Deal Closed?", "bool", "booleancheckbox", "dealinformation"),
        _prop("hubspot_owner_id", "Deal owner", "enumeration", "select", "dealinformation"),
        _prop("createdate", "Create Date", "datetime", "date", "dealinformation"),
        _prop("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "dealinformation"),
        _prop("hs_object_id", "Record ID", "number", "number", "dealinformation"),
    ]
    return {p["name"]: p for p in props}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{ms % 1000:03d}Z"
    )


def _ms(value: Any) -> int | None:
    """A filter or property value as epoch ms (HubSpot takes ms or ISO 8601 for dates)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        return int(float(text))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@dataclass
class _Record:
    id: int
    props: dict[str, str]
    created: int
    updated: int
    archived_at: int | None = None


@dataclass
class _Store:
    """One object's records, with live ones indexed by (modification stamp, id)."""

    stamp_property: str
    properties: dict[str, dict[str, Any]]
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[int, _Record] = field(default_factory=dict)
    index: list[tuple[int, int]] = field(default_factory=list)
    archived: list[int] = field(default_factory=list)

    def put(self, record: _Record, stamp: int) -> None:
        if record.id in self.records and record.archived_at is None:
            key = (record.updated, record.id)
            at = bisect.bisect_left(self.index, key)
            if at < len(self.index) and self.index[at] == key:
                del self.index[at]
        record.updated = stamp
        record.props[self.stamp_property] = str(stamp)
        self.records[record.id] = record
        key = (stamp, record.id)
        if not self.index or self.index[-1] < key:
            self.index.append(key)
        else:
            bisect.insort(self.index, key)

    def archive(self, record: _Record, stamp: int) -> None:
        key = (record.updated, record.id)
        at = bisect.bisect_left(self.index, key)
        if at < len(self.index) and self.index[at] == key:
            del self.index[at]
        record.archived_at = stamp
        bisect.insort(self.archived, record.id)

    def live(self, ident: Any) -> _Record | None:
        try:
            record = self.records.get(int(str(ident)))
        except ValueError:
            return None
        return record if record is not None and record.archived_at is None else None


class _Refusal(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body


@dataclass
class FakeHubSpot(FakeServer):
    """HubSpot's CRM API on 127.0.0.1 (see the module docstring for what it reproduces).

    Limits are configurable so a test can reach them: `daily_limit` (the private app's calls a
    day, reset at midnight in `time_zone`), `burst_limit` per ten seconds (enforced only with
    `enforce_burst`; the headers always count), `search_per_second` (None: not enforced),
    `search_cap` (10,000), `batch_limit` (100) and `max_search_limit` (200)."""

    access_token: str = "pat-na1-11111111-2222-3333-4444-555555555555"
    client_secret: str = "fake-hubspot-client-secret"
    app_id: int = 1160452
    portal_id: int = 62515
    time_zone: str = "UTC"
    daily_limit: int = 1_000_000
    burst_limit: int = 190
    burst_interval_ms: int = 10_000
    enforce_burst: bool = False
    search_per_second: int | None = None
    search_cap: int = 10_000
    batch_limit: int = 100
    max_search_limit: int = 200
    person_object: str = "contacts"
    stores: dict[str, _Store] = field(default_factory=dict)
    associations: dict[int, list[int]] = field(default_factory=dict)
    owners_by_id: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    """Webhook events recorded as records change; `webhook_request()` sends and clears them."""
    _next_id: int = 101
    _last_stamp: int = 0
    _day: str = ""
    _daily_used: int = 0
    _burst: deque[float] = field(default_factory=deque)
    _search: deque[float] = field(default_factory=deque)
    _update_calls: int = 0
    _event_id: int = 1

    def __post_init__(self) -> None:
        self.stores = {
            "contacts": _Store("lastmodifieddate", _contact_properties()),
            "deals": _Store("hs_lastmodifieddate", _deal_properties()),
        }
        for store, groups in (
            (self.stores["contacts"], ("contactinformation",)),
            (self.stores["deals"], ("dealinformation",)),
        ):
            for name in groups:
                store.groups[name] = {
                    "name": name,
                    "label": name.title(),
                    "displayOrder": -1,
                    "archived": False,
                }

    # --- the seeding and inspection interface ------------------------------------------------

    def _stamp(self) -> int:
        with self.lock:
            self._last_stamp = max(int(time.time() * 1000), self._last_stamp + 1)
            return self._last_stamp

    def _store(self, object: str | None) -> _Store:
        name = OBJECT_ALIASES.get(object or self.person_object)
        if name is None:
            raise KeyError(f"FakeHubSpot has no object {object!r}")
        return self.stores[name]

    def _text(self, store: _Store, name: str, value: Value) -> str:
        """A seeded value as HubSpot keeps it (text); unknown properties are defined as text."""
        if name not in store.properties:
            store.properties[name] = _prop(name, name, hubspot_defined=False)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def _event(self, subscription: str, object_id: int, **extra: Any) -> None:
        self.events.append(
            {
                "eventId": self._event_id,
                "subscriptionId": 1,
                "portalId": self.portal_id,
                "appId": self.app_id,
                "occurredAt": self._last_stamp or int(time.time() * 1000),
                "subscriptionType": subscription,
                "attemptNumber": 0,
                "objectId": object_id,
                "changeSource": "CRM",
                **extra,
            }
        )
        self._event_id += 1

    def add_person(
        self,
        email: str | None,
        fields: Mapping[str, Value] | None = None,
        *,
        object: str | None = None,
    ) -> str:
        with self.lock:
            store = self._store(object)
            stamp = self._stamp()
            ident = self._next_id
            self._next_id += 1
            props = {"hs_object_id": str(ident), "createdate": str(stamp)}
            if email is not None:
                props["email"] = email
            for name, value in (fields or {}).items():
                props[name] = self._text(store, name, value)
            store.put(_Record(ident, props, stamp, stamp), stamp)
            kind = "contact" if store is self.stores["contacts"] else "deal"
            self._event(f"{kind}.creation", ident)
            return str(ident)

    def change_person(
        self, id: str, fields: Mapping[str, Value], *, object: str | None = None
    ) -> None:
        with self.lock:
            store = self._store(object)
            record = store.live(id)
            if record is None:
                raise KeyError(f"no live record {id}")
            for name, value in fields.items():
                record.props[name] = self._text(store, name, value)
            store.put(record, self._stamp())
            kind = "contact" if store is self.stores["contacts"] else "deal"
            for name in fields:
                self._event(
                    f"{kind}.propertyChange",
                    record.id,
                    propertyName=name,
                    propertyValue=record.props[name],
                )

    def set_modified(self, id: str, stamp_ms: int, *, object: str | None = None) -> None:
        """Give a record an exact modification stamp (to build ties, as imports do)."""
        with self.lock:
            store = self._store(object)
            record = store.live(id)
            if record is None:
                raise KeyError(f"no live record {id}")
            store.put(record, stamp_ms)

    def delete_person(self, id: str, *, object: str | None = None) -> None:
        with self.lock:
            store = self._store(object)
            record = store.live(id)
            if record is None:
                raise KeyError(f"no live record {id}")
            store.archive(record, self._stamp())
            kind = "contact" if store is self.stores["contacts"] else "deal"
            self._event(f"{kind}.deletion", record.id)

    def person_fields(self, id: str, *, object: str | None = None) -> dict[str, Value]:
        with self.lock:
            store = self._store(object)
            record = store.records[int(id)]
            return {name: self._typed(store, name, value) for name, value in record.props.items()}

    @staticmethod
    def _typed(store: _Store, name: str, value: str) -> Value:
        if value == "":
            return None
        kind = store.properties.get(name, {}).get("type")
        if name in READ_ONLY and kind == "datetime":
            return _iso(int(value))
        if kind == "number":
            number = _number(value)
            if number is None:
                return value
            return int(number) if number.is_integer() and "." not in value else number
        if kind == "bool":
            return value == "true"
        return value

    def add_deal(
        self,
        people: Sequence[str],
        status: str,
        amount: float | None = None,
        *,
        closed_at: int | None = None,
    ) -> str:
        if status not in DEAL_STAGES:
            raise ValueError(f"status is open, won or lost, not {status!r}")
        with self.lock:
            store = self.stores["deals"]
            stamp = self._stamp()
            ident = self._next_id
            self._next_id += 1
            closed = status != "open"
            props = {
                "hs_object_id": str(ident),
                "createdate": str(stamp),
                "dealname": f"Deal {ident}",
                "pipeline": "default",
                "dealstage": DEAL_STAGES[status],
                "hs_is_closed": "true" if closed else "false",
                "hs_is_closed_won": "true" if status == "won" else "false",
                "amount": "" if amount is None else self._text(store, "amount", amount),
            }
            if closed:
                props["closedate"] = str(stamp if closed_at is None else closed_at // 1000)
            store.put(_Record(ident, props, stamp, stamp), stamp)
            self.associations[ident] = [int(p) for p in people]
            self._event("deal.creation", ident)
            return str(ident)

    def add_owner(self, email: str, name: str = "") -> str:
        with self.lock:
            ident = self._next_id
            self._next_id += 1
            first, _, last = name.partition(" ")
            now = _iso(self._stamp())
            self.owners_by_id[ident] = {
                "id": str(ident),
                "email": email,
                "type": "PERSON",
                "firstName": first,
                "lastName": last,
                "userId": ident * 7,
                "userIdIncludingInactive": ident * 7,
                "createdAt": now,
                "updatedAt": now,
                "archived": False,
                "teams": [],
            }
            return str(ident)

    def secrets(self) -> dict[str, str]:
        """The connector's secrets that this fake accepts (for a secrets file)."""
        return {"access_token": self.access_token, "client_secret": self.client_secret}

    def connector(self, **options: Any) -> Connector:
        return HubSpotConnector(
            base_url=self.url,
            access_token=self.access_token,
            client_secret=self.client_secret,
            **options,
        )

    def expire_tokens(self) -> None:
        """Private app access tokens do not expire (rotating one is a user's act): no-op."""

    def update_calls(self) -> int:
        with self.lock:
            return self._update_calls

    def webhook_request(
        self,
        events: Sequence[Mapping[str, Any]] | None = None,
        uri: str = "https://example.com/webhooks/hubspot",
        *,
        timestamp_ms: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """The headers and body HubSpot would POST to `uri` for `events` (default: the events
        recorded since the last call), signed v3 (and v1) with the app's client secret."""
        with self.lock:
            if events is None:
                chosen = list(self.events)
                self.events.clear()
            else:
                chosen = []
                for event in events:
                    base = {
                        "eventId": self._event_id,
                        "subscriptionId": 1,
                        "portalId": self.portal_id,
                        "appId": self.app_id,
                        "occurredAt": int(time.time() * 1000),
                        "attemptNumber": 0,
                        "changeSource": "CRM",
                    }
                    self._event_id += 1
                    chosen.append({**base, **event})
        body = json.dumps(chosen, separators=(",", ":")).encode()
        stamp = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
        v1 = hashlib.sha256(self.client_secret.encode() + body).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-HubSpot-Signature-v3": sign_v3(self.client_secret, "POST", uri, body, stamp),
            "X-HubSpot-Request-Timestamp": stamp,
            "X-HubSpot-Signature": v1,
            "X-HubSpot-Signature-Version": "v1",
        }
        return headers, body

    # --- errors ---------------------------------------------------------------------------

    @staticmethod
    def error(message: str, category: str, **extra: Any) -> dict[str, Any]:
        return {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": category,
            **extra,
        }

    def fault_body(self, status: int) -> Any:
        if status == 429:
            return self._rate_body("TEN_SECONDLY_ROLLING", "ten_secondly_rolling")
        if status == 401:
            return self.error(AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        if status >= 500:
            return self.error("internal error", "INTERNAL_ERROR")
        return self.error(f"injected {status}", "VALIDATION_ERROR")

    @staticmethod
    def _rate_body(policy: str, name: str) -> dict[str, Any]:
        return {
            "status": "error",
            "message": f"You have reached your {name} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": policy,
            "requestId": str(uuid.uuid4()),
        }

    # --- limits and headers ---------------------------------------------------------------

    def _today(self) -> str:
        try:
            zone: Any = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = UTC
        return datetime.now(zone).date().isoformat()

    def _prune(self, window: deque[float], now: float, span: float) -> None:
        while window and window[0] <= now - span:
            window.popleft()

    def _limits(self, request: Request, search: bool) -> Response | None:
        """Authentication, then the daily, ten-secondly and search limits (None: go on)."""
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return JSONResponse(self.error(AUTH_MESSAGE, "INVALID_AUTHENTICATION"), 401)
        now = time.monotonic()
        with self.lock:
            today = self._today()
            if today != self._day:
                self._day, self._daily_used = today, 0
            if self._daily_used >= self.daily_limit:
                return JSONResponse(self._rate_body("DAILY", "daily"), 429)
            self._prune(self._burst, now, self.burst_interval_ms / 1000)
            self._prune(self._search, now, 1.0)
            if search:  # search is exempt from the ten-secondly limit and has its own
                if (
                    self.search_per_second is not None
                    and len(self._search) >= self.search_per_second
                ):
                    return JSONResponse(
                        self._rate_body("SECONDLY", "secondly"), 429, headers={"Retry-After": "1"}
                    )
                self._search.append(now)
            else:
                if self.enforce_burst and len(self._burst) >= self.burst_limit:
                    return JSONResponse(
                        self._rate_body("TEN_SECONDLY_ROLLING", "ten_secondly_rolling"),
                        429,
                        headers={"Retry-After": f"{self.burst_interval_ms / 1000:g}"},
                    )
                self._burst.append(now)
            self._daily_used += 1
        return None

    def _headers(self) -> dict[str, str]:
        now = time.monotonic()
        with self.lock:
            self._prune(self._burst, now, self.burst_interval_ms / 1000)
            used_second = sum(1 for t in self._burst if t > now - 1)
            secondly = max(1, self.burst_limit // (self.burst_interval_ms // 1000 or 1))
            return {
                "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
                "X-HubSpot-RateLimit-Daily-Remaining": str(
                    max(0, self.daily_limit - self._daily_used)
                ),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.burst_interval_ms),
                "X-HubSpot-RateLimit-Max": str(self.burst_limit),
                "X-HubSpot-RateLimit-Remaining": str(max(0, self.burst_limit - len(self._burst))),
                "X-HubSpot-RateLimit-Secondly": str(secondly),
                "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, secondly - used_second)),
            }

    def _guard(
        self, handler: Callable[[Request], Awaitable[Any]], *, search: bool = False
    ) -> Handler:
        async def endpoint(request: Request) -> Response:
            refused = self._limits(request, search)
            if refused is not None:
                return refused
            try:
                result = await handler(request)
            except _Refusal as refusal:
                return JSONResponse(refusal.body, refusal.status)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        return endpoint

    def app(self) -> Starlette:
        application = super().app()

        async def headers(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            response = await call_next(request)
            response.headers.update(self._headers())
            return response

        application.add_middleware(BaseHTTPMiddleware, dispatch=headers)
        return application

    # --- routes ----------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route(
                "/crm/v3/objects/{object}/search",
                self._guard(self._search_route, search=True),
                methods=["POST"],
            ),
            Route(
                "/crm/v3/objects/{object}/batch/read",
                self._guard(self._batch_read),
                methods=["POST"],
            ),
            Route(
                "/crm/v3/objects/{object}/batch/update",
                self._guard(self._batch_update),
                methods=["POST"],
            ),
            Route("/crm/v3/objects/{object}", self._guard(self._list), methods=["GET"]),
            Route(
                "/crm/v3/properties/{object}/groups",
                self._guard(self._groups),
                methods=["GET", "POST"],
            ),
            Route(
                "/crm/v3/properties/{object}",
                self._guard(self._properties),
                methods=["GET", "POST"],
            ),
            Route("/crm/v3/owners", self._guard(self._owners), methods=["GET"]),
            Route("/crm/v3/owners/", self._guard(self._owners), methods=["GET"]),
            Route(
                "/crm/v4/associations/{source}/{target}/batch/read",
                self._guard(self._associations),
                methods=["POST"],
            ),
        ]

    def _object(self, request: Request, key: str = "object") -> tuple[str, _Store]:
        raw = str(request.path_params[key])
        name = OBJECT_ALIASES.get(raw)
        if name is None:
            raise _Refusal(
                400, self.error(f"Unable to infer object type from: {raw}", "VALIDATION_ERROR")
            )
        return name, self.stores[name]

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            raise _Refusal(
                400, FakeHubSpot.error("Invalid input JSON on line 1", "VALIDATION_ERROR")
            ) from None
        if not isinstance(data, dict):
            raise _Refusal(400, FakeHubSpot.error("Invalid input JSON", "VALIDATION_ERROR"))
        return data

    def _view(
        self, name: str, store: _Store, record: _Record, wanted: Sequence[str] | None
    ) -> dict[str, Any]:
        names = list(wanted) if wanted else list(SEARCH_DEFAULTS[name])
        for always in ALWAYS_RETURNED[name]:
            if always not in names:
                names.append(always)
        properties: dict[str, Any] = {}
        for prop in names:
            if prop not in store.properties:
                continue  # HubSpot leaves unknown requested properties out
            value = record.props.get(prop)
            if value is not None and value != "" and store.properties[prop]["type"] == "datetime":
                value = _iso(int(value))
            properties[prop] = value if value != "" else None
        view: dict[str, Any] = {
            "id": str(record.id),
            "properties": properties,
            "createdAt": _iso(record.created),
            "updatedAt": _iso(record.updated),
            "archived": record.archived_at is not None,
        }
        if record.archived_at is not None:
            view["archivedAt"] = _iso(record.archived_at)
        return view

    # search ----------------------------------------------------------------------------------

    def _compare(self, store: _Store, record: _Record, flt: Mapping[str, Any]) -> bool:
        prop = str(flt.get("propertyName", ""))
        operator = str(flt.get("operator", "EQ")).upper()
        raw = record.props.get(prop, "")
        if operator == "HAS_PROPERTY":
            return raw != ""
        if operator == "NOT_HAS_PROPERTY":
            return raw == ""
        kind = store.properties.get(prop, {}).get("type", "string")

        def key(value: Any) -> Any:
            if kind in ("number", "datetime", "date"):
                return _ms(value) if kind != "number" else _number(str(value))
            return str(value).lower()

        if operator in ("IN", "NOT_IN"):
            values = {key(v) for v in flt.get("values", [])}
            inside = raw != "" and key(raw) in values
            return inside if operator == "IN" else not inside
        if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            token = str(flt.get("value", "")).lower().strip("*")
            found = token in raw.lower()
            return found if operator == "CONTAINS_TOKEN" else not found
        if raw == "":
            return operator == "NEQ"
        mine, theirs = key(raw), key(flt.get("value"))
        if mine is None or theirs is None:
            return False
        if operator == "EQ":
            return bool(mine == theirs)
        if operator == "NEQ":
            return bool(mine != theirs)
        if operator == "BETWEEN":
            high = key(flt.get("highValue"))
            return high is not None and bool(theirs <= mine <= high)
        comparisons = {
            "GT": lambda a, b: a > b,
            "GTE": lambda a, b: a >= b,
            "LT": lambda a, b: a < b,
            "LTE": lambda a, b: a <= b,
        }
        compare = comparisons.get(operator)
        if compare is None:
            raise _Refusal(
                400, self.error(f"Unknown filter operator {operator}", "VALIDATION_ERROR")
            )
        return bool(compare(mine, theirs))

    def _range(
        self, store: _Store, filters: list[Mapping[str, Any]]
    ) -> tuple[tuple[int, int], tuple[int, int], bool]:
        """The index keys a filter group's stamp (and, within one stamp, id) filters bound,
        and whether those are all its filters."""
        low, high = -MAX_INT, MAX_INT
        id_low, id_high = -MAX_INT, MAX_INT
        consumed = 0
        for flt in filters:
            prop, operator = flt.get("propertyName"), str(flt.get("operator", "")).upper()
            if prop == store.stamp_property:
                value = _ms(flt.get("value"))
                if value is None:
                    continue
                if operator in ("GTE", "GT", "EQ", "BETWEEN"):
                    low = max(low, value + (1 if operator == "GT" else 0))
                if operator in ("LTE", "LT", "EQ"):
                    high = min(high, value - (1 if operator == "LT" else 0))
                if operator == "BETWEEN":
                    top = _ms(flt.get("highValue"))
                    high = min(high, MAX_INT if top is None else top)
                consumed += operator in ("GTE", "GT", "EQ", "LTE", "LT", "BETWEEN")
            elif prop == "hs_object_id" and operator in ("GT", "GTE"):
                value = _ms(flt.get("value"))
                if value is not None:
                    id_low = max(id_low, value + (1 if operator == "GT" else 0))
                    consumed += 1
            elif prop == "hs_object_id" and operator in ("LT", "LTE"):
                value = _ms(flt.get("value"))
                if value is not None:
                    id_high = min(id_high, value - (1 if operator == "LT" else 0))
                    consumed += 1
        if low == high:  # one stamp: the id bounds narrow the key range too
            return (low, id_low), (high, id_high), consumed == len(filters)
        exact = consumed == len(filters) and id_low == -MAX_INT and id_high == MAX_INT
        return (low, -MAX_INT), (high, MAX_INT), exact

    async def _search_route(self, request: Request) -> dict[str, Any]:
        name, store = self._object(request)
        body = await self._json(request)
        limit = int(body.get("limit") or 10)
        if limit > self.max_search_limit or limit < 1:
            raise _Refusal(
                400,
                self.error(
                    f"Limit must be between 1 and {self.max_search_limit}, got {limit}",
                    "VALIDATION_ERROR",
                ),
            )
        try:
            after = int(body.get("after") or 0)
        except ValueError:
            raise _Refusal(
                400, self.error("Paging cursor must be numeric", "VALIDATION_ERROR")
            ) from None
        if after + limit > self.search_cap:
            raise _Refusal(
                400,
                self.error(
                    f"Search results are limited to {self.search_cap} total results; "
                    f"after {after} with limit {limit} pages beyond them",
                    "VALIDATION_ERROR",
                ),
            )
        groups = [g.get("filters", []) for g in body.get("filterGroups", []) or []]
        sorts = body.get("sorts", []) or []
        sort_prop, descending = None, False
        if sorts:
            first = sorts[0]
            if isinstance(first, str):
                sort_prop, descending = first.lstrip("-"), first.startswith("-")
            else:
                sort_prop = first.get("propertyName")
                descending = str(first.get("direction", "ASCENDING")).upper() == "DESCENDING"
        with self.lock:
            matches, total = self._find(store, groups, sort_prop, descending, after, limit)
            results = [self._view(name, store, r, body.get("properties")) for r in matches]
        answer: dict[str, Any] = {"total": total, "results": results}
        if after + len(results) < total:
            token = str(after + len(results))
            answer["paging"] = {"next": {"after": token, "link": f"?after={token}"}}
        return answer

    def _find(
        self,
        store: _Store,
        groups: list[list[Mapping[str, Any]]],
        sort_prop: str | None,
        descending: bool,
        after: int,
        limit: int,
    ) -> tuple[list[_Record], int]:
        index = store.index
        ordered_by_index = not descending and sort_prop in (None, store.stamp_property)
        if len(groups) <= 1:
            filters = groups[0] if groups else []
            low, high, exact = self._range(store, filters)
            start, stop = bisect.bisect_left(index, low), bisect.bisect_right(index, high)
            one_stamp = low[0] == high[0]
            if sort_prop == "hs_object_id" and one_stamp and not descending:
                ordered_by_index = True  # within one stamp the index is in id order
            if ordered_by_index and exact:
                keys = index[start + after : min(stop, start + after + limit)]
                return [store.records[k[1]] for k in keys], stop - start
            if ordered_by_index:
                found: list[_Record] = []
                total = 0
                for key in index[start:stop]:
                    record = store.records[key[1]]
                    if all(self._compare(store, record, f) for f in filters):
                        if after <= total < after + limit:
                            found.append(record)
                        total += 1
                return found, total
            candidates = [store.records[k[1]] for k in index[start:stop]]
        else:
            candidates = [store.records[k[1]] for k in index]
        chosen = [
            r
            for r in candidates
            if not groups or any(all(self._compare(store, r, f) for f in g) for g in groups)
        ]
        if sort_prop:
            kind = store.properties.get(sort_prop, {}).get("type")

            def order(record: _Record) -> tuple[Any, int]:
                raw = record.props.get(sort_prop, "")
                if kind in ("number", "datetime"):
                    return (_number(raw) or 0.0, record.id)
                return (raw.lower(), record.id)

            chosen.sort(key=order, reverse=descending)
        return chosen[after : after + limit], len(chosen)

    # batch -----------------------------------------------------------------------------------

    def _inputs(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise _Refusal(400, self.error("inputs is required", "VALIDATION_ERROR"))
        if len(inputs) > self.batch_limit:
            raise _Refusal(
                400,
                self.error(
                    f"Batch input size must be less than or equal to {self.batch_limit}, "
                    f"got {len(inputs)}",
                    "VALIDATION_ERROR",
                    context={"maxInputs": [str(self.batch_limit)]},
                ),
            )
        return [i for i in inputs if isinstance(i, dict)]

    def _missing(self, name: str, ids: list[str]) -> dict[str, Any]:
        kind = "CONTACT" if name == "contacts" else "DEAL"
        return {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": (
                f"Could not get some {kind} objects, they may be deleted or not exist. "
                "Check that ids are valid."
            ),
            "context": {"ids": ids},
            "errors": [],
            "links": {},
        }

    def _batch_answer(self, name: str, results: list[dict[str, Any]], missing: list[str]) -> Any:
        now = _iso(int(time.time() * 1000))
        answer: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": now,
            "completedAt": now,
        }
        if not missing:
            return answer
        answer["numErrors"] = 1
        answer["errors"] = [self._missing(name, missing)]
        return JSONResponse(answer, 207)

    async def _batch_read(self, request: Request) -> Any:
        name, store = self._object(request)
        body = await self._json(request)
        inputs = self._inputs(body)
        archived = request.query_params.get("archived", "false") == "true"
        if body.get("idProperty") not in (None, "hs_object_id"):
            raise _Refusal(400, self.error("Only record ids are supported", "VALIDATION_ERROR"))
        with self.lock:
            results, missing = [], []
            for item in inputs:
                ident = str(item.get("id", ""))
                record = store.records.get(int(ident)) if ident.isdigit() else None
                if record is None or (record.archived_at is not None) != archived:
                    missing.append(ident)
                else:
                    results.append(self._view(name, store, record, body.get("properties")))
        return self._batch_answer(name, results, missing)

    def _validate(self, store: _Store, props: Mapping[str, Any]) -> list[dict[str, Any]]:
        verdicts = []
        for prop, value in props.items():
            definition = store.properties.get(prop)
            error, text = None, ""
            if definition is None:
                error, text = "PROPERTY_DOESNT_EXIST", f'Property "{prop}" does not exist'
            elif prop in READ_ONLY:
                error, text = "READ_ONLY_VALUE", f'Property "{prop}" is a read only property'
            elif (
                definition["type"] == "number"
                and value not in (None, "")
                and _number(str(value)) is None
            ):
                error, text = "INVALID_FLOAT", f"{value} was not a valid number."
            if error:
                verdicts.append(
                    {
                        "isValid": False,
                        "message": text,
                        "error": error,
                        "name": prop,
                        "localizedErrorMessage": text,
                        "portalId": self.portal_id,
                    }
                )
        return verdicts

    async def _batch_update(self, request: Request) -> Any:
        name, store = self._object(request)
        body = await self._json(request)
        with self.lock:
            if name == OBJECT_ALIASES[self.person_object]:
                self._update_calls += 1
        inputs = self._inputs(body)
        ids = [str(i.get("id", "")) for i in inputs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise _Refusal(
                400,
                self.error(
                    f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique",
                    "VALIDATION_ERROR",
                    context={"ids": duplicates},
                ),
            )
        with self.lock:
            verdicts = []
            for item in inputs:
                props = item.get("properties") or {}
                if not props:
                    raise _Refusal(
                        400,
                        self.error(
                            "No properties found to update, please provide at least one.",
                            "VALIDATION_ERROR",
                        ),
                    )
                verdicts.extend(self._validate(store, props))
            if verdicts:
                text = json.dumps(verdicts, separators=(",", ":"))
                raise _Refusal(
                    400, self.error(f"Property values were not valid: {text}", "VALIDATION_ERROR")
                )
            results, missing = [], []
            for item in inputs:
                record = store.live(item.get("id"))
                if record is None:
                    missing.append(str(item.get("id")))
                    continue
                changed = []
                for prop, value in (item.get("properties") or {}).items():
                    text = self._text(store, prop, value)
                    if store.properties[prop]["type"] == "number" and text:
                        number = float(text)
                        text = str(int(number)) if number.is_integer() else repr(number)
                    if record.props.get(prop, "") != text:
                        changed.append(prop)
                    record.props[prop] = text
                if changed:
                    store.put(record, self._stamp())
                    for prop in changed:
                        self._event(
                            "contact.propertyChange"
                            if name == "contacts"
                            else "deal.propertyChange",
                            record.id,
                            propertyName=prop,
                            propertyValue=record.props[prop],
                            changeSource="INTEGRATION",
                        )
                results.append(self._view(name, store, record, list(item["properties"])))
        return self._batch_answer(name, results, missing)

    # listing ---------------------------------------------------------------------------------

    async def _list(self, request: Request) -> dict[str, Any]:
        name, store = self._object(request)
        query = request.query_params
        archived = query.get("archived", "false") == "true"
        limit = int(query.get("limit") or 10)
        if limit > 100 or limit < 1:
            raise _Refusal(400, self.error("limit must be 1..100", "VALIDATION_ERROR"))
        after = int(query.get("after") or 0)
        wanted = [p for v in query.getlist("properties") for p in v.split(",") if p]
        with self.lock:
            if archived:
                ids = store.archived
                start = bisect.bisect_left(ids, after)
                chosen = [store.records[i] for i in ids[start : start + limit + 1]]
            else:
                chosen = []
                for ident in sorted(store.records):
                    record = store.records[ident]
                    if ident >= after and record.archived_at is None:
                        chosen.append(record)
                        if len(chosen) > limit:
                            break
            more = len(chosen) > limit
            chosen = chosen[:limit]
            results = [self._view(name, store, r, wanted) for r in chosen]
        answer: dict[str, Any] = {"results": results}
        if more:
            token = str(chosen[-1].id + 1)
            answer["paging"] = {"next": {"after": token, "link": f"?after={token}"}}
        return answer

    async def _properties(self, request: Request) -> Any:
        _, store = self._object(request)
        if request.method == "GET":
            with self.lock:
                return {"results": list(store.properties.values())}
        body = await self._json(request)
        missing = [
            k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)
        ]
        if missing:
            raise _Refusal(
                400, self.error(f"Missing required fields: {missing}", "VALIDATION_ERROR")
            )
        name = str(body["name"])
        if (
            not name[:1].isalpha()
            or not all(c.isalnum() or c == "_" for c in name)
            or (name != name.lower())
        ):
            raise _Refusal(400, self.error(f"Invalid property name {name!r}", "VALIDATION_ERROR"))
        if body["type"] not in ("bool", "date", "datetime", "enumeration", "number", "string"):
            raise _Refusal(400, self.error(f"Invalid type {body['type']}", "VALIDATION_ERROR"))
        with self.lock:
            if name in store.properties:
                raise _Refusal(
                    409,
                    self.error(f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS"),
                )
            if body["groupName"] not in store.groups:
                raise _Refusal(
                    400,
                    self.error(
                        f"Property group {body['groupName']} does not exist", "VALIDATION_ERROR"
                    ),
                )
            prop = _prop(
                name,
                str(body["label"]),
                str(body["type"]),
                str(body["fieldType"]),
                str(body["groupName"]),
                hubspot_defined=False,
                description=str(body.get("description") or ""),
            )
            store.properties[name] = prop
        return JSONResponse(prop, 201)

    async def _groups(self, request: Request) -> Any:
        _, store = self._object(request)
        if request.method == "GET":
            with self.lock:
                return {"results": list(store.groups.values())}
        body = await self._json(request)
        name = str(body.get("name") or "")
        if not name or not body.get("label"):
            raise _Refusal(400, self.error("name and label are required", "VALIDATION_ERROR"))
        with self.lock:
            if name in store.groups:
                raise _Refusal(
                    409,
                    self.error(
                        f"A property group named '{name}' already exists.", "OBJECT_ALREADY_EXISTS"
                    ),
                )
            group = {
                "name": name,
                "label": str(body["label"]),
                "displayOrder": int(body.get("displayOrder", -1)),
                "archived": False,
            }
            store.groups[name] = group
        return JSONResponse(group, 201)

    async def _owners(self, request: Request) -> dict[str, Any]:
        query = request.query_params
        limit = min(int(query.get("limit") or 100), 500)
        after = int(query.get("after") or 0)
        email = query.get("email")
        with self.lock:
            owners = [
                o
                for i, o in sorted(self.owners_by_id.items())
                if i >= after and (email is None or o["email"] == email)
            ]
        page = owners[:limit]
        answer: dict[str, Any] = {"results": page}
        if len(owners) > limit:
            token = str(int(page[-1]["id"]) + 1)
            answer["paging"] = {"next": {"after": token, "link": f"?after={token}"}}
        return answer

    async def _associations(self, request: Request) -> Any:
        source = OBJECT_ALIASES.get(str(request.path_params["source"]))
        target = OBJECT_ALIASES.get(str(request.path_params["target"]))
        if source is None or target is None:
            raise _Refusal(400, self.error("Unknown object type", "VALIDATION_ERROR"))
        body = await self._json(request)
        inputs = body.get("inputs") or []
        if len(inputs) > 1000:
            raise _Refusal(
                400, self.error("Batch input size must be at most 1000", "VALIDATION_ERROR")
            )
        results = []
        with self.lock:
            for item in inputs:
                ident = int(str(item.get("id", "0")))
                if source == "deals" and target == "contacts":
                    linked = self.associations.get(ident, [])
                elif source == "contacts" and target == "deals":
                    linked = [d for d, people in self.associations.items() if ident in people]
                else:
                    linked = []
                type_id = 3 if source == "deals" else 4
                if linked:
                    results.append(
                        {
                            "from": {"id": str(ident)},
                            "to": [
                                {
                                    "toObjectId": other,
                                    "associationTypes": [
                                        {
                                            "category": "HUBSPOT_DEFINED",
                                            "typeId": type_id,
                                            "label": None,
                                        }
                                    ],
                                }
                                for other in linked
                            ],
                        }
                    )
        now = _iso(int(time.time() * 1000))
        return {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}


__all__ = ["FakeHubSpot"]
