"""What every connector gives the service, and the HTTP loop they share.

The records are the vendor's data in neutral shapes: a `Person` (a HubSpot contact, a
Salesforce Lead or Contact, a Pipedrive person or lead) with the CRM's own field names, and a
`Deal` (a HubSpot deal, a Salesforce Opportunity, a Pipedrive deal) with its status, amount and
the people it belongs to. The service maps them onto leads, stages and outcomes
(`core.connectors`), so a connector never decides what a field means.

`Http.call` is the one place a request is made: it counts calls, waits out HTTP 429 with its
`Retry-After` (up to `max_wait` seconds; longer waits are handed back as `RateLimited` so the
outbox worker slows down instead of blocking), retries 5xx and connection errors a few times
with backoff, and turns any other refusal into a `ConnectorError` carrying the vendor's own
message.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol

import httpx

JITTER = random.Random()
"""Our own generator for retry jitter: threads that wait never touch the global `random`
state that user code (or a test framework) may have seeded."""

Value = str | int | float | bool | None


@dataclass(frozen=True)
class Person:
    """One person record of the CRM: `object` is the vendor's object name (contacts, Lead,
    Contact, persons, leads), `fields` the vendor's field names and values as read (custom
    fields under their readable names, not hash keys), `modified_at` epoch microseconds."""

    object: str
    id: str
    email: str | None
    fields: Mapping[str, Value]
    modified_at: int
    deleted: bool = False
    links: tuple[tuple[str, str], ...] = ()
    """Other (object, id) records of the same CRM naming the same person (a Pipedrive lead's
    person, a converted Salesforce Lead's Contact): the service matches on them too."""
    writable: bool = True
    """False for a record the CRM no longer lets anyone write (a converted Salesforce Lead:
    its person lives on as the linked Contact): linked, never written."""


@dataclass(frozen=True)
class Deal:
    """One deal of the CRM and the people (object, id) it belongs to."""

    object: str
    id: str
    people: tuple[tuple[str, str], ...]
    status: Literal["open", "won", "lost"]
    amount: float | None
    closed_at: int | None  # epoch microseconds; None while open
    modified_at: int
    stage: str | None = None  # the vendor's own stage name, for the record
    deleted: bool = False


Record = Person | Deal


@dataclass(frozen=True)
class Page:
    """Records in modification order, and the cursor that resumes right after them.

    The cursor is opaque text for the connector alone. The service stores it in the same
    transaction as the page's records, so a crash resumes after the last page written; the
    last page's cursor is the watermark the next incremental sync starts from."""

    records: list[Record]
    cursor: str


@dataclass(frozen=True)
class Update:
    """Fields to write on one CRM record; `key` is the caller's, to match results back."""

    object: str
    id: str
    fields: Mapping[str, Value]
    key: str


@dataclass(frozen=True)
class UpdateResult:
    key: str
    ok: bool
    message: str | None = None
    retryable: bool = False
    retry_after: float | None = None


@dataclass(frozen=True)
class FieldSpec:
    """A custom field leadscore writes (score, fit, grade, …), to be created if missing."""

    name: str
    label: str
    type: Literal["number", "string", "datetime"]
    description: str = ""


class ConnectorError(Exception):
    """A request the vendor refused or that could not be made; `message` quotes the vendor."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class RateLimited(ConnectorError):
    """The vendor asked us to wait longer than we wait in line (or a daily limit is spent)."""

    def __init__(self, message: str, retry_after: float, status: int | None = 429) -> None:
        super().__init__(message, retryable=True, retry_after=retry_after, status=status)


class Connector(Protocol):
    """What the service needs of a CRM. Implementations: hubspot, salesforce, pipedrive."""

    name: str
    batch_size: int
    """Records per update call (HubSpot 100, Salesforce 200, Pipedrive 1: it has no batch
    update of persons)."""
    http: Http

    def people_objects(self) -> tuple[str, ...]:
        """The person objects synced, in order (HubSpot: contacts; Salesforce: Lead, Contact)."""
        ...

    def deal_objects(self) -> tuple[str, ...]:
        """The deal objects synced after the people (empty when deals are not read)."""
        ...

    def id_source(self, object: str) -> str:
        """The `external_ids` key a record of `object` is linked under (e.g. hubspot,
        salesforce_lead)."""
        ...

    def read(self, object: str, cursor: str | None) -> Iterator[Page]:
        """Pages of records of `object` modified at or after the cursor's watermark (all
        records when None), resuming exactly where the cursor left off."""
        ...

    def fetch(self, object: str, ids: Sequence[str]) -> list[Person]:
        """Batch read of person records by id (records that no longer exist are left out)."""
        ...

    def update(self, updates: Sequence[Update]) -> list[UpdateResult]:
        """Write the updates in as few calls as the vendor allows; one result per update in
        order. A record that is gone or a field the vendor refuses is a permanent failure with
        the vendor's message; a rate limit longer than `Http.max_wait` a retryable one."""
        ...

    def ensure_fields(self, object: str, fields: Sequence[FieldSpec]) -> list[str]:
        """Create the custom fields that are missing; the names created. Raises ConnectorError
        naming the fields when they cannot be created through the API (Salesforce)."""
        ...

    def owners(self) -> dict[str, str]:
        """The CRM's users who can own records: lower-case e-mail → the CRM's owner id."""
        ...

    def close(self) -> None: ...


