"""The `owners`, `teams` and `lists` commands (cli/owners.py), run in this process on an
SQLite file: they change what they say, print Rich tables, and a mistake is one `error:` line
naming the option, exit code 2 and nothing written."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from leadscore.cli import app
from leadscore.service import lists, owners
from leadscore.service.context import Context
from leadscore.service.inputs import LeadIn
from leadscore.service.leads import upsert_leads
from leadscore.settings import Settings
from leadscore.store import leads as stored_leads


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'leadscore.db'}"


@pytest.fixture
def run(url):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), env={"LEADSCORE_DATABASE_URL": url, "COLUMNS": "200"})

    return invoke


def test_owners_are_added_changed_deactivated_and_listed(run, url) -> None:
    done = run(
        "owners",
        "add",
        "sam@yourco.com",
        "--name",
        "Sam Ray",
        "--email",
        "Sam@YourCo.com",
        "--capacity",
        "30",
    )
    assert done.exit_code == 0, done.output
    assert done.stdout == "added owner 'sam@yourco.com' (capacity: 30)\n"
    assert run("owners", "add", "ann").exit_code == 0
    listed = run("owners", "list").stdout
    assert "sam@yourco.com" in listed and "Sam Ray" in listed and "no cap" in listed

    again = run("owners", "add", "ann")
    assert again.exit_code == 2 and again.stderr == "error: an owner with id 'ann' exists\n"
    bad = run("owners", "add", "x/y", "--capacity", "-1", "--email", "nope")
    assert bad.exit_code == 2
    assert bad.stderr.splitlines() == [
        "error: ID: Value error, cannot contain '/' or be '.' or '..': it names one URL path segment",
        "error: --email: Value error, 'nope' is not an e-mail address",
        "error: --capacity: Input should be greater than or equal to 0",
    ]

    assert run("owners", "update", "ann", "--capacity", "5", "--name", "Ann B").exit_code == 0
    assert run("owners", "deactivate", "ann").stdout == (
        "deactivated 'ann': keeps 0 open leads, gets no new ones\n"
    )
    with Context.open(Settings(database_url=url)) as ctx:
        ann = owners.get_owner(ctx, "ann")
    assert (ann["name"], ann["capacity"], ann["active"]) == ("Ann B", 5, False)
    assert run("owners", "update", "ann", "--no-capacity", "--active").exit_code == 0
    assert run("owners", "activate", "sam@yourco.com").stdout == "activated 'sam@yourco.com'\n"
    with Context.open(Settings(database_url=url)) as ctx:
        ann = owners.get_owner(ctx, "ann")
    assert (ann["capacity"], ann["active"]) == (None, True)

    assert run("owners", "update", "ann").stderr.startswith("error: nothing to change")
    both = run("owners", "update", "ann", "--capacity", "3", "--no-capacity")
    assert both.exit_code == 2 and "--capacity or --no-capacity" in both.stderr
    assert run("owners", "deactivate", "nobody").stderr == "error: no owner 'nobody'\n"


def test_teams_are_created_ordered_and_listed(run) -> None:
    for name in ("ann", "bob", "cy"):
        run("owners", "add", name)
    made = run("teams", "create", "sales", "--member", "bob", "--member", "ann")
    assert made.exit_code == 0 and made.stdout == "team 'sales': bob, ann\n"
    unknown = run("teams", "create", "emea", "--member", "x", "--member", "ann", "--member", "y")
    assert unknown.exit_code == 2 and unknown.stderr == "error: no owners 'x', 'y'\n"
    assert run("teams", "members", "sales", "cy", "ann", "bob").stdout == (
        "team 'sales': cy, ann, bob\n"
    )
    assert run("teams", "members", "sales", "cy", "cy").stderr == (
        "error: ID: 'cy' is named twice\n"
    )
    run("owners", "deactivate", "ann")
    assert run("teams", "remove", "sales", "cy").stdout == "team 'sales': ann (inactive), bob\n"
    assert run("teams", "add", "sales", "cy").stdout == "team 'sales': ann (inactive), bob, cy\n"
    listed = run("teams", "list").stdout
    assert "sales" in listed and "ann (inactive) [0], bob [0], cy [0]" in listed
    assert run("teams", "members", "nope", "ann").stderr == "error: no team 'nope'\n"


def test_lists_are_shown_and_exported_whole(run, url, tmp_path) -> None:
    with Context.open(Settings(database_url=url)) as ctx:
        upsert_leads(
            ctx,
            [
                LeadIn(id="L1", email="zoe@example.com", attributes={"name": "Zoë, Jr."}),
                LeadIn(id="L2", owner="sam", attributes={"company": "=1+1"}),
            ],
            "test",
        )
        with ctx.db.read() as conn:
            pks = stored_leads.pks_by_id(conn, ["L1", "L2"])
        for lead in ("L2", "L1"):
            ctx.db.transact(
                lambda conn, lead=lead: lists.add_to_list(
                    conn, pks[lead], "hot", by="automation:hot", now=ctx.now()
                )
            )
    assert run("lists", "create", "spring", "--kind", "sequence").stdout == (
        "created sequence 'spring'\n"
    )
    listed = run("lists", "list").stdout
    assert "hot" in listed and "spring" in listed and "sequence" in listed
    members = run("lists", "members", "hot")
    assert (
        members.exit_code == 0
        and "Zoë, Jr." in members.stdout
        and "automation:hot" in members.stdout
    )
    short = run("lists", "members", "hot", "--limit", "1")
    assert "L2" in short.stdout and "L1" not in short.stdout
    assert "showing the first 1" in short.stderr

    out = tmp_path / "hot.csv"
    done = run("lists", "export", "hot", "--out", str(out))
    assert done.exit_code == 0 and done.stdout == f"wrote 2 members of 'hot' to {out}\n"
    raw = out.read_bytes()
    assert raw.startswith(b"lead_id,email,") and raw.count(b"\r\n") == 3
    with out.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["lead_id"], r["name"], r["company"], r["owner"]) for r in rows] == [
        ("L2", "", "'=1+1", "sam"),
        ("L1", "Zoë, Jr.", "", ""),
    ]

    missing = run("lists", "export", "nope", "--out", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and missing.stderr == "error: no list 'nope'\n"
    assert [p.name for p in tmp_path.iterdir() if "csv" in p.name] == ["hot.csv"]  # no temp
    nowhere = run("lists", "export", "hot", "--out", str(tmp_path / "no" / "x.csv"))
    assert nowhere.exit_code == 2 and "does not exist" in nowhere.stderr
