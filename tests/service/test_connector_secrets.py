"""Connector secrets (§8, issue 12): from the environment, a secrets file or the database
(encrypted with LEADSCORE_SECRET_KEY), first found wins; never shown."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from leadscore.service import connectors
from leadscore.service.connectors import ConfigurationError
from leadscore.service.context import Context
from leadscore.service.errors import Conflict
from leadscore.settings import Settings

TOKEN = "pat-na1-very-secret-0123456789"


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    (tmp_path / "connectors.yaml").write_text("hubspot: {}\npipedrive: {}\n", "utf-8")
    return Settings(
        database_url=database_url,
        connectors_file=str(tmp_path / "connectors.yaml"),
        secret_key="a long random text that only the operators know",
    )


def test_kept_encrypted_and_read_back(settings: Settings) -> None:
    with Context.open(settings) as ctx:
        connectors.set_secret(ctx, "hubspot", "access_token", TOKEN, "test")
        with ctx.db.read() as conn:
            raw = conn.execute(text("SELECT ciphertext FROM connector_secrets")).scalar_one()
        assert TOKEN not in raw and "very-secret" not in raw
        read = connectors.read_secrets(ctx)
        assert read.get("hubspot", "access_token") == TOKEN
        assert read.described("hubspot") == {"access_token": "database"}
        shown = json.dumps(connectors.describe(ctx, "hubspot"))
        assert TOKEN not in shown and '"access_token": "database"' in shown


def test_another_key_does_not_decrypt_and_says_so(settings: Settings) -> None:
    with Context.open(settings) as ctx:
        connectors.set_secret(ctx, "hubspot", "access_token", TOKEN, "test")
    other = settings.model_copy(update={"secret_key": "another key"})
    with (
        Context.open(other) as ctx,
        pytest.raises(ConfigurationError, match="hubspot.access_token"),
    ):
        connectors.read_secrets(ctx)
    none = settings.model_copy(update={"secret_key": None})
    with Context.open(none) as ctx, pytest.raises(ConfigurationError, match="LEADSCORE_SECRET_KEY"):
        connectors.set_secret(ctx, "pipedrive", "api_token", "x", "test")


def test_environment_beats_file_beats_database(settings: Settings, tmp_path, monkeypatch) -> None:
    secrets_file = tmp_path / "secrets.yaml"
    secrets_file.write_text("hubspot:\n  access_token: from-file\n  client_secret: file-secret\n")
    with_file = settings.model_copy(update={"secrets_file": str(secrets_file)})
    with Context.open(with_file) as ctx:
        connectors.set_secret(ctx, "hubspot", "access_token", "from-db", "test")
        connectors.set_secret(ctx, "pipedrive", "api_token", "pd-from-db", "test")
        monkeypatch.setenv("LEADSCORE_HUBSPOT_ACCESS_TOKEN", "from-env")
        read = connectors.read_secrets(ctx)
    assert read.get("hubspot", "access_token") == "from-env"
    assert read.get("hubspot", "client_secret") == "file-secret"
    assert read.get("pipedrive", "api_token") == "pd-from-db"
    assert read.described("hubspot") == {
        "access_token": "environment",
        "client_secret": "secrets file",
    }


def test_bad_secrets_files_and_names_are_refused(settings: Settings, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    for content, message in [
        ("hubspot:\n  acess_token: x\n", "hubspot.acess_token is not a hubspot secret"),
        ("zoho:\n  token: x\n", "'zoho' is not a connector"),
        ("- a\n", "must map each connector"),
        ("hubspot: [1\n", "not valid YAML"),
    ]:
        bad.write_text(content)
        other = settings.model_copy(update={"secrets_file": str(bad)})
        with Context.open(other) as ctx, pytest.raises(ConfigurationError, match=message):
            connectors.read_secrets(ctx)
    with Context.open(settings) as ctx, pytest.raises(Conflict, match="not a hubspot secret"):
        connectors.set_secret(ctx, "hubspot", "password", "x", "test")


def test_a_missing_secret_names_where_to_put_it(settings: Settings) -> None:
    with (
        Context.open(settings) as ctx,
        pytest.raises(ConfigurationError, match="LEADSCORE_HUBSPOT_ACCESS_TOKEN"),
    ):
        connectors.registry(ctx).open("hubspot")
