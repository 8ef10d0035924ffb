"""The configured connectors (§8): the connectors file, their secrets and their state.

Secrets come, in this order, from the environment (`LEADSCORE_HUBSPOT_ACCESS_TOKEN`, …),
the secrets file (`LEADSCORE_SECRETS_FILE`) or the database, where `leadscore connectors
set-secret` keeps them encrypted with a key derived from `LEADSCORE_SECRET_KEY` (Fernet:
AES-128-CBC with HMAC-SHA256). They are never logged and never returned: the API says only
which names are set and where from.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from leadscore.connectors.base import Connector, FieldSpec
from leadscore.core.connectors import (
    NUMERIC_OUT,
    VENDORS,
    ConnectorConfig,
    ConnectorsFile,
    Effective,
    load_connectors_text,
    mapping,
)
from leadscore.core.timestamps import format_timestamp
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, NotFound
from leadscore.settings import Settings
from leadscore.store import connectors as stored

SECRETS: dict[str, tuple[str, ...]] = {
    "hubspot": ("access_token", "client_secret"),
    "salesforce": ("client_id", "client_secret", "username", "private_key"),
    "pipedrive": ("api_token",),
}
"""The secrets each connector reads (docs/connectors.md says which are needed when)."""


OWNERS_TTL = 300.0
"""Seconds a CRM's list of owners is reused before it is read again."""


class ConfigurationError(Conflict):
    """The connectors file, the secrets file or a secret is unusable; the message says why
    (never a secret's value)."""


def load_file(settings: Settings) -> ConnectorsFile:
    """The connectors file of the settings (an empty one when none is set)."""
    if settings.connectors_file is None:
        return ConnectorsFile()
    path = Path(settings.connectors_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"{path}: cannot read the connectors file: {exc.strerror}"
        ) from None
    except UnicodeDecodeError as exc:  # found by fuzzing (tests/fuzz): was a traceback
        raise ConfigurationError(
            f"{path}: the connectors file is not UTF-8 text (byte {exc.start}: {exc.reason})"
        ) from None
    return load_connectors_text(text, str(path))


