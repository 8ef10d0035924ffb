"""Fuzzing the file loaders and readers: any input gives a valid result or our own clear
error, never another exception (a traceback for the user).

Each `Target` names a loader, the error type that is its clear answer (it names the file,
the key path or the line), how to turn a generated input into a call, and a hypothesis
strategy of inputs: arbitrary text or bytes, and "structured but wrong" inputs — a valid
example with one node replaced by a value of another kind, wrong YAML/JSON types, CSV and
JSON Lines with the right columns and odd cells, Parquet files of odd column types.

tests/fuzz/ runs each target with a moderate number of examples (derandomized, so `make
test` is repeatable); bench/fuzz.py runs many more and prints the inputs and crashes per
target. Requires the `test` extra (hypothesis).
"""

from __future__ import annotations

import gzip
import io
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from hypothesis import strategies as st
from typer.testing import CliRunner

from leadscore.core.automations import AutomationsError, load_automations_text
from leadscore.core.connectors import ConnectorsError, load_connectors_text
from leadscore.core.loader import ModelError, load_model_text
from leadscore.engine.frames import read_inputs
from leadscore.engine.model_file import load_model_file
from leadscore.engine.readers import InputError, read_events, read_leads
from leadscore.service.connectors import ConfigurationError, load_file
from leadscore.service.costs import CostFileError
from leadscore.service.costs import read_file as read_costs_file
from leadscore.settings import Settings

MODEL_EXAMPLE: dict[str, Any] = {
    "name": "fuzz",
    "fit": {
        "weight": 0.4,
        "max": 100,
        "groups": {"industry": {"max": 25}},
        "rules": [
            {
                "id": "sw",
                "group": "industry",
                "when": {"field": "industry", "in": ["software", "saas"]},
                "points": 25,
            },
            {"id": "boss", "when": {"field": "job_title", "matches": "(?i)ceo|cto"}, "points": 20},
        ],
    },
    "engagement": {
        "weight": 0.6,
        "max": 100,
        "rules": [
            {"id": "open", "event": "email_opened", "points": 5, "max": 30, "half_life": "30d"},
            {
                "id": "pricing",
                "event": "page_viewed",
                "where": {"field": "url", "contains": "/pricing"},
                "points": 20,
                "expires_after": "180d",
            },
            {
                "id": "burst",
                "event": "page_viewed",
                "count": {"at_least": 3, "within": "1d"},
                "points": 15,
            },
            {"id": "idle", "inactive_for": "30d", "points": -5},
        ],
    },
    "grades": {"A": 75, "B": 50, "C": 25, "D": 0},
    "tiers": {"hot": 70, "warm": 40, "cold": 0},
    "stages": [{"name": "sql", "min_score": 70}, {"name": "lead"}],
}

AUTOMATIONS_EXAMPLE: dict[str, Any] = {
    "version": 1,
    "automations": [
        {
            "name": "hot",
            "when": {"score_crossed": {"threshold": 85, "direction": "up"}},
            "conditions": {"field": "country", "in": ["PL", "RO"]},
            "actions": [
                {"notify": {"email": {"to": ["boss@example.com"]}}},
                {"assign_owner": {"team": "sales", "strategy": "round_robin"}},
                {"add_to_list": {"list": "hot"}},
            ],
        },
        {
            "name": "digest",
            "when": {"schedule": {"daily_at": "08:00"}},
            "actions": [{"notify": {"email": {"to": ["boss@example.com"]}}}],
        },
    ],
}

CONNECTORS_EXAMPLE: dict[str, Any] = {
    "hubspot": {
        "sync_every": "15m",
        "push": True,
        "fields": [{"crm": "hs_persona", "lead": "persona", "direction": "in"}],
    },
    "pipedrive": {"sync_every": None, "deals": True},
}

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "30d", "0d", "-1d", "1e309", "NaN", "yes", "NO", "~", "{", "*a"]),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@dataclass(frozen=True)
class Target:
    """One loader under fuzzing."""

    name: str
    call: Callable[[Any], object]
    """Runs the loader on one generated input."""
    clear: tuple[type[BaseException], ...]
    """The errors that are its clear answer."""
    inputs: st.SearchStrategy[Any]
    cost: int = 1
    """How much slower one input is than the others' (a whole command): runs take fewer."""


