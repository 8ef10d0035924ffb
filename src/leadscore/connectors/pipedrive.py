"""Pipedrive: persons and deals through API v2 (cursor paging, `updated_since`), leads through
API v1 (offset paging, sorted by `update_time`), custom fields addressed by their generated
40-hex keys, and Pipedrive's token-budget rate limits (§8).

Pipedrive has no batch update of persons, so `batch_size` is 1 and `update()` sends one PATCH
per record, in order. Its burst limit (a rolling 2-second window per token) is read from the
`x-ratelimit-*` headers of every response: when the window is spent the client sleeps until it
resets instead of collecting a 429. When the company's daily token budget is spent every
request is refused until the next day, so the client hands back `RateLimited` and the outbox
worker slows down instead of hammering (Pipedrive blocks integrations that keep sending after
429s). The token travels in the `x-api-token` header, never in a URL that could be logged.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

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

DEFAULT_BASE_URL: Final = "https://api.pipedrive.com"
"""Pipedrive's documented default; `https://{companydomain}.pipedrive.com` works as well."""

PERSONS: Final = "persons"
LEADS: Final = "leads"
DEALS: Final = "deals"
PERSON_FIELDS: Final = "personFields"
DEAL_FIELDS: Final = "dealFields"

PERSON_IN: Final = (
    "name",
    "first_name",
    "last_name",
    "org_name",
    "job_title",
    "label",
    "owner_id",
)
LEAD_IN: Final = (
    "title",
    "owner_id",
    "person_id",
    "organization_id",
    "org_name",
    "label_ids",
    "value",
    "currency",
    "source_name",
)
SCORE_OUT: Final = {
    "leadscore_score": "double",
    "leadscore_fit": "double",
    "leadscore_engagement": "double",
    "leadscore_grade": "varchar",
    "leadscore_tier": "varchar",
    "leadscore_stage": "varchar",
    "leadscore_url": "varchar",
}

DEFAULT_FIELDS: Final[Mapping[str, Any]] = {
    "in": {PERSONS: PERSON_IN, LEADS: LEAD_IN},
    "stage": {PERSONS: "label", LEADS: "label_ids"},
    "owner": "owner_id",
    "out": SCORE_OUT,
    "out_object": PERSONS,
}
"""Field names read (`in`, beyond email, ids and `update_time`), the stage field, the owner
field and the custom fields written (`out`, readable name → Pipedrive `field_type`). Scores
are written to persons; a lead's person is found through `Person.links`."""

CUSTOM_KEY = re.compile(r"^[0-9a-f]{40}$")
PAGE_MAX: Final = 500
IDS_MAX: Final = 100
CUSTOM_FIELDS_PARAM_MAX: Final = 15
BURST_WINDOW: Final = 2.0

_PERSON_ROOT_WRITE: Final = {
    "name": "str",
    "first_name": "str",
    "last_name": "str",
    "owner_id": "int",
    "org_id": "int",
    "visible_to": "int",
    "label_ids": "ints",
}
_LEAD_ROOT_WRITE: Final = {
    "title": "str",
    "owner_id": "int",
    "person_id": "int",
    "organization_id": "int",
    "label_ids": "strs",
    "expected_close_date": "str",
    "was_seen": "bool",
}
_FIELD_TYPES: Final = {"number": "double", "string": "varchar", "datetime": "varchar"}


class _Refused(Exception):
    """An update we cannot express in Pipedrive's terms (a field it does not have)."""


def to_micros(text: Any) -> int | None:
    """A Pipedrive time (RFC 3339 in v2, `2019-01-22 08:55:59` UTC in v1) as epoch µs."""
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def rfc3339(micros: int, *, millis: bool = False) -> str:
    when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    if millis:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_header(response: httpx.Response, name: str) -> int | None:
    raw = response.headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw.strip()))
    except ValueError:
        return None


