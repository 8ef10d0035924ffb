"""Salesforce: Leads and Contacts in, Opportunities as deals, scores written back.

A thin client on `Http` (why: docs/connectors-salesforce.md). It authenticates lazily with
OAuth 2.0 (client credentials, or the JWT bearer flow when given a private key), calls the
org's `instance_url` from the token answer, and re-authenticates once when a session expires
(HTTP 401 `INVALID_SESSION_ID`). Reads are SOQL `queryAll` ordered by (SystemModstamp, Id)
and paged with `nextRecordsUrl`; the cursor is that keyset, not the query locator, because
locators time out and a resumed sync must not depend on one. Writes are sObject Collections
(200 records a call) or, above `bulk_threshold` updates, a Bulk API 2.0 ingest job. Every
answer's `Sforce-Limit-Info` is watched: near the org's daily limit the client stops with
`RateLimited` rather than spend the calls the org's other integrations need.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import httpx
import jwt

from leadscore.connectors.base import (
    ConnectorError,
    Deal,
    FieldSpec,
    Http,
    Page,
    Person,
    RateLimited,
    Update,
    UpdateResult,
    Value,
)

LOGIN_URL = "https://login.salesforce.com"
API_VERSION = "v62.0"
PARDOT_SCORE = "pi__score__c"

DEFAULT_FIELDS: dict[str, Any] = {
    "in": {
        "Lead": (
            "Email",
            "FirstName",
            "LastName",
            "Company",
            "Title",
            "Industry",
            "NumberOfEmployees",
            "Country",
            "LeadSource",
            "Status",
            "OwnerId",
        ),
        "Contact": (
            "Email",
            "FirstName",
            "LastName",
            "Title",
            "MailingCountry",
            "LeadSource",
            "OwnerId",
        ),
    },
    "stage": {"Lead": "Status"},
    "out": {
        "score": "Leadscore_Score__c",
        "fit": "Leadscore_Fit__c",
        "engagement": "Leadscore_Engagement__c",
        "grade": "Leadscore_Grade__c",
        "tier": "Leadscore_Tier__c",
        "stage": "Leadscore_Stage__c",
        "url": "Leadscore_URL__c",
    },
    "owner": "OwnerId",
    "deals": {
        "Opportunity": ("StageName", "IsClosed", "IsWon", "Amount", "CloseDate"),
    },
}
"""The default field names, in (read per object) and out (written on Lead and Contact); the
stage field of a Lead is Status; owners are written to OwnerId."""

SYSTEM_FIELDS = ("Id", "SystemModstamp", "IsDeleted")
LEAD_LINK_FIELDS = ("IsConverted", "ConvertedContactId")
DEAL_FIELDS = ("Id", "StageName", "IsClosed", "IsWon", "Amount", "CloseDate", "SystemModstamp")
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
RETRYABLE_CODES = {"UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE"}
BULK_JOB_ROWS = 100_000
"""Rows per Bulk API 2.0 job: well under its 150 MB upload limit for leadscore's few fields."""
FIELD_TYPES = {"number": "Number(16, 2)", "string": "Text(255)", "datetime": "Date/Time"}


