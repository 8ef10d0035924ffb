"""`Authorization: Bearer <key>` on every endpoint but health: 401 without a valid key, 403
for a key without the scope the endpoint needs (admin implies read and write). Then, with the
caller known, the request line is checked (api/request_line.py: unknown query parameters,
NUL in the path or query)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from leadscore.api import request_line
from leadscore.service.keys import authenticate, cached_principal
from leadscore.service.principals import Principal

bearer = HTTPBearer(auto_error=False, description="An API key: `leadscore apikey create`.")


def signed() -> None:
    """Marks a route that takes no API key because the caller signs each request instead (a
    CRM's webhooks, §9): the route checks the signature itself and answers 401 when it is
    missing, stale or wrong (api/openapi.py documents it)."""


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
        if principal is None:
            principal = await run_in_threadpool(authenticate, ctx, credentials.credentials)
        if principal is None:
            raise HTTPException(
                401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"}
            )
        if not principal.allows(scope):
            raise HTTPException(403, f"this API key lacks the {scope!r} scope")
        request_line.check(request)
        return principal

    return dependency


Read = Depends(require("read"))
Write = Depends(require("write"))
Admin = Depends(require("admin"))
