"""Webhooks and Slack-style messages to real HTTP receivers on 127.0.0.1: signed as Standard
Webhooks says (checked by `verify` and independently), retried with the same id, and every
failure classified as the outbox needs it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from leadscore.delivery.errors import DeliveryError
from leadscore.delivery.hooks import (
    USER_AGENT,
    Delivered,
    new_client,
    post_slack,
    post_webhook,
    retry_after_seconds,
)
from leadscore.delivery.signing import SignatureError, new_secret, verify
from leadscore.settings import Settings

from .conftest import NOTIFY, Receiver, Request, answer, fails_then_succeeds, free_port

SECRET = new_secret()
NOW = 1_796_637_600


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with new_client(Settings(delivery_timeout_seconds=5)) as c:
        yield c


def checking(secret: str) -> Callable[[Request, int], tuple[int, dict[str, str], bytes]]:
    """A receiver that accepts only requests signed with `secret`, checked twice: by `verify`
    and by its own hmac computation."""
    key = base64.b64decode(secret.removeprefix("whsec_"))

    def respond(request: Request, _: int) -> tuple[int, dict[str, str], bytes]:
        h = request.headers
        content = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + request.body
        mine = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
        by_hand = any(s == f"v1,{mine}" for s in h["webhook-signature"].split())
        try:
            verify(secret, h, request.body, now=int(h["webhook-timestamp"]))
            by_verify = True
        except SignatureError:
            by_verify = False
        if by_hand != by_verify:
            return answer(500, "the two checks disagree")
        return answer(204) if by_hand else answer(401, "bad signature")

    return respond


def test_a_signed_webhook_is_accepted_by_a_receiver_that_checks_it(
    receiver: Callable[..., Receiver], client: httpx.Client
) -> None:
    hook = receiver(checking(SECRET))
    payload = {**NOTIFY, "lead": {**NOTIFY["lead"], "name": "Żaneta Łęcka"}}
    delivered = post_webhook(client, hook.url, SECRET, "ob_42", payload, now=NOW)
    assert delivered.status == 204 and delivered.excerpt == ""
    assert 0 < delivered.elapsed_ms < 5000
    [request] = hook.requests
    assert request.path == "/hooks/leadscore"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == USER_AGENT == "leadscore/0.1.0"
    assert request.headers["webhook-id"] == "ob_42"
    assert request.headers["webhook-timestamp"] == str(NOW)
    # compact UTF-8 JSON, encoded once: what was signed is what arrived
    assert request.body == json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    assert "Żaneta Łęcka".encode() in request.body
    assert request.json() == payload


def test_a_receiver_with_another_secret_refuses_it_for_good(
    receiver: Callable[..., Receiver], client: httpx.Client
) -> None:
    hook = receiver(checking(new_secret()))
    with pytest.raises(DeliveryError) as caught:
        post_webhook(client, hook.url, SECRET, "ob_42", NOTIFY, now=NOW)
    assert caught.value.retryable is False and caught.value.retry_after is None
    assert "answered 401 Unauthorized: bad signature" in caught.value.message
    assert len(hook.requests) == 1


def test_a_receiver_that_fails_twice_then_accepts(
    receiver: Callable[..., Receiver], client: httpx.Client
) -> None:
    hook = receiver(fails_then_succeeds(2))
    failures = []
    for attempt in range(3):
        try:
            delivered = post_webhook(
                client, hook.url, SECRET, "ob_42", NOTIFY, now=NOW + 60 * attempt
            )
        except DeliveryError as exc:
            failures.append(exc)
    assert [e.retryable for e in failures] == [True, True]
    assert "answered 503 Service Unavailable: down for maintenance (2)" in failures[1].message
    assert delivered == Delivered(200, '{"received":true}', delivered.elapsed_ms)
    # every attempt is the same message: same id and body, its own timestamp and signature
    assert {r.headers["webhook-id"] for r in hook.requests} == {"ob_42"}
    assert len({r.body for r in hook.requests}) == 1
    assert [int(r.headers["webhook-timestamp"]) for r in hook.requests] == [
        NOW,
        NOW + 60,
        NOW + 120,
    ]
    for request in hook.requests:
        verify(SECRET, request.headers, request.body, now=int(request.headers["webhook-timestamp"]))


def test_a_receiver_that_never_accepts_stays_retryable(
    receiver: Callable[..., Receiver], client: httpx.Client
) -> None:
    hook = receiver(lambda request, attempt: answer(500, "<html>" + "boom " * 500 + "</html>"))
    for _ in range(4):
        with pytest.raises(DeliveryError) as caught:
            post_webhook(client, hook.url, SECRET, "ob_42", NOTIFY, now=NOW)
        assert caught.value.retryable is True and caught.value.retry_after is None
    assert len(hook.requests) == 4
    # only the start of a long answer is kept
    message = caught.value.message
    assert "answered 500 Internal Server Error: <html>boom boom" in message
    assert len(message) < 300 and message.endswith("…")


def test_429_with_retry_after_seconds(
    receiver: Callable[..., Receiver], client: httpx.Client
) -> None:
    hook = receiver(lambda request, attempt: answer(429, "slow down", retry_after="7"))
    with pytest.raises(DeliveryError) as caught:
        post_webhook(client, hook.url, SECRET, "ob_42", NOTIFY, now=NOW)
    assert caught.value.retryable is True
    assert caught.value.retry_after == 7.0
    assert "429 Too Many Requests: slow down" in caught.value.message


def test_503_with_retry_after_as_an_http_date(
    receiver: Callable[..., Receiver], client: httpx.Client
) -> None:
    at = datetime.fromtimestamp(NOW + 90, UTC)
    hook = receiver(
        lambda request, attempt: answer(503, retry_after=format_datetime(at, usegmt=True))
    )
    with pytest.raises(DeliveryError) as caught:
        post_webhook(client, hook.url, SECRET, "ob_42", NOTIFY, now=NOW)
    assert caught.value.retryable is True and caught.value.retry_after == 90.0


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (408, True),
        (425, False),
        (400, False),
        (404, False),
        (410, False),
        (422, False),
        (502, True),
        (504, True),
        (599, True),
    ],
)
def test_statuses_are_classified(
    receiver: Callable[..., Receiver], client: httpx.Client, status: int, retryable: bool
) -> None:
    hook = receiver(lambda request, attempt: answer(status, "no", retry_after="30"))
    with pytest.raises(DeliveryError) as caught:
        post_webhook(client, hook.url, SECRET, "ob_42", NOTIFY, now=NOW)
    assert caught.value.retryable is retryable
    # Retry-After only matters for something that will be retried
    assert caught.value.retry_after == (30.0 if retryable else None)
    assert f"answered {status}" in caught.value.message


def test_a_redirect_is_not_followed_and_says_where_to(
    receiver: Callable[..., Receiver], client: httpx.Client
) -> None:
    target = receiver(lambda request, attempt: answer(200))
    hook = receiver(lambda request, attempt: answer(308, location=target.url))
    with pytest.raises(DeliveryError) as caught:
        post_webhook(client, hook.url, SECRET, "ob_42", NOTIFY, now=NOW)
    assert caught.value.retryable is False
    assert (
        f"308 Permanent Redirect; redirects are not followed: update the URL to {target.url}"
        in (caught.value.message)
    )
    assert target.requests == []


def test_a_closed_port_is_retryable(client: httpx.Client) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    with pytest.raises(DeliveryError) as caught:
        post_webhook(client, url, SECRET, "ob_42", NOTIFY, now=NOW)
    assert caught.value.retryable is True
    assert "ConnectError" in caught.value.message


def test_a_receiver_slower_than_the_timeout_is_retryable(
    receiver: Callable[..., Receiver],
) -> None:
    hook = receiver(lambda request, attempt: answer(200), delay=3)
    started = time.monotonic()
    with (
        new_client(Settings(delivery_timeout_seconds=0.3)) as client,
        pytest.raises(DeliveryError) as caught,
    ):
        post_webhook(client, hook.url, SECRET, "ob_42", NOTIFY, now=NOW)
    assert time.monotonic() - started < 2
    assert caught.value.retryable is True
    assert "no answer in time (ReadTimeout)" in caught.value.message


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", "URL 'ftp://example.com/…' is not an http:// or https:// URL"),
        ("hooks.example.com/x", "URL 'hooks.example.com/…' is not an http:// or https:// URL"),
        ("http://", "not an http:// or https:// URL"),
        ("ftp://user:pw@example.com", "URL 'ftp://example.com' is not an http"),
        ("http://[not-ipv6]/hook", "not valid"),
        ("http://hooks.example.com:port/", "not valid"),
    ],
)
def test_a_bad_url_is_permanent(client: httpx.Client, url: str, reason: str) -> None:
    with pytest.raises(DeliveryError, match=reason) as caught:
        post_webhook(client, url, SECRET, "ob_42", NOTIFY, now=NOW)
    assert caught.value.retryable is False


@pytest.mark.parametrize("secret", ["", "whsec_", "not a secret", "whsec_c2hvcnQ="])
def test_a_bad_secret_is_permanent_and_nothing_is_sent(
    receiver: Callable[..., Receiver], client: httpx.Client, secret: str
) -> None:
    hook = receiver(lambda request, attempt: answer(200))
    with pytest.raises(DeliveryError, match="webhook secret") as caught:
        post_webhook(client, hook.url, secret, "ob_42", NOTIFY, now=NOW)
    assert caught.value.retryable is False
    assert hook.requests == []


def test_a_payload_that_is_not_json_is_permanent(
    receiver: Callable[..., Receiver], client: httpx.Client
) -> None:
    hook = receiver(lambda request, attempt: answer(200))
    for payload in ({"score": float("nan")}, {"when": datetime.now(UTC)}):
        with pytest.raises(DeliveryError, match="the payload is not JSON") as caught:
            post_webhook(client, hook.url, SECRET, "ob_42", payload, now=NOW)
        assert caught.value.retryable is False
    assert hook.requests == []


def test_an_error_message_does_not_repeat_the_secret_part_of_a_url(
    receiver: Callable[..., Receiver], client: httpx.Client
) -> None:
    hook = receiver(lambda request, attempt: answer(404, "no_service"))
    url = hook.url.replace("/hooks/leadscore", "/services/T0001/B0002/SeCrEtToKeN?token=XyZ")
    with pytest.raises(DeliveryError) as caught:
        post_slack(client, url, "hello")
    assert "SeCrEtToKeN" not in caught.value.message and "XyZ" not in caught.value.message
    assert caught.value.message.startswith(
        f"POST http://127.0.0.1:{url.split(':')[2].split('/')[0]}/…"
    )
    assert hook.requests[0].path == "/services/T0001/B0002/SeCrEtToKeN?token=XyZ"


def test_a_slack_message(receiver: Callable[..., Receiver], client: httpx.Client) -> None:
    hook = receiver(lambda request, attempt: answer(200, "ok", content_type="text/html"))
    text = "*<http://127.0.0.1:8000/leads/L1|Anna Nowak>* — score crossed 85 upwards"
    delivered = post_slack(client, hook.url, text)
    assert delivered.status == 200 and delivered.excerpt == "ok"
    [request] = hook.requests
    assert request.json() == {"text": text}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == USER_AGENT
    assert "webhook-signature" not in request.headers


@pytest.mark.parametrize(
    ("status", "body", "retryable"),
    [
        (400, "invalid_payload", False),
        (403, "action_prohibited", False),
        (404, "no_service", False),
        (410, "channel_is_archived", False),
        (500, "rollup_error", True),
    ],
)
def test_slack_errors_are_classified_and_shown(
    receiver: Callable[..., Receiver],
    client: httpx.Client,
    status: int,
    body: str,
    retryable: bool,
) -> None:
    hook = receiver(lambda request, attempt: answer(status, body))
    with pytest.raises(DeliveryError) as caught:
        post_slack(client, hook.url, "hello")
    assert caught.value.retryable is retryable
    assert caught.value.message.endswith(f": {body}")


def test_slack_rate_limit(receiver: Callable[..., Receiver], client: httpx.Client) -> None:
    hook = receiver(lambda request, attempt: answer(429, "rate_limited", retry_after="30"))
    with pytest.raises(DeliveryError) as caught:
        post_slack(client, hook.url, "hello")
    assert caught.value.retryable is True and caught.value.retry_after == 30.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("120", 120.0),
        (" 0 ", 0.0),
        ("1.5", 1.5),
        ("-5", None),
        ("soon", None),
        ("inf", None),
        ("nan", None),
        ("Wed, 21 Oct 2026 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2026 07:27:00 GMT", 0.0),  # already past
        ("Wednesday, 21-Oct-26 07:28:30 GMT", 30.0),  # RFC 850, obsolete but still read
        ("Wed, 32 Oct 2026 07:28:30 GMT", None),
    ],
)
def test_retry_after_values(value: str | None, seconds: float | None) -> None:
    now = datetime(2026, 10, 21, 7, 28, tzinfo=UTC).timestamp()
    assert retry_after_seconds(value, now=now) == seconds
