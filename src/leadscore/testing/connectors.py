"""The connector contract (§8), like `check_engine` for scoring engines: the same cases run
against every CRM connector, each through the whole service (sync, push, the outbox's
crm_update) against a fake vendor server over a real socket and a real database.

    check_connector(FakeHubSpot, "sqlite:////tmp/x.db", Path("/tmp/work"))

Every fake gives the same seeding interface (`FakeCrm`), so a case says what a CRM holds and
what leadscore must make of it, whatever the vendor.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from leadscore.connectors.base import Connector, Value
from leadscore.core.automations import EXTERNAL
from leadscore.service import automations, connectors, push, scoring_models, sync
from leadscore.service.context import Context
from leadscore.service.events import ingest_events
from leadscore.service.inputs import EventIn
from leadscore.service.outbox import Worker
from leadscore.service.sync_report import Report
from leadscore.settings import Settings
from leadscore.store import connectors as stored
from leadscore.store import leads as stored_leads
from leadscore.store import outbox as stored_outbox
from leadscore.store import outcomes as stored_outcomes
from leadscore.testing import scratch

assert "crm_update" in EXTERNAL


class FakeCrm(Protocol):
    """What every fake in `leadscore.testing.fakes` gives the contract suite."""

    person_object: str
    url: str

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def add_person(
        self,
        email: str | None,
        fields: Mapping[str, Value] | None = None,
        *,
        object: str | None = None,
    ) -> str: ...
    def change_person(
        self, id: str, fields: Mapping[str, Value], *, object: str | None = None
    ) -> None: ...
    def delete_person(self, id: str, *, object: str | None = None) -> None: ...
    def person_fields(self, id: str, *, object: str | None = None) -> dict[str, Value]: ...
    def add_deal(
        self,
        people: Sequence[str],
        status: str,
        amount: float | None = None,
        *,
        closed_at: int | None = None,
    ) -> str: ...
    def add_owner(self, email: str, name: str = "") -> str: ...
    def connector(self, **options: Any) -> Connector: ...
    def expire_tokens(self) -> None: ...
    def update_calls(self) -> int: ...
    def fail_next(self, count: int = 1, status: int = 503, **kwargs: Any) -> None: ...
    def throttle_next(self, count: int = 1, retry_after: float = 1, **kwargs: Any) -> None: ...
    def clear_faults(self) -> None: ...
    def secrets(self) -> dict[str, str]: ...


MODEL = """
name: contract
fit:
  weight: 0.5
  max: 100
  rules:
    - {id: vp, when: {field: job_title, contains: VP}, points: 60}
    - {id: software, when: {field: industry, equals: software}, points: 40}
engagement:
  weight: 0.5
  max: 100
  rules:
    - {id: demo, event: demo_booked, points: 100}
grades: {A: 75, B: 50, C: 0}
tiers: {hot: 70, warm: 40, cold: 0}
stages:
  - {name: sql, min_score: 70}
  - {name: mql, min_score: 40}
  - {name: lead}
"""

AUTOMATIONS = """
version: contract
automations:
  - name: sql-to-crm
    when: {stage_changed: {to: sql}}
    actions:
      - crm_update: {connector: %s, fields: [score, grade, stage]}
"""


def _email(i: int) -> str:
    return f"person{i}@example.com"


@dataclass
class Setup:
    """One case's world: a fake CRM, a context on an empty database configured for it."""

    fake: FakeCrm
    ctx: Context
    name: str
    sleeps: list[float]

    def sync(self, **options: Any) -> Report:
        return sync.sync(self.ctx, self.name, **options)

    def lead_by_email(self, email: str) -> Any:
        with self.ctx.db.read() as conn:
            pk = stored_leads.pks_by_email(conn, [email]).get(email)
            return None if pk is None else stored_leads.by_pk(conn, pk)

    def lead_count(self) -> int:
        with self.ctx.db.read() as conn:
            return len(stored_leads.pks_by_email(conn, [_email(i) for i in range(2_000)]))

    def activate_model(self) -> None:
        version = scoring_models.upload(self.ctx, MODEL, "contract")["version"]
        scoring_models.activate(self.ctx, version, "contract")

    def events(self, email: str, kind: str) -> None:
        ingest_events(
            self.ctx,
            [EventIn.model_validate({"email": email, "type": kind, "id": f"{email}:{kind}"})],
        )

    def field(self, lead: str) -> str:
        """The CRM field the default mapping reads `lead` from or writes it to."""
        m = connectors.registry(self.ctx).get(self.name).mapping
        obj = self.fake.person_object
        for f in [*m.inbound(obj), *m.outbound(obj)]:
            if f.lead == lead:
                return f.crm
        raise AssertionError(f"the default {self.name} mapping has no {lead} on {obj}")


Case = Callable[[Setup], None]


def _open(fake_type: Callable[[], FakeCrm], database_url: str, workdir: Path) -> Setup:
    fake = fake_type()
    fake.start()
    probe = fake.connector()
    name = probe.name
    probe.close()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "connectors.yaml").write_text(
        f"{name}:\n  base_url: {fake.url}\n  sync_every: null\n  push: false\n  page_size: 200\n",
        "utf-8",
    )
    (workdir / "secrets.json").write_text(json.dumps({name: fake.secrets()}), "utf-8")
    settings = Settings(
        database_url=database_url,
        connectors_file=str(workdir / "connectors.yaml"),
        secrets_file=str(workdir / "secrets.json"),
        outbox_backoff_seconds=0.01,
    )
    ctx = Context.open(settings)
    scratch.empty(ctx.db)
    ctx.reset_caches()
    sleeps: list[float] = []
    ctx.extras["connectors"] = connectors.Registry(ctx, sleep=sleeps.append)
    return Setup(fake, ctx, name, sleeps)


# --- the cases ------------------------------------------------------------------------------


def full_sync(s: Setup) -> None:
    """Every person becomes a lead with its mapped attributes and its CRM id; a second,
    incremental sync creates nothing."""
    ids = [s.fake.add_person(_email(i), {s.field("job_title"): f"VP {i}"}) for i in range(250)]
    report = s.sync(full=True)
    assert report.counts["created"] == 250, report.as_dict()
    lead = s.lead_by_email(_email(7))
    assert lead is not None and lead.attributes["job_title"] == "VP 7", lead
    assert ids[7] in lead.external_ids.values(), lead.external_ids
    again = s.sync()
    assert again.counts["created"] == 0, again.as_dict()
    assert s.lead_count() == 250


def incremental_sync(s: Setup) -> None:
    """After a sync, only what changed is read again, and changes reach the leads."""
    ids = [s.fake.add_person(_email(i), {s.field("job_title"): "Analyst"}) for i in range(120)]
    s.sync()
    # Some CRMs stamp changes to the second (Pipedrive) and read the watermark's own second
    # again: changes a second apart show what an incremental sync reads.
    time.sleep(1.1)
    s.fake.change_person(ids[4], {s.field("job_title"): "VP Marketing"})
    s.sync()
    time.sleep(1.1)
    s.fake.change_person(ids[5], {s.field("job_title"): "VP Sales"})
    s.fake.add_person(_email(500), {s.field("job_title"): "CTO"})
    report = s.sync()
    assert report.counts["read"] < 20, f"an incremental sync read {report.counts['read']}"
    assert report.counts["created"] == 1, report.as_dict()
    assert s.lead_by_email(_email(5)).attributes["job_title"] == "VP Sales"
    assert s.lead_by_email(_email(500)) is not None


def resume_after_failure(s: Setup) -> None:
    """A sync that dies midway (a 5xx burst the client gives up on) loses nothing and
    duplicates nothing: the next one resumes after the last page written."""
    for i in range(1_050):
        s.fake.add_person(_email(i), {s.field("job_title"): "Engineer"})
    pages = 0

    def fail_after_first_page(_obj: str, n: int) -> None:
        nonlocal pages
        if n == 0:  # an object with nothing to read (Salesforce's Leads here)
            return
        pages += 1
        if pages == 1:
            s.fake.fail_next(50, 503)

    try:
        s.sync(full=True, progress=fail_after_first_page)
    except Exception as exc:  # noqa: BLE001 - the connector's error, whichever
        assert "503" in str(exc) or "Service" in str(exc) or "injected" in str(exc), exc
    else:
        raise AssertionError("a sync through 50 503s did not fail")
    written = s.lead_count()
    assert 0 < written < 1_050, f"{written} leads after the failed sync"
    s.fake.clear_faults()
    report = s.sync()
    assert s.lead_count() == 1_050
    assert report.counts["read"] <= 1_050 - written + 200, (
        f"the resumed sync read {report.counts['read']} records, {written} were already written"
    )


def _scored(s: Setup, n: int = 3) -> list[str]:
    ids = [s.fake.add_person(_email(i), {s.field("job_title"): "VP Marketing"}) for i in range(n)]
    s.activate_model()
    s.sync()
    return ids


