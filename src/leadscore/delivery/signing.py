"""Webhook signatures as Standard Webhooks writes them (https://www.standardwebhooks.com).

A receiver can then check our deliveries with any of that specification's libraries, or with
the few lines of docs/automations-delivery.md. The signed content is
`{webhook-id}.{webhook-timestamp}.{body}`; the signature is `v1,` and the base64 HMAC-SHA256
of it under the secret's decoded bytes. A secret is written `whsec_<base64>`. The
`webhook-signature` header may hold several space-separated signatures (one per secret while
a secret is being rotated): one valid `v1` signature is enough. The timestamp is the attempt's,
so a receiver refuses one more than `tolerance` seconds (5 minutes) away from its clock and
a captured request cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
"""How many random bytes `new_secret` draws (the specification asks for 24 to 64)."""
MIN_SECRET_BYTES, MAX_SECRET_BYTES = 24, 64
TOLERANCE_SECONDS = 300
_MSG_ID = re.compile(r"[^\s.]{1,255}")


class SecretError(ValueError):
    """A webhook secret that is not `whsec_` and the base64 of 24 to 64 bytes."""


class SignatureError(Exception):
    """A request whose signature headers do not prove it came from the secret's holder."""


def new_secret() -> str:
    """A fresh random secret, `whsec_` and the base64 of 32 bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key a secret stands for: its base64 part decoded (the `whsec_` prefix may be
    left out, and so may the base64 padding, as the reference libraries allow)."""
    encoded = secret.strip()
    encoded = encoded.removeprefix(SECRET_PREFIX)
    if not encoded:
        raise SecretError("the webhook secret is empty")
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SecretError(
            f"the webhook secret is not {SECRET_PREFIX}<base64> (it has characters that "
            "are not base64)"
        ) from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise SecretError(
            f"the webhook secret decodes to {len(key)} bytes; it must be {MIN_SECRET_BYTES} "
            f"to {MAX_SECRET_BYTES} (make one with `new_secret()`)"
        )
    return key


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value (`v1,<base64>`) of `body` sent as message `msg_id` at
    `timestamp` (integer Unix seconds)."""
    if not _MSG_ID.fullmatch(msg_id):
        raise ValueError(f"message id {msg_id!r}: 1 to 255 characters, no dot and no space")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError(f"timestamp {timestamp!r}: integer Unix seconds, not negative")
    digest = _digest(secret_key(secret), msg_id, timestamp, body)
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Check a received request's `webhook-*` headers (any letter case) against its raw body;
    raise `SignatureError` saying what is wrong, or return. `now` is the receiver's clock in
    Unix seconds; the timestamp may be at most `tolerance` seconds before or after it."""
    key = secret_key(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [
        name
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        if not lowered.get(name)
    ]
    if missing:
        raise SignatureError(f"missing header {', '.join(missing)}")
    msg_id, raw_timestamp = lowered["webhook-id"], lowered["webhook-timestamp"].strip()
    if not raw_timestamp.isascii() or not raw_timestamp.isdigit():
        raise SignatureError(
            f"webhook-timestamp {raw_timestamp[:40]!r} is not integer Unix seconds"
        )
    timestamp = int(raw_timestamp)
    if timestamp < now - tolerance:
        raise SignatureError(
            f"webhook-timestamp is {now - timestamp} s old, more than the {tolerance} s allowed"
        )
    if timestamp > now + tolerance:
        raise SignatureError(
            f"webhook-timestamp is {timestamp - now} s ahead of this clock, more than the "
            f"{tolerance} s allowed"
        )
    expected = _digest(key, msg_id, timestamp, body)
    candidates = [
        value
        for version, _, value in (s.partition(",") for s in lowered["webhook-signature"].split())
        if version == "v1"
    ]
    if not candidates:
        raise SignatureError("webhook-signature holds no v1 signature")
    for candidate in candidates:
        try:
            given = base64.b64decode(candidate, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(given, expected):
            return
    raise SignatureError(
        "no v1 signature matches: the body, webhook-id or webhook-timestamp was changed, "
        "or it was signed with another secret"
    )
