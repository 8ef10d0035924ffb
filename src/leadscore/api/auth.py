"""`Authorization: Bearer <key>` on every endpoint but health: 401 without a valid key, 403
for a key without the scope the endpoint needs (admin implies read and write). Then, with the
caller known, the request line is checked (api/request_line.py: unknown query parameters,
NUL in the path or query)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from leadscore.api import request_line
from leadscore.service.keys import authenticate
from leadscore.service.principals import Principal

bearer = HTTPBearer(auto_error=False, description="An API key: `leadscore apikey create`.")


def signed() -> None:
    """Marks a route that takes no API key because the caller signs each request instead (a
    CRM's webhooks, §9): the route checks the signature itself and answers 401 when it is
    missing, stale or wrong (api/openapi.py documents it)."""


def require(scope: str) -> Callable[[Request, HTTPAuthorizationCredentials | None], Principal]:
    """A dependency giving the caller's Principal when its key has `scope`."""

    def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> Principal:
        if credentials is None:
            raise HTTPException(
                401,
                "missing API key: send the header Authorization: Bearer <key>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = authenticate(request.app.state.ctx, credentials.credentials)
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
