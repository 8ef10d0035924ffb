"""History for tuning: leads, their events and their outcomes, read from files.

An outcome row says a lead converted (won) or was lost at a time. Each lead is looked at
just before its outcome (`stop` = outcome time − 1 µs), so no event recorded at or after the
outcome can leak into the evidence; open leads are looked at up to the end of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from leadscore.core.records import Event, Lead
from leadscore.core.timestamps import TimestampError, parse_instant, to_micros
from leadscore.engine.readers import InputError, read_events, read_leads, read_rows, text_id

WEEK_US = 7 * 86_400 * 1_000_000
DAY_US = 86_400 * 1_000_000
CONVERTED = frozenset({"converted", "won"})
LOST = frozenset({"lost"})
OPEN = frozenset({"", "open"})


@dataclass(frozen=True, slots=True)
class Outcome:
    converted: bool
    at: int
    """Epoch microseconds, UTC."""


@dataclass(frozen=True)
class History:
    leads: list[Lead]
    """In the order of the leads file."""
    events: dict[str, list[Event]]
    """Per lead id, sorted by time."""
    outcomes: dict[str, Outcome]
    """Decided leads only (outcomes after `end` are left out: those leads are open)."""
    start: int
    end: int
    """The end of the data: --as-of, else the latest event or outcome."""

    @property
    def decided(self) -> list[Lead]:
        return [lead for lead in self.leads if lead.id in self.outcomes]

    def stop(self, lead_id: str) -> int:
        """The moment a lead is judged at: just before its outcome, else the data end."""
        outcome = self.outcomes.get(lead_id)
        return outcome.at - 1 if outcome is not None else self.end

    @property
    def weeks(self) -> float:
        """Weeks the history spans (at least one)."""
        return max(1.0, (self.end - self.start) / WEEK_US)

    def labels(self) -> list[bool]:
        """converted? for each decided lead, in file order."""
        return [self.outcomes[lead.id].converted for lead in self.decided]


def load_history(
    leads_path: str | Path,
    events_path: str | Path | None,
    outcomes_path: str | Path,
    as_of: int | None = None,
) -> History:
    """Read the three files; raises InputError naming the file and line of a bad row."""
    leads = read_leads(leads_path)
    ids = {lead.id for lead in leads}
    events = read_events(events_path, ids) if events_path is not None else {}
    for items in events.values():
        items.sort(key=lambda e: e.occurred_at)
    outcomes = read_outcomes(outcomes_path, ids)
    moments = [e.occurred_at for items in events.values() for e in items]
    moments += [o.at for o in outcomes.values()]
    if not moments and as_of is None:
        raise InputError(outcomes_path, None, "no outcome has a time and there are no events")
    end = as_of if as_of is not None else max(moments)
    start = min([m for m in moments if m <= end], default=end)
    decided = {k: o for k, o in outcomes.items() if o.at <= end}
    return History(leads, events, decided, start, end)


def read_outcomes(path: str | Path, lead_ids: set[str]) -> dict[str, Outcome]:
    """lead_id → Outcome; `open` or empty outcomes are skipped; anything odd is an error."""
    found: dict[str, Outcome] = {}
    seen: dict[str, str] = {}
    for row in read_rows(path, required=("lead_id", "outcome", "occurred_at")):
        values = row.values
        lead_id = text_id(values.get("lead_id"))
        if lead_id is None:
            raise InputError(path, row.where, "lead_id is empty")
        if lead_id not in lead_ids:
            raise InputError(path, row.where, f"lead {lead_id!r} is not in the leads file")
        if lead_id in seen:
            raise InputError(path, row.where, f"lead {lead_id!r} repeats {seen[lead_id]}")
        seen[lead_id] = row.where
        word = (text_id(values.get("outcome")) or "").strip().lower()
        if word in OPEN:
            continue
        if word not in CONVERTED | LOST:
            raise InputError(
                path, row.where, f"outcome must be converted, won, lost or open, not {word!r}"
            )
        at = _moment(path, row.where, values.get("occurred_at"))
        found[lead_id] = Outcome(word in CONVERTED, at)
    return found


def _moment(path: str | Path, where: str, value: object) -> int:
    if isinstance(value, datetime | date):
        return to_micros(value)
    if value is None:
        raise InputError(path, where, "occurred_at is empty")
    try:
        return parse_instant(str(value))
    except TimestampError as exc:
        raise InputError(path, where, f"occurred_at {exc}") from None


SCORE_COLUMNS = ("probability", "score")


def read_scores(path: str | Path) -> dict[str, float]:
    """lead_id → the `probability` column (else `score`) of a scores file (CSV/JSONL/Parquet)."""
    found: dict[str, float] = {}
    column = None
    for row in read_rows(path, required=("lead_id",)):
        if column is None:
            column = next((c for c in SCORE_COLUMNS if c in row.values), None)
            if column is None:
                raise InputError(path, row.where, "needs a probability or a score column")
        lead_id = text_id(row.values.get("lead_id"))
        if lead_id is None:
            raise InputError(path, row.where, "lead_id is empty")
        if lead_id in found:
            raise InputError(path, row.where, f"lead {lead_id!r} appears twice")
        value = row.values.get(column)
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(path, row.where, f"{column} {value!r} is not a number") from None
        if number != number:
            raise InputError(path, row.where, f"{column} is not a number (NaN)")
        found[lead_id] = number
    if column is None:
        raise InputError(path, None, "the file has no rows")
    return found
