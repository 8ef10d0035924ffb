"""Checking that a mapped webhook delivery comes from the tool (§9 "signed inbound
webhooks"): an HMAC, a token or SendGrid's ECDSA signature, always compared in constant time
and before the body is parsed. Pure: the caller passes the time in seconds for the replay
window of timestamped signatures (Calendly's `t=`, SendGrid's timestamp header).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from leadscore.core.webhook_mapping import EcdsaCheck, HmacCheck, TokenCheck


class SignatureError(ValueError):
    """A missing or wrong signature or token (401)."""


def verify(
    check: HmacCheck | TokenCheck | EcdsaCheck,
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    now: float,
) -> None:
    """Return when the delivery is authentic, else SignatureError saying what failed.
    `headers` are keyed in lower case."""
    if isinstance(check, TokenCheck):
        _token(check, secret, headers, query)
    elif isinstance(check, HmacCheck):
        _hmac(check, secret, body, headers, now)
    else:
        _ecdsa(check, secret, body, headers, now)


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower())
    if not value:
        raise SignatureError(f"no {name} header")
    return value.strip()


def _token(
    check: TokenCheck, secret: str, headers: Mapping[str, str], query: Mapping[str, str]
) -> None:
    if check.header is not None:
        given = _header(headers, check.header)
        where = check.header
    else:
        assert check.query is not None  # TokenCheck._one_place
        found = query.get(check.query)
        if not found:
            raise SignatureError(f"no {check.query} query parameter")
        given, where = found, check.query
    if check.prefix:
        if not given.lower().startswith(check.prefix.lower()):
            raise SignatureError(f"{where} does not start with {check.prefix.strip()!r}")
        given = given[len(check.prefix) :]
    if not hmac.compare_digest(given.strip().encode(), secret.encode()):
        raise SignatureError(f"{where}: wrong token")


def sign(check: HmacCheck, secret: str, message: bytes) -> str:
    """The signature text of `message` under the check (tests and tools sign with it)."""
    digest = hmac.new(secret.encode(), message, getattr(hashlib, check.algorithm)).digest()
    if check.encoding == "hex":
        return digest.hex()
    return base64.b64encode(digest).decode()


def _hmac(
    check: HmacCheck, secret: str, body: bytes, headers: Mapping[str, str], now: float
) -> None:
    given = _header(headers, check.header)
    if check.signed == "timestamp_body":
        parts = dict(p.strip().partition("=")[::2] for p in given.split(","))
        stamp, given = parts.get("t", ""), parts.get("v1", "")
        if not stamp.isdigit() or not given:
            raise SignatureError(f"{check.header} is not t=<seconds>,v1=<signature>")
        if abs(now - int(stamp)) > check.tolerance:
            raise SignatureError(
                f"{check.header}: the timestamp is more than {check.tolerance} s from now"
                " (a replay, or a clock out of step)"
            )
        message = stamp.encode() + b"." + body
    else:
        message = body
    if check.prefix:
        if not given.startswith(check.prefix):
            raise SignatureError(f"{check.header} does not start with {check.prefix!r}")
        given = given[len(check.prefix) :]
    expected = sign(check, secret, message)
    if check.encoding == "hex":
        given = given.lower()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignatureError(f"{check.header}: the signature does not match")


def public_key(secret: str) -> ec.EllipticCurvePublicKey:
    """SendGrid's verification key: base64 DER (as its settings page shows it) or PEM."""
    try:
        if "BEGIN PUBLIC KEY" in secret:
            key = serialization.load_pem_public_key(secret.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(secret.strip()))
    except (ValueError, binascii.Error, TypeError):
        raise SignatureError("the configured public key is not an EC public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SignatureError("the configured public key is not an EC public key")
    return key


def _ecdsa(
    check: EcdsaCheck, secret: str, body: bytes, headers: Mapping[str, str], now: float
) -> None:
    signature = _header(headers, check.header)
    stamp = _header(headers, check.timestamp_header)
    late = check.tolerance is not None and (
        not stamp.isdigit() or abs(now - int(stamp)) > check.tolerance
    )
    if late:
        raise SignatureError(
            f"{check.timestamp_header}: more than {check.tolerance} s from now (a replay?)"
        )
    try:
        raw = base64.b64decode(signature, validate=True)
    except binascii.Error:
        raise SignatureError(f"{check.header} is not base64") from None
    try:
        public_key(secret).verify(raw, stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SignatureError(f"{check.header}: the signature does not match") from None
