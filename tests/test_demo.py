"""The demo-data generator: SPEC §3 shapes, determinism, and a signal worth scoring."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from leadscore import demo
from leadscore.cli import app

END = datetime(2025, 6, 1, tzinfo=UTC)
N = 2_000
TS = pl.Datetime("us", "UTC")
SCHEMAS = {
    "leads": {
        "id": pl.String,
        "email": pl.String,
        "first_name": pl.String,
        "last_name": pl.String,
        "company": pl.String,
        "industry": pl.String,
        "employees": pl.Int64,
        "job_title": pl.String,
        "country": pl.String,
        "source": pl.String,
        "created_at": TS,
    },
    "events": {
        "id": pl.String,
        "lead_id": pl.String,
        "type": pl.String,
        "occurred_at": TS,
        "source": pl.String,
        "url": pl.String,
        "content_type": pl.String,
        "campaign": pl.String,
        "webinar": pl.String,
    },
    "outcomes": {
        "lead_id": pl.String,
        "outcome": pl.String,
        "occurred_at": TS,
        "value": pl.Float64,
    },
}
KEY_EVENTS = (
    "form_submitted",
    "content_downloaded",
    "webinar_registered",
    "webinar_attended",
    "demo_booked",
    "meeting_cancelled",
    "trial_started",
)


@pytest.fixture(scope="module")
def data() -> demo.DemoData:
    return demo.generate(N, seed=7, end=END)


@pytest.fixture(scope="module")
def per_lead(data: demo.DemoData) -> pl.DataFrame:
    """One row per lead: attributes, hidden propensity, outcome and event counts."""
    ev = data.events
    counts = ev.group_by("lead_id").agg(
        events=pl.len(),
        pricing=(pl.col("url") == "/pricing").sum(),
        demos=(pl.col("type") == "demo_booked").sum(),
        trials=(pl.col("type") == "trial_started").sum(),
        webinars=(pl.col("type") == "webinar_attended").sum(),
        views=(pl.col("type") == "page_viewed").sum(),
        careers=pl.col("url").str.starts_with("/careers").sum(),
    )
    return (
        data.leads.with_columns(propensity=pl.Series(data.propensity))
        .join(counts, left_on="id", right_on="lead_id", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in counts.columns[1:])
        .join(
            data.outcomes.rename({"occurred_at": "decided_at"}),
            left_on="id",
            right_on="lead_id",
            how="left",
        )
    )


def auc(score: np.ndarray | pl.Series, positive: np.ndarray | pl.Series) -> float:
    """Mann-Whitney AUC with tied scores ranked by their average."""
    ranks = pl.Series(np.asarray(score, dtype=float)).rank("average").to_numpy()
    pos = np.asarray(positive, dtype=bool)
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def decided(per_lead: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    rows = per_lead.filter(pl.col("outcome").is_not_null())
    return rows, (rows["outcome"] == "converted").to_numpy()


# --- shapes -----------------------------------------------------------------------------------


def test_columns_and_types_follow_spec(data: demo.DemoData) -> None:
    for table, schema in SCHEMAS.items():
        assert dict(getattr(data, table).schema) == schema, table
    assert data.leads.height == N
    assert data.propensity.shape == (N,)


def test_values_come_from_the_documented_vocabularies(data: demo.DemoData) -> None:
    leads, events = data.leads, data.events
    assert set(leads["industry"].drop_nulls()) <= {i[0] for i in demo.INDUSTRIES}
    assert set(leads["source"]) <= {s[0] for s in demo.SOURCES}
    assert leads["country"].str.contains(r"^[A-Z]{2}$").all()
    assert leads["id"].str.contains(r"^L\d{7}$").all()
    assert leads["employees"].drop_nulls().is_between(1, 50_000).all()
    assert set(events["type"]) == {t for t, _ in demo.EVENT_TYPES}
    assert set(data.outcomes["outcome"]) == {"converted", "lost"}
    nulls = events.group_by("type").agg(
        pl.len(), pl.col("url", "content_type", "campaign", "webinar").null_count()
    )
    for row in nulls.iter_rows(named=True):
        kind, n = row["type"], row["len"]
        assert row["url"] == (0 if kind in ("page_viewed", "form_submitted") else n), kind
        assert row["content_type"] == (0 if kind == "content_downloaded" else n), kind
        assert row["campaign"] == (0 if kind.startswith("email_") else n), kind
        assert row["webinar"] == (0 if kind.startswith("webinar_") else n), kind
    assert events["url"].drop_nulls().str.starts_with("/").all()
    assert set(events["content_type"].drop_nulls()) == set(demo.CONTENT)


def test_emails_mix_corporate_free_missing_and_competitors(data: demo.DemoData) -> None:
    email = data.leads["email"]
    present = email.drop_nulls().str.to_lowercase()
    assert present.is_unique().all()
    assert 0 < email.null_count() < 0.1 * N
    domain = present.str.split("@").list.last()
    free = domain.is_in(["gmail.com", "yahoo.com", "outlook.com", "hotmail.com"]).mean()
    assert 0.12 < free < 0.3
    assert 0 < (domain == "competitor.com").sum() < 0.05 * N
    assert present.str.contains(r"^[a-z0-9._]+@[a-z0-9.-]+\.[a-z]+$").all()


def test_titles_are_varied_and_include_non_buyers(data: demo.DemoData) -> None:
    titles = data.leads["job_title"].drop_nulls()
    lower = titles.str.to_lowercase()
    for title in ("ceo", "vp marketing", "student", "intern", "recruiter", "software engineer"):
        assert (lower == title).any(), title
    assert (titles == titles.str.to_lowercase()).sum() > 0.02 * N  # sloppy typing
    assert lower.n_unique() > 60


def test_heavy_tailed_company_sizes(data: demo.DemoData) -> None:
    employees = data.leads["employees"].drop_nulls()
    assert employees.median() < 1_000
    assert employees.max() > 10_000


# --- time and identity ------------------------------------------------------------------------


def test_events_lie_between_creation_and_end(data: demo.DemoData) -> None:
    joined = data.events.join(
        data.leads.select("id", "created_at"), left_on="lead_id", right_on="id", how="left"
    )
    assert joined["created_at"].null_count() == 0  # every event's lead exists
    assert (joined["occurred_at"] >= joined["created_at"]).all()
    assert data.events["occurred_at"].max() <= END
    assert data.leads["created_at"].min() >= END - timedelta(days=365)
    assert data.leads["created_at"].max() < END


def test_outcomes_follow_key_events_and_never_pass_the_end(
    per_lead: pl.DataFrame, data: demo.DemoData
) -> None:
    outcomes = data.outcomes
    assert outcomes["lead_id"].is_unique().all()
    assert outcomes["occurred_at"].max() <= END
    rows, won = decided(per_lead)
    assert (rows["decided_at"] > rows["created_at"]).all()
    assert rows.filter(pl.col("created_at") > END - timedelta(days=30)).height == 0
    key = data.events.filter(pl.col("type").is_in(KEY_EVENTS))
    key = key.join(outcomes.select("lead_id", decided_at="occurred_at"), on="lead_id")
    assert key.height > 0
    assert (key["occurred_at"] < key["decided_at"]).all()
    assert outcomes.filter(pl.col("outcome") == "converted")["value"].null_count() == 0
    assert outcomes.filter(pl.col("outcome") == "lost")["value"].null_count() == (~won).sum()
    assert 0 < per_lead["outcome"].null_count() < N  # some leads stay open


def test_nothing_happens_after_an_end_just_after_a_broadcast() -> None:
    """Broadcasts go out at 14:00 on the end's weekday: opens would spill past a 15:00 end."""
    end = END.replace(hour=15)
    events = demo.generate(N, seed=2, end=end).events
    assert events["occurred_at"].max() <= end
    last_hour = events.filter(pl.col("occurred_at") >= end - timedelta(hours=1))
    assert (last_hour["type"] == "email_opened").any()