# --- structured but wrong ---------------------------------------------------------------------


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every node's path in a YAML-like tree (the root's is ())."""
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {k: (_replaced(v, rest, value) if k == head else v) for k, v in data.items()}
    return [(_replaced(v, rest, value) if i == head else v) for i, v in enumerate(data)]


def _deleted(data: Any, path: tuple[Any, ...]) -> Any:
    if len(path) == 1:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k != path[0]}
        return [v for i, v in enumerate(data) if i != path[0]]
    head = path[0]
    if isinstance(data, dict):
        return {k: (_deleted(v, path[1:]) if k == head else v) for k, v in data.items()}
    return [(_deleted(v, path[1:]) if i == head else v) for i, v in enumerate(data)]


@st.composite
def mutated(draw: st.DrawFn, example: dict[str, Any]) -> Any:
    """`example` with one to three nodes replaced by other values, deleted, or given an
    unknown key."""
    data: Any = example
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        how = draw(st.sampled_from(["replace", "delete", "add"]))
        if how == "delete" and path:
            data = _deleted(data, path)
        elif how == "add":
            node = data
            for step in path:
                node = node[step]
            if isinstance(node, dict):
                extra = {draw(st.text(max_size=10)): draw(JSON_VALUES)}
                data = _replaced(data, path, {**node, **extra})
            else:
                data = _replaced(data, path, draw(JSON_VALUES))
        else:
            data = _replaced(data, path, draw(JSON_VALUES))
    return data


def yaml_text(data: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    """Data written as YAML flow (JSON is YAML 1.2), sometimes with a random tail."""
    return st.builds(
        lambda value, tail: json.dumps(value, allow_nan=True) + tail,
        data,
        st.sampled_from(["", "\n", "\n- x", "\n: :", " #", "\n\t"]) | st.text(max_size=5),
    )


def config_texts(example: dict[str, Any]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=300),
        yaml_text(JSON_VALUES),
        yaml_text(mutated(example)),
    )


# --- files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileInput:
    """A file's name (its suffix picks the reader) and bytes."""

    suffix: str
    data: bytes


def _in_temp_file(work: Callable[[Path], object]) -> Callable[[FileInput], object]:
    def call(file: FileInput) -> object:
        with tempfile.TemporaryDirectory(prefix="leadscore-fuzz-") as folder:
            path = Path(folder) / f"input{file.suffix}"
            path.write_bytes(file.data)
            return work(path)

    return call


CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "2026-01-01",
            "2026-13-45T99:00:00Z",
            "1e3",
            "-0",
            "{}",
            '{"a": 1}',
            "[1]",
            "null",
            "é",
            "\x00",
            "\r",
            '"',
            "a,b",
            "  ",
            "NaN",
            "inf",
        ]
    ),
)
LEAD_COLUMNS = ["id", "email", "industry", "job_title", "employees"]
EVENT_COLUMNS = ["lead_id", "type", "occurred_at", "id", "url", "properties"]


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@st.composite
def csv_files(draw: st.DrawFn, columns: list[str]) -> bytes:
    """A CSV with most of the right columns, perhaps a repeated or unknown one, odd cells,
    rows of the wrong length."""
    header = draw(st.lists(st.sampled_from([*columns, "x", ""]), min_size=0, max_size=7))
    if draw(st.booleans()):
        header = columns[: draw(st.integers(1, len(columns)))] + header[:2]
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=len(header) + 1), max_size=6))
    return _csv_text(header, rows).encode("utf-8", "surrogatepass")


@st.composite
def jsonl_files(draw: st.DrawFn, columns: list[str]) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 4)) == 0:
            lines.append(draw(st.text(max_size=20)))
            continue
        record = {c: draw(JSON_VALUES) for c in columns if draw(st.booleans())}
        lines.append(json.dumps(record, allow_nan=True))
    return "\n".join(lines).encode("utf-8", "surrogatepass")


