"""E-mail: over SMTP (plain, STARTTLS or implicit TLS, with AUTH) or into a folder of files.

With no SMTP URL every message is written to `mail_dir` as an RFC 5322 `.eml` file, which any
mail client opens: a fresh install notifies without a mail server, and nothing is lost. The
message is built once and its bytes are what is sent (or written) and returned, so the outbox
can keep them and show the message exactly as it left. Its Message-ID is derived from the
outbox id: a retried delivery carries the same one, and a receiver can tell the copies apart
from new messages.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from leadscore.delivery.errors import DeliveryError, permanent
from leadscore.delivery.render import Rendered
from leadscore.settings import Settings

POLICY = SMTP_POLICY.clone(cte_type="7bit")
"""CRLF line ends, headers folded at 78 and RFC 2047-encoded, and bodies that are not plain
short ASCII sent quoted-printable or base64, so no server needs 8BITMIME or SMTPUTF8."""
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
SUBMISSION_PORT = 587
"""The port where a plain connection is upgraded with STARTTLS unless the URL says not."""
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")

Security = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class MailSettings:
    """Where mail goes: an SMTP server (`host`), or the `.eml` folder `mail_dir` when `host` is
    None. `security` is `none`, `starttls` (upgrade a plain connection) or `tls` (implicit
    TLS, smtps://)."""

    mail_dir: str
    host: str | None = None
    port: int = 25
    security: Security = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0

    @property
    def is_file_sink(self) -> bool:
        return self.host is None

    @classmethod
    def from_settings(cls, settings: Settings) -> MailSettings:
        """LEADSCORE_SMTP_URL, LEADSCORE_MAIL_DIR and the delivery timeout."""
        return cls.from_url(
            settings.smtp_url, settings.mail_dir, timeout=settings.delivery_timeout_seconds
        )

    @classmethod
    def from_url(cls, url: str | None, mail_dir: str, *, timeout: float = 10.0) -> MailSettings:
        """`smtp://user:pass@host:port` (STARTTLS with `?starttls=true`, the default on port
        587), `smtps://user:pass@host:port` (implicit TLS, port 465 by default); user and
        password URL-encoded; `?timeout=SECONDS`. None or an empty URL is the file sink.
        A bad URL is a permanent `DeliveryError` that never shows the password."""
        if url is None or not url.strip():
            return cls(mail_dir=mail_dir, timeout=timeout)
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise _bad_url(url, f"{exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise _bad_url(url, f"the scheme is {scheme or 'missing'!r}; use smtp:// or smtps://")
        if not parts.hostname:
            raise _bad_url(url, "no host")
        if port == 0:
            raise _bad_url(url, "port 0")
        if parts.path not in ("", "/") or parts.fragment:
            raise _bad_url(url, "a path or fragment; only ?starttls= and ?timeout= may follow")
        port = port or DEFAULT_PORTS[scheme]
        starttls: bool | None = None
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key == "starttls":
                if value.lower() not in _TRUE | _FALSE:
                    raise _bad_url(url, f"starttls={value!r}; use true or false")
                starttls = value.lower() in _TRUE
            elif key == "timeout":
                timeout = _seconds(url, value)
            else:
                raise _bad_url(url, f"unknown parameter {key!r}; known: starttls, timeout")
        if scheme == "smtps":
            if starttls:
                raise _bad_url(url, "smtps:// is TLS from the first byte; starttls does not apply")
            security: Security = "tls"
        else:
            upgrade = port == SUBMISSION_PORT if starttls is None else starttls
            security = "starttls" if upgrade else "none"
        return cls(
            mail_dir=mail_dir,
            host=parts.hostname,
            port=port,
            security=security,
            username=unquote(parts.username) if parts.username is not None else None,
            password=unquote(parts.password) if parts.password is not None else None,
            timeout=timeout,
        )


def _redacted(url: str) -> str:
    return re.sub(r"(//[^/?#@:]*):[^/?#@]*@", r"\1:***@", url.strip())


def _bad_url(url: str, reason: str) -> DeliveryError:
    return permanent(f"SMTP URL {_redacted(url)!r}: {reason}")


def _seconds(url: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise _bad_url(url, f"timeout={value!r}; a number of seconds above 0")
    return seconds


def send_mail(
    settings: MailSettings,
    *,
    sender: str,
    to: Sequence[str],
    rendered: Rendered,
    message_id: str,
    tls_context: ssl.SSLContext | None = None,
) -> bytes:
    """Send `rendered` from `sender` to `to` (or write it to the file sink) and return the
    message's bytes exactly as sent. `tls_context` replaces the default one (system CAs,
    host name checked), e.g. to trust a private CA."""
    origin = _address(sender, "sender")
    recipients = [_address(r, "recipient") for r in ([to] if isinstance(to, str) else to)]
    if not recipients:
        raise permanent("no recipient")
    data = compose(origin, recipients, rendered, message_id)
    if settings.host is None:
        write_eml(settings.mail_dir, data, message_id)
    else:
        envelope = [r.addr_spec for r in recipients]
        _send(settings.host, settings, origin.addr_spec, envelope, data, tls_context)
    return data


def compose(sender: Address, to: Sequence[Address], rendered: Rendered, message_id: str) -> bytes:
    """A multipart/alternative message (plain text, then HTML) marked as automatic, so that
    out-of-office replies are not sent back to it, as the bytes to send."""
    message = EmailMessage(policy=POLICY)
    try:
        message["From"] = sender
        message["To"] = tuple(to)
        message["Subject"] = rendered.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = message_id_header(message_id, sender.domain)
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        for part in message.iter_parts():
            del part["MIME-Version"]  # add_alternative repeats it in the HTML part
        return message.as_bytes()
    except (ValueError, TypeError) as exc:
        raise permanent(f"cannot build the message: {exc}") from None


def message_id_header(message_id: str, domain: str) -> str:
    """`<message_id@domain>`: the same for every attempt of one outbox message (an id that is
    not a dot-atom is replaced by its SHA-256, still stable)."""
    left = message_id if _ATOM.fullmatch(message_id) else _digest(message_id)
    return f"<{left}@{domain if _ATOM.fullmatch(domain) else 'localhost'}>"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _address(text: str, role: str) -> Address:
    """An address as header and envelope both take it: an internationalised domain in its
    ASCII (IDNA) form; a non-ASCII part before the @ would need SMTPUTF8, which is refused."""
    if "\r" in text or "\n" in text:
        raise permanent(f"{role} {text!r}: a line break in an address")
    name, address = parseaddr(text)
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or any(c.isspace() for c in address):
        raise permanent(f"{role} {text!r} is not an e-mail address")
    if not local.isascii():
        raise permanent(
            f"{role} {text!r}: non-ASCII before the @ needs SMTPUTF8, which leadscore does not send"
        )
    try:
        domain = domain.encode("idna").decode("ascii")
        return Address(display_name=name, addr_spec=f"{local}@{domain}")
    except (UnicodeError, ValueError, IndexError):
        raise permanent(f"{role} {text!r} is not an e-mail address") from None


def write_eml(mail_dir: str, data: bytes, message_id: str) -> Path:
    """Write one message into `mail_dir` (created when missing) as
    `<UTC time to the microsecond>-<message id>.eml`, atomically: a reader never sees half a
    file, and the names sort in the order the messages were written."""
    folder = Path(mail_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", message_id)[:100] or _digest(message_id)
    target = folder / f"{stamp}-{safe}.eml"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".eml.tmp")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        fixable = (PermissionError, NotADirectoryError, FileExistsError, IsADirectoryError)
        raise DeliveryError(
            f"cannot write the message into {mail_dir}: {exc.strerror or exc}",
            retryable=not isinstance(exc, fixable),
        ) from None
    return target


def _send(
    host: str,
    settings: MailSettings,
    envelope_from: str,
    envelope_to: list[str],
    data: bytes,
    tls_context: ssl.SSLContext | None,
) -> None:
    where = f"SMTP {host}:{settings.port}"
    context = tls_context or ssl.create_default_context()
    client: smtplib.SMTP | None = None
    try:
        if settings.security == "tls":
            client = smtplib.SMTP_SSL(
                host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(host, settings.port, timeout=settings.timeout)
        client.ehlo()
        if settings.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if settings.username is not None:
            _login(client, settings.username, settings.password or "")
        refused = client.sendmail(envelope_from, envelope_to, data)
    except (smtplib.SMTPException, OSError) as exc:
        raise _classified(exc, where) from None
    finally:
        if client is not None:
            _quit(client)
    if refused:
        raise _refused(refused, where, delivered=len(envelope_to) - len(refused))


def _login(client: smtplib.SMTP, username: str, password: str) -> None:
    """AUTH with the best mechanism both sides know; smtplib sends credentials as ASCII, so
    UTF-8 ones go as AUTH PLAIN, whose RFC 4616 carries UTF-8."""
    if (username + password).isascii():
        client.login(username, password)
        return
    if not client.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    offered = client.esmtp_features["auth"].upper().split()
    if "PLAIN" not in offered:
        raise smtplib.SMTPException(
            "the user or password is not ASCII, which only AUTH PLAIN carries, and the server "
            f"offers AUTH {' '.join(offered)}"
        )
    token = b"\0" + username.encode() + b"\0" + password.encode()
    code, reply = client.docmd("AUTH", "PLAIN " + base64.b64encode(token).decode("ascii"))
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _quit(client: smtplib.SMTP) -> None:
    """Say goodbye; the message was already accepted or refused, so a failing QUIT changes
    nothing."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


def _refused(
    refused: dict[str, tuple[int, bytes]], where: str, *, delivered: int = 0
) -> DeliveryError:
    """Recipients the server refused: worth a retry only if every refusal was temporary (4xx).
    A retry goes to every recipient again, under the same Message-ID."""
    reasons = "; ".join(f"{rcpt}: {code} {_text(reply)}" for rcpt, (code, reply) in refused.items())
    accepted = f" (accepted for {delivered} other recipient{'s' if delivered != 1 else ''})"
    return DeliveryError(
        f"{where} refused {reasons}" + (accepted if delivered else ""),
        retryable=all(400 <= code <= 499 for code, _ in refused.values()),
    )


def _classified(exc: Exception, where: str) -> DeliveryError:
    """4xx replies and lost connections are worth a retry; 5xx replies, a missing extension
    (STARTTLS, AUTH) and an untrusted certificate are not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _refused(exc.recipients, where)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        return DeliveryError(
            f"{where} answered {code} {_text(exc.smtp_error)}", retryable=400 <= code <= 499
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"{where} closed the connection: {exc}", retryable=True)
    if isinstance(exc, smtplib.SMTPException):
        return permanent(f"{where}: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return permanent(f"{where}: the server's TLS certificate is not trusted: {exc}")
    return DeliveryError(f"{where}: {type(exc).__name__}: {exc}", retryable=True)