def push_only_changed(s: Setup) -> None:
    """The push writes each linked lead's out fields once; nothing unchanged is written again;
    a change writes again."""
    ids = _scored(s)
    report = push.push_scores(s.ctx, s.name)
    assert report.counts["pushed"] == 3, report.as_dict()
    lead = s.lead_by_email(_email(0))
    got = s.fake.person_fields(ids[0])
    assert float(str(got[s.field("score")])) == lead.score, (got, lead.score)
    assert got[s.field("grade")] == lead.grade
    calls = s.fake.update_calls()
    again = push.push_scores(s.ctx, s.name)
    assert again.counts["pushed"] == 0 and s.fake.update_calls() == calls, again.as_dict()
    s.events(_email(0), "demo_booked")
    third = push.push_scores(s.ctx, s.name)
    assert third.counts["pushed"] == 1, third.as_dict()
    assert (
        float(str(s.fake.person_fields(ids[0])[s.field("score")]))
        == s.lead_by_email(_email(0)).score
    )


def rate_limits(s: Setup) -> None:
    """A 429 with a short Retry-After is waited out; a long one defers the work, and the next
    push writes it: nothing is dropped."""
    ids = _scored(s)
    s.fake.throttle_next(2, retry_after=2)
    report = push.push_scores(s.ctx, s.name)
    assert report.counts["pushed"] == 3, report.as_dict()
    assert any(w >= 2 for w in s.sleeps), s.sleeps
    s.events(_email(1), "demo_booked")
    s.fake.throttle_next(1, retry_after=3_600)
    deferred = push.push_scores(s.ctx, s.name)
    assert deferred.counts["push stopped (rate limit)"] == 1, deferred.as_dict()
    assert deferred.counts["pushed"] == 0, deferred.as_dict()
    later = push.push_scores(s.ctx, s.name)
    assert later.counts["pushed"] == 1, later.as_dict()
    assert (
        float(str(s.fake.person_fields(ids[1])[s.field("score")]))
        == s.lead_by_email(_email(1)).score
    )


def deleted_records(s: Setup) -> None:
    """A record deleted in the CRM is refused with the vendor's message and counted; the
    other records are written."""
    ids = _scored(s)
    s.fake.delete_person(ids[2])
    report = push.push_scores(s.ctx, s.name)
    assert report.counts["pushed"] == 2, report.as_dict()
    assert report.counts["push failed"] == 1 and ids[2] in report.errors[0], report.as_dict()


def mapping_errors(s: Setup) -> None:
    """A record leadscore cannot take (its e-mail belongs to another lead, a bad e-mail) is
    named in the report; the rest of its page is written."""
    s.fake.add_person(_email(1), {s.field("job_title"): "VP"})
    bad = s.fake.add_person("not an e-mail", {s.field("job_title"): "VP"})
    s.fake.add_person(_email(2), {s.field("job_title"): "VP"})
    report = s.sync()
    assert report.counts["created"] == 2, report.as_dict()
    assert report.counts["errors"] == 1 and bad in report.errors[0], report.as_dict()


def deals_are_outcomes(s: Setup) -> None:
    """Won deals are `converted` outcomes with their amount (stage customer), lost ones
    `lost`, open ones move their people to `opportunity`."""
    won = s.fake.add_person(_email(1), {})
    lost = s.fake.add_person(_email(2), {})
    open_ = s.fake.add_person(_email(3), {})
    s.fake.add_deal([won], "won", 5_000.0)
    s.fake.add_deal([lost], "lost")
    s.fake.add_deal([open_], "open", 100.0)
    s.sync()
    assert s.lead_by_email(_email(1)).stage == "customer"
    assert s.lead_by_email(_email(2)).stage == "lost"
    assert s.lead_by_email(_email(3)).stage == "opportunity"
    with s.ctx.db.read() as conn:
        outcomes = stored_outcomes.of_lead(conn, s.lead_by_email(_email(1)).pk)
    assert [(o.outcome, o.value) for o in outcomes] == [("converted", 5_000.0)], outcomes
    again = s.sync()
    assert again.counts["outcomes"] == 0, again.as_dict()