def soql_datetime(ms: int) -> str:
    """Epoch milliseconds as a SOQL dateTime literal (UTC, with milliseconds)."""
    when = datetime.fromtimestamp(ms / 1000, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_datetime_ms(text: str) -> int:
    """Salesforce's `2024-05-01T12:00:00.000+0000` (or a SOQL literal) as epoch ms."""
    normal = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", normal):
        normal = normal[:-2] + ":" + normal[-2:]
    return round(datetime.fromisoformat(normal).timestamp() * 1000)


def date_micros(text: str) -> int:
    """A Salesforce date (`2024-05-01`) as epoch microseconds at midnight UTC."""
    day = datetime.fromisoformat(text[:10]).replace(tzinfo=UTC)
    return int(day.timestamp()) * 1_000_000


def quote(value: str) -> str:
    """A SOQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def errors_of(response: httpx.Response) -> tuple[str, str]:
    """Salesforce's (errorCode, message) of a refused REST call."""
    try:
        body: Any = response.json()
    except ValueError:
        return "", response.text[:500]
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return str(body[0].get("errorCode", "")), str(body[0].get("message", ""))
    if isinstance(body, dict):
        return str(body.get("error", "")), str(body.get("error_description", ""))
    return "", response.text[:500]


def flat(record: Mapping[str, Any], name: str) -> Value:
    """A field of a query record; a relationship path (`Account.Name`) walks the nesting."""
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value if isinstance(value, str | int | float | bool) or value is None else None


def csv_cell(value: Value) -> str:
    """A Bulk API 2.0 CSV cell: `#N/A` clears a field (an empty cell leaves it alone)."""
    if value is None:
        return "#N/A"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


class SalesforceConnector:
    """Salesforce through its REST API. See the module docstring and
    docs/connectors-salesforce.md for options, permissions and limits."""

    name = "salesforce"
    batch_size = 200

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str | None = None,
        username: str | None = None,
        private_key: str | bytes | None = None,
        login_url: str | None = None,
        base_url: str | None = None,
        instance_url: str | None = None,
        audience: str | None = None,
        api_version: str = API_VERSION,
        fields: Mapping[str, Sequence[str]] | None = None,
        objects: Sequence[str] = ("Lead", "Contact"),
        deals: bool = True,
        page_size: int = 2000,
        bulk_threshold: int = 10_000,
        bulk_poll_interval: float = 5.0,
        bulk_timeout: float = 1800.0,
        limit_fraction: float = 0.95,
        limit_retry_after: float = 3600.0,
        allow_pardot_score: bool = False,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_wait: float = 60.0,
        timeout: float = 30.0,
    ) -> None:
        if login_url and base_url and login_url.rstrip("/") != base_url.rstrip("/"):
            raise ValueError("give login_url or base_url (the same thing), not two different")
        if private_key is None and not client_secret:
            raise ValueError("Salesforce needs client_secret, or private_key and username (JWT)")
        if private_key is not None and not username:
            raise ValueError("the JWT bearer flow needs the username the app acts for")
        if not re.fullmatch(r"v\d{2,3}\.\d", api_version):
            raise ValueError(f"api_version looks like v62.0, not {api_version!r}")
        if not 200 <= page_size <= 2000:
            raise ValueError("Salesforce query batches are 200 to 2,000 records")
        for names in (fields or {}).values():
            for name in names:
                if not FIELD_NAME.match(name):
                    raise ValueError(f"not a Salesforce field name: {name!r}")
        self.login_url = (login_url or base_url or LOGIN_URL).rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        self.private_key = private_key
        self.audience = audience or self._audience(self.login_url)
        self.fixed_instance = instance_url.rstrip("/") if instance_url else None
        self.api_version = api_version
        self.extra_fields = {obj: tuple(names) for obj, names in (fields or {}).items()}
        self.objects = tuple(objects)
        self.deals = deals
        self.page_size = page_size
        self.bulk_threshold = bulk_threshold
        self.bulk_poll_interval = bulk_poll_interval
        self.bulk_timeout = bulk_timeout
        self.limit_fraction = limit_fraction
        self.limit_retry_after = limit_retry_after
        self.allow_pardot_score = allow_pardot_score
        self.clock = clock
        self.api_usage: tuple[int, int] | None = None
        """The org's (calls used, daily limit) from the last `Sforce-Limit-Info` seen."""
        self._usage_seen_at = 0.0
        self._token: str | None = None
        self._instance = self.fixed_instance or self.login_url
        self.http = Http(
            base_url=self.login_url,
            headers=self._headers,
            transport=transport,
            timeout=timeout,
            max_wait=max_wait,
            sleep=sleep,
            clock=clock,
            observe=self._observe,
        )

    # --- the Connector protocol --------------------------------------------------------------

    def people_objects(self) -> tuple[str, ...]:
        return self.objects

    def deal_objects(self) -> tuple[str, ...]:
        return ("Opportunity",) if self.deals else ()

    def id_source(self, object: str) -> str:
        return f"salesforce_{object.lower()}"

    def read(self, object: str, cursor: str | None) -> Iterator[Page]:
        state = json.loads(cursor) if cursor else {}
        since = parse_datetime_ms(state["since"]) if state.get("since") else None
        after = str(state.get("after") or "")
        deal = object in self.deal_objects()
        yielded = False
        next_url: str | None = None
        while True:
            if next_url is None:
                response = self._api(
                    "GET",
                    self._data("/queryAll"),
                    params={"q": self._soql(object, since, after)},
                    headers={"Sforce-Query-Options": f"batchSize={self.page_size}"},
                )
            else:
                response = self._api("GET", next_url, ok=(400,))
                if response.status_code == 400:
                    code, message = errors_of(response)
                    if code != "INVALID_QUERY_LOCATOR":
                        raise ConnectorError(f"GET {next_url}: 400: {message}", retryable=False)
                    next_url = None  # the locator timed out: ask again from the keyset
                    continue
            body = response.json()
            records: list[Person | Deal] = []
            for raw in body.get("records", []):
                stamp = parse_datetime_ms(raw["SystemModstamp"])
                if since is not None and (stamp, raw["Id"]) <= (since, after):
                    continue  # at or before the cursor: already given
                since, after = stamp, raw["Id"]
                records.append(self._deal(raw) if deal else self._person(object, raw))
            cursor_out = json.dumps(
                {"since": soql_datetime(since) if since is not None else None, "after": after}
            )
            done = bool(body.get("done", True)) or not body.get("nextRecordsUrl")
            if records or (done and not yielded):
                yield Page(list(records), cursor_out)
                yielded = True
            if done:
                return
            next_url = str(body["nextRecordsUrl"])

    def fetch(self, object: str, ids: Sequence[str]) -> list[Person]:
        wanted = [i for i in dict.fromkeys(ids) if RECORD_ID.match(i)]
        found: dict[str, Person] = {}
        for start in range(0, len(wanted), 200):
            chunk = wanted[start : start + 200]
            soql = (
                f"SELECT {', '.join(self._columns(object))} FROM {object} "
                f"WHERE Id IN ({', '.join(quote(i) for i in chunk)})"
            )
            for raw in self._query_all_pages(soql, deleted=False):
                person = self._person(object, raw)
                found[person.id] = person
                found[person.id[:15]] = person
        return [found[i] for i in wanted if i in found]

    def update(self, updates: Sequence[Update]) -> list[UpdateResult]:
        results: dict[int, UpdateResult] = {}
        todo: list[tuple[int, Update]] = []
        for n, item in enumerate(updates):
            refused = self._refuse(item)
            if refused is not None:
                results[n] = UpdateResult(item.key, False, refused)
            elif not item.fields:
                results[n] = UpdateResult(item.key, True)
            else:
                todo.append((n, item))
        by_object: dict[str, list[tuple[int, Update]]] = {}
        for n, item in todo:
            by_object.setdefault(item.object, []).append((n, item))
        for obj, items in by_object.items():
            if len(todo) > self.bulk_threshold:
                for start in range(0, len(items), BULK_JOB_ROWS):
                    results.update(self._bulk(obj, items[start : start + BULK_JOB_ROWS]))
            else:
                for start in range(0, len(items), self.batch_size):
                    results.update(self._collection(items[start : start + self.batch_size]))
        return [results[n] for n in range(len(updates))]

    def ensure_fields(self, object: str, fields: Sequence[FieldSpec]) -> list[str]:
        """Salesforce creates custom fields only through its Metadata or Tooling API (and a
        permission set to make them writable): this checks they exist and are writable, and
        says what an admin must create when they are not."""
        describe = self._api("GET", self._data(f"/sobjects/{object}/describe")).json()
        existing = {str(f["name"]).lower(): f for f in describe.get("fields", [])}
        missing = [f for f in fields if f.name.lower() not in existing]
        locked = [
            f.name
            for f in fields
            if f.name.lower() in existing and not existing[f.name.lower()].get("updateable", True)
        ]
        if not missing and not locked:
            return []
        parts = []
        if missing:
            wanted = ", ".join(
                f"{f.name} ({FIELD_TYPES.get(f.type, 'Text(255)')}, label {f.label!r})"
                for f in missing
            )
            parts.append(
                f"{object} lacks the custom fields {wanted}: Salesforce's REST API cannot create "
                f"fields; create them in Setup > Object Manager > {object} > Fields & "
                "Relationships > New, with those API names"
            )
        if locked:
            parts.append(
                f"{object} fields {', '.join(locked)} are not writable by the integration user: "
                "give its profile or permission set Edit access to them (field-level security)"
            )
        raise ConnectorError("; ".join(parts), retryable=False)

    def owners(self) -> dict[str, str]:
        soql = "SELECT Id, Email, IsActive FROM User WHERE IsActive = true ORDER BY Id"
        found: dict[str, str] = {}
        for raw in self._query_all_pages(soql, deleted=False):
            email = raw.get("Email")
            if isinstance(email, str) and email:
                found.setdefault(email.lower(), str(raw["Id"]))
        return found

    def close(self) -> None:
        self.http.close()

    # --- OAuth 2.0 -----------------------------------------------------------------------------

    @staticmethod
    def _audience(login_url: str) -> str:
        host = urlsplit(login_url).hostname or ""
        if host.endswith(".sandbox.my.salesforce.com"):
            return "https://test.salesforce.com"
        if host.endswith(".my.salesforce.com"):
            return LOGIN_URL
        return login_url

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _authenticate(self) -> None:
        self._token = None
        form: dict[str, str]
        if self.private_key is not None:
            assertion = jwt.encode(
                {
                    "iss": self.client_id,
                    "sub": self.username,
                    "aud": self.audience,
                    "exp": int(time.time()) + 170,  # wall time; Salesforce: within 3 minutes
                },
                self.private_key,
                algorithm="RS256",
            )
            form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}
            form["assertion"] = assertion
        else:
            form = {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret or "",
            }
        response = self.http.call(
            "POST",
            f"{self.login_url}/services/oauth2/token",
            content=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        body = response.json()
        self._token = str(body["access_token"])
        self._instance = self.fixed_instance or str(body["instance_url"]).rstrip("/")

    # --- calls ---------------------------------------------------------------------------------

    def _data(self, path: str) -> str:
        return f"/services/data/{self.api_version}{path}"

    def _observe(self, response: httpx.Response) -> None:
        match = LIMIT_INFO.search(response.headers.get("sforce-limit-info", ""))
        if match:
            self.api_usage = (int(match.group(1)), int(match.group(2)))
            self._usage_seen_at = self.clock()

    def _check_budget(self) -> None:
        """Stop before the org's last calls; after `limit_retry_after` one call may look
        again (the daily limit is a rolling 24 hours)."""
        if self.api_usage is None:
            return
        used, limit = self.api_usage
        fresh = self.clock() - self._usage_seen_at < self.limit_retry_after
        if limit > 0 and used >= self.limit_fraction * limit and fresh:
            raise RateLimited(
                f"Salesforce API usage {used}/{limit} has reached {self.limit_fraction:.0%} of "
                "the org's daily limit; leadscore waits for the rolling 24-hour window",
                self.limit_retry_after,
                status=None,
            )

    def _api(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        ok: Sequence[int] = (),
    ) -> httpx.Response:
        """One REST call on the instance: signs in when needed, once more when the session
        expired, and turns `REQUEST_LIMIT_EXCEEDED` into `RateLimited`."""
        self._check_budget()
        if self._token is None:
            self._authenticate()
        for attempt in (1, 2):
            response = self.http.call(
                method,
                self._instance + path,
                params=params,
                json_body=json_body,
                content=content,
                headers=headers,
                ok=(*ok, 401, 403),
            )
            status = response.status_code
            if status == 401 and attempt == 1:
                self._authenticate()
                continue
            if status in (401, 403) and status not in ok:
                code, message = errors_of(response)
                if code == "REQUEST_LIMIT_EXCEEDED":
                    raise RateLimited(
                        f"{method} {path}: 403: {message} (the org's daily API limit)",
                        self.limit_retry_after,
                        status=403,
                    )
                raise ConnectorError(
                    f"{method} {path}: {status}: {message or code}", retryable=False, status=status
                )
            return response
        raise AssertionError("unreachable")

    def _query_all_pages(self, soql: str, *, deleted: bool) -> Iterator[dict[str, Any]]:
        response = self._api(
            "GET",
            self._data("/queryAll" if deleted else "/query"),
            params={"q": soql},
            headers={"Sforce-Query-Options": f"batchSize={self.page_size}"},
        )
        while True:
            body = response.json()
            yield from body.get("records", [])
            if body.get("done", True) or not body.get("nextRecordsUrl"):
                return
            response = self._api("GET", str(body["nextRecordsUrl"]))

    # --- reading -------------------------------------------------------------------------------

    def _columns(self, object: str) -> list[str]:
        names: list[str] = list(SYSTEM_FIELDS)
        names += DEFAULT_FIELDS["in"].get(object, ("Email", "OwnerId"))
        if object == "Lead":
            names += LEAD_LINK_FIELDS
        names += self.extra_fields.get(object, ())
        unique: dict[str, str] = {}
        for name in names:
            unique.setdefault(name.lower(), name)
        return list(unique.values())

    def _soql(self, object: str, since: int | None, after: str) -> str:
        if object in self.deal_objects():
            select = (
                ", ".join(DEAL_FIELDS)
                + ", IsDeleted, (SELECT ContactId FROM OpportunityContactRoles)"
            )
        else:
            select = ", ".join(self._columns(object))
        where = ""
        if since is not None:
            stamp = soql_datetime(since)
            if after:
                where = (
                    f" WHERE SystemModstamp > {stamp} OR "
                    f"(SystemModstamp = {stamp} AND Id > {quote(after)})"
                )
            else:
                where = f" WHERE SystemModstamp >= {stamp}"
        return f"SELECT {select} FROM {object}{where} ORDER BY SystemModstamp, Id"

    def _person(self, object: str, raw: Mapping[str, Any]) -> Person:
        names = [n for n in self._columns(object) if n not in SYSTEM_FIELDS]
        values = {name: flat(raw, name) for name in names}
        links: tuple[tuple[str, str], ...] = ()
        if object == "Lead" and raw.get("IsConverted") and raw.get("ConvertedContactId"):
            links = (("Contact", str(raw["ConvertedContactId"])),)
        email = raw.get("Email")
        return Person(
            object=object,
            id=str(raw["Id"]),
            email=email if isinstance(email, str) and email else None,
            fields=values,
            modified_at=parse_datetime_ms(raw["SystemModstamp"]) * 1000,
            deleted=bool(raw.get("IsDeleted")),
            links=links,
            writable=not links,  # CANNOT_UPDATE_CONVERTED_LEAD: scores go to the Contact
        )

    def _deal(self, raw: Mapping[str, Any]) -> Deal:
        status: Literal["open", "won", "lost"] = "open"
        if raw.get("IsClosed"):
            status = "won" if raw.get("IsWon") else "lost"
        roles = raw.get("OpportunityContactRoles") or {}
        people = tuple(
            dict.fromkeys(
                ("Contact", str(role["ContactId"]))
                for role in roles.get("records", [])
                if role.get("ContactId")
            )
        )
        amount = raw.get("Amount")
        close = raw.get("CloseDate")
        return Deal(
            object="Opportunity",
            id=str(raw["Id"]),
            people=people,
            status=status,
            amount=float(amount) if isinstance(amount, int | float) else None,
            closed_at=date_micros(close) if status != "open" and isinstance(close, str) else None,
            modified_at=parse_datetime_ms(raw["SystemModstamp"]) * 1000,
            stage=raw.get("StageName"),
            deleted=bool(raw.get("IsDeleted")),
        )

    # --- writing -------------------------------------------------------------------------------

    def _refuse(self, item: Update) -> str | None:
        if not self.allow_pardot_score and any(
            name.lower() == PARDOT_SCORE for name in item.fields
        ):
            return (
                f"{PARDOT_SCORE} is Account Engagement's (Pardot's) own score: leadscore writes "
                "it only when the connector is built with allow_pardot_score=True"
            )
        bad = [name for name in item.fields if not FIELD_NAME.match(name) or "." in name]
        if bad:
            return f"not Salesforce field names: {', '.join(bad)}"
        return None

    def _collection(self, items: Sequence[tuple[int, Update]]) -> dict[int, UpdateResult]:
        """One sObject Collections PATCH (≤ 200 records); a field Salesforce does not know
        refuses the whole call, so the records naming it fail and the rest go again."""
        results: dict[int, UpdateResult] = {}
        pending = list(items)
        while pending:
            body = {
                "allOrNone": False,
                "records": [
                    {"attributes": {"type": u.object}, "id": u.id, **u.fields} for _, u in pending
                ],
            }
            try:
                response = self._api(
                    "PATCH", self._data("/composite/sobjects"), json_body=body, ok=(400,)
                )
            except ConnectorError as error:
                for n, u in pending:
                    results[n] = UpdateResult(
                        u.key, False, error.message, error.retryable, error.retry_after
                    )
                return results
            if response.status_code == 400:
                code, message = errors_of(response)
                column = re.search(r"No such column '([^']+)'", message)
                named = column.group(1).lower() if column and code == "INVALID_FIELD" else None
                failing = [(n, u) for n, u in pending if named in {f.lower() for f in u.fields}]
                if not failing:
                    failing = pending
                for n, u in failing:
                    results[n] = UpdateResult(u.key, False, f"{code}: {message}")
                done = {n for n, _ in failing}
                pending = [(n, u) for n, u in pending if n not in done]
                continue
            for (n, u), saved in zip(pending, response.json(), strict=False):
                if saved.get("success"):
                    results[n] = UpdateResult(u.key, True)
                    continue
                errors = saved.get("errors") or [{}]
                code = str(errors[0].get("statusCode", ""))
                message = "; ".join(
                    f"{e.get('statusCode', '')}: {e.get('message', '')}" for e in errors
                )
                results[n] = UpdateResult(u.key, False, message, code in RETRYABLE_CODES)
            for n, u in pending:
                results.setdefault(n, UpdateResult(u.key, False, "no result returned", True))
            pending = []
        return results

    def _bulk(self, object: str, items: Sequence[tuple[int, Update]]) -> dict[int, UpdateResult]:
        """A Bulk API 2.0 update job: create, upload CSV, close, poll, read the results."""
        columns: dict[str, str] = {}
        for _, u in items:
            for name in u.fields:
                columns.setdefault(name.lower(), name)
        header = ["Id", *columns.values()]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for _, u in items:
            lowered = {k.lower(): v for k, v in u.fields.items()}
            writer.writerow(
                [u.id] + [csv_cell(lowered[k]) if k in lowered else "" for k in columns]
            )
        try:
            job = self._api(
                "POST",
                self._data("/jobs/ingest"),
                json_body={
                    "object": object,
                    "operation": "update",
                    "contentType": "CSV",
                    "lineEnding": "LF",
                    "columnDelimiter": "COMMA",
                },
            ).json()
            job_path = self._data(f"/jobs/ingest/{job['id']}")
            self._api(
                "PUT",
                job_path + "/batches",
                content=out.getvalue().encode("utf-8"),
                headers={"Content-Type": "text/csv"},
            )
            info = self._api("PATCH", job_path, json_body={"state": "UploadComplete"}).json()
            waited = 0.0
            while info.get("state") not in ("JobComplete", "Failed", "Aborted"):
                if waited >= self.bulk_timeout:
                    message = (
                        f"Bulk API job {job['id']} still {info.get('state')} after "
                        f"{waited:g} s; the updates are retried"
                    )
                    return {n: UpdateResult(u.key, False, message, True) for n, u in items}
                self.http.sleep(self.bulk_poll_interval)
                waited += self.bulk_poll_interval
                info = self._api("GET", job_path).json()
            done = self._bulk_rows(job_path + "/successfulResults/")
            failed = self._bulk_rows(job_path + "/failedResults/")
        except ConnectorError as error:
            return {
                n: UpdateResult(u.key, False, error.message, error.retryable, error.retry_after)
                for n, u in items
            }
        by_id: dict[str, UpdateResult | None] = {}
        for row in done:
            by_id[row.get("sf__Id", "")] = None
        errors: dict[str, str] = {}
        for row in failed:
            errors[row.get("sf__Id", "") or row.get("Id", "")] = row.get("sf__Error", "")
        results: dict[int, UpdateResult] = {}
        for n, u in items:
            if u.id in by_id:
                results[n] = UpdateResult(u.key, True)
            elif u.id in errors:
                code, _, rest = errors[u.id].partition(":")
                message = rest.rsplit(":", 1)[0] if rest.count(":") else rest
                results[n] = UpdateResult(
                    u.key, False, f"{code}: {message}", code in RETRYABLE_CODES
                )
            elif info.get("state") == "Failed":
                results[n] = UpdateResult(
                    u.key, False, f"Bulk API job failed: {info.get('errorMessage')}"
                )
            else:
                results[n] = UpdateResult(
                    u.key, False, f"Bulk API job {info.get('state')}: record not processed", True
                )
        return results

    def _bulk_rows(self, path: str) -> list[dict[str, str]]:
        text = self._api("GET", path, headers={"Accept": "text/csv"}).text
        return list(csv.DictReader(io.StringIO(text, newline="")))
