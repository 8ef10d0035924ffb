"""Marketing costs (issue 13): what each source, or one campaign of it, cost per month and
currency. Loaded from a CSV file (`leadscore costs import`) or the API (`/api/v1/costs`),
both through `CostIn`, all or nothing; a row with the key of a stored one replaces it."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError, WithJsonSchema

from leadscore.core import money
from leadscore.service.context import Context
from leadscore.service.errors import Invalid, NotFound, Problem, ServiceError
from leadscore.service.inputs import Input, Name
from leadscore.store import audit
from leadscore.store import costs as stored

COLUMNS = ("source", "campaign", "month", "amount", "currency")
MAX_ROWS = 100_000
MAX_BATCH = 10_000

Amount = Annotated[
    Decimal,
    BeforeValidator(money.parse_amount),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": money.MAX_WHOLE},
                {"type": "string", "pattern": money.AMOUNT_PATTERN},
            ],
            "description": "0 or more: an integer, or text with at most 2 decimals (exact)",
            "examples": ["1250.00"],
        }
    ),
]
Currency = Annotated[
    str,
    BeforeValidator(money.parse_currency),
    WithJsonSchema({"type": "string", "enum": list(money.CURRENCIES)}),
]
Month = Annotated[
    str,
    BeforeValidator(money.parse_month),
    WithJsonSchema({"type": "string", "pattern": money.MONTH_PATTERN}),
]


class CostIn(Input):
    """What a source (or one of its campaigns, when `campaign` is set) cost in a month."""

    source: Name
    campaign: Name | None = None
    """None: the source as a whole (an empty cell in a file)."""
    month: Month
    amount: Amount
    currency: Currency


class CostBatch(Input):
    """Costs to store; a key repeated in one batch: the last one wins."""

    costs: list[CostIn] = Field(max_length=MAX_BATCH)


class CostFileError(ServiceError):
    """A cost file that cannot be loaded: every problem names the file, row and field."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def _row(item: CostIn, now: int, actor: str) -> dict[str, object]:
    return {
        "source": item.source,
        "campaign": item.campaign or "",
        "month": item.month,
        "amount_minor": money.to_minor(item.amount),
        "currency": item.currency,
        "created_at": now,
        "created_by": actor,
    }


def _key(item: CostIn) -> tuple[str, str, str, str]:
    return (item.source, item.campaign or "", item.month, item.currency)


def _totals(items: Sequence[CostIn]) -> dict[str, str]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for item in items:
        sums[item.currency] += item.amount
    return {c: f"{sums[c]:.2f}" for c in sorted(sums)}


def store_costs(ctx: Context, items: Sequence[CostIn], actor: str) -> dict[str, Any]:
    """Write every row or none (one transaction): the counts inserted and replaced, and the
    total per currency. Of items with one key, the last one is stored (a file refuses them
    before: read_file)."""
    items = list({_key(item): item for item in items}.values())
    now = ctx.now()

    def work(conn: Any) -> tuple[int, int]:
        counts = stored.replace(conn, [_row(i, now, actor) for i in items])
        audit.record(conn, now, actor, "costs.store", None, rows=len(items))
        return counts

    inserted, replaced = ctx.db.transact(work)
    return {
        "rows": len(items),
        "inserted": inserted,
        "replaced": replaced,
        "totals": _totals(items),
    }