def _fernet(settings: Settings) -> Fernet:
    if not settings.secret_key:
        raise ConfigurationError(
            "LEADSCORE_SECRET_KEY is not set: it encrypts the secrets kept in the database"
        )
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"leadscore", info=b"connector secrets"
    ).derive(settings.secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(settings: Settings, value: str) -> str:
    return _fernet(settings).encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(settings: Settings, token: str, what: str) -> str:
    try:
        return _fernet(settings).decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise ConfigurationError(
            f"{what}: the stored secret does not decrypt with LEADSCORE_SECRET_KEY (was the key"
            " changed? set the secret again)"
        ) from None


def _secrets_file(settings: Settings) -> dict[str, dict[str, str]]:
    if settings.secrets_file is None:
        return {}
    path = Path(settings.secrets_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read the secrets file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:  # as the connectors file (above)
        raise ConfigurationError(
            f"{path}: the secrets file is not UTF-8 text (byte {exc.start})"
        ) from None
    try:
        data = YAML(typ="safe", pure=True).load(text)  # JSON is YAML too
    except YAMLError:
        raise ConfigurationError(f"{path}: not valid YAML or JSON") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: must map each connector to its secrets")
    found: dict[str, dict[str, str]] = {}
    for name, values in data.items():
        if name not in VENDORS:
            raise ConfigurationError(f"{path}: {name!r} is not a connector ({', '.join(VENDORS)})")
        if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()
        ):
            raise ConfigurationError(f"{path}: {name} must map secret names to text")
        unknown = sorted(set(values) - set(SECRETS[name]))
        if unknown:
            raise ConfigurationError(
                f"{path}: {name}.{unknown[0]} is not a {name} secret ({', '.join(SECRETS[name])})"
            )
        found[name] = dict(values)
    return found


@dataclass
class Secrets:
    """Where each secret of each connector comes from, read once."""

    values: dict[str, dict[str, str]] = field(default_factory=dict)
    sources: dict[str, dict[str, str]] = field(default_factory=dict)

    def get(self, connector: str, name: str) -> str | None:
        return self.values.get(connector, {}).get(name)

    def described(self, connector: str) -> dict[str, str]:
        """name → where it is set (environment, file, database): never the value."""
        return dict(self.sources.get(connector, {}))


def read_secrets(ctx: Context) -> Secrets:
    secrets = Secrets()

    def put(connector: str, name: str, value: str, source: str) -> None:
        if name in secrets.values.get(connector, {}):
            return
        secrets.values.setdefault(connector, {})[name] = value
        secrets.sources.setdefault(connector, {})[name] = source

    for connector, names in SECRETS.items():
        for name in names:
            value = os.environ.get(f"LEADSCORE_{connector}_{name}".upper())
            if value:
                put(connector, name, value, "environment")
    for connector, values in _secrets_file(ctx.settings).items():
        for name, value in values.items():
            put(connector, name, value, "secrets file")
    with ctx.db.read() as conn:
        kept = stored.secrets(conn)
    for connector, values in kept.items():
        for name, token in values.items():
            if name in secrets.values.get(connector, {}):
                continue
            put(connector, name, decrypt(ctx.settings, token, f"{connector}.{name}"), "database")
    return secrets


def set_secret(ctx: Context, connector: str, name: str, value: str, actor: str) -> None:
    """Keep a secret in the database, encrypted (the CLI's `connectors set-secret`)."""
    from leadscore.store import audit

    if connector not in SECRETS:
        raise NotFound(f"no connector {connector!r} ({', '.join(VENDORS)})")
    if name not in SECRETS[connector]:
        raise Conflict(f"{name!r} is not a {connector} secret ({', '.join(SECRETS[connector])})")
    token = encrypt(ctx.settings, value)
    now = ctx.now()

    def work(conn: Any) -> None:
        stored.set_secret(conn, connector, name, token, now)
        audit.record(conn, now, actor, "connector.secret", connector, name=name)

    ctx.db.transact(work)


# --- building connectors ----------------------------------------------------------------------


@dataclass
class Configured:
    """One enabled connector: its file section, its effective mapping and how to open it."""

    name: str
    config: ConnectorConfig
    mapping: Effective


@dataclass
class Registry:
    """The connectors file and secrets of a context, read once; opens clients on demand.

    `transport` routes every client's HTTP (tests and benchmarks may use an in-process
    transport; by default real sockets)."""

    ctx: Context
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] | None = None

    @cached_property
    def file(self) -> ConnectorsFile:
        return load_file(self.ctx.settings)

    @cached_property
    def secrets(self) -> Secrets:
        return read_secrets(self.ctx)

    _clients: dict[str, Connector] = field(default_factory=dict)
    _ensured: set[str] = field(default_factory=set)
    _owners: dict[str, tuple[float, dict[str, str]]] = field(default_factory=dict)

    def owners(self, name: str) -> dict[str, str]:
        """The CRM's owners by e-mail, read at most every OWNERS_TTL seconds (one call per
        batch of writes would add up)."""
        found = self._owners.get(name)
        if found is not None and time.monotonic() - found[0] < OWNERS_TTL:
            return found[1]
        ids = self.client(name).owners()
        self._owners[name] = (time.monotonic(), ids)
        return ids

    def ready_to_write(self, name: str) -> Connector:
        """The client of `name`, once its out fields exist in the CRM: the custom fields
        (score, grade, …) are created where the vendor's API allows it, at the first write of
        each process; Salesforce's are checked and a missing one named."""
        client = self.client(name)
        if name not in self._ensured:
            m = self.get(name).mapping
            for obj in m.objects:
                specs = [
                    FieldSpec(
                        f.crm,
                        f"leadscore {f.lead}",
                        "number" if f.lead in NUMERIC_OUT else "string",
                        f"Written by leadscore: the lead's {f.lead}.",
                    )
                    for f in m.outbound(obj)
                    if f.lead != "owner"
                ]
                if specs:
                    client.ensure_fields(obj, specs)
            self._ensured.add(name)
        return client

    def client(self, name: str) -> Connector:
        """The open client of connector `name` (opened at first use, then reused: its token
        and field keys stay cached)."""
        found = self._clients.get(name)
        if found is None:
            found = self._clients[name] = self.open(name)
        return found

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        self._ensured.clear()
        self._owners.clear()

    def names(self) -> list[str]:
        return list(self.file.configured())

    def get(self, name: str) -> Configured:
        configured = self.file.configured()
        if name not in configured:
            if name not in VENDORS:
                raise NotFound(f"no connector {name!r} ({', '.join(VENDORS)})")
            raise NotFound(
                f"the {name} connector is not configured (LEADSCORE_CONNECTORS_FILE,"
                " docs/connectors.md)"
            )
        config = configured[name]
        return Configured(name, config, mapping(name, config))

    def open(self, name: str) -> Connector:
        """A client for connector `name`; ConfigurationError names a missing secret."""
        configured = self.get(name)
        config, m = configured.config, configured.mapping
        fields = {obj: m.read_fields(obj) for obj in m.objects}
        common: dict[str, Any] = {
            "fields": fields,
            "transport": self.transport,
            "max_wait": config.max_wait_seconds,
        }
        if self.sleep is not None:
            common["sleep"] = self.sleep
        if config.base_url is not None:
            common["base_url"] = config.base_url
        if config.page_size is not None:
            common["page_size"] = config.page_size

        def need(secret: str) -> str:
            value = self.secrets.get(name, secret)
            if not value:
                env = f"LEADSCORE_{name}_{secret}".upper()
                raise ConfigurationError(
                    f"the {name} connector needs its {secret}: set {env}, put it in the secrets"
                    f" file, or run `leadscore connectors set-secret {name} {secret}`"
                )
            return value

        if name == "hubspot":
            from leadscore.connectors.hubspot import HubSpotConnector

            return HubSpotConnector(
                access_token=need("access_token"),
                client_secret=self.secrets.get(name, "client_secret"),
                read_deals=config.deals,
                **common,
            )
        if name == "salesforce":
            from leadscore.connectors.salesforce import SalesforceConnector

            common.pop("base_url", None)
            auth: dict[str, Any] = {"client_id": need("client_id")}
            if config.auth == "jwt":
                auth.update(username=need("username"), private_key=need("private_key"))
            else:
                auth.update(client_secret=need("client_secret"))
            if config.login_url is not None or config.base_url is not None:
                auth["login_url"] = config.login_url or config.base_url
            return SalesforceConnector(
                **auth,
                bulk_threshold=config.bulk_threshold,
                allow_pardot_score=config.allow_pardot_score,
                objects=m.objects,
                deals=config.deals,
                **common,
            )
        from leadscore.connectors.pipedrive import PipedriveConnector

        return PipedriveConnector(
            api_token=need("api_token"), objects=m.objects, deals=config.deals, **common
        )


