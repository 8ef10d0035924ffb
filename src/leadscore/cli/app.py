"""The `leadscore` command line (SPEC §3): one Typer app, each command family in its module.

The order below is the order of `leadscore --help` (sub-command groups come last there).
Errors a user can fix (a bad model, a bad file or row) print to stderr, each naming the file,
the line or row and the reason, and exit with code 2; they never show a traceback.
"""

from __future__ import annotations

import signal

import typer

from leadscore.cli import (
    automations,
    backup,
    batch,
    connectors,
    costs,
    demo,
    gdpr,
    owners,
    predictive,
    retention,
    score,
    service,
    sources,
    tracking,
    tuning,
    users,
    webhooks,
)

app = typer.Typer(
    name="leadscore",
    help="Open, exact, explainable lead scoring.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("validate")(score.validate)
app.command("score")(score.score)
app.command("top")(score.top)
app.command("schema")(score.schema)
app.command("demo-data")(demo.demo_data)
app.command("batch")(batch.batch)
app.command("train")(predictive.train_command)
app.command("predict")(predictive.predict_command)
app.command("evaluate")(predictive.evaluate_command)
app.command("serve")(service.serve)
app.command("import")(service.import_command)
app.command("recompute")(service.recompute_command)
app.command("init-demo")(service.init_demo)
app.command("backup")(backup.backup_command)
app.command("restore")(backup.restore_command)
app.command("worker")(automations.worker)
app.command("suggest")(tuning.suggest_command)
app.command("backtest")(tuning.backtest_command)
app.add_typer(predictive.predictive_app, name="predictive")
app.add_typer(service.apikey_app, name="apikey")
app.add_typer(users.user_app, name="user")
app.add_typer(service.model_app, name="model")
app.add_typer(automations.automations_app, name="automations")
app.add_typer(automations.outbox_app, name="outbox")
app.add_typer(owners.owners_app, name="owners")
app.add_typer(owners.teams_app, name="teams")
app.add_typer(owners.lists_app, name="lists")
app.add_typer(costs.costs_app, name="costs")
app.add_typer(connectors.connectors_app, name="connectors")
app.add_typer(gdpr.gdpr_app, name="gdpr")
app.command("sync")(connectors.sync_command)
app.add_typer(retention.retention_app, name="retention")
app.add_typer(webhooks.webhooks_app, name="webhooks")
app.add_typer(tracking.tracking_app, name="tracking")
app.add_typer(sources.sources_app, name="sources")


def main() -> None:
    """The console script: `leadscore … | head` ends quietly, as Unix tools do.

    Python turns a write to a closed pipe into BrokenPipeError; the default SIGPIPE action
    ends the process silently instead (exit status 141 in a shell, no message). Set here, not
    at import, so that tests running the app in-process keep Python's handling.
    """
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    app()
