"""The built-in templates show what a salesperson needs; HTML and Slack text are escaped; a
user's folder overrides a template file by file; a broken template is a permanent error that
names the file, the line and the missing value."""

from __future__ import annotations

import copy
import fnmatch
import tomllib
from pathlib import Path
from typing import Any

import pytest

import leadscore.delivery.render as render_module
from leadscore.delivery.errors import DeliveryError
from leadscore.delivery.render import Rendered, number, render, render_slack, signed, when

from .conftest import LEAD, NOTIFY, digest

REPO = Path(__file__).resolve().parents[2]


def notify(**lead: Any) -> dict[str, Any]:
    payload = copy.deepcopy(NOTIFY)
    payload["lead"].update(lead)
    return payload


def test_the_notify_mail_shows_the_lead_its_score_and_why() -> None:
    mail = render("notify", NOTIFY)
    assert mail.subject == "Anna Nowak (Acme): score crossed 85 upwards — score 87.5, hot"
    for part in (mail.text, mail.html):
        for shown in (
            "Anna Nowak",
            "a@b.pl",
            "Acme",
            "score crossed 85 upwards",  # what triggered it
            "demo_booked at 2026-12-07 09:59 UTC",  # the event behind it
            "87.5",
            "was 80, +7.5",  # the previous score and the change
            "40",  # fit
            "47.5",  # engagement
            "hot",
            "was warm",
            "MQL",
            "was lead",
            "jan@demo.example",
            "+30",
            "demo_booked",
            "+12.5",
            "pricing_page",
            "-10",
            "unsubscribed",
            "http://127.0.0.1:8000/leads/L1",
            "hot-lead-alert (version 3)",
        ):
            assert shown in part, (shown, part)
    assert (
        "Top reasons\n+30  demo_booked (engagement)\n+12.5  pricing_page (engagement)" in mail.text
    )
    assert "Grade: A\n" in mail.text and "Fit: 40 · Engagement: 47.5\n" in mail.text
    assert '<a href="http://127.0.0.1:8000/leads/L1"' in mail.html
    assert '<a href="mailto:a@b.pl"' in mail.html
    assert mail.text.endswith("automation hot-lead-alert (version 3)\n")


def test_only_the_top_five_reasons_are_listed() -> None:
    reasons = [{"rule": f"rule_{i}", "section": "fit", "points": 10.0 - i} for i in range(8)]
    mail = render("notify", notify(reasons=reasons))
    assert "rule_4" in mail.text and "rule_5" not in mail.text
    assert "rule_4" in mail.html and "rule_5" not in mail.html


def test_missing_optional_values_leave_no_none_and_no_empty_labels() -> None:
    payload = notify(
        name=None, company=None, owner=None, previous=None, reasons=[], url=None, grade=None
    )
    payload["event"] = None
    payload["trigger"] = None
    mail = render("notify", payload)
    slack = render_slack("notify", payload)
    assert mail.subject == "a@b.pl — score 87.5, hot"
    for part in (mail.subject, mail.text, mail.html, slack):
        assert "None" not in part and "was" not in part and "Owner" not in part
        assert "Trigger" not in part and "Event" not in part
    assert mail.text.startswith("a@b.pl\n\nScore: 87.5\n")
    assert "No rule gave points." in mail.text and "No rule gave points." in mail.html
    assert "Open the lead" not in mail.text and "<a href=" not in mail.html
    assert "Grade: –" in mail.text
    assert slack.startswith("*a@b.pl*\nScore *87.5*")
    # no name and no e-mail: the id
    assert render("notify", notify(name=None, email=None)).subject.startswith("L1 (Acme):")


def test_html_is_escaped_and_text_is_not() -> None:
    mail = render("notify", notify(name="<b>Ann & Co</b>", company='"Acme" <script>'))
    assert "&lt;b&gt;Ann &amp; Co&lt;/b&gt;" in mail.html and "<b>Ann" not in mail.html
    assert "&#34;Acme&#34; &lt;script&gt;" in mail.html and "<script>" not in mail.html
    assert "<b>Ann & Co</b>" in mail.text and mail.subject.startswith("<b>Ann & Co</b>")


def test_slack_text_escapes_what_slack_reads_as_markup() -> None:
    text = render_slack("notify", notify(name="<!channel> Ann & Co", company="<@U123>"))
    assert "<!channel>" not in text and "<@U123>" not in text
    assert "&lt;!channel&gt; Ann &amp; Co" in text and "&lt;@U123&gt;" in text
    assert text.startswith("*<http://127.0.0.1:8000/leads/L1|&lt;!channel&gt; Ann &amp; Co>*")


