"""Reading outcomes and score files: every problem names the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadscore.core.timestamps import parse_timestamp
from leadscore.engine.readers import InputError
from leadscore.tuning.history import load_history, read_outcomes, read_scores

LEADS = "id\nL1\nL2\nL3\nL4\n"
EVENTS = "lead_id,type,occurred_at\nL1,email_opened,2026-01-01\nL2,email_opened,2026-05-01\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_outcomes_words_and_open_leads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "o.csv",
        "lead_id,outcome,occurred_at\nL1,Converted,2026-02-01\nL2, won ,2026-02-02T10:00:00+02:00\n"
        "L3,lost,2026-03-01\nL4,open,\n",
    )
    found = read_outcomes(path, {"L1", "L2", "L3", "L4"})
    assert {k: o.converted for k, o in found.items()} == {"L1": True, "L2": True, "L3": False}
    assert found["L2"].at == parse_timestamp("2026-02-02T08:00:00Z")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "lead_id,outcome,occurred_at\nL1,lost,2026-01-01\nL9,lost,2026-01-01\n",
            "o.csv: line 3: lead 'L9' is not in the leads file",
        ),
        (
            "lead_id,outcome,occurred_at\nL1,lost,2026-01-01\nL1,converted,2026-01-02\n",
            "o.csv: line 3: lead 'L1' repeats line 2",
        ),
        (
            "lead_id,outcome,occurred_at\nL1,maybe,2026-01-01\n",
            "o.csv: line 2: outcome must be converted, won, lost or open, not 'maybe'",
        ),
        ("lead_id,outcome,occurred_at\nL1,lost,\n", "o.csv: line 2: occurred_at is empty"),
        (
            "lead_id,outcome,occurred_at\nL1,lost,yesterday\n",
            "o.csv: line 2: occurred_at 'yesterday'",
        ),
        ("lead_id,outcome\nL1,lost\n", "o.csv: line 1: missing required column 'occurred_at'"),
    ],
)
def test_bad_outcomes(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "o.csv", text)
    with pytest.raises(InputError) as caught:
        read_outcomes(path, {"L1", "L2"})
    assert str(caught.value).startswith(str(tmp_path / message))


def test_history_end_and_outcomes_after_as_of(tmp_path: Path) -> None:
    leads, events = write(tmp_path, "l.csv", LEADS), write(tmp_path, "e.csv", EVENTS)
    outcomes = write(
        tmp_path,
        "o.csv",
        "lead_id,outcome,occurred_at\nL1,converted,2026-03-01\nL3,lost,2026-06-01\n",
    )
    history = load_history(leads, events, outcomes)
    assert history.end == parse_timestamp("2026-06-01")
    assert history.start == parse_timestamp("2026-01-01")
    assert [lead.id for lead in history.decided] == ["L1", "L3"]
    assert history.stop("L1") == parse_timestamp("2026-03-01") - 1
    assert history.stop("L2") == history.end
    assert history.weeks == pytest.approx(151 / 7)
    cut = load_history(leads, events, outcomes, as_of=parse_timestamp("2026-04-01"))
    assert [lead.id for lead in cut.decided] == ["L1"] and cut.stop("L3") == cut.end


def test_scores_file(tmp_path: Path) -> None:
    both = write(tmp_path, "s.csv", "lead_id,score,probability\nL1,80,0.7\nL2,10,0.1\n")
    assert read_scores(both) == {"L1": 0.7, "L2": 0.1}
    scores = write(tmp_path, "t.csv", "lead_id,score\nL1,80\n")
    assert read_scores(scores) == {"L1": 80.0}
    for text, message in [
        ("lead_id,value\nL1,3\n", "line 2: needs a probability or a score column"),
        ("lead_id,score\nL1,high\n", "line 2: score 'high' is not a number"),
        ("lead_id,score\nL1,1\nL1,2\n", "line 3: lead 'L1' appears twice"),
        ("id,score\nL1,1\n", "line 1: missing required column 'lead_id'"),
    ]:
        path = write(tmp_path, "bad.csv", text)
        with pytest.raises(InputError, match=message):
            read_scores(path)
