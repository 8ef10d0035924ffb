"""A local Salesforce org (REST API) that answers as Salesforce's documentation says.

What it reproduces, and from where (Salesforce REST API Developer Guide, SOQL and SOSL
Reference, Bulk API 2.0 Developer Guide, OAuth help pages):

- `POST /services/oauth2/token`: the client credentials flow (client_id and client_secret)
  and the JWT bearer flow (an RS256 assertion with iss = client id, sub = username, aud = the
  login URL, exp within 3 minutes, checked against the connected app's certificate). The
  answer carries `access_token`, `instance_url`, `id`, `token_type`, `issued_at` and
  `signature` (HMAC-SHA256 of id + issued_at), no refresh token. Refusals are
  `{"error", "error_description"}` with HTTP 400.
- Every REST call needs `Authorization: Bearer`; an unknown or expired session is HTTP 401
  `[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]`.
- Every REST answer carries `Sforce-Limit-Info: api-usage=N/M`; past the org's daily limit
  calls are refused with HTTP 403 `REQUEST_LIMIT_EXCEEDED` ("TotalRequests Limit exceeded.").
- `GET /services/data/vXX.X/query?q=` and `queryAll` (which also returns deleted records, with
  IsDeleted = true): `{totalSize, done, records: [{attributes: {type, url}, ...}],
  nextRecordsUrl}`; batches of 2,000 records unless `Sforce-Query-Options: batchSize=N`
  (200..2,000); `nextRecordsUrl` is `/services/data/vXX.X/query/01g…-N`; a query locator
  that timed out is `INVALID_QUERY_LOCATOR`. dateTimes come back as
  `2024-05-01T12:00:00.000+0000`. The SOQL accepted is the subset below; anything else is
  `MALFORMED_QUERY`, an unknown field `INVALID_FIELD` ("No such column 'X' on entity 'Lead'
  …"), an unknown object `INVALID_TYPE`, a quoted dateTime `INVALID_QUERY_FILTER_OPERATOR`,
  all HTTP 400 with Salesforce's `ERROR at Row:1:Column:N` pointer.
- `GET /services/data/vXX.X/sobjects/{Object}/describe`: the object's fields (name, label,
  type, custom, updateable).
- `PATCH /services/data/vXX.X/composite/sobjects` (sObject Collections): at most 200 records
  (201 is HTTP 400 `EXCEEDED_ID_LIMIT`, "record limit reached. cannot submit more than 200
  records into this call"); a field that does not exist refuses the whole request (HTTP 400
  `INVALID_FIELD`, "No such column 'X' on sobject of type Lead"); otherwise HTTP 200 with one
  SaveResult per record in order: a deleted record `ENTITY_IS_DELETED`, a converted lead
  `CANNOT_UPDATE_CONVERTED_LEAD`, a read-only field `INVALID_FIELD_FOR_INSERT_UPDATE`, a
  text value in a number field `INVALID_TYPE_ON_FIELD_IN_RECORD`; `allOrNone` rolls back.
- Bulk API 2.0 ingest (`update` only): create job, `PUT …/batches` (text/csv), `PATCH` state
  `UploadComplete`, `GET` job (first `InProgress`, then `JobComplete` or `Failed`),
  `successfulResults/` (`sf__Id`, `sf__Created`, …) and `failedResults/` (`sf__Id`,
  `sf__Error` as `CODE:message:fields`, …). An empty cell leaves a field alone, `#N/A`
  clears it; an unknown column fails the job ("InvalidBatch : Field name not found : X").

Records are kept per object with an index on (SystemModstamp, Id), so the keyset query a
sync client sends (`SystemModstamp > T OR (SystemModstamp = T AND Id > X)`, ordered by
SystemModstamp, Id) is served from a bisection: each page costs O(page), not O(org).
SystemModstamp has millisecond resolution and strictly increases across changes.

The SOQL subset: a field list (no parent relationship paths such as `Account.Name`; child
subqueries on `OpportunityContactRoles`), `FROM`, `WHERE` with `=`, `!=`, `<`, `<=`, `>`,
`>=`, `IN`, `NOT IN`, `AND`, `OR`, `NOT` and parentheses (mixing AND and OR needs
parentheses, as in SOQL), `ORDER BY` with `ASC`/`DESC`/`NULLS FIRST|LAST`, `LIMIT`. Text
comparisons ignore case, as SOQL's do. dateTime literals may carry fractional seconds.
"""

from __future__ import annotations

import base64
import bisect
import csv
import hashlib
import hmac
import io
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadscore.connectors.base import Connector, Value
from leadscore.testing.fakes.server import FakeServer

# --- SOQL: the subset a sync client sends ---------------------------------------------------

KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "TRUE",
    "FALSE",
    "NULL",
}

TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d))
  | (?P<date>\d{4}-\d\d-\d\d)(?![\dT])
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
    """,
    re.X,
)


class SoqlError(Exception):
    """A refusal in Salesforce's terms: its error code and message (HTTP 400)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    value: Any
    column: int


@dataclass(frozen=True)
class Cmp:
    field: str
    op: str
    value: Any  # a literal, or a tuple of literals for IN
    column: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = Cmp | BoolOp | Not


@dataclass(frozen=True)
class Sub:
    """A child relationship subquery in the field list."""

    fields: tuple[tuple[str, int], ...]
    relationship: str
    column: int


@dataclass
class Query:
    text: str
    fields: list[tuple[str, int]] = field(default_factory=list)  # (name, column)
    subqueries: list[Sub] = field(default_factory=list)
    order: list[tuple[str, int]] = field(default_factory=list)  # ordered items, for output
    object: str = ""
    object_column: int = 0
    where: Expr | None = None
    order_by: list[tuple[str, bool, bool]] = field(default_factory=list)  # name, desc, nulls_last
    limit: int | None = None


def datetime_ms(text: str) -> int:
    """A SOQL dateTime literal (or Salesforce's own `+0000` form) as epoch milliseconds."""
    normal = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", normal):
        normal = normal[:-2] + ":" + normal[-2:]
    when = datetime.fromisoformat(normal)
    return int(when.timestamp() * 1000)


