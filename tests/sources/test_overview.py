"""What the sources file configures, for the person setting up a platform: GET
/api/v1/sources (admin) and `leadscore sources check` — each source's address, its check,
whether each secret resolves; never a secret's value."""

from __future__ import annotations

import json

from tests.sources.conftest import ENVIRON, Sources
from typer.testing import CliRunner

from leadscore.cli import app

TRACKED = """
webhooks:
  calendly: {preset: calendly, secret: env:CALENDLY_KEY}
tracking:
  sites:
    www:
      key: pk_live_5c9e1f0a7d
      allowed_origins: [https://www.example.com]
      consent: not_required
lead_forms:
  google: {key: env:GOOGLE_KEY}
"""


def test_the_api_lists_each_source_with_its_address_and_never_a_secret(sources: Sources) -> None:
    api = sources.api
    assert api.reader.get("/sources").status_code == 403
    assert api.writer.get("/sources").status_code == 403
    found = api.admin.get("/sources")
    assert found.status_code == 200, found.text
    body = found.json()
    base = api.ctx.settings.public_url
    platforms = {f["platform"]: f for f in body["lead_forms"]}
    assert sorted(platforms) == ["google", "linkedin", "meta", "tiktok"]
    assert platforms["meta"]["url"] == f"{base}/api/v1/sources/meta"
    assert platforms["meta"]["forms"] == ["9001"]
    assert platforms["meta"]["secrets"]["app_secret"] == {
        "from": "env:META_APP_SECRET",
        "ok": True,
        "problem": None,
    }
    assert body["problems"] == []
    assert body["max_body_bytes"] == 4096
    for value in ENVIRON.values():
        assert value not in found.text


def run_check(tmp_path, text: str, environ: dict[str, str]) -> tuple[int, str, str]:
    path = tmp_path / "sources.yaml"
    path.write_text(text, "utf-8")
    env = {"LEADSCORE_PUBLIC_URL": "https://leads.example.com", "COLUMNS": "250", **environ}
    result = CliRunner().invoke(app, ["sources", "check", str(path)], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_check_prints_what_to_paste_where(tmp_path) -> None:
    code, out, err = run_check(tmp_path, TRACKED, {"CALENDLY_KEY": "k1", "GOOGLE_KEY": "g1"})
    assert code == 0, err
    assert "lead form  google    https://leads.example.com/api/v1/sources/google" in out
    assert "webhook    calendly  https://leads.example.com/api/v1/sources/webhooks/calendly" in out
    assert (
        '<script src="https://leads.example.com/t.js" data-site="pk_live_5c9e1f0a7d"'
        ' data-consent="not_required" async></script>' in out
    )
    assert "k1" not in out and "g1" not in out


def test_check_names_a_secret_that_does_not_resolve(tmp_path) -> None:
    code, _out, err = run_check(tmp_path, TRACKED, {"GOOGLE_KEY": "g1"})
    assert code == 1
    assert (
        "error: webhooks.calendly.secret: the environment variable CALENDLY_KEY is not set" in err
    )


def test_check_names_each_problem_of_a_bad_file_with_its_line(tmp_path) -> None:
    bad = TRACKED.replace("consent: not_required", "consent: maybe")
    code, _out, err = run_check(tmp_path, bad, {})
    assert code == 2
    assert "tracking.sites.www.consent" in err and "(line 9)" in err


def test_check_as_json(tmp_path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(TRACKED, "utf-8")
    env = {"CALENDLY_KEY": "k1", "GOOGLE_KEY": "g1"}
    result = CliRunner().invoke(app, ["sources", "check", str(path), "--json"], env=env)
    assert result.exit_code == 0
    found = json.loads(result.stdout)
    assert found["webhooks"][0]["verify"] == "preset"
    assert found["tracking"]["sites"][0]["key"] == "pk_live_5c9e1f0a7d"