def crm_update_once(s: Setup) -> None:
    """An automation's crm_update writes score, grade and stage when a lead becomes SQL,
    exactly once, through the outbox in one batch call."""
    ids = [s.fake.add_person(_email(i), {s.field("job_title"): "VP Analytics"}) for i in range(3)]
    s.activate_model()
    automations.upload(s.ctx, AUTOMATIONS % s.name, "contract", activate=True)
    s.sync()
    calls = s.fake.update_calls()
    for i in range(3):
        s.events(_email(i), "demo_booked")
    with Worker(s.ctx) as worker:
        worker.run_until_idle()
    lead = s.lead_by_email(_email(0))
    assert lead.stage == "sql", lead.stage
    got = s.fake.person_fields(ids[0])
    assert got[s.field("stage")] == "sql" and float(str(got[s.field("score")])) == lead.score, got
    with s.ctx.db.read() as conn:
        counts = stored_outbox.counts(conn)
    assert counts.get("delivered") == 3 and not counts.get("failed"), counts
    used = s.fake.update_calls() - calls
    assert 1 <= used <= 3, f"{used} update calls for 3 leads"
    if s.fake.connector().batch_size > 1:
        assert used == 1, f"{used} update calls for 3 records of a batching CRM"
    s.events(_email(0), "demo_booked")  # nothing new crosses
    with Worker(s.ctx) as worker:
        worker.run_until_idle()
    assert s.fake.update_calls() - calls == used
    with s.ctx.db.read() as conn:
        records = stored.for_leads(conn, s.name, [lead.pk])
    assert records and records[0].written[s.field("stage")] == "sql"


def _sql_crossings(s: Setup, n: int = 2) -> list[str]:
    """n people synced, then pushed past SQL by a demo each: n crm_update rows due."""
    ids = [s.fake.add_person(_email(i), {s.field("job_title"): "VP Analytics"}) for i in range(n)]
    s.activate_model()
    automations.upload(s.ctx, AUTOMATIONS % s.name, "contract", activate=True)
    s.sync()
    for i in range(n):
        s.events(_email(i), "demo_booked")
    return ids


def _crm_rows(s: Setup) -> list[Any]:
    with s.ctx.db.read() as conn:
        rows = stored_outbox.page(
            conn, status=None, automation=None, lead_pk=None, after=None, limit=100
        )
    return sorted((r for r in rows if r.action == "crm_update"), key=lambda r: r.pk)


def crm_update_refused(s: Setup) -> None:
    """A crm_update to a record deleted in the CRM is kept failed, at once, with the vendor's
    message; the other row of the batch is delivered."""
    ids = _sql_crossings(s)
    s.fake.delete_person(ids[1])
    with Worker(s.ctx) as worker:
        worker.run_until_idle()
    rows = _crm_rows(s)
    assert [r.status for r in rows] == ["delivered", "failed"], [
        (r.status, r.last_error) for r in rows
    ]
    assert rows[1].attempts == 1 and ids[1] in (rows[1].last_error or ""), rows[1].last_error


def crm_update_rate_limited(s: Setup) -> None:
    """A long Retry-After reschedules the crm_update rows after it (nothing is dropped and
    nothing spins); once it has passed they are delivered."""
    _sql_crossings(s)
    s.fake.throttle_next(50, retry_after=3_600)
    with Worker(s.ctx) as worker:
        worker.run_until_idle()
    rows = _crm_rows(s)
    assert {r.status for r in rows} == {"pending"}, [(r.status, r.last_error) for r in rows]
    soonest = min(r.next_attempt_at for r in rows)
    assert soonest >= s.ctx.now() + 3_000 * 1_000_000, "retried before the vendor's Retry-After"
    s.fake.clear_faults()
    later = soonest + 1
    s.ctx.clock = lambda: later
    with Worker(s.ctx) as worker:
        worker.run_until_idle()
    assert {r.status for r in _crm_rows(s)} == {"delivered"}


CASES: dict[str, Case] = {
    "full sync": full_sync,
    "incremental sync": incremental_sync,
    "resume after failure": resume_after_failure,
    "write-back of changed fields": push_only_changed,
    "rate limiting": rate_limits,
    "deleted records": deleted_records,
    "mapping errors": mapping_errors,
    "deals and outcomes": deals_are_outcomes,
    "crm_update exactly once": crm_update_once,
    "crm_update refused by the CRM": crm_update_refused,
    "crm_update rate limited": crm_update_rate_limited,
}


def check_connector(
    fake_type: Callable[[], FakeCrm],
    database_url: str,
    workdir: Path,
    cases: Mapping[str, Case] = CASES,
) -> None:
    """Run every case against a fresh fake and an emptied database; raise AssertionError
    listing every failure."""
    failures = []
    for title, case in cases.items():
        s = _open(fake_type, database_url, workdir)
        try:
            case(s)
        except AssertionError as exc:
            failures.append(f"{title}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a case that crashes fails like one that asserts
            failures.append(f"{title}: {type(exc).__name__}: {exc}")
        finally:
            connectors.registry(s.ctx).close()
            s.ctx.close()
            s.fake.stop()
    assert not failures, "\n".join(failures)
