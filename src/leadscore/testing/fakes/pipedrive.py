"""A local Pipedrive that answers as its documented API does, for the endpoints leadscore uses.

What it reproduces (sources: developers.pipedrive.com API reference v1 and v2 and the
"Pipedrive API v2 migration guide", "Pagination", "Responses", "Custom fields",
"Authentication" and "Rate limiting" pages):

- `x-api-token` header (or the legacy `api_token` query parameter) on every request; anything
  else is `401 {"success": false, "error": "unauthorized access", "errorCode": 401}`.
- `GET /api/v2/persons` and `GET /api/v2/deals`: cursor paging (`limit` ≤ 500, default 100,
  opaque base64 `cursor`, `additional_data.next_cursor` null on the last page), `sort_by`
  id|update_time|add_time, `sort_direction`, `updated_since`/`updated_until` (RFC 3339),
  `ids` (≤ 100, missing ones left out), `owner_id`, `org_id`, `custom_fields` (≤ 15 keys),
  deals' `status` (open,won,lost,deleted; deleted ones only when asked). Custom fields come
  inline in a `custom_fields` object keyed by 40-hex keys; `job_title` only with contact sync.
  v2 times are RFC 3339 to the second (`2024-07-01T11:29:32Z`).
- `PATCH /api/v2/persons/{id}`: strict types (a number given as a string is a 400), custom
  fields by key (an unknown key is a 400), a deleted or missing person is a 404.
- `GET /api/v1/leads` (offset paging `start`/`limit` ≤ 500, `additional_data.pagination`,
  `sort` "update_time ASC", `updated_since`), `GET|PATCH /api/v1/leads/{id}` (UUID ids,
  custom fields at the root under deal-field keys: leads inherit the deals' custom fields).
  v1 lead times keep milliseconds (`2020-10-14T11:30:36.551Z`).
- `GET|POST /api/v1/personFields` and `/api/v1/dealFields` (new fields get a generated 40-hex
  key), `GET /api/v2/organizations`, `GET /api/v2/stages`, `GET /api/v1/users`.
- Rate limits: each response carries `x-ratelimit-limit`, `x-ratelimit-remaining` and
  `x-ratelimit-reset` for the rolling 2-second burst window (per token; 120 for an Ultimate
  api_token), `x-daily-ratelimit-token-limit`/`-remaining` for the daily token budget (each
  endpoint costs its documented `x-token-cost`), and `x-daily-requests-left` on POST/PUT/PATCH.
  A spent window or budget is a 429 `{"success": false, "error": "Request over limit",
  "errorCode": 429}` with `Retry-After`; the budget resets at midnight UTC.

Its clock (`clock=`) drives the burst window and the daily budget; modification stamps use it
too, strictly increasing by at least a millisecond.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import itertools
import json
import math
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadscore.connectors.base import Connector, Value
from leadscore.connectors.pipedrive import PipedriveConnector
from leadscore.testing.fakes.server import FakeServer

ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."
FIELD_TYPES = (
    "address",
    "date",
    "daterange",
    "double",
    "enum",
    "monetary",
    "org",
    "people",
    "phone",
    "set",
    "text",
    "time",
    "timerange",
    "user",
    "varchar",
    "varchar_auto",
    "visible_to",
)
STAGES = ("Qualified", "Contact Made", "Demo Scheduled", "Proposal Made", "Negotiations Started")
PERSON_LABELS = {1: "Customer", 2: "Hot lead", 3: "Warm lead", 4: "Cold lead"}
COSTS = {
    "persons": {"GET": 10},
    "person": {"GET": 1, "PATCH": 5},
    "deals": {"GET": 10},
    "organizations": {"GET": 10},
    "stages": {"GET": 5},
    "leads": {"GET": 20},
    "lead": {"GET": 2, "PATCH": 10},
    "fields": {"GET": 20, "POST": 10},
    "users": {"GET": 20},
}
Handler = Callable[[Request], Awaitable[Response]]


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = {
        "success": False,
        "error": message,
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }
    return JSONResponse(body, status, headers=dict(headers or {}))


def _over_limit_body() -> dict[str, Any]:
    return {
        "success": False,
        "error": "Request over limit",
        "errorCode": 429,
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }


def _iso_s(micros: int) -> str:
    when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_ms(micros: int) -> str:
    when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _v1_time(micros: int) -> str:
    when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    return when.strftime("%Y-%m-%d %H:%M:%S")


def _parse_time(text: str) -> int:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _BadRequest(Exception):
    pass


class _Index:
    """Keys (sort value, id) in order, so a page is found by bisection: O(page), not O(all)."""

    def __init__(self) -> None:
        self.keys: list[tuple[Any, Any]] = []

    def put(self, old: tuple[Any, Any] | None, new: tuple[Any, Any] | None) -> None:
        if old is not None:
            at = bisect.bisect_left(self.keys, old)
            if at < len(self.keys) and self.keys[at] == old:
                del self.keys[at]
        if new is not None:
            bisect.insort(self.keys, new)

    def walk(
        self,
        *,
        after: tuple[Any, Any] | None,
        lowest: Any,
        desc: bool,
        accept: Callable[[Any], bool],
        limit: int,
    ) -> tuple[list[tuple[Any, Any]], bool]:
        """Up to `limit` accepted keys after `after` (keyset), from `lowest` on; and whether
        more follow."""
        keys = self.keys
        if not desc:
            at = bisect.bisect_right(keys, after) if after is not None else 0
            if lowest is not None:
                at = max(at, bisect.bisect_left(keys, (lowest,)))
            step = 1
        else:
            at = (bisect.bisect_left(keys, after) if after is not None else len(keys)) - 1
            step = -1
        out: list[tuple[Any, Any]] = []
        while 0 <= at < len(keys):
            key = keys[at]
            at += step
            if desc and lowest is not None and key[0] < lowest:
                break
            if accept(key[1]):
                if len(out) == limit:
                    return out, True
                out.append(key)
        return out, False


@dataclass
class _Kind:
    """One object's records and its orders."""

    records: dict[Any, dict[str, Any]] = field(default_factory=dict)
    by_stamp: _Index = field(default_factory=_Index)
    by_add: _Index = field(default_factory=_Index)