def test_ids_are_unique_and_events_sorted_per_lead(data: demo.DemoData) -> None:
    assert data.events["id"].is_unique().all()
    assert data.leads["id"].is_unique().all()
    order = data.events.select("lead_id", "occurred_at")
    assert order.equals(order.sort("lead_id", "occurred_at", maintain_order=True))


def test_unsubscribe_is_rare_and_ends_email_engagement(data: demo.DemoData) -> None:
    ev = data.events
    quits = ev.filter(pl.col("type") == "email_unsubscribed")
    assert 0 < quits.height < 0.1 * N
    assert quits["lead_id"].is_unique().all()
    after = ev.filter(pl.col("type").is_in(["email_opened", "email_clicked", "email_replied"]))
    after = after.join(quits.select("lead_id", quit="occurred_at"), on="lead_id")
    assert after.height > 0
    assert (after["occurred_at"] < after["quit"]).all()


def test_page_views_come_in_bursts(data: demo.DemoData) -> None:
    views = data.events.filter(pl.col("type") == "page_viewed")
    per_day = views.group_by("lead_id", pl.col("occurred_at").dt.date().alias("day")).len()
    assert (per_day["len"] >= 3).sum() > 0.1 * N


def test_about_twenty_events_per_lead_with_a_heavy_tail(per_lead: pl.DataFrame) -> None:
    events = per_lead["events"]
    assert 14 < events.mean() < 28
    assert events.max() > 8 * events.mean()
    assert (events == 0).sum() > 0


