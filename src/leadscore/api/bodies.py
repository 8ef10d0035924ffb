"""Request bodies that hold one item or a batch (`{"events": [...]}`): parsed by hand so that
each shape's errors name its own fields, instead of a union's errors for both shapes."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from leadscore.api.errors import problems_of
from leadscore.service.errors import Invalid, Problem
from leadscore.service.resolve import LocOf

M = TypeVar("M", bound=BaseModel)


async def json_body(request: Request) -> object:
    raw = await request.body()
    try:
        return from_json(raw)
    except ValueError as exc:
        raise Invalid([Problem(("body",), f"not valid JSON: {exc}", "json_invalid")]) from None


def one_or_batch(
    data: object, single: type[M], batch: type[BaseModel], key: str
) -> tuple[list[M], bool]:
    """([items], is_batch) from a body holding one item or `{key: [items]}`."""
    is_batch = isinstance(data, dict) and key in data
    try:
        if is_batch:
            return getattr(batch.model_validate(data), key), True
        return [single.model_validate(data)], False
    except ValidationError as exc:
        raise Invalid(problems_of(exc)) from None


def body_loc(key: str, is_batch: bool) -> LocOf:
    """Error locations of a one-or-batch body's items: ("body", key, i) or ("body",)."""
    if is_batch:
        return lambda index: ("body", key, index)
    return lambda index: ("body",)


def request_body(single: type[BaseModel], batch: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI requestBody of a one-or-batch endpoint (schemas added by app.openapi)."""
    refs = [{"$ref": f"#/components/schemas/{m.__name__}"} for m in (single, batch)]
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"oneOf": refs}}},
        }
    }
