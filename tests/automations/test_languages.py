"""The language of the e-mails automations send, over a real SMTP server: LEADSCORE_LANGUAGE
by default, a notify action's own `language:` when it names one; an unknown language is
refused when the automations file is loaded, naming where and the choices."""

from __future__ import annotations

import email
from email import policy

import pytest

from leadscore.service import automations, outbox, scoring_models
from leadscore.service.errors import Invalid
from leadscore.service.events import ingest_events
from leadscore.service.inputs import EventIn, LeadIn
from leadscore.service.leads import upsert_leads

MODEL = """
name: languages
fit:
  weight: 0.5
  max: 40
  rules:
    - {id: big, points: 40, when: {field: employees, gte: 100}}
engagement:
  weight: 0.5
  max: 60
  rules:
    - {id: demo, event: demo_booked, points: 60}
tiers: {hot: 75, warm: 40}
stages:
  - {name: sql, min_score: 75}
  - {name: lead}
"""

AUTOMATIONS = """
automations:
  - name: hot-in-polish
    when: {score_crossed: {threshold: 85}}
    actions:
      - notify: {email: {to: [ola@example.com]}, language: pl}
  - name: hot-by-default
    when: {score_crossed: {threshold: 85}}
    actions:
      - notify: {email: {to: [ion@example.com]}}
"""


def test_each_alert_is_written_in_its_language(ctx, smtp_server) -> None:
    inbox = smtp_server("plain")
    ctx.settings = ctx.settings.model_copy(
        update={"smtp_url": f"smtp://127.0.0.1:{inbox.port}?starttls=false", "language": "ro"}
    )
    scoring_models.activate(ctx, scoring_models.upload(ctx, MODEL, "t")["version"], "t")
    automations.upload(ctx, AUTOMATIONS, "t", activate=True)
    upsert_leads(ctx, [LeadIn(id="L1", attributes={"employees": 500})], "t")
    ingest_events(ctx, [EventIn(lead_id="L1", id="e1", type="demo_booked")])
    with outbox.Worker(ctx) as worker:
        worker.run_until_idle()
    received = {}
    for message in inbox.messages:
        parsed = email.message_from_bytes(message.content, policy=policy.default)
        received[message.rcpt_tos[0]] = parsed
    polish, romanian = received["ola@example.com"], received["ion@example.com"]
    assert "wynik 100" in polish["Subject"] and "scor 100" in romanian["Subject"]
    polish_text = polish.get_body(("plain",)).get_content()
    romanian_text = romanian.get_body(("plain",)).get_content()
    assert "Wynik: 100" in polish_text and "Główne powody" in polish_text
    assert "Scor: 100" in romanian_text and "Motive principale" in romanian_text
    assert '<html lang="pl">' in polish.get_body(("html",)).get_content()
    for text in (polish_text, romanian_text):
        assert "Top reasons" not in text


def test_an_unknown_language_in_a_notify_action_is_refused_at_upload(ctx) -> None:
    broken = AUTOMATIONS.lstrip().replace("language: pl", "language: klingon")
    line = 1 + next(n for n, text in enumerate(broken.splitlines()) if "klingon" in text)
    with pytest.raises(Invalid) as raised:
        automations.upload(ctx, broken, "t", activate=True)
    (problem,) = raised.value.problems
    assert problem.extra == {"path": "automations[0].actions[0].notify.language", "line": line}
    assert "one of en, pl, ro, sr-Latn, not 'klingon'" in problem.msg
    assert automations.active(ctx) is None and automations.list_versions(ctx) == []
