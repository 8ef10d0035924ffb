"""One error model for every 4xx and 5xx: a JSON object

    {"detail": "message" | [{"type", "loc", "msg"}, …], "request_id": "…"}

where `detail` is a message, or the list of problems naming each bad field (the shape FastAPI
uses for validation errors, kept so that clients keep working), and `request_id` is the
`X-Request-ID` of the response (api/middleware.py), to find the request in the server's log.
`schemas.Error` declares exactly this shape for the OpenAPI document.

Every source of an error answers through `error_response`: our service errors (Invalid,
NotFound, Conflict), FastAPI's validation errors, Starlette's own (404 for an unknown route,
405, 413) and HTTPException (401, 403, 415); the middleware turns anything unhandled into a
JSON 500 the same way.

A database that cannot be reached or is too busy (store.database.unavailable: PostgreSQL down
or restarting, the connection pool exhausted, SQLite locked past its busy timeout) is a 503
with `Retry-After`, not a 500: nothing was written, and the same request sent again later
succeeds (an event's id makes a resend safe). The pool drops the dead connections by itself,
so the API recovers when the database is back, without a restart (docs/reliability.md).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import Scope

from leadscore.service.errors import Conflict, Invalid, Loc, NotFound, Problem
from leadscore.store.database import unavailable

log = logging.getLogger("leadscore.api")

REQUEST_ID_HEADER = "X-Request-ID"
STATE_KEY = "request_id"
RETRY_AFTER_SECONDS = 1
UNAVAILABLE = "the database is unavailable; retry later"


def request_id_of(scope: Scope) -> str:
    """The request id the middleware gave this request (a new one outside it)."""
    state = scope.setdefault("state", {})
    found = state.get(STATE_KEY)
    if not isinstance(found, str):
        found = state[STATE_KEY] = uuid.uuid4().hex
    return found


def error_response(
    scope: Scope,
    status: int,
    detail: str | Sequence[Mapping[str, object]],
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The error model: `{"detail": …, "request_id": …}` with the X-Request-ID header."""
    rid = request_id_of(scope)
    body = {"detail": detail if isinstance(detail, str) else list(detail), "request_id": rid}
    sent = {**(headers or {}), REQUEST_ID_HEADER: rid}
    try:
        return JSONResponse(body, status_code=status, headers=sent)
    except UnicodeEncodeError:  # a lone surrogate of the request, quoted in a message
        return JSONResponse(_encodable(body), status_code=status, headers=sent)


def _encodable(value: object) -> object:
    """`value` with what UTF-8 cannot hold escaped (`\\udcff`), in every string."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(v) for v in value]
    return value


def problems_of(exc: ValidationError, prefix: Loc = ("body",)) -> list[Problem]:
    """pydantic errors as Problems, with their location inside the request."""
    return [
        Problem((*prefix, *error["loc"]), error["msg"], error["type"]) for error in exc.errors()
    ]


def invalid(scope: Scope, problems: Sequence[Problem], status: int = 422) -> JSONResponse:
    return error_response(scope, status, [p.to_dict() for p in problems])


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route of this path takes (Starlette's 405 names only the first
    route that matched the path: GET /leads and POST /leads are two routes)."""
    methods: set[str] = set()
    for route in iter_route_contexts(app.routes):
        path = getattr(route, "path", None)
        if isinstance(path, str) and compile_path(path)[0].match(scope["path"]):
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Answer every handled error with the error model."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"type": e["type"], "loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()
        ]
        return error_response(request.scope, 422, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.scope))
        return error_response(request.scope, exc.status_code, str(exc.detail), headers)

    @app.exception_handler(Invalid)
    async def _invalid(request: Request, exc: Invalid) -> JSONResponse:
        return invalid(request.scope, exc.problems)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        if exc.problems:
            return invalid(request.scope, exc.problems, 404)
        return error_response(request.scope, 404, str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict) -> JSONResponse:
        if exc.loc:
            return invalid(request.scope, [Problem(exc.loc, str(exc), "conflict")], 409)
        return error_response(request.scope, 409, str(exc))

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if not unavailable(exc):
            raise exc  # a bug, not an outage: the guard's 500 (api/middleware.py)
        return database_unavailable(request.scope, exc)


def database_unavailable(scope: Scope, exc: BaseException) -> JSONResponse:
    """503 with Retry-After: the database cannot answer now (logged without a traceback:
    an outage is not a bug)."""
    rid = request_id_of(scope)
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
    log.warning(
        "database unavailable in %s %s (request id %s): %s",
        scope.get("method"),
        scope.get("path"),
        rid,
        reason,
    )
    return error_response(scope, 503, UNAVAILABLE, {"Retry-After": str(RETRY_AFTER_SECONDS)})
