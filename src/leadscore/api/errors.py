"""Errors as JSON: `{"detail": "message"}`, or `{"detail": [{"type", "loc", "msg"}, …]}`
naming each bad field (the shape FastAPI uses for validation errors)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from leadscore.service.errors import Conflict, Invalid, Loc, NotFound, Problem


def problems_of(exc: ValidationError, prefix: Loc = ("body",)) -> list[Problem]:
    """pydantic errors as Problems, with their location inside the request."""
    return [
        Problem((*prefix, *error["loc"]), error["msg"], error["type"]) for error in exc.errors()
    ]


def invalid(problems: list[Problem], status: int = 422) -> JSONResponse:
    return JSONResponse({"detail": [p.to_dict() for p in problems]}, status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"type": e["type"], "loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()
        ]
        return JSONResponse({"detail": details}, status_code=422)

    @app.exception_handler(Invalid)
    async def _invalid(request: Request, exc: Invalid) -> JSONResponse:
        return invalid(exc.problems)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        if exc.problems:
            return invalid(exc.problems, 404)
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict) -> JSONResponse:
        if exc.loc:
            return invalid([Problem(exc.loc, str(exc), "conflict")], 409)
        return JSONResponse({"detail": str(exc)}, status_code=409)
