"""What every inbound source endpoint shares (§8, §9): the body read under the sources
file's size limit (413), a bad signature answered 401 before anything is read further, a
malformed delivery 400 naming the field, and one answer shape for what was written.

These endpoints carry no API key: the platform's signature, key or token is their
authentication (§9 "signed inbound webhooks"). Each route parses and verifies in its own
module; `deliver` runs the rest in a worker thread and maps the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from leadscore.api.errors import error_response
from leadscore.service import metrics
from leadscore.service.errors import Invalid
from leadscore.service.sources import (
    Malformed,
    Received,
    SourcesConfigError,
    Unsigned,
    Write,
    configured,
    receive,
)

RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "A malformed delivery, the field named; nothing was written"},
    401: {"description": "A missing or wrong signature, key or token; nothing was read"},
    413: {"description": "The delivery is larger than the sources file's max_body_bytes"},
}


class TooLarge(Exception):
    """A delivery over the sources file's `max_body_bytes` (413)."""


async def body_of(request: Request, limit: int | None = None) -> bytes:
    """The delivery's bytes, or TooLarge once it passes `limit` (the sources file's
    max_body_bytes by default): counted as it streams, never read whole when too big."""
    if limit is None:
        limit = configured(request.app.state.ctx).file.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the delivery is larger than {limit:,} bytes (max_body_bytes)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the delivery is larger than {limit:,} bytes (max_body_bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def writer_of(request: Request) -> Write:
    """How this app writes deliveries: its SourceWriter (group commit) while it serves, else
    `service.sources.receive` (an app used without its lifespan)."""
    found = getattr(request.app.state, "source_writer", None)
    return receive if found is None else found.receive


def headers_of(request: Request) -> dict[str, str]:
    """The request's headers, names in lower case."""
    return {k.lower(): v for k, v in request.headers.items()}


def summary(results: Sequence[Received]) -> dict[str, Any]:
    """The answer to a delivery: counts by status, then each submission's result."""
    counts = {"stored": 0, "duplicate": 0, "suppressed": 0, "unknown": 0}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return {
        "received": len(results),
        **{f"{k}{'s' if k == 'duplicate' else ''}": v for k, v in counts.items()},
        "results": [r.as_dict() for r in results],
    }


def refused(request: Request, status: int, message: str, source: str) -> JSONResponse:
    """An error answered before `answered` runs (a body too large), counted like its own."""
    metrics.SOURCE_REFUSED.labels(source, str(status)).inc()
    return error_response(request.scope, status, message)


def webhook_label(request: Request, name: str) -> str:
    """The metrics label of a webhook endpoint: its name when the sources file has it, else
    `unknown` (a name from the URL alone would let anyone add series)."""
    try:
        known = name in configured(request.app.state.ctx).file.webhooks
    except SourcesConfigError:
        known = False
    return name if known else "unknown"


async def answered(
    request: Request, work: Callable[[], Any], source: str = "unknown"
) -> JSONResponse | Any:
    """Run `work` (parse, verify, write) in a worker thread; map its errors to the statuses
    above, counted per `source` (leadscore_source_refused_total). What `work` returns is the
    answer (a `summary`, or a platform's handshake text)."""
    response = await _answered(request, work)
    if isinstance(response, JSONResponse) and response.status_code >= 400:
        metrics.SOURCE_REFUSED.labels(source, str(response.status_code)).inc()
    return response


async def _answered(request: Request, work: Callable[[], Any]) -> JSONResponse | Any:
    try:
        return await run_in_threadpool(work)
    except Unsigned as exc:
        return error_response(request.scope, 401, str(exc))
    except TooLarge as exc:
        return error_response(request.scope, 413, str(exc))
    except Malformed as exc:
        loc = ["body"] if exc.field is None else ["body", *exc.field.split(".")]
        detail = [{"type": "value_error", "loc": loc, "msg": str(exc)}]
        return error_response(request.scope, 400, detail)
    except Invalid as exc:
        return error_response(request.scope, 400, [p.to_dict() for p in exc.problems])
    except SourcesConfigError as exc:
        return error_response(request.scope, 503, f"the sources file: {exc}")