def test_the_notify_slack_message() -> None:
    assert render_slack("notify", NOTIFY) == (
        "*<http://127.0.0.1:8000/leads/L1|Anna Nowak>* · Acme — score crossed 85 upwards\n"
        "Score *87.5* (was 80) · fit 40 · engagement 47.5 · grade A · hot · MQL\n"
        "Top reasons: +30 demo_booked, +12.5 pricing_page, +25 software_industry"
    )


def test_the_digest_lists_each_lead_of_the_owner() -> None:
    second = {
        **LEAD,
        "id": "L2",
        "name": "Piotr Wiśniewski",
        "email": "p@w.pl",
        "score": 71.0,
        "company": None,
        "previous": None,
        "url": "http://127.0.0.1:8000/leads/L2",
    }
    owner = {"id": "jan", "name": "Jan Kowalski", "email": "jan@demo.example"}
    mail = render("digest", digest([LEAD, second], owner))
    assert mail.subject == "2 leads to look at for Jan Kowalski since 2026-12-06 10:00 UTC"
    assert mail.text.startswith(
        "Leads for Jan Kowalski\n2026-12-06 10:00 UTC to 2026-12-07 10:00 UTC: 2 leads\n\n"
        "1. Anna Nowak <a@b.pl>, Acme\n"
        "   Score 87.5 (was 80, +7.5) · fit 40 · engagement 47.5\n"
        "   Grade A · hot (was warm) · MQL (was lead)\n"
        "   Top reasons: +30 demo_booked, +12.5 pricing_page, +25 software_industry\n"
        "   http://127.0.0.1:8000/leads/L1\n\n"
        "2. Piotr Wiśniewski <p@w.pl>\n"
        "   Score 71 · fit 40"
    )
    for shown in ("Anna Nowak", "Piotr Wiśniewski", "Jan Kowalski", "/leads/L2", "morning-digest"):
        assert shown in mail.html
    assert mail.html.index("Anna Nowak") < mail.html.index("Piotr Wiśniewski")
    slack = render_slack("digest", digest([LEAD, second], owner))
    assert slack.splitlines() == [
        "*2 leads for Jan Kowalski* since 2026-12-06 10:00 UTC",
        "• <http://127.0.0.1:8000/leads/L1|Anna Nowak> (Acme) — 87.5 · A · hot · MQL",
        "• <http://127.0.0.1:8000/leads/L2|Piotr Wiśniewski> — 71 · A · hot · MQL",
    ]


def test_a_digest_with_one_lead_no_lead_or_no_owner() -> None:
    assert render("digest", digest([LEAD])).subject == (
        "1 lead to look at since 2026-12-06 10:00 UTC"
    )
    empty = render("digest", digest([], None))
    assert empty.subject == "0 leads to look at since 2026-12-06 10:00 UTC"
    assert "No lead to look at in this window." in empty.text
    assert "No lead to look at in this window." in empty.html
    assert "None" not in empty.text + empty.html


def test_a_long_digest_in_slack_is_cut_at_20_leads() -> None:
    leads = [{**LEAD, "id": f"L{i}", "name": f"Lead {i}"} for i in range(23)]
    lines = render_slack("digest", digest(leads)).splitlines()
    assert len(lines) == 1 + 20 + 1 and lines[-1] == "… and 3 more"
    assert "Lead 22" in render("digest", digest(leads)).text  # the e-mail lists every lead


def test_a_users_folder_overrides_a_template_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "notify.subject.txt").write_text("Hot: {{ lead.name }} ({{ lead.score|num }})\n")
    (tmp_path / "notify.slack.txt").write_text(":fire: {{ lead.name }}")
    mail = render("notify", NOTIFY, templates_dir=str(tmp_path))
    built_in = render("notify", NOTIFY)
    assert mail == Rendered("Hot: Anna Nowak (87.5)", built_in.text, built_in.html)
    assert render_slack("notify", notify(name="<!here>"), str(tmp_path)) == ":fire: &lt;!here&gt;"
    # an edit is seen without a restart
    (tmp_path / "notify.subject.txt").write_text("Edited {{ lead.id }}")
    assert render("notify", NOTIFY, templates_dir=str(tmp_path)).subject == "Edited L1"