def format_ms(ms: int) -> str:
    """Epoch milliseconds as Salesforce writes a dateTime in JSON."""
    when = datetime.fromtimestamp(ms / 1000, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"


def malformed(text: str, column: int, message: str) -> SoqlError:
    caret = " " * max(0, column - 1) + "^"
    return SoqlError(
        "MALFORMED_QUERY", f"\n{text}\n{caret}\nERROR at Row:1:Column:{column}\n{message}"
    )


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if match is None:
            raise malformed(text, pos + 1, f"unexpected token: '{text[pos]}'")
        kind = match.lastgroup or ""
        raw = match.group()
        column = pos + 1
        pos = match.end()
        if kind == "ws":
            continue
        value: Any = raw
        if kind == "name" and raw.upper() in KEYWORDS:
            kind = "kw"
            value = raw.upper()
        elif kind == "string":
            value = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elif kind == "number":
            value = float(raw) if "." in raw else int(raw)
        elif kind == "datetime":
            value = datetime_ms(raw)
        tokens.append(Token(kind, raw, value, column))
    tokens.append(Token("eof", "<EOF>", None, len(text) + 1))
    return tokens


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def next(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def fail(self, token: Token | None = None) -> SoqlError:
        token = token or self.peek()
        return malformed(self.text, token.column, f"unexpected token: {token.text}")

    def keyword(self, *words: str) -> Token:
        token = self.next()
        if token.kind != "kw" or token.value not in words:
            raise self.fail(token)
        return token

    def at(self, kind: str, value: Any = None) -> bool:
        token = self.peek()
        return token.kind == kind and (value is None or token.value == value)

    def name(self) -> Token:
        token = self.next()
        if token.kind != "name":
            raise self.fail(token)
        return token

    def parse(self) -> Query:
        query = Query(self.text)
        self.keyword("SELECT")
        while True:
            if self.at("punct", "("):
                open_paren = self.next()
                self.keyword("SELECT")
                sub_fields = [(t.text, t.column) for t in [self.name()]]
                while self.at("punct", ","):
                    self.next()
                    token = self.name()
                    sub_fields.append((token.text, token.column))
                self.keyword("FROM")
                relationship = self.name()
                if not self.at("punct", ")"):
                    raise self.fail()
                self.next()
                sub = Sub(tuple(sub_fields), relationship.text, open_paren.column)
                query.subqueries.append(sub)
                query.order.append((f"({relationship.text})", relationship.column))
            else:
                token = self.name()
                query.fields.append((token.text, token.column))
                query.order.append((token.text, token.column))
            if not self.at("punct", ","):
                break
            self.next()
        self.keyword("FROM")
        obj = self.name()
        query.object, query.object_column = obj.text, obj.column
        if self.at("kw", "WHERE"):
            self.next()
            query.where = self.expr()
        if self.at("kw", "ORDER"):
            self.next()
            self.keyword("BY")
            while True:
                token = self.name()
                desc = False
                if self.at("kw", "ASC") or self.at("kw", "DESC"):
                    desc = self.next().value == "DESC"
                nulls_last = desc  # SOQL: nulls first ascending, last descending
                if self.at("kw", "NULLS"):
                    self.next()
                    nulls_last = self.keyword("FIRST", "LAST").value == "LAST"
                query.order_by.append((token.text, desc, nulls_last))
                if not self.at("punct", ","):
                    break
                self.next()
        if self.at("kw", "LIMIT"):
            self.next()
            token = self.next()
            if token.kind != "number" or not isinstance(token.value, int) or token.value < 0:
                raise self.fail(token)
            query.limit = token.value
        if not self.at("eof"):
            raise self.fail()
        return query

    def expr(self) -> Expr:
        items = [self.factor()]
        op: str | None = None
        while self.at("kw", "AND") or self.at("kw", "OR"):
            token = self.next()
            if op is not None and token.value != op:
                # SOQL wants parentheses to mix AND and OR.
                raise self.fail(token)
            op = token.value
            items.append(self.factor())
        if op is None:
            return items[0]
        return BoolOp(op, tuple(items))

    def factor(self) -> Expr:
        if self.at("punct", "("):
            self.next()
            inner = self.expr()
            if not self.at("punct", ")"):
                raise self.fail()
            self.next()
            return inner
        if self.at("kw", "NOT"):
            self.next()
            return Not(self.factor())
        token = self.name()
        if self.at("kw", "IN") or self.at("kw", "NOT"):
            negate = self.next().value == "NOT"
            if negate:
                self.keyword("IN")
            if not self.at("punct", "("):
                raise self.fail()
            self.next()
            values = [self.literal()]
            while self.at("punct", ","):
                self.next()
                values.append(self.literal())
            if not self.at("punct", ")"):
                raise self.fail()
            self.next()
            return Cmp(token.text, "NOT IN" if negate else "IN", tuple(values), token.column)
        op = self.next()
        if op.kind != "op":
            raise self.fail(op)
        return Cmp(token.text, "!=" if op.text == "<>" else op.text, self.literal(), token.column)

    def literal(self) -> Any:
        token = self.next()
        if token.kind in ("string", "number", "datetime", "date"):
            return Literal(token.kind, token.value)
        if token.kind == "kw" and token.value in ("TRUE", "FALSE", "NULL"):
            value = {"TRUE": True, "FALSE": False, "NULL": None}[token.value]
            return Literal("bool" if value is not None else "null", value)
        raise self.fail(token)


@dataclass(frozen=True)
class Literal:
    kind: str  # string | number | datetime | date | bool | null
    value: Any


def parse(text: str) -> Query:
    return Parser(text).parse()


def compare(left: Any, op: str, right: Any) -> bool:
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if op == "<":
            return bool(left < right)
        if op == "<=":
            return bool(left <= right)
        if op == ">":
            return bool(left > right)
        if op == ">=":
            return bool(left >= right)
    except TypeError:
        return False
    raise ValueError(op)


def evaluate(expr: Expr, record: dict[str, Any]) -> bool:
    """Whether `record` (canonical field names, dateTimes as epoch ms) matches `expr`, whose
    field names were resolved to canonical ones."""
    if isinstance(expr, Cmp):
        left = record.get(expr.field)
        if isinstance(left, str) and expr.field != "Id":
            left = left.lower()  # SOQL compares text case-insensitively
        if expr.op in ("IN", "NOT IN"):
            values = {_plain(v, expr.field) for v in expr.value}
            found = left in values
            return found if expr.op == "IN" else not found
        return compare(left, expr.op, _plain(expr.value, expr.field))
    if isinstance(expr, Not):
        return not evaluate(expr.item, record)
    if expr.op == "AND":
        return all(evaluate(item, record) for item in expr.items)
    return any(evaluate(item, record) for item in expr.items)


def _plain(literal: Literal, name: str) -> Any:
    value = literal.value
    if isinstance(value, str) and name != "Id":
        return value.lower()
    return value


# --- the org's records ---------------------------------------------------------------------

API_VERSION = re.compile(r"^v\d{2,3}\.\d$")
KEY_PREFIX = {
    "Lead": "00Q",
    "Contact": "003",
    "Opportunity": "006",
    "OpportunityContactRole": "00K",
    "User": "005",
    "Account": "001",
}
# name → (type, updateable); the standard fields a lead-scoring sync touches, plus the
# custom fields leadscore writes (created by an admin, see docs/connectors-salesforce.md)
# and Account Engagement's own score.
CUSTOM = {
    "Leadscore_Score__c": ("double", True),
    "Leadscore_Fit__c": ("double", True),
    "Leadscore_Engagement__c": ("double", True),
    "Leadscore_Grade__c": ("string", True),
    "Leadscore_Tier__c": ("string", True),
    "Leadscore_Stage__c": ("string", True),
    "Leadscore_URL__c": ("url", True),
    "pi__score__c": ("double", True),
}
COMMON = {
    "Id": ("id", False),
    "IsDeleted": ("boolean", False),
    "CreatedDate": ("datetime", False),
    "LastModifiedDate": ("datetime", False),
    "SystemModstamp": ("datetime", False),
    "OwnerId": ("reference", True),
}
PERSON = {
    "Email": ("email", True),
    "FirstName": ("string", True),
    "LastName": ("string", True),
    "Title": ("string", True),
    "LeadSource": ("picklist", True),
    "Phone": ("phone", True),
}
SCHEMAS: dict[str, dict[str, tuple[str, bool]]] = {
    "Lead": {
        **COMMON,
        **PERSON,
        "Company": ("string", True),
        "Industry": ("picklist", True),
        "NumberOfEmployees": ("int", True),
        "Country": ("string", True),
        "City": ("string", True),
        "Website": ("url", True),
        "Status": ("picklist", True),
        "IsConverted": ("boolean", False),
        "ConvertedContactId": ("reference", False),
        "ConvertedDate": ("date", False),
        **CUSTOM,
    },
    "Contact": {
        **COMMON,
        **PERSON,
        "AccountId": ("reference", True),
        "Department": ("string", True),
        "MailingCountry": ("string", True),
        "MailingCity": ("string", True),
        **CUSTOM,
    },
    "Opportunity": {
        **COMMON,
        "Name": ("string", True),
        "AccountId": ("reference", True),
        "StageName": ("picklist", True),
        "IsClosed": ("boolean", False),
        "IsWon": ("boolean", False),
        "Amount": ("currency", True),
        "CloseDate": ("date", True),
    },
    "OpportunityContactRole": {
        **COMMON,
        "OpportunityId": ("reference", False),
        "ContactId": ("reference", True),
        "Role": ("picklist", True),
        "IsPrimary": ("boolean", True),
    },
    "User": {
        **COMMON,
        "Email": ("email", True),
        "Name": ("string", False),
        "Username": ("string", True),
        "IsActive": ("boolean", True),
    },
}
CHILDREN = {"Opportunity": {"OpportunityContactRoles": ("OpportunityContactRole", "OpportunityId")}}
LABELS = {
    "Leadscore_Score__c": "Leadscore Score",
    "pi__score__c": "Score",
}


def sf_error(
    code: str, message: str, status: int, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse([{"message": message, "errorCode": code}], status, headers=headers)


def no_such_column(name: str, obj: str, entity: str = "entity") -> str:
    return (
        f"No such column '{name}' on {entity} '{obj}'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name. Please reference your "
        "WSDL or the describe call for the appropriate names."
    )


@dataclass
class Table:
    """One sObject's records, and its rows ordered by (SystemModstamp, Id) for O(page)
    keyset paging."""

    name: str
    schema: dict[str, tuple[str, bool]]
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    index: list[tuple[int, str]] = field(default_factory=list)
    lower: dict[str, str] = field(default_factory=dict)  # lower-case name → canonical

    def __post_init__(self) -> None:
        self.lower = {name.lower(): name for name in self.schema}

    def canonical(self, name: str) -> str | None:
        return self.lower.get(name.lower())

    def touch(self, row: dict[str, Any], stamp: int) -> None:
        old = (row["SystemModstamp"], row["Id"])
        at = bisect.bisect_left(self.index, old)
        if at < len(self.index) and self.index[at] == old:
            del self.index[at]
        row["SystemModstamp"] = stamp
        row["LastModifiedDate"] = stamp
        bisect.insort(self.index, (stamp, row["Id"]))


@dataclass
class Locator:
    query: Query
    table: Table
    all_rows: bool
    where: Expr | None
    batch: int
    total: int
    served: int = 0
    last: tuple[int, str] | None = None  # keyset position (index order)
    rows: list[dict[str, Any]] | None = None  # materialised order (other sorts)


@dataclass
class Job:
    id: str
    object: str
    operation: str
    line_ending: str
    created: int
    state: str = "Open"
    data: list[bytes] = field(default_factory=list)
    polls: int = 0
    processed: int = 0
    failed: int = 0
    error: str = ""
    success_csv: str = ""
    failed_csv: str = ""
    unprocessed_csv: str = ""


@dataclass
class FakeSalesforce(FakeServer):
    """Salesforce's REST API on 127.0.0.1: OAuth 2.0 token endpoint (client credentials and
    JWT bearer), SOQL `query`/`queryAll` with `nextRecordsUrl` paging, sObject describe,
    sObject Collections update, Bulk API 2.0 ingest jobs, and the org's daily API limit
    (`Sforce-Limit-Info`, `REQUEST_LIMIT_EXCEEDED`). The same URL answers as login server and
    as the org's instance (`instance_url` in the token answer)."""

    person_object: str = "Contact"
    client_id: str = "3MVG9-leadscore-test-client"
    client_secret: str = "leadscore-test-secret"
    daily_limit: int = 100_000
    instance_url: str | None = None
    """What the token answer gives as `instance_url` (None: this fake's own URL)."""
    api_usage: int = 0
    tables: dict[str, Table] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    jwt_clients: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    """client_id → (public key PEM, the username it may act for)."""
    locators: dict[str, Locator] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    roles: dict[str, list[str]] = field(default_factory=dict)  # Opportunity Id → role Ids
    writes: int = 0
    _serial: int = 0
    _stamp: int = 0

    def __post_init__(self) -> None:
        for name, schema in SCHEMAS.items():
            self.tables[name] = Table(name, dict(schema))

    # --- helpers ---------------------------------------------------------------------------

    def _id(self, obj: str) -> str:
        self._serial += 1
        return f"{KEY_PREFIX.get(obj, 'a00')}000{self._serial:09d}AAA"

    def _now(self) -> int:
        """Milliseconds, strictly increasing so every change has its own SystemModstamp."""
        self._stamp = max(int(time.time() * 1000), self._stamp + 1)
        return self._stamp

    def _table(self, obj: str | None) -> Table:
        name = obj or self.person_object
        if name not in self.tables:
            raise KeyError(f"no sObject {name!r} in the fake")
        return self.tables[name]

    def _insert(self, obj: str, values: Mapping[str, Any]) -> str:
        table = self._table(obj)
        stamp = self._now()
        row: dict[str, Any] = {name: None for name in table.schema}
        row.update(Id=self._id(obj), IsDeleted=False, CreatedDate=stamp, SystemModstamp=stamp)
        row["LastModifiedDate"] = stamp
        if "IsConverted" in table.schema:
            row["IsConverted"] = False
        for name, value in values.items():
            canonical = table.canonical(name)
            if canonical is None:
                raise KeyError(no_such_column(name, obj))
            row[canonical] = _store(table.schema[canonical][0], value)
        table.rows[row["Id"]] = row
        bisect.insort(table.index, (stamp, row["Id"]))
        return str(row["Id"])

    def _out(self, table: Table, name: str, value: Any) -> Any:
        kind = table.schema[name][0]
        if kind == "datetime" and isinstance(value, int):
            return format_ms(value)
        return value

    # --- the seeding and inspection interface (same for every fake) -------------------------

    def add_person(
        self,
        email: str | None,
        fields: Mapping[str, Value] | None = None,
        *,
        object: str | None = None,
    ) -> str:
        with self.lock:
            obj = object or self.person_object
            values: dict[str, Any] = {"Email": email, "LastName": "Unknown"}
            if obj == "Lead":
                values["Company"] = "Unknown"
                values["Status"] = "Open - Not Contacted"
            values.update(fields or {})
            return self._insert(obj, values)

    def change_person(
        self, id: str, fields: Mapping[str, Value], *, object: str | None = None
    ) -> None:
        with self.lock:
            table = self._table(object)
            row = table.rows[id]
            for name, value in fields.items():
                canonical = table.canonical(name)
                if canonical is None:
                    raise KeyError(no_such_column(name, table.name))
                row[canonical] = _store(table.schema[canonical][0], value)
            table.touch(row, self._now())

    def delete_person(self, id: str, *, object: str | None = None) -> None:
        """To the recycle bin: `queryAll` still returns it with IsDeleted = true."""
        with self.lock:
            table = self._table(object)
            row = table.rows[id]
            row["IsDeleted"] = True
            table.touch(row, self._now())

    def person_fields(self, id: str, *, object: str | None = None) -> dict[str, Value]:
        with self.lock:
            table = self._table(object)
            row = table.rows[id]
            return {name: self._out(table, name, value) for name, value in row.items()}

    def add_deal(
        self,
        people: Sequence[str],
        status: str,
        amount: float | None = None,
        *,
        closed_at: int | None = None,
    ) -> str:
        stages = {"open": "Prospecting", "won": "Closed Won", "lost": "Closed Lost"}
        with self.lock:
            close = (
                datetime.now(UTC)
                if closed_at is None
                else datetime.fromtimestamp(closed_at / 1e6, UTC)
            )
            deal = self._insert(
                "Opportunity",
                {
                    "Name": f"Deal {self._serial + 1}",
                    "StageName": stages[status],
                    "IsClosed": status != "open",
                    "IsWon": status == "won",
                    "Amount": amount,
                    "CloseDate": close.date().isoformat(),
                },
            )
            self.roles[deal] = [
                self._insert(
                    "OpportunityContactRole",
                    {"OpportunityId": deal, "ContactId": person, "IsPrimary": i == 0},
                )
                for i, person in enumerate(people)
            ]
            return deal

    def add_owner(self, email: str, name: str = "", *, active: bool = True) -> str:
        with self.lock:
            return self._insert(
                "User",
                {"Email": email, "Name": name or email, "Username": email, "IsActive": active},
            )

    def connector(self, **options: Any) -> Connector:
        from leadscore.connectors.salesforce import SalesforceConnector

        options.setdefault("client_id", self.client_id)
        if "private_key" not in options:
            options.setdefault("client_secret", self.client_secret)
        return SalesforceConnector(login_url=self.url, **options)

    def secrets(self) -> dict[str, str]:
        """The connector's secrets that this fake accepts (for a secrets file)."""
        return {"client_id": self.client_id, "client_secret": self.client_secret}

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def update_calls(self) -> int:
        with self.lock:
            return self.writes

    # --- more seeding, for Salesforce's own cases -------------------------------------------

    def convert_lead(self, lead_id: str, contact_id: str | None = None) -> str:
        """Lead conversion: the Lead becomes read-only with IsConverted and ConvertedContactId;
        a Contact is created from it unless one is given."""
        with self.lock:
            leads = self.tables["Lead"]
            lead = leads.rows[lead_id]
            if contact_id is None:
                contact_id = self._insert(
                    "Contact",
                    {k: lead[k] for k in ("Email", "FirstName", "LastName", "Title")},
                )
            lead.update(IsConverted=True, ConvertedContactId=contact_id)
            lead["ConvertedDate"] = datetime.now(UTC).date().isoformat()
            leads.touch(lead, self._now())
            return contact_id

    def register_jwt_client(self, client_id: str, public_key_pem: bytes, username: str) -> None:
        """A connected app with a certificate, pre-authorized for `username` (JWT bearer)."""
        with self.lock:
            self.jwt_clients[client_id] = (public_key_pem, username)

    def add_field(self, obj: str, name: str, type: str = "double") -> None:
        with self.lock:
            table = self.tables[obj]
            table.schema[name] = (type, True)
            table.lower[name.lower()] = name
            for row in table.rows.values():
                row.setdefault(name, None)

    def remove_field(self, obj: str, name: str) -> None:
        with self.lock:
            table = self.tables[obj]
            del table.schema[name]
            del table.lower[name.lower()]

    def expire_query_locators(self) -> None:
        """Query cursors time out (15 minutes of inactivity on a real org)."""
        with self.lock:
            self.locators.clear()

    # --- HTTP --------------------------------------------------------------------------------

    def fault_body(self, status: int) -> Any:
        codes = {500: "UNKNOWN_EXCEPTION", 502: "SERVER_UNAVAILABLE", 503: "SERVER_UNAVAILABLE"}
        message = {
            429: "Too many requests",
            503: "Server temporarily unavailable",
        }.get(status, f"An unexpected error occurred ({status})")
        return [{"message": message, "errorCode": codes.get(status, "UNKNOWN_EXCEPTION")}]

    def routes(self) -> list[Route]:
        data = "/services/data/{version}"
        return [
            Route("/services/oauth2/token", self._token, methods=["POST"]),
            Route(data + "/query", self._rest(self._query), methods=["GET"]),
            Route(data + "/queryAll", self._rest(self._query_all), methods=["GET"]),
            Route(data + "/query/{locator}", self._rest(self._more), methods=["GET"]),
            Route(data + "/queryAll/{locator}", self._rest(self._more), methods=["GET"]),
            Route(
                data + "/sobjects/{sobject}/describe", self._rest(self._describe), methods=["GET"]
            ),
            Route(data + "/composite/sobjects", self._rest(self._collections), methods=["PATCH"]),
            Route(data + "/jobs/ingest", self._rest(self._create_job), methods=["POST"]),
            Route(data + "/jobs/ingest/{job}", self._rest(self._job), methods=["GET", "PATCH"]),
            Route(data + "/jobs/ingest/{job}/batches", self._rest(self._upload), methods=["PUT"]),
            Route(data + "/jobs/ingest/{job}/{kind}", self._rest(self._results), methods=["GET"]),
            Route(data + "/jobs/ingest/{job}/{kind}/", self._rest(self._results), methods=["GET"]),
        ]

    def _rest(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Every REST call: a valid session, one call off the org's daily allowance, and the
        `Sforce-Limit-Info` header on the answer."""

        async def endpoint(request: Request) -> Response:
            if not API_VERSION.match(request.path_params["version"]):
                return sf_error("NOT_FOUND", "The requested resource does not exist", 404)
            auth = request.headers.get("authorization", "")
            with self.lock:
                if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
                    return sf_error("INVALID_SESSION_ID", "Session expired or invalid", 401)
                spent = self.api_usage >= self.daily_limit
                self.api_usage += 0 if spent else 1
                usage = {"Sforce-Limit-Info": f"api-usage={self.api_usage}/{self.daily_limit}"}
                if spent:
                    return sf_error(
                        "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", 403, usage
                    )
            response = await handler(request)
            response.headers.update(usage)
            return response

        return endpoint

    # --- OAuth 2.0 ---------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            if (
                form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
            ):
                return oauth_error("invalid_client", "invalid client credentials")
            return self._issue(self.client_id)
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self._jwt_bearer(form.get("assertion", ""))
        if not grant:
            return oauth_error("invalid_request", "grant type is missing")
        return oauth_error("unsupported_grant_type", "grant type not supported")

    def _jwt_bearer(self, assertion: str) -> Response:
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return oauth_error("invalid_grant", "invalid assertion")
        with self.lock:
            client = self.jwt_clients.get(str(claims.get("iss")))
        if client is None:
            return oauth_error("invalid_client_id", "client identifier invalid")
        key, username = client
        try:
            claims = jwt.decode(
                assertion,
                key,
                algorithms=["RS256"],
                audience=[self.url, "https://login.salesforce.com", "https://test.salesforce.com"],
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            return oauth_error("invalid_grant", "expired authorization code")
        except jwt.InvalidAudienceError:
            return oauth_error("invalid_grant", "audience is invalid")
        except jwt.PyJWTError:
            return oauth_error("invalid_grant", "invalid assertion")
        if float(claims["exp"]) > time.time() + 3 * 60 + 5:
            # Salesforce wants the assertion to expire within 3 minutes.
            return oauth_error("invalid_grant", "invalid assertion")
        if claims.get("sub") != username:
            return oauth_error("invalid_grant", "user hasn't approved this consumer")
        return self._issue(str(claims["iss"]))

    def _issue(self, client_id: str) -> Response:
        token = "00D000000000001!" + secrets.token_urlsafe(24)
        issued = str(int(time.time() * 1000))
        identity = f"{self.url}/id/00D000000000001AAA/005000000000001AAA"
        secret = self.client_secret.encode()
        signature = base64.b64encode(
            hmac.new(secret, (identity + issued).encode(), hashlib.sha256).digest()
        ).decode()
        with self.lock:
            self.tokens.add(token)
        return JSONResponse(
            {
                "access_token": token,
                "instance_url": self.instance_url or self.url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued,
                "signature": signature,
                "scope": "api",
            }
        )

    # --- SOQL --------------------------------------------------------------------------------

    async def _query(self, request: Request) -> Response:
        return self._run(request, all_rows=False)

    async def _query_all(self, request: Request) -> Response:
        return self._run(request, all_rows=True)

    def _run(self, request: Request, *, all_rows: bool) -> Response:
        text = request.query_params.get("q")
        if not text:
            return sf_error("MALFORMED_QUERY", "A query string has to be specified", 400)
        batch = 2000
        options = request.headers.get("sforce-query-options", "")
        match = re.search(r"batchSize=(\d+)", options)
        if match:
            batch = min(2000, max(200, int(match.group(1))))
        version = request.path_params["version"]
        try:
            with self.lock:
                query = parse(text)
                table, where = self._resolve(query)
                locator = self._open(query, table, where, all_rows, batch)
                return JSONResponse(
                    self._page(locator, version, "queryAll" if all_rows else "query")
                )
        except SoqlError as error:
            return sf_error(error.code, error.message, 400)

    async def _more(self, request: Request) -> Response:
        key, _, _ = request.path_params["locator"].partition("-")
        endpoint = request.url.path.split("/")[4]
        with self.lock:
            locator = self.locators.get(key)
            if locator is None:
                return sf_error("INVALID_QUERY_LOCATOR", "invalid query locator", 400)
            return JSONResponse(self._page(locator, request.path_params["version"], endpoint, key))

    def _resolve(self, query: Query) -> tuple[Table, Expr | None]:
        table = self.tables.get(query.object) or next(
            (t for t in self.tables.values() if t.name.lower() == query.object.lower()), None
        )
        if table is None:
            raise SoqlError(
                "INVALID_TYPE",
                malformed(query.text, query.object_column, "").message.rsplit("\n", 1)[0]
                + f"\nsObject type '{query.object}' is not supported. If you are attempting to use"
                " a custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )

        def column(name: str, col: int, on: Table) -> str:
            if "." in name:
                head = name.split(".", 1)[0]
                raise SoqlError(
                    "INVALID_FIELD",
                    malformed(query.text, col, "").message.rsplit("\n", 1)[0]
                    + f"\nDidn't understand relationship '{head}' in field path. If you are "
                    "attempting to use a custom relationship, be sure to append the '__r' after "
                    "the custom relationship name. Please reference your WSDL or the describe call"
                    " for the appropriate names.",
                )
            canonical = on.canonical(name)
            if canonical is None:
                raise SoqlError(
                    "INVALID_FIELD",
                    malformed(query.text, col, "").message.rsplit("\n", 1)[0]
                    + "\n"
                    + no_such_column(name, on.name),
                )
            return canonical

        query.fields = [(column(n, c, table), c) for n, c in query.fields]
        subs = []
        for sub in query.subqueries:
            child = CHILDREN.get(table.name, {}).get(sub.relationship)
            if child is None:
                raise SoqlError(
                    "INVALID_TYPE",
                    malformed(query.text, sub.column, "").message.rsplit("\n", 1)[0]
                    + f"\nDidn't understand relationship '{sub.relationship}' in FROM part of "
                    "query call. If you are attempting to use a custom relationship, be sure to "
                    "append the '__r' after the custom relationship name. Please reference your "
                    "WSDL or the describe call for the appropriate names.",
                )
            on = self.tables[child[0]]
            subs.append(
                Sub(
                    tuple((column(n, c, on), c) for n, c in sub.fields),
                    sub.relationship,
                    sub.column,
                )
            )
        query.subqueries = subs
        query.order_by = [(column(n, 0, table), d, nl) for n, d, nl in query.order_by]

        def resolve(expr: Expr) -> Expr:
            if isinstance(expr, Cmp):
                name = column(expr.field, expr.column, table)
                kind = table.schema[name][0]
                values = expr.value if isinstance(expr.value, tuple) else (expr.value,)
                for literal in values:
                    if kind == "datetime" and literal.kind not in ("datetime", "null"):
                        raise SoqlError(
                            "INVALID_QUERY_FILTER_OPERATOR",
                            malformed(query.text, expr.column, "").message.rsplit("\n", 1)[0]
                            + f"\nvalue of filter criterion for field '{name}' must be of type "
                            "dateTime and should not be enclosed in quotes",
                        )
                    if kind == "boolean" and literal.kind not in ("bool", "null"):
                        raise SoqlError(
                            "INVALID_QUERY_FILTER_OPERATOR",
                            malformed(query.text, expr.column, "").message.rsplit("\n", 1)[0]
                            + f"\nvalue of filter criterion for field '{name}' must be of type "
                            "boolean and should not be enclosed in quotes",
                        )
                return Cmp(name, expr.op, expr.value, expr.column)
            if isinstance(expr, Not):
                return Not(resolve(expr.item))
            return BoolOp(expr.op, tuple(resolve(item) for item in expr.items))

        return table, (resolve(query.where) if query.where is not None else None)

    def _open(
        self, query: Query, table: Table, where: Expr | None, all_rows: bool, batch: int
    ) -> Locator:
        order = [(name, desc) for name, desc, _ in query.order_by]
        keyset = order in ([("SystemModstamp", False)], [("SystemModstamp", False), ("Id", False)])
        if keyset:
            start = lower_bound(where)
            at = 0 if start is None else bisect.bisect_left(table.index, start)
            locator = Locator(query, table, all_rows, where, batch, 0)
            if at > 0:
                locator.last = table.index[at - 1]
            if all_rows and (where is None or where == start_expr(where)):
                locator.total = len(table.index) - at
            else:
                locator.total = sum(
                    1 for key in table.index[at:] if self._matches(locator, table.rows[key[1]])
                )
            if query.limit is not None:
                locator.total = min(locator.total, query.limit)
            return locator
        rows = [row for row in table.rows.values() if self._matches_raw(where, all_rows, row)]
        for name, desc, nulls_last in reversed(query.order_by):
            present = [r for r in rows if r[name] is not None]
            absent = [r for r in rows if r[name] is None]
            present.sort(key=lambda r, n=name: r[n], reverse=desc)  # type: ignore[misc]
            rows = present + absent if nulls_last else absent + present
        if query.limit is not None:
            rows = rows[: query.limit]
        return Locator(query, table, all_rows, where, batch, len(rows), rows=rows)

    def _matches_raw(self, where: Expr | None, all_rows: bool, row: dict[str, Any]) -> bool:
        if row["IsDeleted"] and not all_rows:
            return False
        return where is None or evaluate(where, row)

    def _matches(self, locator: Locator, row: dict[str, Any]) -> bool:
        return self._matches_raw(locator.where, locator.all_rows, row)

    def _page(
        self, locator: Locator, version: str, endpoint: str, key: str | None = None
    ) -> dict[str, Any]:
        want = min(locator.batch, locator.total - locator.served)
        page: list[dict[str, Any]] = []
        if locator.rows is not None:
            page = locator.rows[locator.served : locator.served + want]
        else:
            index = locator.table.index
            at = 0 if locator.last is None else bisect.bisect_right(index, locator.last)
            while len(page) < want and at < len(index):
                row = locator.table.rows[index[at][1]]
                if self._matches(locator, row):
                    page.append(row)
                at += 1
            if page:
                locator.last = (page[-1]["SystemModstamp"], page[-1]["Id"])
            if len(page) < want:  # rows changed under the cursor: nothing more to give
                locator.total = locator.served + len(page)
        locator.served += len(page)
        done = locator.served >= locator.total
        body: dict[str, Any] = {
            "totalSize": locator.total,
            "done": done,
            "records": [self._record(locator.query, locator.table, row, version) for row in page],
        }
        if key is None and not done:
            key = "01g" + secrets.token_hex(6).upper() + "AAA"
            self.locators[key] = locator
        if not done:
            body["nextRecordsUrl"] = f"/services/data/{version}/{endpoint}/{key}-{locator.served}"
        elif key is not None:
            self.locators.pop(key, None)
        return body

    def _record(
        self, query: Query, table: Table, row: dict[str, Any], version: str
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {
                "type": table.name,
                "url": f"/services/data/{version}/sobjects/{table.name}/{row['Id']}",
            }
        }
        for name, _ in query.fields:
            out[name] = self._out(table, name, row[name])
        for sub in query.subqueries:
            child_name, parent_field = CHILDREN[table.name][sub.relationship]
            child = self.tables[child_name]
            ids = (
                self.roles.get(row["Id"], [])
                if child_name == "OpportunityContactRole"
                else [r["Id"] for r in child.rows.values() if r[parent_field] == row["Id"]]
            )
            kids = [child.rows[i] for i in ids if not child.rows[i]["IsDeleted"]]
            if not kids:
                out[sub.relationship] = None
                continue
            records = []
            for kid in kids:
                item: dict[str, Any] = {
                    "attributes": {
                        "type": child_name,
                        "url": f"/services/data/{version}/sobjects/{child_name}/{kid['Id']}",
                    }
                }
                for name, _ in sub.fields:
                    item[name] = self._out(child, name, kid[name])
                records.append(item)
            out[sub.relationship] = {"totalSize": len(records), "done": True, "records": records}
        return out

    # --- describe ----------------------------------------------------------------------------

    async def _describe(self, request: Request) -> Response:
        name = request.path_params["sobject"]
        with self.lock:
            table = self.tables.get(name)
            if table is None:
                return sf_error("NOT_FOUND", "The requested resource does not exist", 404)
            fields = [
                {
                    "name": field_name,
                    "label": LABELS.get(
                        field_name, field_name.removesuffix("__c").replace("_", " ")
                    ),
                    "type": kind,
                    "custom": field_name.endswith("__c"),
                    "updateable": updateable,
                    "createable": updateable,
                    "nillable": field_name != "Id",
                }
                for field_name, (kind, updateable) in table.schema.items()
            ]
        return JSONResponse(
            {
                "name": table.name,
                "label": table.name,
                "custom": False,
                "keyPrefix": KEY_PREFIX.get(table.name),
                "updateable": True,
                "queryable": True,
                "fields": fields,
            }
        )

    # --- sObject Collections -------------------------------------------------------------------

    async def _collections(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except json.JSONDecodeError as error:
            return sf_error("JSON_PARSER_ERROR", f"Unexpected character: {error.msg}", 400)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            return sf_error("INVALID_FIELD", "Records is required", 400)
        if len(records) > 200:
            return sf_error(
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
                400,
            )
        with self.lock:
            self.writes += 1
            # The records are deserialised into sObjects before anything is saved: a type or a
            # field that does not exist refuses the whole request.
            for record in records:
                kind = (record.get("attributes") or {}).get("type")
                table = self.tables.get(kind) if isinstance(kind, str) else None
                if table is None:
                    return sf_error("INVALID_TYPE", f"sObject type '{kind}' is not supported.", 400)
                for name in record:
                    if name not in ("attributes", "id", "Id") and table.canonical(name) is None:
                        return sf_error(
                            "INVALID_FIELD",
                            f"No such column '{name}' on sobject of type {table.name}",
                            400,
                        )
            results = [self._save(record) for record in records]
            if body.get("allOrNone") and any(not ok for ok, _ in results):
                results = [
                    (False, result)
                    if not ok
                    else (
                        False,
                        {
                            "success": False,
                            "errors": [
                                {
                                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                    "message": "Record rolled back because not all records were "
                                    "valid and the request was using AllOrNone header",
                                    "fields": [],
                                }
                            ],
                        },
                    )
                    for ok, result in results
                ]
            else:
                for (ok, _), record in zip(results, records, strict=True):
                    if ok:
                        self._apply(record)
        return JSONResponse([result for _, result in results])

    def _check(
        self, table: Table, rid: Any, values: Mapping[str, Any]
    ) -> tuple[str, str, list[str]] | None:
        """Why this record update fails, Salesforce's way, or None."""
        if not isinstance(rid, str) or not re.fullmatch(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?", rid):
            return ("MALFORMED_ID", f"malformed id {rid}", [])
        row = table.rows.get(rid)
        if row is None:
            return ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        if row["IsDeleted"]:
            return ("ENTITY_IS_DELETED", "entity is deleted", [])
        if row.get("IsConverted"):
            return ("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])
        locked = [
            table.canonical(n) or n for n in values if not table.schema[table.canonical(n) or n][1]
        ]
        if locked:
            return (
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(locked)}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                locked,
            )
        for name, value in values.items():
            canonical = table.canonical(name) or name
            kind = table.schema[canonical][0]
            if (
                value is not None
                and kind in ("double", "currency", "int")
                and (isinstance(value, bool) or not isinstance(value, int | float))
            ):
                return (
                    "INVALID_TYPE_ON_FIELD_IN_RECORD",
                    f"{canonical}: value not of required type: {value}",
                    [canonical],
                )
        return None

    def _save(self, record: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        table = self.tables[record["attributes"]["type"]]
        rid = record.get("id", record.get("Id"))
        values = {k: v for k, v in record.items() if k not in ("attributes", "id", "Id")}
        problem = self._check(table, rid, values)
        if problem is not None:
            code, message, fields = problem
            return False, {
                "success": False,
                "errors": [{"statusCode": code, "message": message, "fields": fields}],
            }
        return True, {"id": rid, "success": True, "errors": []}

    def _apply(self, record: dict[str, Any]) -> None:
        table = self.tables[record["attributes"]["type"]]
        row = table.rows[str(record.get("id", record.get("Id")))]
        for name, value in record.items():
            if name not in ("attributes", "id", "Id"):
                canonical = table.canonical(name) or name
                row[canonical] = _store(table.schema[canonical][0], value)
        table.touch(row, self._now())

    # --- Bulk API 2.0 ingest -------------------------------------------------------------------

    def _job_info(self, job: Job, version: str) -> dict[str, Any]:
        return {
            "id": job.id,
            "operation": job.operation,
            "object": job.object,
            "createdById": "005000000000001AAA",
            "createdDate": format_ms(job.created),
            "systemModstamp": format_ms(job.created),
            "state": job.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version[1:]),
            "jobType": "V2Ingest",
            "lineEnding": job.line_ending,
            "columnDelimiter": "COMMA",
            "contentUrl": f"services/data/{version}/jobs/ingest/{job.id}/batches",
            "numberRecordsProcessed": job.processed,
            "numberRecordsFailed": job.failed,
            "errorMessage": job.error or None,
        }

    async def _create_job(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except json.JSONDecodeError:
            return sf_error("JSON_PARSER_ERROR", "Unexpected end of input", 400)
        version = request.path_params["version"]
        obj = body.get("object")
        if body.get("operation") != "update":
            return sf_error("INVALIDJOB", "The fake supports the update operation only", 400)
        if (
            body.get("contentType", "CSV") != "CSV"
            or body.get("columnDelimiter", "COMMA") != "COMMA"
        ):
            return sf_error("INVALIDJOB", "InvalidJob : contentType must be CSV", 400)
        with self.lock:
            if obj not in self.tables:
                return sf_error("INVALIDJOB", f"Unable to find object: {obj}", 400)
            job = Job(
                "750" + f"{len(self.jobs) + 1:012d}AAA",
                obj,
                "update",
                body.get("lineEnding", "LF"),
                self._now(),
            )
            self.jobs[job.id] = job
            return JSONResponse(self._job_info(job, version))

    async def _upload(self, request: Request) -> Response:
        data = await request.body()
        with self.lock:
            job = self.jobs.get(request.path_params["job"])
            if job is None:
                return sf_error("NOT_FOUND", "The requested resource does not exist", 404)
            if job.state != "Open":
                return sf_error(
                    "INVALIDJOBSTATE", f"Job is not open for data upload: {job.state}", 409
                )
            if not request.headers.get("content-type", "").startswith("text/csv"):
                return sf_error("INVALIDCONTENTTYPE", "Content-Type must be text/csv", 400)
            job.data.append(data)
            self.writes += 1
        return Response(status_code=201)

    async def _job(self, request: Request) -> Response:
        version = request.path_params["version"]
        body = json.loads(await request.body() or b"{}") if request.method == "PATCH" else {}
        with self.lock:
            job = self.jobs.get(request.path_params["job"])
            if job is None:
                return sf_error("NOT_FOUND", "The requested resource does not exist", 404)
            if request.method == "PATCH":
                state = body.get("state")
                if state == "Aborted" and job.state in ("Open", "UploadComplete"):
                    job.state = "Aborted"
                elif state == "UploadComplete" and job.state == "Open":
                    job.state = "UploadComplete"
                    self._process(job)
                else:
                    return sf_error("INVALIDJOBSTATE", f"Invalid state transition to {state}", 400)
                return JSONResponse(self._job_info(job, version))
            # Processing is asynchronous: the first look finds it in progress.
            if job.state == "UploadComplete":
                job.state = "InProgress"
            elif job.state == "InProgress":
                job.state = "Failed" if job.error else "JobComplete"
            return JSONResponse(self._job_info(job, version))

    def _process(self, job: Job) -> None:
        table = self.tables[job.object]
        text = b"".join(job.data).decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline=""), lineterminator="\n"))
        if not rows:
            job.error = "InvalidBatch : Records not processed"
            return
        header = rows[0]
        names = []
        for name in header:
            canonical = table.canonical(name)
            if canonical is None:
                job.error = f"InvalidBatch : Field name not found : {name}"
                job.unprocessed_csv = text
                return
            names.append(canonical)
        if "Id" not in names:
            job.error = "InvalidBatch : Field name not found : Id"
            job.unprocessed_csv = text
            return
        ok_out = io.StringIO()
        bad_out = io.StringIO()
        ok = csv.writer(ok_out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        bad = csv.writer(bad_out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        ok.writerow(["sf__Id", "sf__Created", *header])
        bad.writerow(["sf__Id", "sf__Error", *header])
        for cells in rows[1:]:
            values = dict(zip(names, cells, strict=False))
            rid = values.pop("Id", "")
            changes: dict[str, Any] = {}
            problem = None
            for name, cell in values.items():
                if cell == "":
                    continue  # an empty cell leaves the field as it is
                try:
                    changes[name] = (
                        None if cell == "#N/A" else _parse_cell(table.schema[name][0], cell)
                    )
                except ValueError:
                    problem = (
                        "INVALID_TYPE_ON_FIELD_IN_RECORD",
                        f"{name}: value not of required type: {cell}",
                        [name],
                    )
            problem = problem or self._check(table, rid, changes)
            job.processed += 1
            if problem is None:
                row = table.rows[rid]
                row.update(changes)
                table.touch(row, self._now())
                ok.writerow([rid, "false", *cells])
            else:
                code, message, fields = problem
                job.failed += 1
                bad.writerow([rid, f"{code}:{message}:{','.join(fields) or '--'}", *cells])
        job.success_csv = ok_out.getvalue()
        job.failed_csv = bad_out.getvalue()

    async def _results(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        with self.lock:
            job = self.jobs.get(request.path_params["job"])
            if job is None or kind not in (
                "successfulResults",
                "failedResults",
                "unprocessedrecords",
            ):
                return sf_error("NOT_FOUND", "The requested resource does not exist", 404)
            if job.state not in ("JobComplete", "Failed", "Aborted"):
                return sf_error("INVALIDJOBSTATE", "Job is not complete", 400)
            text = {
                "successfulResults": job.success_csv,
                "failedResults": job.failed_csv,
                "unprocessedrecords": job.unprocessed_csv,
            }[kind]
        return Response(text, media_type="text/csv")


def oauth_error(error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, 400)


def lower_bound(where: Expr | None) -> tuple[int, str] | None:
    """The least (SystemModstamp, Id) a matching row can have, when `where` says so: the
    keyset condition a sync client sends lets the fake start at a bisection, not a scan."""
    expr = start_expr(where)
    if expr is None:
        return None
    if isinstance(expr, Cmp):
        stamp = expr.value.value
        return (stamp, "") if expr.op == ">=" else (stamp, "\uffff")
    assert isinstance(expr, BoolOp)
    first, second = expr.items
    assert isinstance(first, Cmp) and isinstance(second, BoolOp)
    after = second.items[1]
    assert isinstance(after, Cmp)
    return (first.value.value, after.value.value + "\x00")


def start_expr(where: Expr | None) -> Expr | None:
    """The part of `where` that bounds SystemModstamp from below (`>= T`, `> T`, or
    `> T OR (= T AND Id > X)`), looking through a top-level AND."""
    if where is None:
        return None
    if isinstance(where, Cmp):
        ok = where.field == "SystemModstamp" and where.op in (">=", ">")
        return where if ok and isinstance(where.value.value, int) else None
    if isinstance(where, BoolOp) and where.op == "AND":
        for item in where.items:
            found = start_expr(item)
            if found is not None:
                return found
        return None
    if isinstance(where, BoolOp) and where.op == "OR" and len(where.items) == 2:
        first, second = where.items
        if (
            isinstance(first, Cmp)
            and first.field == "SystemModstamp"
            and first.op == ">"
            and isinstance(second, BoolOp)
            and second.op == "AND"
            and len(second.items) == 2
        ):
            same, after = second.items
            if (
                isinstance(same, Cmp)
                and same.field == "SystemModstamp"
                and same.op == "="
                and same.value == first.value
                and isinstance(after, Cmp)
                and after.field == "Id"
                and after.op == ">"
                and isinstance(after.value.value, str)
                and isinstance(first.value.value, int)
            ):
                return where
    return None


def _store(kind: str, value: Any) -> Any:
    if kind == "datetime" and isinstance(value, str):
        return datetime_ms(value)
    if kind in ("double", "currency") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _parse_cell(kind: str, cell: str) -> Any:
    if kind in ("double", "currency"):
        return float(cell)
    if kind == "int":
        return int(float(cell))
    if kind == "boolean":
        if cell.lower() not in ("true", "false", "1", "0"):
            raise ValueError(cell)
        return cell.lower() in ("true", "1")
    if kind == "datetime":
        return datetime_ms(cell)
    return cell