ARROW_COLUMNS = st.sampled_from(
    [
        ("string", pa.string(), st.text(max_size=10) | st.none()),
        ("int", pa.int64(), st.integers(-(2**63), 2**63 - 1) | st.none()),
        ("float", pa.float64(), st.floats() | st.none()),
        ("bool", pa.bool_(), st.booleans() | st.none()),
        ("binary", pa.binary(), st.binary(max_size=10) | st.none()),
        ("null", pa.null(), st.none()),
        ("timestamp", pa.timestamp("us", tz="UTC"), st.integers(-(2**62), 2**62) | st.none()),
        ("list", pa.list_(pa.int64()), st.lists(st.integers(-5, 5), max_size=3) | st.none()),
        (
            "struct",
            pa.struct([("a", pa.int64())]),
            st.builds(lambda a: {"a": a}, st.integers(-5, 5)) | st.none(),
        ),
    ]
)


@st.composite
def parquet_files(draw: st.DrawFn, columns: list[str]) -> bytes:
    """A Parquet file of the right column names with arbitrary column types (or garbage)."""
    if draw(st.integers(0, 5)) == 0:
        return draw(st.binary(max_size=200))
    names = draw(st.lists(st.sampled_from([*columns, "x"]), min_size=1, max_size=6, unique=True))
    height = draw(st.integers(0, 4))
    arrays = []
    for _ in names:
        _kind, arrow_type, values = draw(ARROW_COLUMNS)
        cells = draw(st.lists(values, min_size=height, max_size=height))
        arrays.append(pa.array(cells, type=arrow_type))
    out = io.BytesIO()
    pq.write_table(pa.table(arrays, names=names), out)
    return out.getvalue()


def files(columns: list[str]) -> st.SearchStrategy[FileInput]:
    """Files for a reader of these columns, in each format, sometimes gzipped."""
    shaped = st.one_of(
        st.tuples(st.just(".csv"), csv_files(columns)),
        st.tuples(st.just(".jsonl"), jsonl_files(columns)),
        st.tuples(st.just(".parquet"), parquet_files(columns)),
        st.tuples(st.sampled_from([".csv", ".jsonl", ".parquet"]), st.binary(max_size=300)),
    )
    return st.builds(
        lambda pair, gz: FileInput(
            pair[0] + (".gz" if gz else ""), gzip.compress(pair[1]) if gz else pair[1]
        ),
        shaped,
        st.integers(0, 4).map(lambda n: n == 0),
    )


def _score_inputs(pair: tuple[FileInput, FileInput]) -> object:
    """`leadscore score`'s read of a leads file and an events file (the vectorised readers,
    falling back to the row readers)."""
    model = load_model_text(json.dumps(MODEL_EXAMPLE))
    leads, events = pair
    with tempfile.TemporaryDirectory(prefix="leadscore-fuzz-") as folder:
        leads_path = Path(folder) / f"leads{leads.suffix}"
        events_path = Path(folder) / f"events{events.suffix}"
        leads_path.write_bytes(leads.data)
        events_path.write_bytes(events.data)
        return read_inputs(model, leads_path, events_path)


def _costs_file(data: bytes) -> object:
    return _in_temp_file(read_costs_file)(FileInput(".csv", data))


COST_COLUMNS = ["source", "campaign", "month", "amount", "currency"]
COST_CELLS = st.one_of(
    CELLS,
    st.sampled_from(
        [
            "2026-01",
            "2026-13",
            "0000-00",
            "EUR",
            "PLN",
            "XXX",
            "12.50",
            "-1",
            "1e400",
            "1,5",
            "google",
            "a" * 300,
        ]
    ),
)


@st.composite
def cost_files(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 3)) == 0:
        return draw(st.binary(max_size=200))
    header = (
        COST_COLUMNS
        if draw(st.integers(0, 3))
        else draw(st.lists(st.sampled_from([*COST_COLUMNS, "x"]), max_size=6))
    )
    rows = draw(
        st.lists(
            st.lists(COST_CELLS, min_size=max(len(header) - 1, 0), max_size=len(header) + 1),
            max_size=5,
        )
    )
    return _csv_text(list(header), rows).encode("utf-8", "surrogatepass")


