"""The scan the session runs over its captured logs (tests/conftest.py) finds a planted API
key and a registered secret, by file and line, and passes clean text."""

from __future__ import annotations

from pathlib import Path

from tests import secrets_registry

from leadscore.service import keys


def test_the_scanner_finds_a_planted_key_and_a_registered_secret(tmp_path: Path) -> None:
    key = keys.PREFIX + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd"  # shaped as create_key
    password = "hunter2-but-longer"
    clean = tmp_path / "gw0.log"
    clean.write_text("INFO uvicorn.access GET /api/v1/leads 200\nINFO the lsk_ prefix\n")
    dirty = tmp_path / "gw1.log"
    dirty.write_text(
        "INFO nothing here\n"
        f"ERROR leadscore.api invalid key {key} from 127.0.0.1\n"
        "INFO still nothing\n"
        f"DEBUG login form email=a@example.com password={password}\n"
    )
    lines, findings = secrets_registry.scan([clean, dirty], {password})
    assert lines == 6
    assert [(f.file, f.line) for f in findings] == [(dirty, 2), (dirty, 4)]
    assert all(key not in str(f) and password not in str(f) for f in findings)  # not re-leaked
    assert str(findings[0]).startswith(f"{dirty}:2: an API key")
    assert secrets_registry.scan([clean], {password}) == (2, [])


def test_registered_secrets_travel_from_workers_to_the_controller(tmp_path: Path) -> None:
    secrets_registry.register("short", None, "a-fixture-made-this-secret")
    assert "short" not in secrets_registry.REGISTERED  # too short to scan for
    secrets_registry.dump(tmp_path / "secrets-gw0.json")
    loaded = secrets_registry.load([tmp_path / "secrets-gw0.json"])
    assert "a-fixture-made-this-secret" in loaded
    assert "fake-hubspot-client-secret" in loaded  # the fake CRMs' credentials
