"""The shortcut for single events: `POST /api/v1/events` by a caller whose key was verified a
moment ago is answered here, before FastAPI's routing and dependency resolution, by the
route's own code (`routes.ingest.answer_events`).

Why: under a stream of single events, most of the event loop's time per request went to the
framework, not to us — matching the path against every route of the API, solving the
operation's dependencies (which parse the query string, the headers and the cookies once per
dependency), and the layers of middleware under this one. A bare FastAPI endpoint answers in
a fraction of that time; this gets the hot endpoint close to it without changing what it
answers.

What makes it the same endpoint: it takes only a request FastAPI would have let through to
the route — this method and exact path, no query string (so nothing for api/request_line.py
to refuse), a `Bearer` key read the way FastAPI's HTTPBearer reads it, verified within
`api_key_cache_seconds` and holding the `write` scope (api/auth.py); every other request,
including every one that would be a 401 or 403, goes down the usual way. It answers with the
route's code, and an error raised on the way (a bad body, an unknown lead, a body over the
limit) with the handler the app registered for it (api/errors.py), as Starlette's exception
middleware would. It sits inside api/middleware.py's RequestGuard, so the request id, the
body limit and the 500 for anything unexpected are the guard's as for any request.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from leadscore.api.routes.ingest import answer_events
from leadscore.service.keys import cached_principal


class EventsShortcut:
    """See the module's docstring."""

    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._takes(scope):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        response: Response
        try:
            response = await answer_events(request)
        except Exception as exc:
            handler = _handler(scope["app"], exc)
            if handler is None:
                raise
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)

    def _takes(self, scope: Scope) -> bool:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != self.path
            or scope.get("root_path")
            or scope.get("query_string")
        ):
            return False
        authorization = Headers(scope=scope).get("authorization")
        scheme, credentials = get_authorization_scheme_param(authorization)
        if not (authorization and scheme and credentials) or scheme.lower() != "bearer":
            return False
        principal = cached_principal(scope["app"].state.ctx, credentials)
        return principal is not None and principal.allows("write")


def _handler(app: FastAPI, exc: Exception) -> Callable[[Request, Exception], Any] | None:
    """The exception handler the app registered for `exc`'s class or its nearest base."""
    for cls in type(exc).__mro__:
        if cls in app.exception_handlers:
            handler: Callable[[Request, Exception], Any] = app.exception_handlers[cls]
            return handler
    return None