class CommandCrashed(AssertionError):
    """A command that ended in an exception (a traceback), not an exit code."""


class CommandRefused(Exception):
    """A command that printed its error and exited with 2: its clear answer."""


def _command(app: typer.Typer, args: list[str]) -> Callable[[FileInput], object]:
    """Run `leadscore ARGS FILE` in-process: it must exit 0 (valid) or 2 (an error printed),
    never end in an exception."""

    def call(file: FileInput) -> object:
        def run(path: Path) -> object:
            done = CliRunner().invoke(app, [*args, str(path)])
            if done.exit_code not in (0, 2) or (
                done.exception is not None and not isinstance(done.exception, SystemExit)
            ):
                raise CommandCrashed(
                    f"leadscore {' '.join(args)}: exit {done.exit_code}: {done.exception!r}"
                ) from done.exception
            if done.exit_code == 2:
                raise CommandRefused(done.output.strip() or "exit 2 without a message")
            return done.exit_code

        return _in_temp_file(run)(file)

    return call


def _connectors_file(file: FileInput) -> object:
    """The server's read of LEADSCORE_CONNECTORS_FILE at start."""
    return _in_temp_file(lambda p: load_file(Settings(connectors_file=str(p))))(file)


def targets(app: typer.Typer | None = None) -> list[Target]:
    """Every loader and reader under fuzzing; with the `leadscore` command line's `app`
    (leadscore.cli.app, which this layer may not import), its validate commands too."""
    model_bytes = st.one_of(
        st.binary(max_size=300),
        config_texts(MODEL_EXAMPLE).map(lambda t: t.encode("utf-8", "surrogatepass")),
    )

    def as_file(suffix: str, example: dict[str, Any]) -> st.SearchStrategy[FileInput]:
        texts = config_texts(example).map(lambda t: t.encode("utf-8", "surrogatepass"))
        return st.one_of(st.binary(max_size=300), texts).map(lambda b: FileInput(suffix, b))

    commands = (
        []
        if app is None
        else [
            Target(
                "cli validate",
                _command(app, ["validate"]),
                (CommandRefused,),
                as_file(".yaml", MODEL_EXAMPLE),
                cost=4,
            ),
            Target(
                "cli automations validate",
                _command(app, ["automations", "validate"]),
                (CommandRefused,),
                as_file(".yaml", AUTOMATIONS_EXAMPLE),
                cost=4,
            ),
            Target(
                "cli connectors validate",
                _command(app, ["connectors", "validate"]),
                (CommandRefused,),
                as_file(".yaml", CONNECTORS_EXAMPLE),
                cost=4,
            ),
        ]
    )
    return [
        Target("model text", load_model_text, (ModelError,), config_texts(MODEL_EXAMPLE)),
        Target(
            "model file",
            _in_temp_file(load_model_file),
            (ModelError,),
            model_bytes.map(lambda b: FileInput(".yaml", b)),
        ),
        Target(
            "automations text",
            load_automations_text,
            (AutomationsError,),
            config_texts(AUTOMATIONS_EXAMPLE),
        ),
        Target(
            "connectors text",
            load_connectors_text,
            (ConnectorsError,),
            config_texts(CONNECTORS_EXAMPLE),
        ),
        Target(
            "connectors file (server start)",
            _connectors_file,
            (ConnectorsError, ConfigurationError),
            as_file(".yaml", CONNECTORS_EXAMPLE),
        ),
        Target("costs file", _costs_file, (CostFileError,), cost_files()),
        Target("leads file", _in_temp_file(read_leads), (InputError,), files(LEAD_COLUMNS)),
        Target(
            "events file",
            _in_temp_file(lambda p: read_events(p, None)),
            (InputError,),
            files(EVENT_COLUMNS),
        ),
        Target(
            "score inputs",
            _score_inputs,
            (InputError,),
            st.tuples(files(LEAD_COLUMNS), files(EVENT_COLUMNS)),
        ),
        *commands,
    ]