def test_a_users_own_template(tmp_path: Path) -> None:
    (tmp_path / "welcome.subject.txt").write_text("Welcome {{ lead.name }}")
    (tmp_path / "welcome.txt").write_text("Hi {{ lead.name }}")
    (tmp_path / "welcome.html").write_text("<p>Hi {{ lead.name }}</p>")
    mail = render("welcome", notify(name="Ann & Bo"), templates_dir=str(tmp_path))
    assert mail == Rendered("Welcome Ann & Bo", "Hi Ann & Bo\n", "<p>Hi Ann &amp; Bo</p>\n")
    with pytest.raises(DeliveryError) as caught:
        render_slack("welcome", NOTIFY, str(tmp_path))
    assert caught.value.retryable is False
    assert caught.value.message == (
        f"template welcome.slack.txt: no such file in {tmp_path} or among the built-in templates"
    )


def test_an_undefined_value_names_the_file_the_line_and_the_value(tmp_path: Path) -> None:
    (tmp_path / "notify.txt").write_text("Lead {{ lead.name }}\nOwner: {{ lead.owner_name }}\n")
    with pytest.raises(DeliveryError) as caught:
        render("notify", NOTIFY, templates_dir=str(tmp_path))
    assert caught.value.retryable is False
    assert caught.value.message == (
        f"template notify.txt ({tmp_path / 'notify.txt'}) line 2: 'dict object' has no "
        "attribute 'owner_name' (the payload has no such value)"
    )
    (tmp_path / "notify.txt").write_text("{{ customer }}")
    with pytest.raises(DeliveryError, match="line 1: 'customer' is undefined"):
        render("notify", NOTIFY, templates_dir=str(tmp_path))


def test_a_syntax_error_names_the_file_and_the_line(tmp_path: Path) -> None:
    (tmp_path / "notify.html").write_text("<p>\n{% if lead.name %}\n{{ lead.name }}\n")
    with pytest.raises(DeliveryError) as caught:
        render("notify", NOTIFY, templates_dir=str(tmp_path))
    assert caught.value.retryable is False
    assert caught.value.message.startswith(
        f"template notify.html ({tmp_path / 'notify.html'}) line 3: Unexpected end of template"
    )


def test_an_error_inside_a_template_expression_is_permanent(tmp_path: Path) -> None:
    (tmp_path / "notify.txt").write_text("{{ lead.score / 0 }}")
    with pytest.raises(DeliveryError, match=r"notify.txt .* line 1: ZeroDivisionError"):
        render("notify", NOTIFY, templates_dir=str(tmp_path))


def test_a_template_that_is_not_utf8_is_permanent(tmp_path: Path) -> None:
    (tmp_path / "notify.txt").write_bytes("Zażółć {{ lead.name }}".encode("iso-8859-2"))
    with pytest.raises(DeliveryError, match="template notify.txt: cannot be read: 'utf-8'"):
        render("notify", NOTIFY, templates_dir=str(tmp_path))


@pytest.mark.parametrize("name", ["../notify", "Notify", "notify.html", "", "a b"])
def test_a_bad_template_name_is_refused(name: str) -> None:
    with pytest.raises(DeliveryError, match="template name") as caught:
        render(name, NOTIFY)
    assert caught.value.retryable is False


def test_a_missing_templates_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError, match="templates folder .*: not a folder"):
        render("notify", NOTIFY, templates_dir=str(tmp_path / "absent"))


def test_a_missing_built_in_value_names_the_template() -> None:
    payload = copy.deepcopy(NOTIFY)
    del payload["lead"]["tier"]
    with pytest.raises(DeliveryError, match=r"template notify.subject.txt line \d+: .*'tier'"):
        render("notify", payload)


@pytest.mark.parametrize(
    ("value", "text"),
    [(87.5, "87.5"), (40.0, "40"), (12.345, "12.35"), (-0.0, "0"), (3, "3"), (None, "–")],
)
def test_number(value: object, text: str) -> None:
    assert number(value) == text


def test_signed_and_when() -> None:
    assert [signed(v) for v in (30.0, -12.5, 0.0, None)] == ["+30", "-12.5", "0", "–"]
    assert when("2026-12-07T09:59:00Z") == "2026-12-07 09:59 UTC"
    assert when("2026-12-07T09:59:00+02:00") == "2026-12-07 09:59 +0200"
    assert when("yesterday") == "yesterday"


def test_the_templates_are_package_data() -> None:
    """Every built-in template file is matched by a package-data glob, so a wheel holds it."""
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["leadscore"]
    folder = Path(render_module.__file__).parent / "templates"
    files = sorted(p.name for p in folder.iterdir())
    assert files == [
        f"{name}.{part}"
        for name in ("digest", "notify")
        for part in ("html", "slack.txt", "subject.txt", "txt")
    ]
    for name in files:
        assert any(fnmatch.fnmatch(f"delivery/templates/{name}", g) for g in globs), name
