"""The request guard: the ASGI middleware every request goes through first.

- It gives each request an id: the client's `X-Request-ID` when it is a sensible token (1 to
  128 letters, digits and `._:@/+=-`), else a new one; every response carries it back in
  `X-Request-ID`, and every error body in `request_id` (api/errors.py).
- It limits the request body to `LEADSCORE_MAX_BODY_BYTES`: a larger `Content-Length` is a
  413 before any of the body is read; a body streamed without one (chunked) is counted as
  it arrives and refused with a 413 once it passes the limit, so no body is ever read whole
  into memory beyond the limit.
- It puts the request id in `api.logs.REQUEST_ID` while the request is served, so that
  every log record about the request carries it (api/logs.py).
- It adds the security headers to every response that does not set its own:
  `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`,
  a `Content-Security-Policy` allowing nothing (the dashboard's and the docs' pages set their
  own, allowing only 'self'), `Cache-Control: no-store` under /api/ (answers hold personal
  data), and `Strict-Transport-Security` when LEADSCORE_HSTS says every client uses HTTPS.
  The lists are built once; per response it is one pass over the response's few headers.
- It turns any unhandled exception into the JSON error model's 500, logged with its
  traceback and the request id. It does not re-raise (Starlette's outer error middleware
  would, and uvicorn then closes the connection): the 500 is a complete response and the
  keep-alive connection stays usable for the client's next request.
"""

from __future__ import annotations

import logging
import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadscore.api.errors import REQUEST_ID_HEADER, STATE_KEY, error_response
from leadscore.api.logs import REQUEST_ID

log = logging.getLogger("leadscore.api")

CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
)
API_HEADERS = ((b"cache-control", b"no-store"),)
HSTS = ((b"strict-transport-security", b"max-age=31536000; includeSubDomains"),)
OWN_NAMES = frozenset(name for name, _ in (*SECURITY_HEADERS, *API_HEADERS, *HSTS))


def security_headers(hsts: bool, api: bool) -> list[tuple[bytes, bytes]]:
    """The headers a response gets unless it sets its own (see the module's docstring)."""
    return [*SECURITY_HEADERS, *(API_HEADERS if api else ()), *(HSTS if hsts else ())]


def add_missing(message: Message, extra: list[tuple[bytes, bytes]]) -> None:
    """Append to a response start message each of `extra` whose name it does not carry
    (Starlette writes header names in lower case, as `extra` has them)."""
    headers: list[tuple[bytes, bytes]] = message.setdefault("headers", [])
    present = {name for name, _ in headers}
    if present.isdisjoint(OWN_NAMES):  # the usual case: none set by the response
        headers += extra
    else:
        headers += [h for h in extra if h[0] not in present]


class BodyTooLarge(HTTPException):
    """A request body over the limit (413); raised while the body is being received."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"the request body is larger than {limit:,} bytes (LEADSCORE_MAX_BODY_BYTES);"
            " send a smaller batch",
        )


class RequestGuard:
    """See the module's docstring."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, hsts: bool = False) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.page_headers = security_headers(hsts, api=False)
        self.api_headers = security_headers(hsts, api=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        given = headers.get(REQUEST_ID_HEADER, "")
        rid = given if CLIENT_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})[STATE_KEY] = rid
        REQUEST_ID.set(rid)  # uvicorn serves each request in a task (a context) of its own
        started = False
        extra = self.api_headers if scope["path"].startswith("/api/") else self.page_headers

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
                add_missing(message, extra)
            await send(message)

        limit = self.max_body_bytes
        if _content_length(headers) > limit:
            too_large = BodyTooLarge(limit)
            await error_response(scope, 413, str(too_large.detail))(scope, receive, send_with_id)
            return
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, receive_limited, send_with_id)
        except Exception:
            if started:  # the response is half sent: nothing better than closing it
                raise
            log.exception(
                "unhandled error in %s %s (request id %s)", scope["method"], scope["path"], rid
            )
            response = error_response(
                scope, 500, f"internal server error; quote request id {rid} to the operator"
            )
            await response(scope, receive, send_with_id)


def _content_length(headers: Headers) -> int:
    """The declared body length; -1 when absent or not a number (then bytes are counted)."""
    try:
        return int(headers.get("content-length", "-1"))
    except ValueError:
        return -1