@dataclass
class FakePipedrive(FakeServer):
    """Pipedrive's persons, leads, deals, fields, organizations, stages and users in memory."""

    api_token: str = "0f5e1d2c3b4a59687766554433221100ffeeddcc"
    person_object: str = "persons"
    burst_limit: int = 120
    """Requests per rolling 2-second window (an Ultimate plan's api_token)."""
    daily_tokens: int = 210_000
    """30,000 base tokens × 7 (Ultimate) × 1 seat."""
    daily_writes: int = 10_000
    """The POST/PUT fair-usage count reported in `x-daily-requests-left`."""
    contact_sync: bool = True
    """Whether `job_title` (and the other contact-sync fields) are returned on persons."""
    clock: Callable[[], float] = time.time

    persons: _Kind = field(default_factory=_Kind)
    leads: _Kind = field(default_factory=_Kind)
    deals: _Kind = field(default_factory=_Kind)
    orgs: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    person_field_defs: list[dict[str, Any]] = field(default_factory=list)
    deal_field_defs: list[dict[str, Any]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _last_stamp: int = 0
    _window: deque[float] = field(default_factory=deque)
    _day: str = ""
    _tokens_used: int = 0
    _writes_used: int = 0
    _updates: int = 0
    refused: int = 0
    """How many requests the rate limits refused with a 429 (injected faults not counted)."""

    def __post_init__(self) -> None:
        standard = [
            ("name", "Name", "varchar", None),
            ("first_name", "First name", "varchar", None),
            ("last_name", "Last name", "varchar", None),
            ("email", "Email", "varchar", None),
            ("phone", "Phone", "phone", None),
            ("org_id", "Organization", "org", None),
            ("owner_id", "Owner", "user", None),
            ("job_title", "Job title", "varchar", None),
            ("label_ids", "Labels", "set", PERSON_LABELS),
            ("add_time", "Person created", "date", None),
            ("update_time", "Update time", "date", None),
            ("visible_to", "Visible to", "visible_to", None),
        ]
        for key, name, kind, options in standard:
            self.person_field_defs.append(self._field_def(key, name, kind, options))
        for key, name, kind in [
            ("title", "Title", "varchar"),
            ("value", "Value", "monetary"),
            ("person_id", "Contact person", "people"),
            ("org_id", "Organization", "org"),
            ("stage_id", "Stage", "stage"),
            ("status", "Status", "status"),
            ("user_id", "Owner", "user"),
            ("expected_close_date", "Expected close date", "date"),
        ]:
            self.deal_field_defs.append(self._field_def(key, name, kind, None))

    # --- the seeding and inspection interface shared by the three fakes --------------------

    def connector(self, **options: Any) -> Connector:
        return PipedriveConnector(base_url=self.url, api_token=self.api_token, **options)

    def secrets(self) -> dict[str, str]:
        """The connector's secrets that this fake accepts (for a secrets file)."""
        return {"api_token": self.api_token}

    def expire_tokens(self) -> None:
        """API tokens do not expire (the connector uses no OAuth)."""

    def update_calls(self) -> int:
        with self.lock:
            return self._updates

    def add_owner(self, email: str, name: str = "") -> str:
        with self.lock:
            user_id = next(self._seq)
            self.users[user_id] = {
                "id": user_id,
                "name": name or email.split("@")[0],
                "default_currency": "EUR",
                "locale": "en_US",
                "lang": 1,
                "email": email,
                "phone": None,
                "activated": True,
                "last_login": _v1_time(self._now_us()),
                "created": _v1_time(self._now_us()),
                "modified": None,
                "has_created_company": False,
                "access": [{"app": "sales", "admin": False, "permission_set_id": "1"}],
                "active_flag": True,
                "timezone_name": "Europe/Tallinn",
                "timezone_offset": "+02:00",
                "role_id": 1,
                "icon_url": None,
                "is_you": False,
                "is_deleted": False,
            }
            return str(user_id)

    def add_person(
        self,
        email: str | None,
        fields: Mapping[str, Value] | None = None,
        *,
        object: str | None = None,
    ) -> str:
        fields = dict(fields or {})
        with self.lock:
            if (object or self.person_object) == "leads":
                return self._add_lead(email, fields)
            person_id = next(self._seq)
            stamp = self._tick()
            person: dict[str, Any] = {
                "id": person_id,
                "name": None,
                "first_name": None,
                "last_name": None,
                "owner_id": None,
                "org_id": None,
                "emails": [{"value": email, "primary": True, "label": "work"}] if email else [],
                "phones": [],
                "label_ids": [],
                "visible_to": 3,
                "job_title": None,
                "custom": {},
                "is_deleted": False,
                "add": stamp,
                "stamp": stamp,
            }
            self._apply_person(person, fields)
            if not person["name"]:
                first, last = person["first_name"] or "", person["last_name"] or ""
                person["name"] = f"{first} {last}".strip() or (email or "Unnamed").split("@")[0]
            self.persons.records[person_id] = person
            self.persons.by_stamp.put(None, (stamp, person_id))
            self.persons.by_add.put(None, (person_id, person_id))
            return str(person_id)

    def change_person(
        self, id: str, fields: Mapping[str, Value], *, object: str | None = None
    ) -> None:
        with self.lock:
            if (object or self.person_object) == "leads":
                lead = self.leads.records[id]
                self._apply_lead(lead, dict(fields))
                self._touch(self.leads, lead)
                return
            person = self.persons.records[int(id)]
            self._apply_person(person, dict(fields))
            self._touch(self.persons, person)

    def delete_person(self, id: str, *, object: str | None = None) -> None:
        with self.lock:
            if (object or self.person_object) == "leads":
                lead = self.leads.records.pop(id)
                self.leads.by_stamp.put((lead["stamp"], id), None)
                self.leads.by_add.put((lead["add"], id), None)
                return
            person = self.persons.records[int(id)]
            person["is_deleted"] = True  # soft-deleted: gone from lists, 404 on writes
            self.persons.by_stamp.put((person["stamp"], person["id"]), None)
            self.persons.by_add.put((person["id"], person["id"]), None)
            person["stamp"] = self._tick()

    def person_fields(self, id: str, *, object: str | None = None) -> dict[str, Value]:
        with self.lock:
            if (object or self.person_object) == "leads":
                lead = self.leads.records[id]
                names = {f["key"]: f["name"] for f in self.deal_field_defs}
                value = lead["value"] or {}
                out: dict[str, Value] = {
                    "title": lead["title"],
                    "owner_id": _str_or_none(lead["owner_id"]),
                    "person_id": _str_or_none(lead["person_id"]),
                    "organization_id": _str_or_none(lead["organization_id"]),
                    "value": value.get("amount"),
                    "currency": value.get("currency"),
                }
                out.update({names[k]: v for k, v in lead["custom"].items() if k in names})
                return out
            person = self.persons.records[int(id)]
            names = {f["key"]: f["name"] for f in self.person_field_defs}
            org = self.orgs.get(person["org_id"]) if person["org_id"] else None
            emails = [e["value"] for e in person["emails"] if e.get("primary")]
            out = {
                "name": person["name"],
                "first_name": person["first_name"],
                "last_name": person["last_name"],
                "email": emails[0] if emails else None,
                "owner_id": _str_or_none(person["owner_id"]),
                "org_id": _str_or_none(person["org_id"]),
                "org_name": org["name"] if org else None,
                "job_title": person["job_title"],
                "label": ", ".join(PERSON_LABELS[i] for i in person["label_ids"]) or None,
            }
            out.update({names[k]: v for k, v in person["custom"].items() if k in names})
            return out

    def add_deal(
        self,
        people: Sequence[str],
        status: str,
        amount: float | None = None,
        *,
        closed_at: int | None = None,
    ) -> str:
        """A deal linked to the first person (a Pipedrive deal has one contact person; the
        others would be participants, which the v2 deal does not list)."""
        if status not in ("open", "won", "lost"):
            raise ValueError(f"status is open, won or lost, not {status!r}")
        with self.lock:
            deal_id = next(self._seq)
            stamp = self._tick()
            closed = closed_at if closed_at is not None else (stamp if status != "open" else None)
            person_id = int(people[0]) if people else None
            deal: dict[str, Any] = {
                "id": deal_id,
                "title": f"Deal {deal_id}",
                "owner_id": None,
                "person_id": person_id,
                "org_id": self.persons.records[person_id]["org_id"] if person_id else None,
                "pipeline_id": 1,
                "stage_id": len(STAGES) if status == "won" else 1,
                "value": float(amount) if amount is not None else 0.0,
                "currency": "EUR",
                "status": status,
                "closed": closed,
                "is_deleted": False,
                "custom": {},
                "add": stamp,
                "stamp": stamp,
            }
            self.deals.records[deal_id] = deal
            self.deals.by_stamp.put(None, (stamp, deal_id))
            self.deals.by_add.put(None, (deal_id, deal_id))
            return str(deal_id)

    def delete_deal(self, id: str) -> None:
        with self.lock:
            deal = self.deals.records[int(id)]
            deal["is_deleted"] = True
            self._touch(self.deals, deal)

    def add_org(self, name: str) -> int:
        with self.lock:
            for org in self.orgs.values():
                if org["name"] == name:
                    return int(org["id"])
            org_id = next(self._seq)
            stamp = self._tick()
            self.orgs[org_id] = {
                "id": org_id,
                "name": name,
                "owner_id": None,
                "add_time": _iso_s(stamp),
                "update_time": _iso_s(stamp),
                "is_deleted": False,
                "visible_to": 3,
                "custom_fields": {},
            }
            return org_id

    def field_key(self, name: str, *, deals: bool = False) -> str | None:
        """The generated key of the custom field called `name` (what a user copies from
        Settings > Data fields)."""
        with self.lock:
            for row in self.deal_field_defs if deals else self.person_field_defs:
                if row["name"] == name and row["edit_flag"]:
                    return str(row["key"])
            return None

    def spend_daily_budget(self) -> None:
        """Use up today's token budget (as another integration of the company might)."""
        with self.lock:
            self._roll_day()
            self._tokens_used = self.daily_tokens

    # --- records --------------------------------------------------------------------------

    def _now_us(self) -> int:
        return int(self.clock() * 1_000_000)

    def _tick(self) -> int:
        """Now, to the millisecond, strictly after the last stamp given."""
        stamp = max(self._now_us() // 1000 * 1000, self._last_stamp + 1000)
        self._last_stamp = stamp
        return stamp

    def _touch(self, kind: _Kind, record: dict[str, Any]) -> None:
        old = record["stamp"]
        record["stamp"] = self._tick()
        kind.by_stamp.put((old, record["id"]), (record["stamp"], record["id"]))

    def _field_def(
        self, key: str, name: str, kind: str, options: Mapping[int, str] | None
    ) -> dict[str, Any]:
        stamp = self._now_us()
        custom = len(key) == 40
        return {
            "id": next(self._seq),
            "key": key,
            "name": name,
            "order_nr": 0,
            "field_type": kind,
            "add_time": _v1_time(stamp),
            "update_time": _v1_time(stamp),
            "last_updated_by_user_id": None,
            "created_by_user_id": None,
            "active_flag": True,
            "edit_flag": custom,
            "index_visible_flag": True,
            "details_visible_flag": True,
            "add_visible_flag": True,
            "important_flag": False,
            "bulk_edit_allowed": True,
            "searchable_flag": False,
            "filtering_allowed": True,
            "sortable_flag": True,
            "mandatory_flag": False,
            "options": [{"id": i, "label": label} for i, label in options.items()]
            if options
            else None,
        }

    def _new_field(self, defs: list[dict[str, Any]], name: str, kind: str) -> dict[str, Any]:
        seed = f"{len(defs)}:{name}:{uuid.uuid4()}".encode()
        row = self._field_def(hashlib.sha1(seed).hexdigest(), name, kind, None)
        row["order_nr"] = len(defs)
        defs.append(row)
        return row

    def _custom_key(self, defs: list[dict[str, Any]], name: str, value: Value) -> str:
        """The key of the custom field `name`, created for seeding if it does not exist."""
        for row in defs:
            if row["name"] == name and row["edit_flag"]:
                return str(row["key"])
        kind = "double" if _is_number(value) else "varchar"
        return str(self._new_field(defs, name, kind)["key"])

    def _apply_person(self, person: dict[str, Any], fields: dict[str, Value]) -> None:
        for name, value in fields.items():
            if name in ("name", "first_name", "last_name", "job_title"):
                person[name] = value
            elif name == "email":
                person["emails"] = (
                    [{"value": value, "primary": True, "label": "work"}] if value else []
                )
            elif name == "phone":
                person["phones"] = (
                    [{"value": value, "primary": True, "label": "work"}] if value else []
                )
            elif name in ("owner_id", "org_id"):
                person[name] = int(value) if value is not None else None
            elif name in ("org_name", "company"):
                person["org_id"] = self.add_org(str(value)) if value else None
            elif name == "label":
                wanted = {s.strip().lower() for s in str(value or "").split(",") if s.strip()}
                person["label_ids"] = [i for i, lb in PERSON_LABELS.items() if lb.lower() in wanted]
            else:
                key = self._custom_key(self.person_field_defs, name, value)
                person["custom"][key] = value
        if ("first_name" in fields or "last_name" in fields) and "name" not in fields:
            first, last = person["first_name"] or "", person["last_name"] or ""
            person["name"] = f"{first} {last}".strip() or person["name"]

    def _add_lead(self, email: str | None, fields: dict[str, Value]) -> str:
        person_id: int | None = None
        if email:
            for person in self.persons.records.values():
                if not person["is_deleted"] and any(e["value"] == email for e in person["emails"]):
                    person_id = person["id"]
                    break
            if person_id is None:
                person_fields = {k: v for k, v in fields.items() if k in ("name",)}
                person_id = int(self.add_person(email, person_fields, object="persons"))
        lead_id = str(uuid.uuid1())
        stamp = self._tick()
        lead: dict[str, Any] = {
            "id": lead_id,
            "title": f"{email or 'Unnamed'} lead",
            "owner_id": None,
            "creator_id": None,
            "label_ids": [],
            "person_id": person_id,
            "organization_id": None,
            "value": None,
            "expected_close_date": None,
            "was_seen": False,
            "custom": {},
            "add": stamp,
            "stamp": stamp,
        }
        self._apply_lead(lead, {k: v for k, v in fields.items() if k != "name"})
        self.leads.records[lead_id] = lead
        self.leads.by_stamp.put(None, (stamp, lead_id))
        self.leads.by_add.put(None, (stamp, lead_id))
        return lead_id

    def _apply_lead(self, lead: dict[str, Any], fields: dict[str, Value]) -> None:
        for name, value in fields.items():
            if name in ("title", "expected_close_date", "was_seen"):
                lead[name] = value
            elif name in ("owner_id", "person_id", "organization_id"):
                lead[name] = int(value) if value is not None else None
            elif name == "value":
                lead["value"] = None if value is None else {"amount": value, "currency": "EUR"}
            else:
                lead["custom"][self._custom_key(self.deal_field_defs, name, value)] = value

    # --- rendering ------------------------------------------------------------------------

    def _person_json(self, person: dict[str, Any], keys: set[str] | None) -> dict[str, Any]:
        custom = {
            row["key"]: person["custom"].get(row["key"])
            for row in self.person_field_defs
            if row["edit_flag"] and (keys is None or row["key"] in keys)
        }
        out = {
            "id": person["id"],
            "name": person["name"],
            "first_name": person["first_name"],
            "last_name": person["last_name"],
            "owner_id": person["owner_id"],
            "org_id": person["org_id"],
            "add_time": _iso_s(person["add"]),
            "update_time": _iso_s(person["stamp"]),
            "emails": person["emails"],
            "phones": person["phones"],
            "is_deleted": person["is_deleted"],
            "visible_to": person["visible_to"],
            "label_ids": person["label_ids"],
            "picture_id": None,
            "custom_fields": custom,
        }
        if self.contact_sync:
            out["job_title"] = person["job_title"]
        return out

    def _deal_json(self, deal: dict[str, Any], keys: set[str] | None) -> dict[str, Any]:
        closed = deal["closed"]
        won = deal["status"] == "won"
        lost = deal["status"] == "lost"
        return {
            "id": deal["id"],
            "title": deal["title"],
            "owner_id": deal["owner_id"],
            "person_id": deal["person_id"],
            "org_id": deal["org_id"],
            "pipeline_id": deal["pipeline_id"],
            "stage_id": deal["stage_id"],
            "value": deal["value"],
            "currency": deal["currency"],
            "add_time": _iso_s(deal["add"]),
            "update_time": _iso_s(deal["stamp"]),
            "stage_change_time": _iso_s(deal["add"]),
            "is_deleted": deal["is_deleted"],
            "is_archived": False,
            "status": deal["status"],
            "probability": None,
            "lost_reason": None,
            "visible_to": 3,
            "close_time": _iso_s(closed) if closed is not None and (won or lost) else None,
            "won_time": _iso_s(closed) if closed is not None and won else None,
            "lost_time": _iso_s(closed) if closed is not None and lost else None,
            "expected_close_date": None,
            "label_ids": [],
            "origin": "API",
            "origin_id": None,
            "channel": None,
            "channel_id": None,
            "custom_fields": {k: v for k, v in deal["custom"].items() if keys is None or k in keys},
        }

    def _lead_json(self, lead: dict[str, Any]) -> dict[str, Any]:
        out = {
            "id": lead["id"],
            "title": lead["title"],
            "owner_id": lead["owner_id"],
            "creator_id": lead["creator_id"],
            "label_ids": lead["label_ids"],
            "person_id": lead["person_id"],
            "organization_id": lead["organization_id"],
            "source_name": "API",
            "origin": "API",
            "origin_id": None,
            "channel": None,
            "channel_id": None,
            "is_archived": False,
            "was_seen": lead["was_seen"],
            "value": lead["value"],
            "expected_close_date": lead["expected_close_date"],
            "next_activity_id": None,
            "add_time": _iso_ms(lead["add"]),
            "update_time": _iso_ms(lead["stamp"]),
            "visible_to": "3",
            "cc_email": f"company+1+lead{lead['id'][:8]}@pipedrivemail.com",
        }
        # v1: custom fields at the root, and only those set on the lead
        out.update({k: v for k, v in lead["custom"].items() if v is not None})
        return out

    # --- rate limits ----------------------------------------------------------------------

    def _roll_day(self) -> None:
        day = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%d")
        if day != self._day:
            self._day, self._tokens_used, self._writes_used = day, 0, 0

    def _to_midnight(self) -> int:
        now = self.clock()
        today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return max(1, math.ceil((today + timedelta(days=1)).timestamp() - now))

    def _admit(self, cost: int, write: bool) -> tuple[Response | None, dict[str, str]]:
        now = self.clock()
        self._roll_day()
        while self._window and self._window[0] <= now - 2.0:
            self._window.popleft()
        reset = math.ceil(self._window[0] + 2.0 - now) if self._window else 2
        budget = {
            "x-daily-ratelimit-token-limit": str(self.daily_tokens),
            "x-daily-ratelimit-token-remaining": str(max(0, self.daily_tokens - self._tokens_used)),
        }
        if len(self._window) >= self.burst_limit:
            self.refused += 1
            headers = {
                "x-ratelimit-limit": str(self.burst_limit),
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(max(1, reset)),
                "Retry-After": str(max(1, reset)),
                **budget,
            }
            return JSONResponse(_over_limit_body(), 429, headers=headers), {}
        if self._tokens_used + cost > self.daily_tokens:
            self.refused += 1
            headers = {
                **budget,
                "x-daily-ratelimit-token-remaining": "0",
                "Retry-After": str(self._to_midnight()),
            }
            return JSONResponse(_over_limit_body(), 429, headers=headers), {}
        self._window.append(now)
        self._tokens_used += cost
        headers = {
            "x-ratelimit-limit": str(self.burst_limit),
            "x-ratelimit-remaining": str(max(0, self.burst_limit - len(self._window))),
            "x-ratelimit-reset": str(max(1, math.ceil(self._window[0] + 2.0 - now))),
            "x-daily-ratelimit-token-limit": str(self.daily_tokens),
            "x-daily-ratelimit-token-remaining": str(max(0, self.daily_tokens - self._tokens_used)),
        }
        if write:
            self._writes_used += 1
            headers["x-daily-requests-left"] = str(max(0, self.daily_writes - self._writes_used))
        return None, headers

    def _gated(self, costs: Mapping[str, int], handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            token = request.headers.get("x-api-token") or request.query_params.get("api_token")
            if token != self.api_token:
                body = {"success": False, "error": "unauthorized access", "errorCode": 401}
                return JSONResponse(body, 401)
            write = request.method in ("POST", "PUT", "PATCH")
            with self.lock:
                refusal, headers = self._admit(costs[request.method], write)
            if refusal is not None:
                return refusal
            try:
                response = await handler(request)
            except _BadRequest as exc:
                response = _error(400, str(exc))
            for name, value in headers.items():
                response.headers[name] = value
            return response

        return endpoint

    def fault_body(self, status: int) -> Any:
        if status == 429:
            return _over_limit_body()
        if status == 401:
            return {"success": False, "error": "unauthorized access", "errorCode": 401}
        message = {
            500: "Internal Server Error occurred. Pipedrive staff was notified about this.",
            503: "Service Unavailable: scheduled maintenance",
        }.get(status, f"injected {status}")
        return {
            "success": False,
            "error": message,
            "error_info": ERROR_INFO,
            "data": None,
            "additional_data": None,
        }

    # --- routes ---------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        g = self._gated
        return [
            Route("/api/v2/persons", g(COSTS["persons"], self._persons_list), methods=["GET"]),
            Route(
                "/api/v2/persons/{id}",
                g(COSTS["person"], self._person_one),
                methods=["GET", "PATCH"],
            ),
            Route("/api/v2/deals", g(COSTS["deals"], self._deals_list), methods=["GET"]),
            Route("/api/v2/organizations", g(COSTS["organizations"], self._orgs), methods=["GET"]),
            Route("/api/v2/stages", g(COSTS["stages"], self._stages), methods=["GET"]),
            Route("/api/v1/leads", g(COSTS["leads"], self._leads_list), methods=["GET"]),
            Route("/api/v1/leads/{id}", g(COSTS["lead"], self._lead_one), methods=["GET", "PATCH"]),
            Route(
                "/api/v1/personFields",
                g(COSTS["fields"], self._fields_endpoint(self.person_field_defs)),
                methods=["GET", "POST"],
            ),
            Route(
                "/api/v1/dealFields",
                g(COSTS["fields"], self._fields_endpoint(self.deal_field_defs)),
                methods=["GET", "POST"],
            ),
            Route("/api/v1/users", g(COSTS["users"], self._users), methods=["GET"]),
        ]

    @staticmethod
    def _limit(request: Request) -> int:
        raw = request.query_params.get("limit")
        if raw is None:
            return 100
        if not raw.isdigit() or not 1 <= int(raw) <= 500:
            raise _BadRequest("Validation failed: limit: Parameter 'limit' must be 1..500")
        return int(raw)

    @staticmethod
    def _since(request: Request, name: str) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return None
        try:
            return _parse_time(raw)
        except ValueError:
            raise _BadRequest(
                f"Validation failed: {name}: Parameter '{name}' must be a valid RFC3339 date"
            ) from None

    @staticmethod
    def _encode_cursor(sort_by: str, direction: str, key: tuple[Any, Any]) -> str:
        data = {"field": sort_by, "fieldValue": key[0], "sortDirection": direction, "id": key[1]}
        raw = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
        return raw.decode().rstrip("=")

    @staticmethod
    def _decode_cursor(text: str, sort_by: str, direction: str) -> tuple[Any, Any]:
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            if data["field"] != sort_by or data["sortDirection"] != direction:
                raise ValueError("cursor of another sort")
            return (data["fieldValue"], data["id"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise _BadRequest("Validation failed: cursor: Invalid cursor") from None

    def _v2_list(
        self,
        request: Request,
        kind: _Kind,
        render: Callable[[dict[str, Any]], dict[str, Any]],
        accept: Callable[[dict[str, Any]], bool],
    ) -> Response:
        q = request.query_params
        limit = self._limit(request)
        sort_by = q.get("sort_by", "id")
        direction = q.get("sort_direction", "asc")
        if sort_by not in ("id", "update_time", "add_time") or direction not in ("asc", "desc"):
            raise _BadRequest("Validation failed: sort_by/sort_direction: invalid value")
        since = self._since(request, "updated_since")
        until = self._since(request, "updated_until")
        owner = q.get("owner_id")
        org = q.get("org_id")
        ids = q.get("ids")
        with self.lock:
            if ids:
                wanted = [i for i in ids.split(",") if i.strip()]
                if len(wanted) > 100:
                    raise _BadRequest("Validation failed: ids: A maximum of 100 ids is allowed")
                rows = [
                    kind.records[int(i)]
                    for i in sorted({int(i) for i in wanted if i.strip().isdigit()})
                    if int(i) in kind.records and not kind.records[int(i)]["is_deleted"]
                ]
                return JSONResponse(
                    {
                        "success": True,
                        "data": [render(r) for r in rows],
                        "additional_data": {"next_cursor": None},
                    }
                )

            def ok(record_id: Any) -> bool:
                record = kind.records[record_id]
                return (
                    accept(record)
                    and (since is None or record["stamp"] >= since)
                    and (until is None or record["stamp"] < until)
                    and (owner is None or str(record["owner_id"]) == owner)
                    and (org is None or str(record["org_id"]) == org)
                )

            index = kind.by_stamp if sort_by == "update_time" else kind.by_add
            cursor = q.get("cursor")
            after = self._decode_cursor(cursor, sort_by, direction) if cursor else None
            keys, more = index.walk(
                after=after,
                lowest=since if sort_by == "update_time" else None,
                desc=direction == "desc",
                accept=ok,
                limit=limit,
            )
            data = [render(kind.records[k[1]]) for k in keys]
            next_cursor = self._encode_cursor(sort_by, direction, keys[-1]) if more else None
        return JSONResponse(
            {"success": True, "data": data, "additional_data": {"next_cursor": next_cursor}}
        )

    def _custom_keys(self, request: Request) -> set[str] | None:
        raw = request.query_params.get("custom_fields")
        if raw is None:
            return None
        keys = {k.strip() for k in raw.split(",") if k.strip()}
        if len(keys) > 15:
            raise _BadRequest("Validation failed: custom_fields: A maximum of 15 keys is allowed")
        return keys

    async def _persons_list(self, request: Request) -> Response:
        keys = self._custom_keys(request)
        return self._v2_list(
            request,
            self.persons,
            lambda p: self._person_json(p, keys),
            lambda p: not p["is_deleted"],
        )

    async def _deals_list(self, request: Request) -> Response:
        keys = self._custom_keys(request)
        raw = request.query_params.get("status")
        statuses = {s.strip() for s in raw.split(",")} if raw else {"open", "won", "lost"}
        if statuses - {"open", "won", "lost", "deleted"}:
            raise _BadRequest("Validation failed: status: must be open, won, lost or deleted")

        def accept(deal: dict[str, Any]) -> bool:
            if deal["is_deleted"]:
                return "deleted" in statuses
            return deal["status"] in statuses

        return self._v2_list(request, self.deals, lambda d: self._deal_json(d, keys), accept)

    async def _person_one(self, request: Request) -> Response:
        raw = request.path_params["id"]
        with self.lock:
            person = self.persons.records.get(int(raw)) if raw.isdigit() else None
            if person is None or person["is_deleted"]:
                return _error(404, "Person not found")
            if request.method == "GET":
                return JSONResponse({"success": True, "data": self._person_json(person, None)})
        body = await self._json(request)
        with self.lock:
            self._patch_person(person, body)
            self._updates += 1
            self._touch(self.persons, person)
            return JSONResponse({"success": True, "data": self._person_json(person, None)})

    def _patch_person(self, person: dict[str, Any], body: dict[str, Any]) -> None:
        """Validate everything first (v2 is strict and atomic), then apply."""
        allowed = {
            "name",
            "first_name",
            "last_name",
            "owner_id",
            "org_id",
            "emails",
            "phones",
            "visible_to",
            "label_ids",
            "marketing_status",
            "custom_fields",
        }
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise _BadRequest(f"Validation failed: {unknown[0]}: Unknown parameter")
        for name in ("name", "first_name", "last_name"):
            if name in body and not isinstance(body[name], str):
                raise _BadRequest(f"Validation failed: {name}: Parameter '{name}' must be a string")
        for name in ("owner_id", "org_id"):
            if name in body and body[name] is not None and not _is_int(body[name]):
                raise _BadRequest(f"Validation failed: {name}: Parameter '{name}' must be a number")
        if "owner_id" in body and body["owner_id"] not in self.users and self.users:
            raise _BadRequest(f"Validation failed: owner_id: User {body['owner_id']} not found")
        if "visible_to" in body and body["visible_to"] not in (1, 3, 5, 7):
            raise _BadRequest("Validation failed: visible_to: must be one of 1, 3, 5, 7")
        if "label_ids" in body and (
            not isinstance(body["label_ids"], list)
            or any(not _is_int(i) or i not in PERSON_LABELS for i in body["label_ids"])
        ):
            raise _BadRequest("Validation failed: label_ids: Invalid label id")
        custom = body.get("custom_fields") or {}
        if not isinstance(custom, dict):
            raise _BadRequest("Validation failed: custom_fields: must be an object")
        types = {r["key"]: r["field_type"] for r in self.person_field_defs if r["edit_flag"]}
        for key, value in custom.items():
            if key not in types:
                raise _BadRequest(f"Validation failed: custom_fields: Unknown custom field '{key}'")
            if types[key] in ("double", "monetary") and value is not None and not _is_number(value):
                raise _BadRequest(
                    f"Validation failed: custom_fields.{key}: Parameter must be a number"
                )
            if types[key] in ("varchar", "text", "varchar_auto") and not (
                value is None or isinstance(value, str)
            ):
                raise _BadRequest(
                    f"Validation failed: custom_fields.{key}: Parameter must be a string"
                )
        for name in ("name", "first_name", "last_name", "owner_id", "org_id", "visible_to"):
            if name in body:
                person[name] = body[name]
        if "label_ids" in body:
            person["label_ids"] = list(body["label_ids"])
        for name in ("emails", "phones"):
            if name in body and isinstance(body[name], list):
                person[name] = body[name]
        person["custom"].update(custom)

    async def _orgs(self, request: Request) -> Response:
        ids = request.query_params.get("ids")
        with self.lock:
            if ids:
                wanted = {int(i) for i in ids.split(",") if i.strip().isdigit()}
                rows = [self.orgs[i] for i in sorted(wanted) if i in self.orgs]
            else:
                rows = [self.orgs[i] for i in sorted(self.orgs)]
            return JSONResponse(
                {"success": True, "data": rows, "additional_data": {"next_cursor": None}}
            )

    async def _stages(self, request: Request) -> Response:
        stamp = _iso_s(self._last_stamp or self._now_us())
        data = [
            {
                "id": i,
                "order_nr": i,
                "name": name,
                "is_deleted": False,
                "deal_probability": 100,
                "pipeline_id": 1,
                "is_deal_rot_enabled": False,
                "days_to_rotten": None,
                "add_time": stamp,
                "update_time": stamp,
            }
            for i, name in enumerate(STAGES, start=1)
        ]
        return JSONResponse(
            {"success": True, "data": data, "additional_data": {"next_cursor": None}}
        )

    async def _users(self, request: Request) -> Response:
        with self.lock:
            data = [self.users[i] for i in sorted(self.users)]
        return JSONResponse({"success": True, "data": data, "additional_data": None})

    async def _leads_list(self, request: Request) -> Response:
        q = request.query_params
        limit = self._limit(request)
        raw_start = q.get("start", "0")
        if not raw_start.isdigit():
            raise _BadRequest("Validation failed: start: Parameter 'start' must be a number")
        start = int(raw_start)
        sort = (q.get("sort") or "add_time ASC").split(",")[0].split()
        field_name = sort[0] if sort else "add_time"
        direction = sort[1].upper() if len(sort) > 1 else "ASC"
        sortable = {"id", "title", "owner_id", "creator_id", "was_seen", "expected_close_date"}
        if field_name not in sortable | {"next_activity_id", "add_time", "update_time"}:
            raise _BadRequest(f"Validation failed: sort: Unknown field '{field_name}'")
        if direction not in ("ASC", "DESC"):
            raise _BadRequest("Validation failed: sort: direction must be ASC or DESC")
        since = self._since(request, "updated_since")
        owner = q.get("owner_id")
        person = q.get("person_id")
        with self.lock:
            index = self.leads.by_stamp if field_name == "update_time" else self.leads.by_add
            keys = index.keys
            if owner is None and person is None and (since is None or index is self.leads.by_stamp):
                # O(page): bisect to the first record at or after `since`, then slice
                if direction == "ASC":
                    first = bisect.bisect_left(keys, (since,)) if since is not None else 0
                    chosen = keys[first + start : first + start + limit + 1]
                else:
                    first = bisect.bisect_left(keys, (since,)) if since is not None else 0
                    tail = len(keys) - start
                    chosen = list(reversed(keys[max(first, tail - limit - 1) : tail]))
            else:
                matching = [
                    k
                    for k in (keys if direction == "ASC" else reversed(keys))
                    if (since is None or self.leads.records[k[1]]["stamp"] >= since)
                    and (owner is None or str(self.leads.records[k[1]]["owner_id"]) == owner)
                    and (person is None or str(self.leads.records[k[1]]["person_id"]) == person)
                ]
                chosen = matching[start : start + limit + 1]
            more = len(chosen) > limit
            data = [self._lead_json(self.leads.records[k[1]]) for k in chosen[:limit]]
        pagination: dict[str, Any] = {
            "start": start,
            "limit": limit,
            "more_items_in_collection": more,
        }
        if more:
            pagination["next_start"] = start + limit
        return JSONResponse(
            {"success": True, "data": data, "additional_data": {"pagination": pagination}}
        )

    async def _lead_one(self, request: Request) -> Response:
        lead_id = request.path_params["id"]
        with self.lock:
            lead = self.leads.records.get(lead_id)
            if lead is None:
                return _error(404, "Lead not found")
            if request.method == "GET":
                return JSONResponse({"success": True, "data": self._lead_json(lead)})
        body = await self._json(request)
        with self.lock:
            allowed = {
                "title",
                "owner_id",
                "label_ids",
                "person_id",
                "organization_id",
                "value",
                "expected_close_date",
                "visible_to",
                "was_seen",
                "channel",
                "channel_id",
            }
            keys = {r["key"] for r in self.deal_field_defs if r["edit_flag"]}
            for name, value in body.items():
                if name in keys:
                    continue
                if name not in allowed:
                    raise _BadRequest(f"Validation failed: {name}: Unknown field")
                if name in ("owner_id", "person_id", "organization_id") and not (
                    value is None or _is_int(value)
                ):
                    raise _BadRequest(f"Validation failed: {name}: must be a number")
            for name, value in body.items():
                if name in keys:
                    lead["custom"][name] = value
                elif name in lead:
                    lead[name] = value
            self._updates += 1
            self._touch(self.leads, lead)
            return JSONResponse({"success": True, "data": self._lead_json(lead)})

    def _fields_endpoint(self, defs: list[dict[str, Any]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            if request.method == "POST":
                body = await self._json(request)
                name, kind = body.get("name"), body.get("field_type")
                if not isinstance(name, str) or not name.strip():
                    raise _BadRequest("Field name must be given.")
                if kind not in FIELD_TYPES:
                    raise _BadRequest(f"Field type '{kind}' is not a valid field type.")
                with self.lock:
                    row = self._new_field(defs, name, str(kind))
                return JSONResponse({"success": True, "data": row})
            limit = self._limit(request)
            raw_start = request.query_params.get("start", "0")
            start = int(raw_start) if raw_start.isdigit() else 0
            with self.lock:
                page = [dict(r) for r in defs[start : start + limit]]
                more = start + limit < len(defs)
            pagination: dict[str, Any] = {
                "start": start,
                "limit": limit,
                "more_items_in_collection": more,
            }
            if more:
                pagination["next_start"] = start + limit
            return JSONResponse(
                {"success": True, "data": page, "additional_data": {"pagination": pagination}}
            )

        return endpoint

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _BadRequest("Invalid JSON in request body") from None
        if not isinstance(body, dict):
            raise _BadRequest("Request body must be a JSON object")
        return body


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