# --- the hidden propensity --------------------------------------------------------------------


def test_conversion_rate_among_decided_leads(per_lead: pl.DataFrame) -> None:
    _, won = decided(per_lead)
    assert 0.08 <= won.mean() <= 0.15


def test_propensity_predicts_conversion(per_lead: pl.DataFrame) -> None:
    rows, won = decided(per_lead)
    assert auc(rows["propensity"], won) > 0.75
    assert auc(-rows["propensity"], won) < 0.25  # the AUC helper is not symmetric by accident


def test_a_reasonable_rule_score_finds_the_signal(per_lead: pl.DataFrame) -> None:
    title = pl.col("job_title").str.to_lowercase().fill_null("")
    senior = title.str.contains(r"\b(ceo|cto|cmo|founder|vp|vice president|director|head of|chief)")
    score = (
        senior.cast(pl.Int64) * 15
        + pl.col("industry").is_in(["software", "saas", "it services"]).cast(pl.Int64) * 10
        + pl.col("pricing").clip(0, 3) * 5
        + pl.col("demos").clip(0, 1) * 20
        + pl.col("webinars").clip(0, 2) * 5
        + pl.col("trials").clip(0, 1) * 15
    )
    rows, won = decided(per_lead)
    assert auc(rows.select(score).to_series(), won) > 0.75


