"""`Authorization: Bearer <key>` on every endpoint but health: 401 without a valid key, 403
for a key without the scope the endpoint needs (admin implies read and write). Then, with the
caller known, the request line is checked (api/request_line.py: unknown query parameters,
NUL in the path or query), and the body read: nothing about the request is judged before the
key is.

A client IP that sends `LEADSCORE_AUTH_FAIL_LIMIT` wrong keys within the window gets 429 with
`Retry-After` until its cool-down ends (service/auth_failures.py); a key verified a moment ago
(the cache of service/keys.py) is still answered at once, without asking.

Each route's scope is declared in the OpenAPI document as `x-required-scope` (api/openapi.py
reads it from `REQUIRED_SCOPE`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from leadscore.api import request_line
from leadscore.service import auth_failures
from leadscore.service.audit import set_origin
from leadscore.service.keys import authenticate, cached_principal
from leadscore.service.principals import Principal

bearer = HTTPBearer(auto_error=False, description="An API key: `leadscore apikey create`.")


def signed() -> None:
    """Marks a route that takes no API key because the caller signs each request instead (a
    CRM's webhooks, §9): the route checks the signature itself and answers 401 when it is
    missing, stale or wrong (api/openapi.py documents it)."""


REQUIRED_SCOPE: dict[object, str] = {}
"""Each dependency `require` made → the scope it requires."""


def client_ip(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy: uvicorn's
    --forwarded-allow-ips makes it the client's)."""
    client = request.client
    return client.host if client is not None else "unknown"


def require(
    scope: str,
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[Principal]]:
    """A dependency giving the caller's Principal when its key has `scope`.

    It is a coroutine, so that FastAPI runs it on the event loop: a key verified recently
    (service.keys caches it) is answered there, and only a key that must be read from the
    database goes to a worker thread. A sync dependency would cost every request a thread
    hop, which under load was a tenth of the event loop's time.
    """

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> Principal:
        if credentials is None:
            raise HTTPException(
                401,
                "missing API key: send the header Authorization: Bearer <key>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        ctx = request.app.state.ctx
        principal = cached_principal(ctx, credentials.credentials)
        ip = client_ip(request)
        if principal is None:
            failures = auth_failures.of(ctx)
            wait = failures.retry_after(ip)
            if wait is not None:
                raise HTTPException(
                    429,
                    f"too many failed authentications from this address; retry in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            principal = await run_in_threadpool(authenticate, ctx, credentials.credentials)
            if principal is None:
                failures.failed(ip)
                raise HTTPException(
                    401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"}
                )
        if not principal.allows(scope):
            raise HTTPException(403, f"this API key lacks the {scope!r} scope")
        request_line.check(request)
        set_origin(ip)
        return principal

    REQUIRED_SCOPE[dependency] = scope
    return dependency


Read = Depends(require("read"))
Write = Depends(require("write"))
Admin = Depends(require("admin"))
