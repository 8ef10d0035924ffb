"""The receiver's verification snippets of docs/automations-delivery.md, taken from the doc as
written, accept a real request signed by leadscore and refuse a forged, tampered or stale one;
the doc's template example renders."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadscore.delivery.errors import DeliveryError
from leadscore.delivery.hooks import new_client, post_webhook
from leadscore.delivery.render import render
from leadscore.delivery.signing import new_secret
from leadscore.settings import Settings

from .conftest import NOTIFY, Receiver, Request, answer

DOC = Path(__file__).resolve().parents[2] / "docs" / "automations-delivery.md"
SECRET = new_secret()


def fenced(language: str, containing: str) -> str:
    """The one fenced block of `language` in the doc that contains `containing`."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```$", DOC.read_text(), re.S | re.M)
    found = [b for b in blocks if containing in b]
    assert len(found) == 1, f"{DOC.name}: {len(found)} {language} blocks with {containing!r}"
    return found[0]


@pytest.fixture(scope="module")
def verify_webhook() -> Callable[..., None]:
    namespace: dict[str, Any] = {}
    exec(compile(fenced("python", "def verify_webhook"), str(DOC), "exec"), namespace)
    return namespace["verify_webhook"]


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with new_client(Settings(delivery_timeout_seconds=5)) as c:
        yield c


@pytest.fixture
def guarded(receiver: Callable[..., Receiver], verify_webhook: Callable[..., None]) -> Receiver:
    """A receiver that checks each request with the doc's Python snippet."""

    def respond(request: Request, _: int) -> tuple[int, dict[str, str], bytes]:
        try:
            verify_webhook(SECRET, request.headers, request.body)
        except ValueError as exc:
            return answer(401, str(exc))
        return answer(204)

    return receiver(respond)


def test_the_python_snippet_accepts_a_request_signed_by_leadscore(
    guarded: Receiver, client: httpx.Client
) -> None:
    delivered = post_webhook(client, guarded.url, SECRET, "ob_42", NOTIFY, now=int(time.time()))
    assert delivered.status == 204
    assert guarded.requests[0].json() == NOTIFY


# Over a socket the timestamp is whole seconds and the request takes time in flight, so these
# cases stay clear of the 300 s tolerance; the boundary itself is checked exactly below.
@pytest.mark.parametrize(
    ("secret", "age", "reason"),
    [
        (None, 0, "no valid signature"),
        (SECRET, 330, "timestamp too old or too new"),
        (SECRET, -330, "timestamp too old or too new"),
    ],
    ids=["another secret", "330 s old", "330 s ahead"],
)
def test_the_python_snippet_refuses_another_secret_or_a_stale_request(
    guarded: Receiver, client: httpx.Client, secret: str | None, age: int, reason: str
) -> None:
    secret = secret or new_secret()
    with pytest.raises(DeliveryError) as caught:
        post_webhook(client, guarded.url, secret, "ob_42", NOTIFY, now=int(time.time()) - age)
    assert caught.value.retryable is False
    assert f"answered 401 Unauthorized: {reason}" in caught.value.message


@pytest.mark.parametrize(
    ("offset", "accepted"), [(300, True), (-300, True), (301, False), (-301, False)]
)
def test_the_python_snippet_tolerates_300_s_and_not_one_more(
    receiver: Callable[..., Receiver], client: httpx.Client, offset: int, accepted: bool
) -> None:
    """The boundary exactly: a request leadscore signed at a known second, checked by the
    snippet with its clock frozen `offset` seconds later."""
    recording = receiver(lambda request, _: answer(204))
    post_webhook(client, recording.url, SECRET, "ob_42", NOTIFY, now=1_800_000_000)
    [request] = recording.requests
    namespace: dict[str, Any] = {}
    exec(compile(fenced("python", "def verify_webhook"), str(DOC), "exec"), namespace)
    namespace["time"] = type("Clock", (), {"time": staticmethod(lambda: 1_800_000_000 + offset)})
    verify = namespace["verify_webhook"]
    if accepted:
        verify(SECRET, request.headers, request.body)
    else:
        with pytest.raises(ValueError, match="timestamp too old or too new"):
            verify(SECRET, request.headers, request.body)


def test_the_python_snippet_refuses_a_tampered_body_or_id(
    guarded: Receiver, client: httpx.Client, verify_webhook: Callable[..., None]
) -> None:
    post_webhook(client, guarded.url, SECRET, "ob_42", NOTIFY, now=int(time.time()))
    [request] = guarded.requests
    with pytest.raises(ValueError, match="no valid signature"):
        verify_webhook(SECRET, request.headers, request.body.replace(b"87.5", b"97.5"))
    with pytest.raises(ValueError, match="no valid signature"):
        verify_webhook(SECRET, {**request.headers, "webhook-id": "ob_43"}, request.body)
    with pytest.raises(ValueError, match="missing webhook-id"):
        verify_webhook(SECRET, {}, request.body)


def run_node(request: Request, secret: str, body: bytes) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no Node.js to run the doc's JavaScript snippet with")
    script = fenced("javascript", "function verifyWebhook") + (
        "\nconst input = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));\n"
        "try {\n"
        "  verifyWebhook(input.secret, input.headers, Buffer.from(input.body, 'base64'));\n"
        "  console.log('ok');\n"
        "} catch (err) {\n"
        "  console.log('refused: ' + err.message);\n"
        "}\n"
    )
    given = {"secret": secret, "headers": request.headers, "body": base64.b64encode(body).decode()}
    done = subprocess.run(
        [node, "-e", script],
        input=json.dumps(given),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_the_node_snippet_accepts_a_request_signed_by_leadscore_and_refuses_forgeries(
    receiver: Callable[..., Receiver], client: httpx.Client
) -> None:
    hook = receiver(lambda request, attempt: answer(204))
    post_webhook(client, hook.url, SECRET, "ob_42", NOTIFY, now=int(time.time()))
    [request] = hook.requests
    assert run_node(request, SECRET, request.body) == "ok"
    assert run_node(request, new_secret(), request.body) == "refused: no valid signature"
    tampered = request.body.replace(b"87.5", b"97.5")
    assert run_node(request, SECRET, tampered) == "refused: no valid signature"
    stale = post_webhook(client, hook.url, SECRET, "ob_42", NOTIFY, now=int(time.time()) - 600)
    assert stale.status == 204
    assert run_node(hook.requests[1], SECRET, hook.requests[1].body).startswith(
        "refused: timestamp too old or too new"
    )


def test_the_docs_template_example_renders(tmp_path: Path) -> None:
    (tmp_path / "notify.subject.txt").write_text(fenced("jinja", "lead.tier"))
    assert render("notify", NOTIFY, templates_dir=str(tmp_path)).subject == (
        "Anna Nowak is hot (87.5, was 80)"
    )
    new = {**NOTIFY, "lead": {**NOTIFY["lead"], "previous": None}}
    assert render("notify", new, templates_dir=str(tmp_path)).subject == (
        "Anna Nowak is hot (87.5, was new)"
    )
