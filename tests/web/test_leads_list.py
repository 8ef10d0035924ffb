"""The leads list over a real socket on SQLite and PostgreSQL: the search of names, e-mails
and companies, the source filter and the sorts (each the API's order), the CSV export of
every lead the filters match (checked against the API's list), and bulk changes — an owner
assigned and leads added to a list, on ticked rows or the whole filter, audited with the
user's e-mail, all or nothing, refused to viewers and without the CSRF token."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import urlencode

from sqlalchemy import select
from tests.web.conftest import Web

from leadscore.service import lead_bulk
from leadscore.store.tables import audit_log

LEAD_LINK = re.compile(r'<td data-label="Lead"><a href="/leads/([^"]+)">')
NOTICE = re.compile(r'<p class="notice" role="status">([^<]+)</p>')
ERROR = re.compile(r'<p class="error" role="alert">([^<]+)</p>')
PEOPLE = [
    ("p1", "ana.k@acme.io", "Ana", "Kowalska", "Acme Analytics", "webinar", "software"),
    ("p2", "jan@nowak.pl", "Jan", "Nowak", "Cedar Foods", "webinar", "retail"),
    ("p3", "ioana@popescu.ro", "Ioana", "Popescu", "Nova Systems", "web", "software"),
    ("p4", "marko@other.rs", "Marko", "Petrović", "100% Pure_Labs", "referral", "retail"),
]


def load(web: Web) -> None:
    web.api.model()
    for lead_id, email, first, last, company, source, industry in PEOPLE:
        attributes = {"first_name": first, "last_name": last, "company": company,
                      "source": source, "industry": industry}  # fmt: skip
        web.api.lead(id=lead_id, email=email, attributes=attributes)
    web.api.event(lead_id="p3", type="demo_booked")


def bulk(browser, pairs) -> object:
    """POST /leads/bulk with these fields (a field repeated as a browser repeats a ticked
    checkbox's name)."""
    pairs = pairs.items() if isinstance(pairs, dict) else pairs
    return browser.http.post(
        "/leads/bulk",
        content=urlencode(list(pairs)),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def shown(browser, **params) -> list[str]:
    page = browser.http.get("/leads", params=params, headers={"HX-Request": "true"})
    assert page.status_code == 200, page.text
    return LEAD_LINK.findall(page.text)


def test_search_names_emails_and_companies_and_filter_by_source(web: Web) -> None:
    load(web)
    viewer = web.as_role("viewer")
    assert shown(viewer, q="kowalska") == ["p1"]  # last name, any case
    assert shown(viewer, q="IOANA") == ["p3"]  # first name and e-mail
    assert shown(viewer, q="cedar foods") == ["p2"]  # company, two words
    assert shown(viewer, q="jan nowak") == ["p2"]  # first and last name together
    assert shown(viewer, q="nowak.pl") == ["p2"]  # the e-mail's domain
    assert shown(viewer, q="Petrović") == ["p4"]  # letters beyond ASCII, as typed
    assert shown(viewer, q="100%") == ["p4"] and shown(viewer, q="e_L") == ["p4"]
    assert shown(viewer, q="x0%") == []  # wildcards are searched for literally
    short = viewer.http.get("/leads", params={"q": "an", "source": "webinar"})
    assert "at least 3 characters" in short.text  # too short: not searched, said so
    assert set(LEAD_LINK.findall(short.text)) == {"p1", "p2"}
    assert shown(viewer, q="nobody-like-this") == []
    assert set(shown(viewer, source="webinar")) == {"p1", "p2"}
    assert shown(viewer, source="webinar", q="ana") == ["p1"]
    page = viewer.http.get("/leads", params={"q": "acme"}).text
    assert '<label for="f-source">' in page and "Acme Analytics" in page
    assert 'value="acme"' in page  # the search is shown back


def test_each_sort_is_the_apis_order(web: Web) -> None:
    load(web)
    viewer = web.as_role("viewer")
    for sort in ("-score", "score", "-created_at", "-updated_at"):
        by_api = [lead["id"] for lead in web.api.get("/leads", sort=sort)["data"]]
        assert shown(viewer, sort=sort) == by_api, sort
    assert shown(viewer, sort="-score")[0] == "p3"  # the demo made it the hottest
    assert shown(viewer, sort="score")[-1] == "p3"
    assert shown(viewer, sort="nonsense") == shown(viewer)  # unknown: the default


def test_the_csv_export_holds_every_lead_the_filters_match(web: Web) -> None:
    web.api.model()
    body = {"leads": [{"id": f"L{n:03}", "email": f"l{n}@x.io",
                       "attributes": {"employees": n * 10, "source": "web" if n % 3 else "ads",
                                      "first_name": "=cmd" if n == 70 else "Al"}}
                      for n in range(130)]}  # fmt: skip
    assert web.api.writer.post("/leads", json=body).status_code == 200
    viewer = web.as_role("viewer")
    answer = viewer.http.get("/leads.csv", params={"source": "web", "min": "1"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert tuple(rows[0]) == lead_bulk.COLUMNS
    expected, cursor = [], None
    while True:  # the API's list of the same filters, page by page
        params = {"source": "web", "min_score": 1, "limit": 50, "sort": "-score"}
        got = web.api.get("/leads", **params, **({"cursor": cursor} if cursor else {}))
        expected += got["data"]
        if not (cursor := got["next_cursor"]):
            break
    assert len(rows) == len(expected) > 50  # more than a page
    for row, lead in zip(rows, expected, strict=True):
        assert row["lead_id"] == lead["id"] and row["email"] == lead["email"]
        assert float(row["score"]) == lead["score"] and row["tier"] == (lead["tier"] or "")
        assert row["stage"] == (lead["stage"] or "") and row["source"] == "web"
        assert row["created_at"] == lead["created_at"]
    seven = next(r for r in rows if r["lead_id"] == "L070")
    assert seven["name"] == "'=cmd"  # a formula is not run by a spreadsheet
    assert answer.text.endswith("\r\n") and "\r\n" in answer.text[:200]
    page = viewer.http.get("/leads", params={"source": "web"}).text
    assert 'href="/leads.csv?source=web"' in page


def _audited(web: Web, action: str) -> list[tuple[str, str]]:
    with web.server.ctx.db.read() as conn:
        query = select(audit_log.c.actor, audit_log.c.target).where(audit_log.c.action == action)
        return sorted((r.actor, r.target) for r in conn.execute(query))


def test_bulk_assign_and_add_to_list_on_ticked_rows_and_on_the_filter(web: Web) -> None:
    load(web)
    for owner in ("ann", "bob"):
        assert web.api.admin.post("/owners", json={"id": owner, "name": owner}).status_code == 201
    manager = web.as_role("manager")
    page = manager.http.get("/leads").text
    assert 'id="bulk"' in page and 'form="bulk"' in page
    token = manager.csrf()
    ticked = [("csrf_token", token), ("action", "assign"), ("assign_to", "ann"),
              ("scope", "selected"), ("lead", "p1"), ("lead", "p3")]  # fmt: skip
    done = bulk(manager, ticked)
    assert done.status_code == 200, done.text
    assert "2 leads now belong to ann (2 changed)." in NOTICE.search(done.text).group(1)
    owners = {lead["id"]: lead["owner"] for lead in web.api.get("/leads")["data"]}
    assert owners == {"p1": "ann", "p2": None, "p3": "ann", "p4": None}
    assert _audited(web, "lead.assign") == [("manager@example.com", "p1"),
                                            ("manager@example.com", "p3")]  # fmt: skip
    whole = {"csrf_token": token, "action": "assign", "assign_to": "bob", "scope": "filter",
             "source": "webinar"}  # fmt: skip
    whole_done = bulk(manager, whole)
    assert whole_done.status_code == 200, ERROR.search(whole_done.text)
    owners = {lead["id"]: lead["owner"] for lead in web.api.get("/leads")["data"]}
    assert owners == {"p1": "bob", "p2": "bob", "p3": "ann", "p4": None}
    listed = {"csrf_token": token, "action": "list", "list_name": "Webinar follow-up",
              "scope": "filter", "q": "o"}  # fmt: skip
    added = bulk(manager, listed)
    matching = shown(manager, q="o")
    assert len(matching) >= 3
    assert f"{len(matching)} of {len(matching)} leads added" in NOTICE.search(added.text).group(1)
    members = web.api.get("/lists/Webinar follow-up/members")["data"]
    assert sorted(m["lead_id"] for m in members) == sorted(matching)
    assert {m["added_by"] for m in members} == {"manager@example.com"}


def test_bulk_changes_are_all_or_nothing_with_the_reason_shown(web: Web) -> None:
    load(web)
    body = {"id": "cap", "name": "Cap", "capacity": 1}
    assert web.api.admin.post("/owners", json=body).status_code == 201
    manager = web.as_role("manager")
    token = manager.csrf()
    two = [("csrf_token", token), ("action", "assign"), ("assign_to", "cap"), ("lead", "p1"),
           ("lead", "p2")]  # fmt: skip
    refused = bulk(manager, two)
    assert refused.status_code == 422
    assert "cap" in ERROR.search(refused.text).group(1)  # at capacity after the first lead
    assert all(lead["owner"] is None for lead in web.api.get("/leads")["data"])  # none moved
    unknown = bulk(manager, [*two[:2], ("assign_to", "nobody"), two[3]])
    assert unknown.status_code == 422 and "nobody" in ERROR.search(unknown.text).group(1)
    none = bulk(manager, [*two[:3]])
    assert none.status_code == 422 and "no lead chosen" in ERROR.search(none.text).group(1)
    ghost = bulk(manager, [*two[:3], ("lead", "p1"), ("lead", "ghost")])
    assert ghost.status_code == 422 and "ghost" in ERROR.search(ghost.text).group(1)
    bad_list = [("csrf_token", token), ("action", "list"), ("list_name", "a/b"), ("lead", "p1")]
    answer = bulk(manager, bad_list)
    assert answer.status_code == 422 and ERROR.search(answer.text)
    assert all(lead["owner"] is None for lead in web.api.get("/leads")["data"])
    assert web.api.get("/lists") == [] and _audited(web, "lead.assign") == []


def test_viewers_and_forged_forms_cannot_change_leads(web: Web) -> None:
    load(web)
    assert web.api.admin.post("/owners", json={"id": "ann", "name": "Ann"}).status_code == 201
    viewer = web.as_role("viewer")
    page = viewer.http.get("/leads").text
    assert 'id="bulk"' not in page and 'type="checkbox"' not in page
    assert 'href="/leads.csv"' in page  # every role exports
    form = {"csrf_token": viewer.csrf(), "action": "assign", "assign_to": "ann", "lead": "p1"}
    assert bulk(viewer, form).status_code == 403
    manager = web.as_role("manager")
    forged = {**form, "csrf_token": "not-the-token"}
    assert bulk(manager, forged).status_code == 403
    assert bulk(manager, {"action": "assign"}).status_code == 403
    anonymous = web.browser().http.post("/leads/bulk", data=form)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert all(lead["owner"] is None for lead in web.api.get("/leads")["data"])


def test_a_common_search_pages_as_the_apis_list_filtered(web: Web) -> None:
    """More than a page of matches: on SQLite the first leads in order answer the search
    (no FTS look-up), later pages continue by the cursor; each page is the API's list kept
    to the matching leads."""
    web.api.model()
    body = {"leads": [{"id": f"N{n:03}", "email": f"n{n}@x.io",
                       "attributes": {"employees": n * 7, "industry": "software",
                                      "last_name": "Nowak" if n % 3 else "Other"}}
                      for n in range(160)]}  # fmt: skip
    assert web.api.writer.post("/leads", json=body).status_code == 200
    everyone = [lead["id"] for lead in web.api.get("/leads", sort="-score", limit=500)["data"]]
    expected = [lead_id for lead_id in everyone if int(lead_id[1:]) % 3]
    viewer = web.as_role("viewer")
    seen, link = [], "/leads?q=NOWAK"
    while link:
        page = viewer.http.get(link, headers={"HX-Request": "true"}).text
        seen += LEAD_LINK.findall(page)
        found = re.search(r'<a href="(/leads\?[^"]*cursor=[^"]+)"', page)
        link = found.group(1).replace("&amp;", "&") if found else ""
    assert seen == expected and len(expected) > 100
