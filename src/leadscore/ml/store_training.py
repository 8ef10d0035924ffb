"""Training a conversion model on the service's own history (SPEC §7, "from the store").

The history comes in as frames (`History`, read by store/training.py); nothing here reads
the database. Rows are the leads with an outcome; the label is the lead's *first* outcome
(`converted` is positive, `lost` negative; leads without an outcome are not training rows).
Features are:

- the lead's attributes (the `attributes` JSON of `leads`, one column per name); attributes
  holding dates become "days since NAME" at the cutoff;
- `email_is_free` (a consumer mailbox such as gmail.com), from the lead's e-mail;
- event aggregates (`ml.aggregates`): counts, counts in the last 30 days and days since the
  latest event per event type, plus totals.

The cutoff of a training row is its outcome's `occurred_at`: only events strictly before it
count, and dates are measured back from it, so nothing recorded after the outcome can inform
the model. At prediction the cutoff is the scoring time. Stored score, grade, tier and stage
columns are never read. The rest (cross-validation, choice of estimator, calibration, the
leakage guard, the card) is `ml.train.train`, exactly as for a file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from leadscore.core.records import FREE_EMAIL_DOMAINS
from leadscore.ml import aggregates
from leadscore.ml import columns as col
from leadscore.ml.errors import MLInputError

SOURCE = "the store"
ID = "lead_id"
TARGET = "outcome"
POSITIVE = "converted"
EMAIL_IS_FREE = "email_is_free"
DAYS_SINCE = "days since {}"
PERSONAL = frozenset(
    {"first_name", "last_name", "name", "full_name", "firstname", "lastname", "phone", "mobile"}
)
"""Attributes never used as features: personal names and numbers carry no signal about a
company's intent, and a model must not score people by their name."""


@dataclass
class History:
    """Leads with their first outcome, and their events before it."""

    leads: pl.DataFrame  # id, email, one column per attribute (store.frames.attributes_frame)
    outcomes: pl.DataFrame  # lead_id, outcome, occurred_at (µs): the first one per lead
    events: pl.DataFrame  # lead_id, type, occurred_at (µs)


@dataclass
class Preparation:
    """How raw leads and events become the feature table; fixed at training, stored as JSON."""

    attributes: list[str]
    dates: list[str] = field(default_factory=list)
    event_types: list[str] = field(default_factory=list)
    email_flag: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preparation:
        return cls(**data)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- the feature table -----------------------------------------------------------------


def _as_text_or_native(series: pl.Series) -> pl.Series:
    """Object columns (mixed Python values) as text; native columns as they are."""
    if series.dtype == pl.Object:
        values = [None if v is None else _text(v) for v in series.to_list()]
        return pl.Series(series.name, values, dtype=pl.String)
    return series


def _is_date(series: pl.Series) -> bool:
    series = _as_text_or_native(series)
    if col.is_temporal_dtype(series.dtype):
        return True
    return series.dtype == pl.String and col.looks_like_datetime(col.clean_text(series))


def fit_preparation(
    history_leads: pl.DataFrame, events: pl.DataFrame, cutoffs: pl.DataFrame
) -> Preparation:
    """Decide the attribute columns, which of them are dates, and the event types."""
    attributes = [
        c
        for c in history_leads.columns
        if c not in ("id", "email") and c.strip().lower().replace(" ", "_") not in PERSONAL
    ]
    dates = [c for c in attributes if _is_date(history_leads[c])]
    email_flag = "email" in history_leads.columns
    return Preparation(
        attributes=attributes,
        dates=dates,
        event_types=aggregates.training_types(events, cutoffs),
        email_flag=email_flag,
    )


def email_is_free(emails: pl.Series) -> pl.Series:
    """True for consumer mailboxes, False for company domains, null without an e-mail."""
    domain = emails.cast(pl.String).str.strip_chars().str.to_lowercase().str.split("@").list.last()
    free = domain.is_in(list(FREE_EMAIL_DOMAINS))
    return pl.select(pl.when(domain.is_null()).then(None).otherwise(free)).to_series()


