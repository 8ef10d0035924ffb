"""HTTP deliveries: a signed JSON webhook, and a message to a Slack-style incoming webhook.

Each call makes one attempt and says how it went: `Delivered` on a 2xx, otherwise a
`DeliveryError` that the outbox worker retries or keeps as failed. Redirects are not followed
(a moved receiver is fixed by updating its URL, as Standard Webhooks advises), and only the
first bytes of an answer are read, whatever its size.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from importlib.metadata import version
from typing import Any

import httpx

from leadscore.delivery.errors import DeliveryError, permanent, retryable_status
from leadscore.delivery.signing import SecretError, sign
from leadscore.settings import Settings

USER_AGENT = f"leadscore/{version('leadscore')}"
EXCERPT_CHARS = 200
"""How much of a receiver's answer is kept, for the outbox's record of the attempt."""
_READ_BYTES = 4 * EXCERPT_CHARS


@dataclass(frozen=True)
class Delivered:
    """A receiver accepted the request: its status, the start of its answer, and how long the
    attempt took."""

    status: int
    excerpt: str
    elapsed_ms: float


def new_client(settings: Settings) -> httpx.Client:
    """An HTTP client for deliveries: the settings' timeout for connecting, sending and each
    read, our User-Agent, no redirects."""
    return httpx.Client(
        timeout=settings.delivery_timeout_seconds,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


def encode_json(payload: Mapping[str, Any]) -> bytes:
    """The body once and for all: compact JSON in UTF-8 (the bytes signed are the bytes
    sent)."""
    try:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise permanent(f"the payload is not JSON: {exc}") from None
    return text.encode("utf-8")


def post_webhook(
    client: httpx.Client,
    url: str,
    secret: str,
    msg_id: str,
    payload: Mapping[str, Any],
    *,
    now: int,
) -> Delivered:
    """POST `payload` to `url` signed with `secret` as message `msg_id` at `now` (Unix
    seconds; a retry sends the same id with its own time)."""
    body = encode_json(payload)
    try:
        signature = sign(secret, msg_id, now, body)
    except SecretError as exc:
        raise permanent(str(exc)) from None
    except ValueError as exc:
        raise permanent(f"cannot sign the webhook: {exc}") from None
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": signature,
    }
    return _post(client, url, body, headers, now=now)


def post_slack(client: httpx.Client, url: str, text: str) -> Delivered:
    """POST `{"text": text}` to a Slack-style incoming webhook (Slack, Mattermost, Rocket.Chat
    and others take it; Slack answers 200 `ok`)."""
    body = encode_json({"text": text})
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    return _post(client, url, body, headers, now=time.time())


def _post(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str], *, now: float
) -> Delivered:
    target = _checked_url(url)
    started = time.perf_counter()
    try:
        with client.stream(
            "POST", target, content=body, headers=headers, follow_redirects=False
        ) as response:
            head = _read_head(response)
    except httpx.TimeoutException as exc:
        raise DeliveryError(
            f"POST {_shown(target)}: no answer in time ({type(exc).__name__})", retryable=True
        ) from None
    except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
        raise permanent(f"POST {_shown(target)}: {exc}") from None
    except httpx.TransportError as exc:
        raise DeliveryError(
            f"POST {_shown(target)}: {type(exc).__name__}: {exc}", retryable=True
        ) from None
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    excerpt = _excerpt(head, response)
    status = response.status_code
    if 200 <= status <= 299:
        return Delivered(status, excerpt, elapsed_ms)
    reason = _status_text(status)
    if 300 <= status <= 399:
        where = response.headers.get("location", "")
        raise permanent(
            f"POST {_shown(target)} answered {reason}; redirects are not followed"
            + (f": update the URL to {where}" if where else "")
        )
    retryable = retryable_status(status)
    raise DeliveryError(
        f"POST {_shown(target)} answered {reason}" + (f": {excerpt}" if excerpt else ""),
        retryable=retryable,
        retry_after=retry_after_seconds(response.headers.get("retry-after"), now=now)
        if retryable
        else None,
    )


def _checked_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise permanent(f"URL {_start(url)!r} is not valid: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise permanent(f"URL {_start(url)!r} is not an http:// or https:// URL with a host")
    return parsed


def _start(url: str) -> str:
    """A URL that did not parse, up to its host, without credentials (as `_shown` does)."""
    text = re.sub(r"//[^/?#]*@", "//", str(url))
    match = re.match(r"[^/?#]*(?://[^/?#]*)?", text)
    head = match.group(0) if match else ""
    return head + ("/…" if len(text) > len(head) else "")


def _shown(url: httpx.URL) -> str:
    """Where, without the path and query: a Slack-style URL holds its token there, and this
    text is kept in the outbox for anyone with read access to see."""
    port = f":{url.port}" if url.port else ""
    rest = "/…" if url.raw_path not in (b"", b"/") else ""
    return f"{url.scheme}://{url.host}{port}{rest}"


def _read_head(response: httpx.Response) -> bytes:
    head = b""
    for chunk in response.iter_bytes():
        head += chunk
        if len(head) >= _READ_BYTES:
            break
    return head[:_READ_BYTES]


def _excerpt(head: bytes, response: httpx.Response) -> str:
    text = head.decode(response.encoding or "utf-8", errors="replace")
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def retry_after_seconds(value: str | None, *, now: float) -> float | None:
    """A `Retry-After` header as seconds from `now`: delay-seconds or an HTTP-date (a date
    already past is 0); None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds != float("inf") else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
