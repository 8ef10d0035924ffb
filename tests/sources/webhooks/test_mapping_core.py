"""The pure parts: paths, time formats, form bodies, signature checks, and a sources file's
`webhooks:` section refused with the key named."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest

from leadscore.core.import_mapping import load_import_mapping
from leadscore.core.json_paths import PathError, parse_path, read_time
from leadscore.core.sources import SourcesError, load_sources_text
from leadscore.core.webhook_mapping import TokenCheck, form_tree
from leadscore.core.webhook_signatures import SignatureError, verify
from leadscore.service.mapped_webhooks import resolved

DELIVERY = {"a": {"b": [{"c": 1}, {"c": None}]}, "message-id": "<m1>"}


def test_paths_read_keys_indexes_and_optional_steps() -> None:
    assert parse_path("a.b[0].c").read(DELIVERY) == 1
    assert parse_path("message-id").read(DELIVERY) == "<m1>"
    assert parse_path("a.b[5].c?").read(DELIVERY) is None
    assert parse_path("a.x.y?").read(DELIVERY) is None
    assert parse_path("$").read(DELIVERY) is DELIVERY


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("a.x", "a.x is absent"),
        ("a.b.c", "a.b is not an object"),
        ("a[0]", "a is not a list"),
        ("a.b[7].c", "a.b[7] is absent"),
    ],
)
def test_path_errors_name_the_step(path: str, message: str) -> None:
    with pytest.raises(PathError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_path(path).read(DELIVERY)


def test_bad_path_text_is_refused() -> None:
    for text in ("", "a..b", "a[x]", "[", "a.]"):
        with pytest.raises(ValueError, match="is not a path"):
            parse_path(text)


def test_time_formats() -> None:
    assert read_time("2026-12-01T09:00:00Z", "iso", "t") == 1_796_115_600_000_000
    assert read_time(1_796_115_600, "epoch_s", "t") == 1_796_115_600_000_000
    assert read_time("1796115600000", "epoch_ms", "t") == 1_796_115_600_000_000
    assert read_time("01.12.2026 09:00", "%d.%m.%Y %H:%M", "t") == 1_796_115_600_000_000
    with pytest.raises(PathError, match="does not match the format"):
        read_time("2026-12-01", "%d.%m.%Y", "t")
    with pytest.raises(PathError, match="not a number"):
        read_time(True, "epoch_s", "t")


def test_form_bodies_become_nested_objects() -> None:
    pairs = [("type", "subscribe"), ("data[email]", "a@b.io"), ("data[merges][FNAME]", "A")]
    assert form_tree(pairs) == {
        "type": "subscribe",
        "data": {"email": "a@b.io", "merges": {"FNAME": "A"}},
    }


def test_token_in_query_and_header_prefix() -> None:
    query = TokenCheck(kind="token", query="secret")
    verify(query, "s3cret", b"", {}, {"secret": "s3cret"}, 0)
    with pytest.raises(SignatureError, match="no secret query parameter"):
        verify(query, "s3cret", b"", {}, {}, 0)
    bearer = TokenCheck(kind="token", header="Authorization", prefix="Bearer ")
    verify(bearer, "tok", b"", {"authorization": "Bearer tok"}, {}, 0)
    with pytest.raises(SignatureError, match="does not start with 'Bearer'"):
        verify(bearer, "tok", b"", {"authorization": "tok"}, {}, 0)


def test_calendly_style_signature_window() -> None:
    check = load_sources_text("webhooks:\n  cal: {preset: calendly, secret: k}\n").webhooks["cal"]
    rule = resolved("cal", check).verify
    body = b'{"event": "invitee.created"}'
    mac = hmac.new(b"k", b"1000." + body, hashlib.sha256).hexdigest()
    verify(rule, "k", body, {"calendly-webhook-signature": f"t=1000,v1={mac}"}, {}, 1100)
    with pytest.raises(SignatureError, match="from now"):
        verify(rule, "k", body, {"calendly-webhook-signature": f"t=1000,v1={mac}"}, {}, 1500)
    with pytest.raises(SignatureError, match="t=<seconds>,v1=<signature>"):
        verify(rule, "k", body, {"calendly-webhook-signature": mac}, {}, 1000)


@pytest.mark.parametrize(
    ("section", "path", "message"),
    [
        ("x: {preset: zoom, secret: k}", "webhooks.x.preset", "calendly"),
        ("x: {mapping: {email: e, event_type: t}, secret: k}", "webhooks.x", "needs verify"),
        (
            "x: {verify: {kind: token, header: H}, secret: k, mapping: {email: 'a..b', event_type: t}}",
            "webhooks.x.mapping.email",
            "is not a path",
        ),
        ("x: {preset: brevo}", "webhooks.x.secret", ""),
        (
            "x: {verify: {kind: token, header: H, query: q}, secret: k, mapping: {email: e, event_type: t}}",
            "webhooks.x.verify.token",
            "either a header or a query",
        ),
        (
            "x: {preset: sendgrid, secret: k, mapping: {occurred_at: {path: t, format: week}}}",
            "webhooks.x.mapping.occurred_at.format",
            "strftime",
        ),
    ],
)
def test_a_bad_endpoint_is_refused_naming_the_key(section: str, path: str, message: str) -> None:
    with pytest.raises(SourcesError) as caught:
        load_sources_text(f"webhooks:\n  {section}\n")
    text = str(caught.value)
    assert path in text and message in text, text


def _section_yaml(title: str) -> list[str]:
    text = (Path(__file__).resolve().parents[3] / "docs" / "sources.md").read_text("utf-8")
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```yaml\n(.*?)^```\n", section, re.S | re.M)


def test_the_guides_webhooks_example_loads() -> None:
    (block,) = _section_yaml("Mapped webhooks")
    loaded = load_sources_text(block)
    assert set(loaded.webhooks) == {"calendly", "sendgrid", "webinars"}


def test_the_guides_mapping_files_are_the_shipped_examples() -> None:
    shipped = Path(__file__).resolve().parents[3] / "examples" / "imports"
    blocks = _section_yaml("Imports with a mapping file")
    assert len(blocks) == 3
    for block, name in zip(
        blocks,
        ("getresponse-contacts", "getresponse-activity", "salesmanago-contacts"),
        strict=True,
    ):
        assert load_import_mapping(block) == load_import_mapping(
            (shipped / f"{name}.yaml").read_text("utf-8")
        )