def feature_frame(
    prep: Preparation,
    lead_frame: pl.DataFrame,
    events: pl.DataFrame | None,
    cutoffs: pl.DataFrame,
) -> pl.DataFrame:
    """`lead_id` and the feature columns, one row per lead in the order of `lead_frame`
    (`id`, optional `email`, attribute columns), each cut at its row of `cutoffs`
    (`lead_id`, `cutoff` µs, same order). Absent attributes are missing values."""
    n = lead_frame.height
    cutoff_seconds = cutoffs["cutoff"].cast(pl.Float64).to_numpy() / 1e6
    columns: list[pl.Series] = [pl.Series(ID, lead_frame["id"].cast(pl.String))]
    for name in prep.attributes:
        if name in lead_frame.columns:
            series = _as_text_or_native(lead_frame[name])
        else:
            series = pl.Series(name, [None] * n, dtype=pl.String)
        if name in prep.dates:
            seconds = col.to_epoch_seconds(series)
            days = (cutoff_seconds - seconds) / 86400.0
            series = pl.Series(DAYS_SINCE.format(name), days).fill_nan(None)
        columns.append(series)
    if prep.email_flag:
        emails = (
            lead_frame["email"]
            if "email" in lead_frame.columns
            else pl.Series("email", [None] * n, dtype=pl.String)
        )
        columns.append(email_is_free(emails).alias(EMAIL_IS_FREE))
    table = pl.DataFrame(columns)
    aggregated = aggregates.aggregate_events(cutoffs, events, prep.event_types)
    return pl.concat([table, aggregated.drop("lead_id")], how="horizontal")


def training_table(history: History) -> tuple[pl.DataFrame, Preparation]:
    """One row per lead with an outcome: `lead_id`, `outcome` (converted/lost), features."""
    if history.outcomes.height == 0:
        raise MLInputError(
            "the store holds no outcomes: mark leads converted or lost first "
            "(POST /api/v1/outcomes or `leadscore import outcomes FILE`)"
        )
    counts = history.outcomes["outcome"].value_counts()
    kinds = dict(zip(counts["outcome"].to_list(), counts["count"].to_list(), strict=True))
    if len(kinds) < 2:
        (only, n), *_ = kinds.items()
        raise MLInputError(
            f"all {n} outcomes in the store are {only!r}: need both converted and lost "
            "leads to train"
        )
    rows = history.leads.join(
        history.outcomes.rename({"lead_id": "id"}), on="id", how="inner", maintain_order="left"
    )
    cutoffs = rows.select(pl.col("id").alias("lead_id"), pl.col("occurred_at").alias("cutoff"))
    lead_frame = rows.drop("outcome", "occurred_at")
    prep = fit_preparation(lead_frame, history.events, cutoffs)
    table = feature_frame(prep, lead_frame, history.events, cutoffs)
    table = table.insert_column(1, rows["outcome"].alias(TARGET))
    return table, prep


def describe_history(history: History, table: pl.DataFrame) -> dict[str, Any]:
    """What the card says about the store data."""
    outcome = table[TARGET]
    return {
        "leads_with_outcomes": table.height,
        "converted": int((outcome == POSITIVE).sum()),
        "lost": int((outcome != POSITIVE).sum()),
        "events_before_outcome": history.events.height,
        "label": "the lead's first outcome: converted = positive, lost = negative",
        "cutoff": "each lead's features use only events before its outcome's time; dates "
        "are measured back from that time",
        "event_window_days": aggregates.WINDOW_DAYS,
    }


@dataclass
class StoreTrained:
    """A model trained from the store: the fitted estimators and JSON-ready meta and card."""

    model: dict[str, Any]
    meta: dict[str, Any]
    card: dict[str, Any]
    prep: Preparation


def train_from_history(
    history: History,
    *,
    trained_at: str,
    exclude: list[str] | None = None,
    seed: int = 42,
    folds: int | None = None,
    use_lightgbm: bool | None = None,
) -> StoreTrained:
    """Build the table from the store's history and train as `leadscore train` does on a
    file."""
    from leadscore.ml import card
    from leadscore.ml.train import TrainOptions, train

    table, prep = training_table(history)
    options = TrainOptions(
        target=TARGET,
        positive=POSITIVE,
        exclude=list(exclude or []),
        id_column=ID,
        seed=seed,
        folds=folds,
        use_lightgbm=use_lightgbm,
    )
    result = train(table, options, source=SOURCE, trained_at=trained_at)
    result.report["data"]["store"] = describe_history(history, table)
    result.report["features"]["dropped"] += [
        {"column": c, "reason": "a personal name or number: never a feature"}
        for c in history.leads.columns
        if c not in ("id", "email") and c not in prep.attributes
    ]
    meta = {**result.meta, "source": "store", "store": prep.to_dict()}
    return StoreTrained(model=result.model, meta=meta, card=card.build(result.report), prep=prep)