def registry(ctx: Context) -> Registry:
    """The context's registry (one per context, so the files are read once)."""
    found = ctx.extras.get("connectors")
    if not isinstance(found, Registry):
        found = Registry(ctx)
        ctx.extras["connectors"] = found
    return found


def configured_names(settings: Settings) -> frozenset[str]:
    """The connectors an automations file may name in `crm_update`."""
    return frozenset(load_file(settings).configured())


# --- what people see -------------------------------------------------------------------------


def _time(micros: int | None) -> str | None:
    return None if micros is None else format_timestamp(micros)


def run_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.pk,
        "kind": row.kind,
        "full": row.full,
        "started_at": _time(row.started_at),
        "finished_at": _time(row.finished_at),
        "status": row.status,
        "counts": row.counts,
        "error": row.error,
    }


def describe(ctx: Context, name: str) -> dict[str, Any]:
    """A connector's set-up and state: mapping, secrets set (not their values), cursors,
    linked records and its latest runs."""
    reg = registry(ctx)
    configured = reg.get(name)
    m = configured.mapping
    with ctx.db.read() as conn:
        cursors = stored.cursors(conn, name)
        counts = stored.counts(conn, name)
        runs = stored.runs(conn, name, 10)
    last_ok = next((r for r in runs if r.kind == "sync" and r.status == "ok"), None)
    return {
        "name": name,
        "objects": list(m.objects),
        "deals": configured.config.deals,
        "sync_every": configured.config.sync_every,
        "push": configured.config.push,
        "fields": [f.model_dump(exclude_none=True) for f in m.fields],
        "stages": m.stages.model_dump(),
        "secrets": reg.secrets.described(name),
        "secrets_needed": list(SECRETS[name]),
        "cursors": {
            obj: {"cursor": _cursor_text(c), "updated_at": _time(at)}
            for obj, (c, at) in cursors.items()
        },
        "records": counts,
        "last_sync": run_dict(last_ok) if last_ok is not None else None,
        "runs": [run_dict(r) for r in runs],
    }


def _cursor_text(cursor: str) -> Any:
    try:
        return json.loads(cursor)
    except ValueError:
        return cursor


def describe_all(ctx: Context) -> list[dict[str, Any]]:
    return [describe(ctx, name) for name in registry(ctx).names()]
