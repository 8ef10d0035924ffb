"""The secrets the test suite makes (API keys, dashboard passwords, connector secrets), and
the scan of the captured logs for them (tests/conftest.py): no secret may ever be logged.

Fixtures that create a secret `register` it. Each test process writes what it registered next
to its log file at the end (`dump`), and the controlling process scans every log file for
every registered secret, and for anything shaped like an API key (`lsk_…`) at all.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from leadscore.service.keys import PREFIX
from leadscore.testing.fakes.hubspot import FakeHubSpot
from leadscore.testing.fakes.pipedrive import FakePipedrive
from leadscore.testing.fakes.salesforce import FakeSalesforce

API_KEY = re.compile(re.escape(PREFIX) + r"[A-Za-z0-9_-]{8,}")
"""An API key as service/keys.py makes them (or a near miss: a mistyped key is a secret too)."""
MIN_LENGTH = 8
"""Shorter strings are not registered: they would match innocent text."""

REGISTERED: set[str] = set()


def register(*secrets: str | None) -> None:
    REGISTERED.update(s for s in secrets if s and len(s) >= MIN_LENGTH)


def _connector_secrets() -> list[str]:
    """The fake CRMs' credentials (their dataclass defaults, which the tests use)."""
    names = ("access_token", "client_secret", "api_token")
    return [
        str(f.default)
        for fake in (FakeHubSpot, FakePipedrive, FakeSalesforce)
        for f in dataclasses.fields(fake)
        if f.name in names and isinstance(f.default, str)
    ]


register(*_connector_secrets())


def dump(path: Path) -> None:
    path.write_text(json.dumps(sorted(REGISTERED)), encoding="utf-8")


def load(paths: Iterable[Path]) -> set[str]:
    found: set[str] = set(REGISTERED)
    for path in paths:
        found.update(json.loads(path.read_text(encoding="utf-8")))
    return found


@dataclass(frozen=True)
class Finding:
    file: Path
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.what}"


def scan(files: Iterable[Path], secrets: Iterable[str]) -> tuple[int, list[Finding]]:
    """(lines read, every line holding an API key or one of `secrets`); a finding names the
    kind of secret and its first characters only."""
    wanted = sorted(set(secrets), key=len, reverse=True)
    lines = 0
    findings: list[Finding] = []
    for path in files:
        with path.open(encoding="utf-8", errors="replace") as text:
            for number, line in enumerate(text, 1):
                lines += 1
                key = API_KEY.search(line)
                if key is not None:
                    findings.append(Finding(path, number, f"an API key {key.group()[:8]}…"))
                    continue
                for secret in wanted:
                    if secret in line:
                        findings.append(Finding(path, number, f"a secret {secret[:3]}…"))
                        break
    return lines, findings
