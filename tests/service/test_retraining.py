"""Retraining with a champion/challenger decision (SPEC §7, issue 16), on a real SQLite file
and PostgreSQL: too few new outcomes change nothing; when the world changes (the relation
between a feature and conversion flips for the newest leads) the challenger wins on the
newest outcomes and becomes active; when the newest outcomes still follow the champion's
world the champion stays; every decision, with its reason and figures, is in the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.retraining_data import HOUR, START, add_leads
from typer.testing import CliRunner

from leadscore.cli.app import app
from leadscore.core.timestamps import format_timestamp, parse_timestamp
from leadscore.scheduler import Scheduler
from leadscore.service import audit, monitoring, predictions, retraining
from leadscore.service.context import Context

DAY = 86_400_000_000
TRAINED = parse_timestamp("2026-02-03T04:05:06.789Z")
"""An instant no other test trains at: loaded predictors are cached per (database, version,
creation time), and the PostgreSQL database is emptied, not replaced, between tests."""
LATER = TRAINED + 7 * DAY


def champion_on(ctx: Context, tmp_path: Path, n: int) -> int:
    """A champion trained at TRAINED on `n` leads of the first world; the clock moves on."""
    ctx.clock = lambda: TRAINED
    add_leads(ctx, tmp_path, 0, n, flipped=False)
    version = predictions.train(ctx, actor="test", folds=3)["version"]
    ctx.clock = lambda: LATER
    return int(version)


def recorded(ctx: Context) -> list[dict]:
    return audit.entries(ctx, action=retraining.ACTION)["data"]


def active_version(ctx: Context) -> int | None:
    return next((v["version"] for v in predictions.list_models(ctx) if v["active"]), None)


@pytest.mark.slow
def test_too_few_new_outcomes_retrain_nothing_and_the_decision_is_recorded(ctx, tmp_path) -> None:
    version = champion_on(ctx, tmp_path, 200)
    add_leads(ctx, tmp_path, 200, 60, flipped=True)
    decision = retraining.retrain(ctx, reason="test", actor="someone")
    assert decision.decision == "skipped" and decision.trigger == []
    assert (decision.new_outcomes, decision.outcomes, decision.min_new_outcomes) == (60, 260, 200)
    assert decision.why.startswith(f"60 new outcomes since version {version} was trained")
    assert decision.challenger is None and decision.holdout is None
    assert [v["version"] for v in predictions.list_models(ctx)] == [version]
    assert active_version(ctx) == version
    (entry,) = recorded(ctx)
    assert (entry["actor"], entry["target"], entry["at"]) == (
        "someone",
        str(version),
        format_timestamp(LATER),
    )
    assert entry["details"]["decision"] == "skipped" and entry["details"]["why"] == decision.why
    listed = retraining.decisions(ctx)["data"]
    assert listed[0]["decision"] == "skipped" and listed[0]["actor"] == "someone"

    runner = CliRunner()  # `leadscore predictive retrain`: the same, in the foreground
    env = {"LEADSCORE_DATABASE_URL": ctx.settings.database_url, "COLUMNS": "200"}
    plain = runner.invoke(app, ["predictive", "retrain"], env=env)
    assert plain.exit_code == 0, plain.output
    assert f"skipped: 60 new outcomes since version {version} was trained" in plain.output
    forced = runner.invoke(app, ["predictive", "retrain", "--force"], env=env)
    assert forced.exit_code == 0, forced.output
    assert "holdout: the newest 52 outcomes" in forced.output
    assert "champion" in forced.output and "challenger" in forced.output
    last = recorded(ctx)[0]
    assert last["actor"] == "cli" and last["details"]["trigger"] == ["forced"]
    assert f"{last['details']['decision']}: {last['details']['why']}" in forced.output


@pytest.mark.slow
def test_when_the_world_changes_the_challenger_wins_and_is_activated(ctx, tmp_path) -> None:
    version = champion_on(ctx, tmp_path, 200)
    add_leads(ctx, tmp_path, 200, 500, flipped=True)  # the newest 500: x now lowers the odds
    decision = retraining.retrain(ctx, reason="test", actor="someone", folds=3)
    assert decision.trigger == ["new outcomes"] and decision.new_outcomes == 500
    holdout = decision.holdout
    assert holdout is not None
    assert (holdout["rows"], holdout["trained_on"]) == (140, 560)  # the newest 20%
    assert holdout["first_outcome_at"] == format_timestamp(START + 560 * HOUR)
    assert holdout["last_outcome_at"] == format_timestamp(START + 699 * HOUR)
    old, new = decision.champion, decision.challenger
    assert old is not None and new is not None
    assert old["version"] == version and old["roc_auc"] < 0.3  # the old world's ranking
    assert new["roc_auc"] > 0.75 and new["rows"] == 560
    assert decision.decision == "activated", decision.why
    assert "the challenger ranks better" in decision.why
    assert new["version"] == decision.active_version == active_version(ctx) != version
    stored = predictions.list_models(ctx, with_cards=True)[0]
    assert stored["summary"]["rows"] == 700  # refitted on every outcome
    assert stored["card"]["retraining"]["challenger"]["roc_auc"] == new["roc_auc"]
    (entry,) = recorded(ctx)
    assert entry["target"] == str(new["version"])
    assert entry["details"]["champion"]["roc_auc"] == old["roc_auc"]

    again = retraining.retrain(ctx, reason="test", actor="someone")  # nothing new since
    assert again.decision == "skipped" and again.new_outcomes == 0
    assert [e["details"]["decision"] for e in recorded(ctx)] == ["skipped", "activated"]


@pytest.mark.slow
def test_when_the_newest_outcomes_follow_the_champion_it_stays_with_the_reason(
    ctx, tmp_path
) -> None:
    version = champion_on(ctx, tmp_path, 200)
    add_leads(ctx, tmp_path, 200, 400, flipped=True)  # a passing campaign the other way
    add_leads(ctx, tmp_path, 600, 200, flipped=False)  # then the first world again
    decision = retraining.retrain(ctx, reason="test", actor="scheduler", folds=3)
    assert decision.holdout is not None and decision.holdout["rows"] == 160
    old, new = decision.champion, decision.challenger
    assert old is not None and new is not None
    assert old["roc_auc"] > 0.75 > new["roc_auc"]
    assert decision.decision == "kept" and new.get("version") is None
    assert decision.why.startswith(f"version {version} stays active: the challenger ranks worse")
    assert [v["version"] for v in predictions.list_models(ctx)] == [version]  # none stored
    assert active_version(ctx) == version
    (entry,) = recorded(ctx)
    assert entry["actor"] == "scheduler" and entry["details"]["why"] == decision.why
    assert entry["details"]["challenger"]["roc_auc"] == new["roc_auc"]


@pytest.mark.slow
def test_drift_starts_a_retraining_before_enough_new_outcomes(ctx, tmp_path) -> None:
    champion_on(ctx, tmp_path, 200)
    add_leads(ctx, tmp_path, 200, 60, flipped=False, shift=5.0)  # x far above its old range
    decision = retraining.retrain(ctx, reason="test", actor="scheduler", folds=3)
    assert decision.new_outcomes == 60 < decision.min_new_outcomes
    assert decision.trigger == ["drift"] and decision.drifted == ["x"]
    assert decision.holdout is not None and decision.challenger is not None
    assert decision.decision in {"activated", "kept"}
    (entry,) = recorded(ctx)
    assert entry["details"]["trigger"] == ["drift"] and entry["details"]["drifted"] == ["x"]


@pytest.mark.slow
def test_decay_starts_a_retraining_when_the_outcomes_stop_following_the_champion(
    ctx, tmp_path
) -> None:
    version = champion_on(ctx, tmp_path, 200)
    # the next outcomes arrive while this champion is active (the clock in their days, so
    # they are the monitoring's last 30 days) and go the other way: the probability kept
    # before each outcome ranks them backwards
    ctx.clock = lambda: START + 420 * HOUR
    add_leads(ctx, tmp_path, 200, 200, flipped=True)
    figures = monitoring.performance(ctx, monitoring.PREDICTIVE, version, fresh=True)
    assert figures["decay"]["flagged"], figures["decay"]
    decision = retraining.retrain(ctx, reason="test", actor="scheduler", folds=3)
    assert decision.new_outcomes == 0  # recorded before the champion was (its clock is later)
    assert decision.decayed and decision.trigger == ["decay"] and decision.drifted == []
    assert decision.holdout is not None and decision.challenger is not None
    (entry,) = recorded(ctx)
    assert entry["details"]["decayed"] is True and entry["details"]["trigger"] == ["decay"]


def test_the_scheduled_retraining_is_off_by_default_and_records_its_decisions(ctx) -> None:
    assert ctx.settings.retrain_cron is None and Scheduler.retraining(ctx) is None
    ctx.settings = ctx.settings.model_copy(update={"retrain_cron": "0 4 * * *"})
    ctx.clock = lambda: LATER
    scheduled = Scheduler.retraining(ctx)
    assert scheduled is not None and scheduled.cron == "0 4 * * *"
    assert scheduled.tick() is False  # a new installation waits for the next slot
    ctx.clock = lambda: LATER + DAY
    assert scheduled.tick() is True
    assert scheduled.tick() is False  # that slot is done: another process (or poll) skips it
    (entry,) = recorded(ctx)
    assert entry["actor"] == "scheduler" and entry["target"] is None
    details = entry["details"]
    assert (details["decision"], details["run"], details["trigger"]) == (
        "skipped",
        "scheduled",
        ["no active model"],
    )
    assert "none could be trained: the store holds no outcomes" in details["why"]


def test_a_bad_retrain_cron_is_refused_naming_the_setting(database_url) -> None:
    from leadscore.settings import Settings

    with pytest.raises(ValueError, match="retrain_cron"):
        Settings(database_url=database_url, retrain_cron="every monday")
    assert Settings(database_url=database_url, retrain_cron=" ").retrain_cron is None