def test_hot_leads_read_pricing_and_book_demos(per_lead: pl.DataFrame) -> None:
    ranked = per_lead.sort("propensity")
    cold, hot = ranked.head(N // 4), ranked.tail(N // 4)
    assert hot["pricing"].mean() > 2 * cold["pricing"].mean()
    assert hot["demos"].mean() > 3 * cold["demos"].mean()
    assert hot["webinars"].mean() > 2 * cold["webinars"].mean()
    assert hot["trials"].mean() > 3 * cold["trials"].mean()


def test_non_buyers_almost_never_convert(per_lead: pl.DataFrame) -> None:
    title = pl.col("job_title").str.to_lowercase().fill_null("")
    email = pl.col("email").fill_null("")
    non_buyer = title.str.contains("student|intern|job seeker|open to work|unemployed|looking") | (
        email.str.ends_with("@competitor.com")
    )
    group = per_lead.filter(non_buyer)
    assert group.height > 0.05 * N
    assert (group["outcome"] == "converted").sum() <= 0.01 * group.height
    assert group["propensity"].max() < 0.01


def test_job_seekers_mostly_view_careers(per_lead: pl.DataFrame) -> None:
    title = pl.col("job_title").str.to_lowercase().fill_null("")
    seekers = per_lead.filter(title.str.contains("job seeker|open to work|unemployed|looking"))
    others = per_lead.filter(~title.str.contains("job seeker|open to work|unemployed|looking"))
    assert seekers["careers"].sum() > 0.5 * seekers["views"].sum()
    assert others["careers"].sum() < 0.1 * others["views"].sum()


# --- determinism and chunking -----------------------------------------------------------------


def test_same_inputs_same_data_other_seed_other_data(data: demo.DemoData) -> None:
    again = demo.generate(N, seed=7, end=END)
    for table in ("leads", "events", "outcomes"):
        assert getattr(again, table).equals(getattr(data, table)), table
    assert np.array_equal(again.propensity, data.propensity)
    other = demo.generate(N, seed=8, end=END)
    assert not other.leads.equals(data.leads)


def test_chunks_join_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several chunks: ids keep counting, e-mail addresses stay unique across chunks."""
    monkeypatch.setattr(demo, "CHUNK_LEADS", 300)
    chunks = list(demo.iter_chunks(1_000, seed=3, end=END))
    assert [c.leads.height for c in chunks] == [300, 300, 300, 100]
    whole = demo.generate(1_000, seed=3, end=END)
    numbers = whole.events["id"].str.slice(1).cast(pl.Int64)
    assert numbers.to_list() == list(range(1, whole.events.height + 1))
    assert whole.leads["id"][-1] == "L0001000"
    assert whole.leads["email"].drop_nulls().str.to_lowercase().is_unique().all()


def test_end_defaults_to_today_midnight_utc() -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert demo.as_end(None) in (today, today + timedelta(days=1))  # midnight may pass
    assert demo.as_end(date(2025, 6, 1)) == END
    assert demo.as_end("2025-06-01") == END
    assert demo.as_end("2025-06-01T02:00:00+02:00") == END
    assert demo.as_end(datetime(2025, 6, 1)) == END
    data = demo.generate(50, seed=1)
    assert data.events["occurred_at"].max() <= demo.as_end(None)


def test_bad_arguments_raise_in_the_api() -> None:
    with pytest.raises(ValueError, match="positive"):
        demo.generate(0, seed=1, end=END)
    with pytest.raises(ValueError, match="negative"):
        demo.iter_chunks(10, seed=-1, end=END)
    with pytest.raises(ValueError, match="format"):
        demo.write(demo.generate(10, seed=1, end=END), Path("unused"), "xlsx")


# --- files and the command line ---------------------------------------------------------------


def test_cli_writes_the_same_bytes_as_the_api(tmp_path: Path, data: demo.DemoData) -> None:
    args = ["demo-data", "--leads", str(N), "--seed", "7", "--end", "2025-06-01"]
    for run in ("a", "b"):
        done = CliRunner().invoke(
            app, [*args, "--out", str(tmp_path / run)], catch_exceptions=False
        )
        assert done.exit_code == 0, done.stderr
        assert f"wrote {N:,} leads" in done.stdout
    demo.write(data, tmp_path / "api")
    for name in ("leads.parquet", "events.parquet", "outcomes.parquet"):
        first = (tmp_path / "a" / name).read_bytes()
        assert first == (tmp_path / "b" / name).read_bytes(), name
        assert first == (tmp_path / "api" / name).read_bytes(), name
    assert pl.read_parquet(tmp_path / "a" / "events.parquet").equals(data.events)
    assert not list(tmp_path.glob("*/.*partial"))


def test_csv_files_read_back_with_empty_cells_for_nulls(
    tmp_path: Path, data: demo.DemoData
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "demo-data",
            "--leads",
            str(N),
            "--seed",
            "7",
            "--end",
            "2025-06-01",
            "--out",
            str(tmp_path),
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "leads.csv", "outcomes.csv"]
    text = (tmp_path / "outcomes.csv").read_text().splitlines()
    assert text[0] == "lead_id,outcome,occurred_at,value"
    assert any(
        re.fullmatch(r"L\d{7},lost,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z,", r) for r in text
    )
    for table, schema in SCHEMAS.items():
        back = pl.read_csv(
            tmp_path / f"{table}.csv",
            schema=schema | {c: pl.String for c, t in schema.items() if t == TS},
        )
        back = back.with_columns(
            pl.col(c).str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC")
            for c, t in schema.items()
            if t == TS
        )
        assert back.equals(getattr(data, table)), table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--leads", "0"], "--leads"),
        (["--leads", "-5"], "--leads"),
        (["--leads", "10", "--seed", "-1"], "--seed"),
        (["--leads", "10", "--end", "June"], "--end"),
        (["--leads", "10", "--format", "xlsx"], "--format"),
        (["--leads", "ten"], "--leads"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["demo-data", "--out", str(tmp_path / "out"), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_missing_out_and_file_as_out_exit_2(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["demo-data", "--leads", "0", "--out", str(tmp_path)])
    assert done.exit_code == 2
    assert "--leads" in done.stderr
    assert CliRunner().invoke(app, ["demo-data", "--leads", "5"]).exit_code == 2
    a_file = tmp_path / "file"
    a_file.write_text("x")
    result = CliRunner().invoke(app, ["demo-data", "--leads", "5", "--out", str(a_file)])
    assert result.exit_code == 2
    assert "not a directory" in result.output
