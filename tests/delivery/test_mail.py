"""E-mail to real SMTP servers on 127.0.0.1 (aiosmtpd): plain, STARTTLS and implicit TLS with
AUTH LOGIN and PLAIN, temporary and permanent refusals; and the `.eml` file sink."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from urllib.parse import quote

import pytest

from leadscore.delivery.errors import DeliveryError
from leadscore.delivery.mail import MailSettings, send_mail
from leadscore.delivery.render import Rendered, render
from leadscore.settings import Settings

from .conftest import NOTIFY, PASSWORD, USER, UTF8_PASSWORD, Inbox, Tls, free_port

pytestmark = pytest.mark.filterwarnings(
    # aiosmtpd cannot see the implicit TLS under it, and warns about AUTH without STARTTLS
    "ignore:Requiring AUTH while not requiring TLS:UserWarning"
)
SENDER = "leadscore <leadscore@demo.example>"
MAIL = render("notify", NOTIFY)
SmtpServer = Callable[..., Inbox]


def parsed(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def check_message(data: bytes, rendered: Rendered = MAIL, message_id: str = "ob_42") -> None:
    """The headers and both parts of a message, as a mail client reads them."""
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")  # CRLF only
    message = parsed(data)
    assert message["From"] == SENDER
    assert message["To"] == "Anna Nowak <a@b.pl>, jan@demo.example"
    assert message["Subject"] == rendered.subject
    assert message["Message-ID"] == f"<{message_id}@demo.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"] is not None and message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert text.get_content().replace("\r\n", "\n") == rendered.text
    assert html.get_content().replace("\r\n", "\n") == rendered.html
    assert "MIME-Version" not in html


def send(settings: MailSettings, tls: Tls | None = None, **overrides: object) -> bytes:
    arguments: dict[str, object] = {
        "sender": SENDER,
        "to": ["Anna Nowak <a@b.pl>", "jan@demo.example"],
        "rendered": MAIL,
        "message_id": "ob_42",
        "tls_context": tls.client if tls else None,
        **overrides,
    }
    return send_mail(settings, **arguments)  # type: ignore[arg-type]


def url(
    scheme: str, inbox: Inbox, query: str = "", user: str = USER, password: str = PASSWORD
) -> str:
    return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{inbox.host}:{inbox.port}{query}"


# --- the URL --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "host", "port", "security", "user", "password", "timeout"),
    [
        ("smtp://relay.internal", "relay.internal", 25, "none", None, None, 10.0),
        ("smtp://relay.internal:2525/", "relay.internal", 2525, "none", None, None, 10.0),
        (
            "smtp://me%40gmail.com:app%20pw@smtp.gmail.com:587",
            "smtp.gmail.com",
            587,
            "starttls",
            "me@gmail.com",
            "app pw",
            10.0,
        ),
        (
            "smtp://u:p@smtp.office365.com:587?starttls=false",
            "smtp.office365.com",
            587,
            "none",
            "u",
            "p",
            10.0,
        ),
        (
            "smtp://u:p@mail.example:2525?starttls=true&timeout=2.5",
            "mail.example",
            2525,
            "starttls",
            "u",
            "p",
            2.5,
        ),
        (
            "SMTPS://u:p%3A%2F%40@smtp.example.com",
            "smtp.example.com",
            465,
            "tls",
            "u",
            "p:/@",
            10.0,
        ),
        (
            "smtps://smtp.example.com:2465?timeout=30",
            "smtp.example.com",
            2465,
            "tls",
            None,
            None,
            30.0,
        ),
        ("smtp://apikey@[::1]:25", "::1", 25, "none", "apikey", None, 10.0),
    ],
)
def test_an_smtp_url(
    given: str,
    host: str,
    port: int,
    security: str,
    user: str | None,
    password: str | None,
    timeout: float,
) -> None:
    settings = MailSettings.from_url(given, "mail")
    assert (settings.host, settings.port, settings.security) == (host, port, security)
    assert (settings.username, settings.password, settings.timeout) == (user, password, timeout)
    assert not settings.is_file_sink
    assert "password" not in repr(settings)


@pytest.mark.parametrize("given", [None, "", "  "])
def test_no_url_is_the_file_sink(given: str | None) -> None:
    settings = MailSettings.from_url(given, "out/mail")
    assert settings.is_file_sink and settings.mail_dir == "out/mail"


def test_the_settings_give_the_url_folder_and_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSCORE_SMTP_URL", "smtps://u:p@smtp.example.com")
    monkeypatch.setenv("LEADSCORE_MAIL_DIR", "/var/mail/leadscore")
    monkeypatch.setenv("LEADSCORE_DELIVERY_TIMEOUT_SECONDS", "4")
    settings = MailSettings.from_settings(Settings())
    assert (settings.host, settings.port, settings.security, settings.timeout) == (
        "smtp.example.com",
        465,
        "tls",
        4.0,
    )
    assert settings.mail_dir == "/var/mail/leadscore"
    assert MailSettings.from_settings(Settings(smtp_url=None)).is_file_sink


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("http://u:s3cret@mail.example", "the scheme is 'http'; use smtp:// or smtps://"),
        ("mail.example:587", "the scheme is 'mail.example'"),
        ("smtp://u:s3cret@:587", "no host"),
        ("smtp://u:s3cret@mail.example:port", "Port could not be cast"),
        ("smtp://u:s3cret@mail.example:99999", "out of range"),
        ("smtp://u:s3cret@mail.example:0", "port 0"),
        ("smtp://u:s3cret@mail.example/inbox", "a path or fragment"),
        ("smtp://u:s3cret@mail.example?starttls=maybe", "starttls='maybe'; use true or false"),
        ("smtp://u:s3cret@mail.example?timeout=0", "timeout='0'; a number of seconds above 0"),
        ("smtp://u:s3cret@mail.example?timeout=nan", "timeout='nan'"),
        (
            "smtp://u:s3cret@mail.example?tls=on",
            "unknown parameter 'tls'; known: starttls, timeout",
        ),
        ("smtps://u:s3cret@mail.example?starttls=true", "starttls does not apply"),
    ],
)
def test_a_bad_url_is_permanent_and_hides_the_password(given: str, reason: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        MailSettings.from_url(given, "mail")
    assert caught.value.retryable is False
    assert reason in caught.value.message
    assert "s3cret" not in caught.value.message
    assert caught.value.message.startswith("SMTP URL ")


# --- the file sink --------------------------------------------------------------------------


def test_the_file_sink_writes_one_eml_file_per_message(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet"
    settings = MailSettings.from_url(None, str(folder))
    first = send(settings)
    second = send(settings, message_id="ob_43/retry 1", rendered=render("notify", NOTIFY))
    files = sorted(folder.iterdir())
    assert [f.name for f in folder.iterdir() if f.name.startswith(".")] == []  # no temporary left
    assert len(files) == 2
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-ob_42\.eml", files[0].name)
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-ob_43_retry_1\.eml", files[1].name)
    assert files[0].read_bytes() == first and files[1].read_bytes() == second
    check_message(first)
    assert parsed(second)["Message-ID"] != parsed(first)["Message-ID"]


def test_a_file_sink_that_cannot_be_written_is_permanent(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DeliveryError, match="cannot write the message into") as caught:
        send(MailSettings.from_url(None, str(blocker / "mail")))
    assert caught.value.retryable is False


# --- SMTP -----------------------------------------------------------------------------------


def test_plain_smtp(smtp_server: SmtpServer) -> None:
    inbox = smtp_server("plain")
    data = send(MailSettings.from_url(f"smtp://{inbox.host}:{inbox.port}", "unused"))
    [received] = inbox.messages
    assert received.mail_from == "leadscore@demo.example"
    assert received.rcpt_tos == ["a@b.pl", "jan@demo.example"]
    assert received.content == data  # the bytes returned are the bytes the server got
    assert not received.over_tls and received.authenticated_as is None
    check_message(received.content)


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_starttls_then_auth(smtp_server: SmtpServer, tls: Tls, mechanism: str) -> None:
    other = {"LOGIN": "PLAIN", "PLAIN": "LOGIN"}[mechanism]
    inbox = smtp_server("starttls", auth_exclude_mechanism=[other])
    data = send(MailSettings.from_url(url("smtp", inbox, "?starttls=true"), "unused"), tls)
    [received] = inbox.messages
    assert received.over_tls and received.authenticated_as == USER
    assert inbox.mechanisms == [mechanism]
    assert received.content == data
    check_message(received.content)


def test_implicit_tls_with_auth(smtp_server: SmtpServer, tls: Tls) -> None:
    inbox = smtp_server("tls")
    data = send(MailSettings.from_url(url("smtps", inbox), "unused"), tls)
    [received] = inbox.messages
    assert received.over_tls and received.authenticated_as == USER
    assert received.content == data
    check_message(data)


def test_a_utf8_password_goes_as_auth_plain(smtp_server: SmtpServer, tls: Tls) -> None:
    inbox = smtp_server("tls")
    send(MailSettings.from_url(url("smtps", inbox, password=UTF8_PASSWORD), "unused"), tls)
    assert inbox.mechanisms == ["PLAIN"] and len(inbox.messages) == 1


def test_a_utf8_password_and_a_server_without_auth_plain(smtp_server: SmtpServer, tls: Tls) -> None:
    inbox = smtp_server("tls", auth_exclude_mechanism=["PLAIN"])
    settings = MailSettings.from_url(url("smtps", inbox, password=UTF8_PASSWORD), "unused")
    with pytest.raises(
        DeliveryError, match="only AUTH PLAIN carries, and the server offers AUTH LOGIN"
    ) as caught:
        send(settings, tls)
    assert caught.value.retryable is False and inbox.messages == []


def test_a_wrong_password_is_permanent(smtp_server: SmtpServer, tls: Tls) -> None:
    inbox = smtp_server("tls")
    settings = MailSettings.from_url(url("smtps", inbox, password="wrong"), "unused")
    with pytest.raises(DeliveryError) as caught:
        send(settings, tls)
    assert caught.value.retryable is False
    assert f"SMTP 127.0.0.1:{inbox.port} answered 535" in caught.value.message
    assert inbox.messages == []


def test_a_server_that_needs_starttls_refuses_a_plain_session(smtp_server: SmtpServer) -> None:
    inbox = smtp_server("starttls")
    with pytest.raises(DeliveryError) as caught:
        send(MailSettings.from_url(f"smtp://{inbox.host}:{inbox.port}", "unused"))
    assert caught.value.retryable is False
    assert "answered 530" in caught.value.message and "STARTTLS" in caught.value.message


def test_starttls_asked_of_a_server_without_it_is_permanent(smtp_server: SmtpServer) -> None:
    inbox = smtp_server("plain")
    settings = MailSettings.from_url(f"smtp://{inbox.host}:{inbox.port}?starttls=true", "unused")
    with pytest.raises(DeliveryError, match="STARTTLS extension not supported") as caught:
        send(settings)
    assert caught.value.retryable is False


def test_an_untrusted_certificate_is_permanent(smtp_server: SmtpServer) -> None:
    inbox = smtp_server("tls")
    with pytest.raises(DeliveryError, match="certificate is not trusted") as caught:
        send(MailSettings.from_url(url("smtps", inbox), "unused"))  # the system's CAs only
    assert caught.value.retryable is False
    assert inbox.messages == []


def test_a_server_that_answers_451_then_accepts(smtp_server: SmtpServer) -> None:
    inbox = smtp_server("plain", Inbox(data_replies=["451 4.3.0 Mail server temporarily busy"]))
    settings = MailSettings.from_url(f"smtp://{inbox.host}:{inbox.port}", "unused")
    with pytest.raises(DeliveryError) as caught:
        send(settings)
    assert caught.value.retryable is True
    assert f"SMTP 127.0.0.1:{inbox.port} answered 451 4.3.0 Mail server temporarily busy" == (
        caught.value.message
    )
    assert inbox.messages == []
    retried = send(settings)
    [received] = inbox.messages
    assert received.content == retried
    # the retry carries the same Message-ID, so the receiver can tell it is the same message
    assert parsed(retried)["Message-ID"] == "<ob_42@demo.example>"


def test_an_unknown_recipient_is_permanent(smtp_server: SmtpServer) -> None:
    inbox = smtp_server("plain", Inbox(unknown={"nobody@demo.example"}))
    settings = MailSettings.from_url(f"smtp://{inbox.host}:{inbox.port}", "unused")
    with pytest.raises(DeliveryError) as caught:
        send(settings, to=["nobody@demo.example"])
    assert caught.value.retryable is False
    assert caught.value.message == (
        f"SMTP 127.0.0.1:{inbox.port} refused nobody@demo.example: 550 5.1.1 "
        "<nobody@demo.example>: recipient address rejected: user unknown"
    )
    assert inbox.messages == []


def test_a_partly_refused_message_says_who_got_it(smtp_server: SmtpServer) -> None:
    inbox = smtp_server("plain", Inbox(unknown={"nobody@demo.example"}))
    settings = MailSettings.from_url(f"smtp://{inbox.host}:{inbox.port}", "unused")
    with pytest.raises(DeliveryError) as caught:
        send(settings, to=["a@b.pl", "nobody@demo.example"])
    assert caught.value.retryable is False
    assert "refused nobody@demo.example: 550" in caught.value.message
    assert caught.value.message.endswith("(accepted for 1 other recipient)")
    assert [m.rcpt_tos for m in inbox.messages] == [["a@b.pl"]]


def test_a_rejected_message_is_permanent(smtp_server: SmtpServer) -> None:
    inbox = smtp_server("plain", Inbox(data_replies=["554 5.7.1 Message rejected as spam"]))
    settings = MailSettings.from_url(f"smtp://{inbox.host}:{inbox.port}", "unused")
    with pytest.raises(DeliveryError, match="answered 554 5.7.1 Message rejected") as caught:
        send(settings)
    assert caught.value.retryable is False


def test_no_server_is_retryable() -> None:
    settings = MailSettings.from_url(f"smtp://127.0.0.1:{free_port()}", "unused")
    with pytest.raises(DeliveryError, match="ConnectionRefusedError") as caught:
        send(settings)
    assert caught.value.retryable is True


def test_a_server_that_says_nothing_is_retryable(tls: Tls) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        settings = MailSettings.from_url(f"smtp://127.0.0.1:{port}?timeout=0.3", "unused")
        with pytest.raises(DeliveryError) as caught:
            send(settings)
    assert caught.value.retryable is True
    assert caught.value.message.endswith(
        "closed the connection: Connection unexpectedly closed: timed out"
    )


def test_a_non_ascii_subject_names_and_body_arrive_intact(smtp_server: SmtpServer) -> None:
    inbox = smtp_server("plain")
    payload = {**NOTIFY, "lead": {**NOTIFY["lead"], "name": "Żaneta Łęcka", "company": "Zakład №1"}}
    rendered = render("notify", payload)
    send(
        MailSettings.from_url(f"smtp://{inbox.host}:{inbox.port}", "unused"),
        sender="Łukasz z leadscore <leadscore@demo.example>",
        to=["Żaneta Łęcka <a@b.pl>"],
        rendered=rendered,
    )
    [received] = inbox.messages
    assert received.content.isascii()  # no 8BITMIME or SMTPUTF8 needed
    message = parsed(received.content)
    assert (
        message["Subject"] == rendered.subject and "Żaneta Łęcka (Zakład №1)" in message["Subject"]
    )
    assert message["From"] == "Łukasz z leadscore <leadscore@demo.example>"
    text, html = message.iter_parts()
    assert text.get_content().replace("\r\n", "\n") == rendered.text
    assert html.get_content().replace("\r\n", "\n") == rendered.html


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("to", [], "no recipient"),
        ("to", ["not-an-address"], "recipient 'not-an-address' is not an e-mail address"),
        ("to", ["a@b.pl\r\nBcc: x@evil.example"], "a line break in an address"),
        ("sender", "leadscore", "sender 'leadscore' is not an e-mail address"),
        ("to", ["a..b@example.com"], "recipient 'a..b@example.com' is not an e-mail address"),
        ("to", ["żółw@b.pl"], "non-ASCII before the @ needs SMTPUTF8"),
        ("rendered", Rendered("Hi\r\nBcc: x@evil.example", "t", "h"), "cannot build the message"),
    ],
)
def test_bad_addresses_and_headers_are_permanent_and_nothing_is_sent(
    smtp_server: SmtpServer, field: str, value: object, reason: str
) -> None:
    inbox = smtp_server("plain")
    with pytest.raises(DeliveryError, match=re.escape(reason)) as caught:
        send(MailSettings.from_url(f"smtp://{inbox.host}:{inbox.port}", "unused"), **{field: value})
    assert caught.value.retryable is False
    assert inbox.messages == []


def test_an_internationalised_domain_goes_in_its_ascii_form(smtp_server: SmtpServer) -> None:
    inbox = smtp_server("plain")
    send(
        MailSettings.from_url(f"smtp://{inbox.host}:{inbox.port}", "unused"),
        sender="leadscore <leadscore@bücher.example>",
        to=["Zofia <zofia@żółw.pl>"],
    )
    [received] = inbox.messages
    assert received.mail_from == "leadscore@xn--bcher-kva.example"
    assert received.rcpt_tos == ["zofia@xn--w-uga1v8h.pl"]
    message = parsed(received.content)
    assert message["To"] == "Zofia <zofia@xn--w-uga1v8h.pl>"
    assert message["Message-ID"] == "<ob_42@xn--bcher-kva.example>"


def test_a_message_id_that_is_not_a_dot_atom_is_hashed_the_same_way_each_time(
    tmp_path: Path,
) -> None:
    settings = MailSettings.from_url(None, str(tmp_path))
    ids = {parsed(send(settings, message_id="ob 42/é"))["Message-ID"] for _ in range(2)}
    assert len(ids) == 1 and re.fullmatch(r"<[0-9a-f]{40}@demo\.example>", ids.pop())
