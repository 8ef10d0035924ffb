"""examples/sources.yaml, the file a marketer copies, loads and names each source's address;
its events are ones the example model scores."""

from __future__ import annotations

from pathlib import Path

from leadscore.core.loader import load_model_text
from leadscore.service.source_overview import overview
from leadscore.service.sources import load_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_example_sources_file_loads_and_every_secret_comes_from_the_environment() -> None:
    loaded = load_file(str(EXAMPLES / "sources.yaml"))
    names = {
        "META_APP_SECRET", "META_VERIFY_TOKEN", "META_PAGE_TOKEN", "LINKEDIN_CLIENT_SECRET",
        "LINKEDIN_TOKEN", "GOOGLE_LEAD_FORM_KEY", "CALENDLY_SIGNING_KEY",
        "SENDGRID_VERIFICATION_KEY",
    }  # fmt: skip
    found = overview(loaded, "https://leads.example.com", {name: "set" for name in names})
    assert found["problems"] == []
    secrets = [s for f in found["lead_forms"] + found["webhooks"] for s in f["secrets"].values()]
    assert {s["from"] for s in secrets} == {f"env:{name}" for name in names}
    assert [f["url"] for f in found["lead_forms"]] == [
        f"https://leads.example.com/api/v1/sources/{p}" for p in ("meta", "linkedin", "google")
    ]
    unset = overview(loaded, "https://leads.example.com", {})
    assert len(unset["problems"]) == len(names)


def test_the_example_model_scores_what_the_example_sources_deliver() -> None:
    model = load_model_text((EXAMPLES / "b2b-saas.yaml").read_text("utf-8"))
    scored = {name for rule in model.engagement.rules for name in rule.event or ()}
    # lead forms, Calendly and SendGrid, and tracked page views
    wanted = {"form_submitted", "demo_booked", "meeting_cancelled", "email_opened", "page_viewed"}
    assert wanted <= scored