def _scalar(value: Any) -> Value:
    """A field value as a plain JSON scalar: Pipedrive's `{value, currency}` and address
    objects give their `value`, lists their items joined by commas."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return _scalar(value.get("value"))
    if isinstance(value, list):
        parts = [_scalar(item) for item in value]
        return ",".join("" if part is None else str(part) for part in parts)
    return json.dumps(value)


def _id_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dict):  # v1 related objects: {"value": 12, "name": ...}
        value = value.get("value", value.get("id"))
    return None if value is None else str(value)


def _primary(items: Any) -> str | None:
    if not isinstance(items, list):
        return items if isinstance(items, str) and items else None
    values = [i for i in items if isinstance(i, dict) and i.get("value")]
    for item in values:
        if item.get("primary"):
            return str(item["value"])
    return str(values[0]["value"]) if values else None


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Fields:
    """One object's field definitions: readable name ↔ generated key, types, options."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.by_name: dict[str, str] = {}
        self.by_key: dict[str, str] = {}
        self.types: dict[str, str] = {}
        self.options: dict[str, dict[str, str]] = {}
        for row in rows:
            key, name = row.get("key"), row.get("name")
            if not isinstance(key, str) or not isinstance(name, str):
                continue
            self.types[key] = str(row.get("field_type") or "")
            options = row.get("options")
            if isinstance(options, list):
                self.options[key] = {
                    str(o.get("id")): str(o.get("label"))
                    for o in options
                    if isinstance(o, dict) and o.get("id") is not None
                }
            if CUSTOM_KEY.match(key):
                self.by_name.setdefault(name, key)
                self.by_key[key] = name

    def key(self, name: str) -> str | None:
        if CUSTOM_KEY.match(name):
            return name
        return self.by_name.get(name)