# --- the HTTP loop -------------------------------------------------------------------------


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """A `Retry-After` header (delay-seconds or an HTTP-date) as seconds from `now`."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def vendor_message(response: httpx.Response, limit: int = 500) -> str:
    """The vendor's own words for a refusal: `message` (HubSpot), `[0].message` (Salesforce),
    `error` (Pipedrive), else the start of the body."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return response.text[:limit] or response.reason_phrase
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "errorCode"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:limit]
    return json.dumps(body)[:limit]


@dataclass
class Http:
    """An httpx client with the vendor's base URL, counting calls and handling 429 and 5xx.

    `transport` lets a test or a benchmark route to a local server; `sleep` and `clock` let a
    test observe waits without waiting. `observe` sees every response (rate-limit headers)."""

    base_url: str
    headers: Callable[[], Mapping[str, str]] = dict
    transport: httpx.BaseTransport | None = None
    timeout: float = 30.0
    max_wait: float = 60.0
    """The longest Retry-After waited out in line; a longer one raises RateLimited."""
    retries: int = 4
    """Tries after a 5xx or a connection error before giving up (retryable)."""
    backoff: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    observe: Callable[[httpx.Response], None] | None = None
    calls: int = 0
    waited: float = 0.0
    """Seconds spent waiting for rate limits and retries (reported by sync and bench)."""
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(
            base_url=self.base_url.rstrip("/"),
            transport=self.transport,
            timeout=self.timeout,
            headers={"User-Agent": "leadscore", "Accept": "application/json"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def _wait(self, seconds: float) -> None:
        self.waited += seconds
        self.sleep(seconds)

    def call(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        ok: Sequence[int] = (),
    ) -> httpx.Response:
        """One logical request: the response when 2xx (or a status in `ok`); otherwise a
        ConnectorError. 429s are waited out, 5xx and connection errors retried."""
        attempt = 0
        while True:
            attempt += 1
            self.calls += 1
            try:
                response = self.client.request(
                    method,
                    url,
                    json=json_body,
                    params=params,
                    content=content,
                    headers={**self.headers(), **(headers or {})},
                )
            except httpx.HTTPError as exc:
                if attempt > self.retries:
                    raise ConnectorError(
                        f"{method} {url}: {type(exc).__name__}: {exc}", retryable=True
                    ) from None
                self._wait(self.backoff * 2 ** (attempt - 1) * (0.5 + JITTER.random() / 2))
                continue
            if self.observe is not None:
                self.observe(response)
            status = response.status_code
            if 200 <= status < 300 or status in ok:
                return response
            if status == 429:
                wait = retry_after_seconds(response.headers.get("retry-after"), self.clock())
                wait = self.backoff * 2 ** (attempt - 1) if wait is None else wait
                if wait > self.max_wait or attempt > self.retries + 4:
                    raise RateLimited(
                        f"{method} {url}: rate limited (429): {vendor_message(response)}", wait
                    )
                self._wait(wait)
                continue
            if status >= 500 or status == 408:
                if attempt > self.retries:
                    raise ConnectorError(
                        f"{method} {url}: {status}: {vendor_message(response)}",
                        retryable=True,
                        status=status,
                    )
                self._wait(self.backoff * 2 ** (attempt - 1) * (0.5 + JITTER.random() / 2))
                continue
            raise ConnectorError(
                f"{method} {url}: {status}: {vendor_message(response)}",
                retryable=False,
                status=status,
            )