def read_file(path: str | Path) -> list[CostIn]:
    """The rows of a cost CSV (header source,campaign,month,amount,currency), or
    CostFileError listing each bad row as `file: row N: field: reason` (N counts data rows
    from 1; the header is row 0)."""
    name = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in COLUMNS if c not in header]
            extra = [c for c in header if c not in COLUMNS]
            if missing or extra:
                parts = []
                if missing:
                    parts.append(f"missing column(s) {', '.join(missing)}")
                if extra:
                    parts.append(f"unknown column(s) {', '.join(repr(c) for c in extra)}")
                raise CostFileError(
                    [f"{name}: header: {'; '.join(parts)} (expected {','.join(COLUMNS)})"]
                )
            rows = list(reader)
    except OSError as exc:
        raise CostFileError([f"{name}: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise CostFileError([f"{name}: not UTF-8 text ({exc.reason})"]) from None
    except csv.Error as exc:
        raise CostFileError([f"{name}: not readable as CSV ({exc})"]) from None
    if len(rows) > MAX_ROWS:
        raise CostFileError([f"{name}: {len(rows)} rows; at most {MAX_ROWS} at once"])
    items: list[CostIn] = []
    problems: list[str] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for number, row in enumerate(rows, start=1):
        if None in row:
            problems.append(f"{name}: row {number}: more values than the header's columns")
            continue
        values: dict[str, object] = {k: (v or "").strip() for k, v in row.items()}
        if not values["campaign"]:
            values["campaign"] = None  # an empty cell: the whole source
        try:
            item = CostIn.model_validate(values)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(p) for p in error["loc"]) or "row"
                reason = str(error["msg"]).removeprefix("Value error, ")
                problems.append(f"{name}: row {number}: {field}: {reason}")
            continue
        first = seen.setdefault(_key(item), number)
        if first != number:
            problems.append(
                f"{name}: row {number}: repeats the source, campaign, month and currency of "
                f"row {first}"
            )
            continue
        items.append(item)
    if problems:
        raise CostFileError(problems)
    return items


def import_file(ctx: Context, path: str | Path, actor: str) -> dict[str, Any]:
    """Load a cost CSV: every row checked first, then all written in one transaction."""
    return store_costs(ctx, read_file(path), actor)


def as_dict(row: Any) -> dict[str, Any]:
    return {
        "source": row.source,
        "campaign": row.campaign or None,
        "month": row.month,
        "amount": f"{money.from_minor(row.amount_minor):.2f}",
        "currency": row.currency,
        "created_by": row.created_by,
    }


def list_costs(
    ctx: Context,
    *,
    source: str | None = None,
    campaign: str | None = None,
    currency: str | None = None,
    month_from: str | None = None,
    month_to: str | None = None,
) -> list[dict[str, Any]]:
    """The stored costs, filtered; `campaign=""` asks for the whole-source rows."""
    problems = []
    checked: dict[str, str | None] = {}
    for field, value, parse in (
        ("currency", currency, money.parse_currency),
        ("from", month_from, money.parse_month),
        ("to", month_to, money.parse_month),
    ):
        try:
            checked[field] = None if value is None else parse(value)
        except ValueError as exc:
            problems.append(Problem(("query", field), str(exc)))
    if problems:
        raise Invalid(problems)
    with ctx.db.read() as conn:
        rows = stored.listed(
            conn,
            source=source,
            campaign=campaign,
            currency=checked["currency"],
            month_from=checked["from"],
            month_to=checked["to"],
        )
    return [as_dict(r) for r in rows]


def delete_cost(
    ctx: Context, source: str, campaign: str | None, month: str, currency: str, actor: str
) -> None:
    """Remove one row by its key (NotFound when there is none)."""
    problems = []
    key_month = key_currency = ""
    try:
        key_month = money.parse_month(month)
    except ValueError as exc:
        problems.append(Problem(("query", "month"), str(exc)))
    try:
        key_currency = money.parse_currency(currency)
    except ValueError as exc:
        problems.append(Problem(("query", "currency"), str(exc)))
    if problems:
        raise Invalid(problems)
    now = ctx.now()

    def work(conn: Any) -> bool:
        gone = stored.remove(conn, source, campaign or "", key_month, key_currency)
        if gone:
            target = f"{source}/{campaign or ''}/{key_month}/{key_currency}"
            audit.record(conn, now, actor, "costs.delete", target)
        return gone

    if not ctx.db.transact(work):
        raise NotFound(
            f"no cost for source {source!r}, campaign {campaign or '(whole source)'!r}, "
            f"month {key_month}, currency {key_currency}"
        )