class PipedriveConnector:
    """A thin client of Pipedrive's REST API for persons, leads and deals (§8)."""

    name = "pipedrive"
    batch_size = 1

    def __init__(
        self,
        *,
        api_token: str,
        base_url: str = DEFAULT_BASE_URL,
        fields: Mapping[str, Sequence[str]] | None = None,
        objects: Sequence[str] = (PERSONS, LEADS),
        deals: bool = True,
        page_size: int = PAGE_MAX,
        daily_probe: float = 3600.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_wait: float = 60.0,
        timeout: float = 30.0,
    ) -> None:
        unknown = [o for o in objects if o not in (PERSONS, LEADS)]
        if unknown:
            raise ValueError(f"Pipedrive person objects are persons and leads, not {unknown}")
        if not 1 <= page_size <= PAGE_MAX:
            raise ValueError(f"page_size must be 1..{PAGE_MAX} (Pipedrive's maximum)")
        self._token = api_token
        self._extra = {k: tuple(v) for k, v in (fields or {}).items()}
        self._objects = tuple(objects)
        self._deals = deals
        self._page_size = page_size
        self._daily_probe = daily_probe
        self._sleep = sleep
        self._blocked_until = 0.0
        self._writes_blocked_until = 0.0
        self._field_cache: dict[str, _Fields] = {}
        self._org_names: dict[str, str | None] = {}
        self._stage_names: dict[str, str] | None = None
        self.http = Http(
            base_url=base_url,
            headers=lambda: {"x-api-token": self._token},
            transport=transport,
            timeout=timeout,
            max_wait=max_wait,
            sleep=sleep,
            clock=clock,
            observe=self._observe,
        )

    # --- the protocol ---------------------------------------------------------------------

    def people_objects(self) -> tuple[str, ...]:
        return self._objects

    def deal_objects(self) -> tuple[str, ...]:
        return (DEALS,) if self._deals else ()

    def id_source(self, object: str) -> str:
        return {PERSONS: "pipedrive", LEADS: "pipedrive_lead", DEALS: "pipedrive_deal"}[object]

    def read(self, object: str, cursor: str | None) -> Iterator[Page]:
        self._org_names.clear()
        self._field_cache.clear()
        if object == PERSONS:
            return self._read_v2(PERSONS, cursor)
        if object == DEALS:
            self._stage_names = None
            return self._read_v2(DEALS, cursor)
        if object == LEADS:
            return self._read_leads(cursor)
        raise ValueError(f"Pipedrive has no object {object!r} here (persons, leads, deals)")

    def fetch(self, object: str, ids: Sequence[str]) -> list[Person]:
        if object == PERSONS:
            wanted = [i for i in ids if i.isdigit()]
            out: list[Person] = []
            for chunk in _chunks(wanted, IDS_MAX):
                params = {"ids": ",".join(chunk), **self._custom_param(PERSONS)}
                body = self._call("GET", "/api/v2/persons", params=params).json()
                out.extend(self._persons(body.get("data") or []))
            return out
        if object == LEADS:
            rows = []
            for lead_id in ids:
                response = self._call("GET", f"/api/v1/leads/{lead_id}", ok=(404,))
                if response.status_code == 200:
                    data = response.json().get("data")
                    if isinstance(data, dict):
                        rows.append(data)
            return self._leads(rows)
        raise ValueError(f"fetch reads persons or leads, not {object!r}")

    def update(self, updates: Sequence[Update]) -> list[UpdateResult]:
        """One PATCH per record, in order (Pipedrive has no batch update); once the daily
        budget is spent the rest are handed back retryable without being sent."""
        results: list[UpdateResult] = []
        limited: RateLimited | None = None
        for update in updates:
            if limited is not None:
                results.append(
                    UpdateResult(update.key, False, limited.message, True, limited.retry_after)
                )
                continue
            try:
                path, body = self._write(update)  # may read the fields: may be limited too
                self._call("PATCH", path, json_body=body, write=True)
            except _Refused as exc:
                results.append(UpdateResult(update.key, False, str(exc)))
                continue
            except RateLimited as exc:
                limited = exc
                results.append(UpdateResult(update.key, False, exc.message, True, exc.retry_after))
                continue
            except ConnectorError as exc:
                if exc.status == 400:
                    self._field_cache.pop(self._fields_object(update.object), None)
                results.append(
                    UpdateResult(update.key, False, exc.message, exc.retryable, exc.retry_after)
                )
                continue
            results.append(UpdateResult(update.key, True))
        return results

    def ensure_fields(self, object: str, fields: Sequence[FieldSpec]) -> list[str]:
        """Create the missing custom fields by name: person fields for persons, deal fields
        for leads and deals (leads inherit the deals' custom fields)."""
        kind = self._fields_object(object)
        known = self._fields(kind, refresh=True)
        created: list[str] = []
        for spec in fields:
            if spec.name in known.by_name:
                continue
            body = {"name": spec.name, "field_type": _FIELD_TYPES[spec.type]}
            self._call("POST", f"/api/v1/{kind}", json_body=body, write=True)
            created.append(spec.name)
        if created:
            self._fields(kind, refresh=True)
        return created

    def owners(self) -> dict[str, str]:
        body = self._call("GET", "/api/v1/users").json()
        out: dict[str, str] = {}
        for user in body.get("data") or []:
            email = user.get("email")
            if isinstance(email, str) and email and user.get("active_flag", True):
                out[email.lower()] = str(user["id"])
        return out

    def close(self) -> None:
        self.http.close()

    # --- reading --------------------------------------------------------------------------

    def _read_v2(self, object: str, cursor: str | None) -> Iterator[Page]:
        """Pages of `GET /api/v2/{persons|deals}` sorted by `update_time` ascending. The
        cursor carries the `updated_since` of this pass and Pipedrive's own `next_cursor`
        (a keyset marker, so records changed during the pass come again later, never
        skipped); the last page's cursor carries the newest stamp seen as the next pass's
        `updated_since`."""
        state = json.loads(cursor) if cursor else {}
        since: str | None = state.get("since")
        vendor: str | None = state.get("next")
        mark: int | None = state.get("mark")
        while True:
            params: dict[str, Any] = {
                "limit": self._page_size,
                "sort_by": "update_time",
                "sort_direction": "asc",
            }
            if object == DEALS:
                params["status"] = "open,won,lost,deleted"
            else:
                params.update(self._custom_param(PERSONS))
            if since:
                params["updated_since"] = since
            if vendor:
                params["cursor"] = vendor
            body = self._call("GET", f"/api/v2/{object}", params=params).json()
            rows = body.get("data") or []
            records: list[Record] = []
            records.extend(self._persons(rows) if object == PERSONS else self._deal_rows(rows))
            for record in records:
                mark = record.modified_at if mark is None else max(mark, record.modified_at)
            vendor = (body.get("additional_data") or {}).get("next_cursor")
            if vendor:
                state = {"since": since, "next": vendor, "mark": mark}
                yield Page(records, json.dumps(state))
                continue
            done = {"since": rfc3339(mark) if mark is not None else since, "next": None}
            yield Page(records, json.dumps({**done, "mark": mark}))
            return

    def _read_leads(self, cursor: str | None) -> Iterator[Page]:
        """Pages of `GET /api/v1/leads?sort=update_time ASC&updated_since=…`. Offset paging
        shifts when a lead changes mid-pass, so each page asks again from the newest stamp
        seen (`updated_since`, start 0) and skips the leads already returned at exactly that
        stamp; `start` only advances past a page made entirely of such leads."""
        state = json.loads(cursor) if cursor else {}
        since: int | None = state.get("since")
        seen: set[str] = set(state.get("seen") or [])
        start: int = state.get("start") or 0
        while True:
            params: dict[str, Any] = {
                "limit": self._page_size,
                "start": start,
                "sort": "update_time ASC",
            }
            if since is not None:
                params["updated_since"] = rfc3339(since, millis=True)
            body = self._call("GET", "/api/v1/leads", params=params).json()
            rows = [r for r in body.get("data") or [] if isinstance(r, dict)]
            extra = body.get("additional_data") or {}
            paging = extra.get("pagination", extra) if isinstance(extra, dict) else {}
            more = bool(paging.get("more_items_in_collection")) and bool(rows)
            fresh = [
                r
                for r in rows
                if not (to_micros(r.get("update_time")) == since and str(r.get("id")) in seen)
            ]
            if fresh:
                for row in fresh:
                    stamp = to_micros(row.get("update_time"))
                    if stamp is None:
                        continue
                    if since is None or stamp > since:
                        since, seen = stamp, set()
                    if stamp == since:
                        seen.add(str(row.get("id")))
                start = 0
            else:
                start += len(rows)
            state = {"since": since, "seen": sorted(seen), "start": start if more else 0}
            yield Page(list(self._leads(fresh)), json.dumps(state))
            if not more:
                return

    def _persons(self, rows: list[dict[str, Any]]) -> list[Person]:
        rows = [r for r in rows if isinstance(r, dict) and r.get("id") is not None]
        if not rows:
            return []
        known = self._fields(PERSON_FIELDS)
        labels = known.options.get("label_ids") or known.options.get("label") or {}
        self._org_lookup([_id_text(r.get("org_id")) for r in rows])
        extra = self._extra.get(PERSONS, ())
        out: list[Person] = []
        for row in rows:
            org_id = _id_text(row.get("org_id"))
            label_ids = [str(i) for i in row.get("label_ids") or []]
            fields: dict[str, Value] = {
                "name": row.get("name"),
                "first_name": row.get("first_name"),
                "last_name": row.get("last_name"),
                "owner_id": _id_text(row.get("owner_id")),
                "org_id": org_id,
                "org_name": self._org_names.get(org_id) if org_id else None,
                "label": ", ".join(labels.get(i, i) for i in label_ids) or None,
                "label_ids": ",".join(label_ids) or None,
                "phone": _primary(row.get("phones")),
                "add_time": row.get("add_time"),
            }
            if "job_title" in row:
                fields["job_title"] = row.get("job_title")
            custom = row.get("custom_fields") or {}
            for name in extra:
                if name in row and name not in fields:
                    fields[name] = _scalar(row[name])
                    continue
                key = known.key(name)
                if key is not None and key in custom:
                    fields[name] = _scalar(custom[key])
            stamp = to_micros(row.get("update_time")) or 0
            out.append(
                Person(
                    object=PERSONS,
                    id=str(row["id"]),
                    email=_primary(row.get("emails")),
                    fields=fields,
                    modified_at=stamp,
                    deleted=bool(row.get("is_deleted")),
                )
            )
        return out

    def _leads(self, rows: list[dict[str, Any]]) -> list[Person]:
        if not rows:
            return []
        known = self._fields(DEAL_FIELDS)
        person_ids = sorted(
            {p for p in (_id_text(r.get("person_id")) for r in rows) if p and p.isdigit()}
        )
        emails: dict[str, str | None] = {}
        for chunk in _chunks(person_ids, IDS_MAX):
            body = self._call("GET", "/api/v2/persons", params={"ids": ",".join(chunk)}).json()
            for person in body.get("data") or []:
                emails[str(person.get("id"))] = _primary(person.get("emails"))
        self._org_lookup([_id_text(r.get("organization_id")) for r in rows])
        extra = self._extra.get(LEADS, ())
        out: list[Person] = []
        for row in rows:
            person_id = _id_text(row.get("person_id"))
            org_id = _id_text(row.get("organization_id"))
            raw_value = row.get("value")
            value: dict[str, Any] = raw_value if isinstance(raw_value, dict) else {}
            fields: dict[str, Value] = {
                "title": row.get("title"),
                "owner_id": _id_text(row.get("owner_id")),
                "person_id": person_id,
                "organization_id": org_id,
                "org_name": self._org_names.get(org_id) if org_id else None,
                "label_ids": ",".join(str(i) for i in row.get("label_ids") or []) or None,
                "value": _scalar(value.get("amount")),
                "currency": _scalar(value.get("currency")),
                "source_name": row.get("source_name"),
                "add_time": row.get("add_time"),
            }
            for name in extra:
                if name in row and name not in fields:
                    fields[name] = _scalar(row[name])
                    continue
                key = known.key(name)
                if key is not None and key in row:
                    fields[name] = _scalar(row[key])
            out.append(
                Person(
                    object=LEADS,
                    id=str(row["id"]),
                    email=emails.get(person_id) if person_id else None,
                    fields=fields,
                    modified_at=to_micros(row.get("update_time")) or 0,
                    links=((PERSONS, person_id),) if person_id else (),
                )
            )
        return out

    def _deal_rows(self, rows: list[dict[str, Any]]) -> list[Deal]:
        stages = self._stages() if rows else {}
        out: list[Deal] = []
        for row in rows:
            if not isinstance(row, dict) or row.get("id") is None:
                continue
            raw = str(row.get("status") or "open")
            status: Literal["open", "won", "lost"] = (
                "won" if raw == "won" else "lost" if raw == "lost" else "open"
            )
            closed = None
            if status == "won":
                closed = to_micros(row.get("won_time")) or to_micros(row.get("close_time"))
            elif status == "lost":
                closed = to_micros(row.get("lost_time")) or to_micros(row.get("close_time"))
            person_id = _id_text(row.get("person_id"))
            stage_id = _id_text(row.get("stage_id"))
            amount = row.get("value")
            out.append(
                Deal(
                    object=DEALS,
                    id=str(row["id"]),
                    people=((PERSONS, person_id),) if person_id else (),
                    status=status,
                    amount=float(amount) if isinstance(amount, int | float) else None,
                    closed_at=closed,
                    modified_at=to_micros(row.get("update_time")) or 0,
                    stage=stages.get(stage_id, stage_id) if stage_id else None,
                    deleted=raw == "deleted" or bool(row.get("is_deleted")),
                )
            )
        return out

    def _stages(self) -> dict[str, str]:
        if self._stage_names is None:
            names: dict[str, str] = {}
            for row in self._list_v2("/api/v2/stages", {}):
                names[str(row.get("id"))] = str(row.get("name"))
            self._stage_names = names
        return self._stage_names

    def _org_lookup(self, ids: Sequence[str | None]) -> None:
        missing = sorted({i for i in ids if i and i.isdigit() and i not in self._org_names})
        for chunk in _chunks(missing, IDS_MAX):
            body = self._call(
                "GET", "/api/v2/organizations", params={"ids": ",".join(chunk)}
            ).json()
            for org in body.get("data") or []:
                self._org_names[str(org.get("id"))] = org.get("name")
            for org_id in chunk:
                self._org_names.setdefault(org_id, None)

    def _list_v2(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        vendor: str | None = None
        while True:
            query = {**params, "limit": PAGE_MAX, **({"cursor": vendor} if vendor else {})}
            body = self._call("GET", path, params=query).json()
            yield from (r for r in body.get("data") or [] if isinstance(r, dict))
            vendor = (body.get("additional_data") or {}).get("next_cursor")
            if not vendor:
                return

    def _custom_param(self, object: str) -> dict[str, str]:
        """Ask only for the custom fields we read when Pipedrive allows naming them (≤ 15
        keys); otherwise (none or too many) it returns them all."""
        names = self._extra.get(object, ())
        if not names:
            return {}
        known = self._fields(PERSON_FIELDS)
        keys = [k for k in (known.key(n) for n in names) if k is not None]
        if not keys or len(keys) > CUSTOM_FIELDS_PARAM_MAX:
            return {}
        return {"custom_fields": ",".join(keys)}

    # --- fields ---------------------------------------------------------------------------

    @staticmethod
    def _fields_object(object: str) -> str:
        if object == PERSONS:
            return PERSON_FIELDS
        if object in (LEADS, DEALS):
            return DEAL_FIELDS
        raise ValueError(f"Pipedrive has no object {object!r} here (persons, leads, deals)")

    def _fields(self, kind: str, *, refresh: bool = False) -> _Fields:
        if refresh or kind not in self._field_cache:
            rows: list[dict[str, Any]] = []
            start = 0
            while True:
                params = {"start": start, "limit": PAGE_MAX}
                body = self._call("GET", f"/api/v1/{kind}", params=params).json()
                page = [r for r in body.get("data") or [] if isinstance(r, dict)]
                rows.extend(page)
                extra = body.get("additional_data") or {}
                paging = extra.get("pagination", extra) if isinstance(extra, dict) else {}
                if not page or not paging.get("more_items_in_collection"):
                    break
                start = int(paging.get("next_start") or start + len(page))
            self._field_cache[kind] = _Fields(rows)
        return self._field_cache[kind]

    # --- writing --------------------------------------------------------------------------

    def _write(self, update: Update) -> tuple[str, dict[str, Any]]:
        if update.object == PERSONS:
            if not update.id.isdigit():
                raise _Refused(f"not a Pipedrive person id: {update.id!r}")
            root, custom = self._split(PERSON_FIELDS, _PERSON_ROOT_WRITE, update.fields)
            body: dict[str, Any] = dict(root)
            if custom:
                body["custom_fields"] = custom
            return f"/api/v2/persons/{update.id}", body
        if update.object == LEADS:
            root, custom = self._split(DEAL_FIELDS, _LEAD_ROOT_WRITE, update.fields)
            return f"/api/v1/leads/{update.id}", {**root, **custom}  # v1: keys at the root
        raise _Refused(f"leadscore writes Pipedrive persons and leads, not {update.object!r}")

    def _split(
        self, kind: str, root_fields: Mapping[str, str], fields: Mapping[str, Value]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Standard fields go at the root in Pipedrive's strict types (v2 refuses `"12"` for
        a number); custom fields by their generated key."""
        root: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for name, value in fields.items():
            kind_of = root_fields.get(name)
            if kind_of is not None:
                root[name] = _typed(name, kind_of, value)
                continue
            key = self._fields(kind).key(name)
            if key is None:
                key = self._fields(kind, refresh=True).key(name)
            if key is None:
                what = "person" if kind == PERSON_FIELDS else "deal (lead)"
                raise _Refused(
                    f"Pipedrive has no {what} field named {name!r} (create it with "
                    f"ensure_fields or map another field)"
                )
            custom[key] = value
        return root, custom

    # --- HTTP and rate limits -------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        write: bool = False,
        ok: Sequence[int] = (),
    ) -> httpx.Response:
        now = self.http.clock()
        until = max(self._blocked_until, self._writes_blocked_until if write else 0.0)
        if until > now:
            kind = "daily API token budget" if until == self._blocked_until else "daily writes"
            raise RateLimited(f"Pipedrive {kind} spent; waiting for its reset", until - now)
        return self.http.call(method, path, params=params, json_body=json_body, ok=ok)

    def _until_reset(self, now: float) -> float:
        """Seconds to wait for a spent daily budget: until the next UTC midnight, but no more
        than `daily_probe` at a time, since Pipedrive resets at midnight in its server's time
        zone, which it does not name."""
        today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        midnight = (today + timedelta(days=1)).timestamp()
        return max(1.0, min(midnight - now, self._daily_probe))

    def _observe(self, response: httpx.Response) -> None:
        """Read Pipedrive's rate-limit headers on every response: sleep out a spent burst
        window, and stop (RateLimited) when the daily token budget is spent."""
        now = self.http.clock()
        tokens = _int_header(response, "x-daily-ratelimit-token-remaining")
        writes = _int_header(response, "x-daily-requests-left")
        if tokens is not None and tokens <= 0:
            self._blocked_until = now + self._until_reset(now)
        if writes is not None and writes <= 0:
            self._writes_blocked_until = now + self._until_reset(now)
        if response.status_code == 429:
            if tokens is not None and tokens <= 0:
                raise RateLimited(
                    f"Pipedrive daily API token budget spent (429): {vendor_message(response)}",
                    self._blocked_until - now,
                )
            return  # a burst 429: Http waits out its Retry-After
        remaining = _int_header(response, "x-ratelimit-remaining")
        if remaining is not None and remaining <= 0:
            reset = _int_header(response, "x-ratelimit-reset")
            wait = float(reset) if reset is not None and reset > 0 else BURST_WINDOW
            wait = min(wait, max(self.http.max_wait, BURST_WINDOW))
            self.http.waited += wait
            self._sleep(wait)


def _typed(name: str, kind: str, value: Value) -> Any:
    if value is None:
        return None
    try:
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if kind == "ints":
            items = value.split(",") if isinstance(value, str) else [value]
            return [int(str(i).strip()) for i in items if str(i).strip()]
        if kind == "strs":
            return [s.strip() for s in str(value).split(",") if s.strip()]
        if kind == "bool":
            return bool(value)
    except ValueError:
        raise _Refused(f"{name} must be a number for Pipedrive, not {value!r}") from None
    return str(value)
