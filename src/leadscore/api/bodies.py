"""JSON request bodies, read by hand: each one is parsed, checked against the text and number
rules of `service.input_rules` (NUL, lone surrogates, non-finite numbers, integers beyond 64
bits: 422 naming the field, on SQLite and PostgreSQL alike), then validated with the
LEADSCORE_MAX_* limits in pydantic's context, strictly: JSON types are not coerced
(`{"points": false}` or `{"set_stage": 1}` is a 422, not 0 or true; files read by
`leadscore import` are validated laxly, their cells being text). Bodies that hold one item or
a batch (`{"events": [...]}`) are validated as the shape they are, so that each shape's errors name
its own fields, instead of a union's errors for both shapes."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from leadscore.api.errors import problems_of
from leadscore.service.context import Context
from leadscore.service.errors import Invalid, Problem
from leadscore.service.input_rules import Limits, value_problems
from leadscore.service.resolve import LocOf

M = TypeVar("M", bound=BaseModel)


async def json_body(request: Request) -> object:
    """The body as JSON values, every string and number within the rules (else Invalid)."""
    raw = await request.body()
    try:
        data = from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        raise Invalid([Problem(("body",), f"not valid JSON: {exc}", "json_invalid")]) from None
    problems = value_problems(data, ("body",))
    if problems:
        raise Invalid(problems)
    return data


def limits(request: Request) -> Limits:
    ctx: Context = request.app.state.ctx
    return Limits.of(ctx.settings)


async def model_body(request: Request, model: type[M]) -> M:
    """The body as one `model` (a 422 names every bad field)."""
    data = await json_body(request)
    try:
        return model.model_validate(data, strict=True, context={"limits": limits(request)})
    except ValidationError as exc:
        raise Invalid(problems_of(exc)) from None


async def one_or_batch(
    request: Request, single: type[M], batch: type[BaseModel], key: str
) -> tuple[list[M], bool]:
    """([items], is_batch) from a body holding one item or `{key: [items]}`."""
    data = await json_body(request)
    is_batch = isinstance(data, dict) and key in data
    context = {"limits": limits(request)}
    try:
        if is_batch:
            return getattr(batch.model_validate(data, strict=True, context=context), key), True
        return [single.model_validate(data, strict=True, context=context)], False
    except ValidationError as exc:
        raise Invalid(problems_of(exc)) from None


def body_loc(key: str, is_batch: bool) -> LocOf:
    """Error locations of a one-or-batch body's items: ("body", key, i) or ("body",)."""
    if is_batch:
        return lambda index: ("body", key, index)
    return lambda index: ("body",)


def request_body(*models: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI requestBody of an endpoint reading its body by hand: one model, or one
    of several (schemas added by app.openapi)."""
    refs = [{"$ref": f"#/components/schemas/{m.__name__}"} for m in models]
    schema = refs[0] if len(refs) == 1 else {"oneOf": refs}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }
