"""The `lead_forms:` section of the sources file: per-form field maps are checked like every
field map (core.submissions.check_target), and each problem is named by its key path."""

from __future__ import annotations

import pytest

from leadscore.core.lead_forms import Answers, GoogleForms, submission
from leadscore.core.sources import SourcesError, load_sources_text


def test_a_bad_target_in_a_form_is_named_by_its_path() -> None:
    text = """
lead_forms:
  google:
    key: env:GOOGLE_KEY
    forms:
      "7001": {fields: {SEATS: "attribute:not a name"}}
"""
    with pytest.raises(SourcesError) as caught:
        load_sources_text(text)
    (problem,) = caught.value.problems
    assert problem.path.startswith("lead_forms.google.forms.7001.fields")
    assert "is not a target" in problem.message


def test_an_unknown_platform_key_is_refused() -> None:
    with pytest.raises(SourcesError) as caught:
        load_sources_text("lead_forms:\n  google:\n    key: k\n    secret: s\n")
    assert any("secret" in p.path for p in caught.value.problems)


def test_the_form_overrides_the_platform_and_the_default_map() -> None:
    config = GoogleForms.model_validate(
        {
            "key": "k",
            "fields": {"COMPANY_NAME": "property:company_typed"},
            "forms": {"7": {"fields": {"EMAIL": "ignore", "ID": "email"}, "event": "demo"}},
        }
    )
    answers = {"EMAIL": "a@x.org", "ID": "b@x.org", "COMPANY_NAME": "Acme", "JOB_TITLE": "CEO"}
    sub = submission(config, Answers("google", "L1", "7", None, answers))
    assert (sub.email, sub.event_type, sub.event_id) == ("b@x.org", "demo", "google:L1")
    assert sub.attributes == {"job_title": "CEO"}
    assert sub.properties["company_typed"] == "Acme"
    other = submission(config, Answers("google", "L2", "8", None, answers))
    assert (other.email, other.event_type) == ("a@x.org", "form_submitted")
