"""Standard Webhooks signatures: the published test vector, a vector computed here with
hmac/base64 (not with `sign`), tampering, several signatures, the timestamp tolerance, and
secrets that are not secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from leadscore.delivery.signing import (
    SecretError,
    SignatureError,
    new_secret,
    secret_key,
    sign,
    verify,
)

# The specification's own example (its libraries' tests use it), to the byte.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

# Ours: a 32-byte key, a compact UTF-8 body.
KEY = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
MSG_ID = "ob_42"
NOW = 1_796_637_600
BODY = '{"lead":{"name":"Żaneta Łęcka","score":87.5}}'.encode()


def independent(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    content = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def headers(signature: str, msg_id: str = MSG_ID, timestamp: int = NOW) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def test_the_published_test_vector() -> None:
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    assert independent(key, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    verify(
        SPEC_SECRET, headers(SPEC_SIGNATURE, SPEC_ID, SPEC_TIMESTAMP), SPEC_BODY, now=SPEC_TIMESTAMP
    )


def test_a_vector_computed_here_with_hmac_and_base64() -> None:
    expected = independent(KEY, MSG_ID, NOW, BODY)
    assert (
        expected
        == "v1,"
        + base64.b64encode(
            hmac.new(KEY, b"ob_42.1796637600." + BODY, hashlib.sha256).digest()
        ).decode()
    )
    assert sign(SECRET, MSG_ID, NOW, BODY) == expected
    verify(SECRET, headers(expected), BODY, now=NOW)


def test_a_new_secret_is_32_random_bytes_and_signs() -> None:
    one, two = new_secret(), new_secret()
    assert one.startswith("whsec_") and one != two
    key = base64.b64decode(one.removeprefix("whsec_"), validate=True)
    assert len(key) == 32
    assert sign(one, MSG_ID, NOW, BODY) == independent(key, MSG_ID, NOW, BODY)


def test_a_secret_may_come_without_its_prefix_or_padding() -> None:
    bare = SECRET.removeprefix("whsec_")
    assert secret_key(bare) == secret_key(bare.rstrip("=")) == secret_key(SECRET) == KEY
    assert sign(bare.rstrip("="), MSG_ID, NOW, BODY) == sign(SECRET, MSG_ID, NOW, BODY)


@pytest.mark.parametrize(
    ("changed", "value"),
    [
        ("body", BODY.replace(b"87.5", b"97.5")),
        ("body", BODY + b" "),
        ("webhook-id", "ob_43"),
        ("webhook-timestamp", str(NOW + 1)),
    ],
)
def test_a_changed_body_id_or_timestamp_fails(changed: str, value: object) -> None:
    signature = sign(SECRET, MSG_ID, NOW, BODY)
    sent, body = headers(signature), BODY
    if changed == "body":
        body = value  # type: ignore[assignment]
    else:
        sent[changed] = value  # type: ignore[assignment]
    with pytest.raises(SignatureError, match="no v1 signature matches"):
        verify(SECRET, sent, body, now=NOW)


def test_another_secret_fails() -> None:
    signature = sign(new_secret(), MSG_ID, NOW, BODY)
    with pytest.raises(SignatureError, match="no v1 signature matches"):
        verify(SECRET, headers(signature), BODY, now=NOW)


def test_one_matching_signature_among_several_is_enough() -> None:
    good = independent(KEY, MSG_ID, NOW, BODY)
    stale = sign(new_secret(), MSG_ID, NOW, BODY)
    asymmetric = "v1a," + base64.b64encode(b"x" * 64).decode()
    for value in (
        f"{stale} {good}",
        f"{good} {stale}",
        f"{asymmetric}  {stale}\t{good}",
        "v1,not-base64!! " + good,
    ):
        verify(SECRET, headers(value), BODY, now=NOW)
    with pytest.raises(SignatureError, match="no v1 signature matches"):
        verify(SECRET, headers(f"{stale} {asymmetric}"), BODY, now=NOW)
    with pytest.raises(SignatureError, match="holds no v1 signature"):
        verify(SECRET, headers(asymmetric), BODY, now=NOW)


def test_header_names_are_read_in_any_case() -> None:
    signature = sign(SECRET, MSG_ID, NOW, BODY)
    mixed = {"Webhook-Id": MSG_ID, "WEBHOOK-TIMESTAMP": str(NOW), "Webhook-Signature": signature}
    verify(SECRET, mixed, BODY, now=NOW)


def test_the_timestamp_may_be_five_minutes_off_and_no_more() -> None:
    signature = sign(SECRET, MSG_ID, NOW, BODY)
    for now in (NOW - 300, NOW, NOW + 300):
        verify(SECRET, headers(signature), BODY, now=now)
    with pytest.raises(SignatureError, match="301 s old, more than the 300 s allowed"):
        verify(SECRET, headers(signature), BODY, now=NOW + 301)
    with pytest.raises(SignatureError, match="301 s ahead of this clock"):
        verify(SECRET, headers(signature), BODY, now=NOW - 301)
    verify(SECRET, headers(signature), BODY, now=NOW + 3600, tolerance=3600)
    with pytest.raises(SignatureError, match="11 s old, more than the 10 s allowed"):
        verify(SECRET, headers(signature), BODY, now=NOW + 11, tolerance=10)


def test_a_replayed_request_with_a_fresh_timestamp_fails() -> None:
    """An attacker who captured a request cannot move its timestamp into the window."""
    signature = sign(SECRET, MSG_ID, NOW, BODY)
    later = NOW + 3600
    with pytest.raises(SignatureError, match="no v1 signature matches"):
        verify(SECRET, headers(signature, timestamp=later), BODY, now=later)


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        ({}, "missing header webhook-id, webhook-timestamp, webhook-signature"),
        ({"webhook-id": MSG_ID, "webhook-timestamp": str(NOW)}, "missing header webhook-signature"),
        ({**headers("v1,x"), "webhook-id": ""}, "missing header webhook-id"),
        ({**headers("v1,x"), "webhook-timestamp": "2026-12-07T10:00:00Z"}, "not integer Unix"),
        ({**headers("v1,x"), "webhook-timestamp": "1.5e9"}, "not integer Unix seconds"),
        ({**headers("v1,x"), "webhook-timestamp": "-1"}, "not integer Unix seconds"),
        ({**headers("v1,x"), "webhook-timestamp": "１２３"}, "not integer Unix seconds"),
    ],
)
def test_bad_headers_are_named(sent: dict[str, str], reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(SECRET, sent, BODY, now=NOW)


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("", "empty"),
        ("whsec_", "empty"),
        ("whsec_not base64!", "not whsec_<base64>"),
        ("my-shared-password", "not whsec_<base64>"),
        ("whsec_" + base64.b64encode(b"short").decode(), "decodes to 5 bytes; it must be 24 to 64"),
        ("whsec_" + base64.b64encode(bytes(65)).decode(), "decodes to 65 bytes"),
    ],
)
def test_a_bad_secret_is_refused_with_the_reason(secret: str, reason: str) -> None:
    with pytest.raises(SecretError, match=reason):
        sign(secret, MSG_ID, NOW, BODY)
    with pytest.raises(SecretError, match=reason):
        verify(secret, headers("v1,x"), BODY, now=NOW)


@pytest.mark.parametrize(
    ("msg_id", "timestamp", "reason"),
    [
        ("", NOW, "message id ''"),
        ("ob.42", NOW, "no dot"),
        ("ob 42", NOW, "no space"),
        (MSG_ID, -1, "not negative"),
        (MSG_ID, 1.5, "integer Unix seconds"),
        (MSG_ID, True, "integer Unix seconds"),
    ],
)
def test_sign_refuses_ids_and_times_that_would_blur_the_signed_content(
    msg_id: str, timestamp: int, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        sign(SECRET, msg_id, timestamp, BODY)
