"""The three tables of SPEC §3 (leads, events, outcomes), built from a chunk's codes.

Strings first appear here: names, e-mail addresses, titles and ids are assembled with polars
expressions over whole columns, as generation itself is, rather than row by row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from leadscore.demo.events import Calendar
from leadscore.demo.leads import Companies, Leads
from leadscore.demo.vocabulary import FIRST_NAMES, FREE_DOMAINS, LAST_NAMES, VOCAB, decode, shares


@dataclass(frozen=True)
class DemoData:
    """Leads, events and outcomes as in SPEC §3, and the hidden propensity of each lead row."""

    leads: pl.DataFrame
    events: pl.DataFrame
    outcomes: pl.DataFrame
    propensity: np.ndarray


def _addresses(
    leads: Leads, frame: pl.DataFrame, co: Companies, rng: np.random.Generator, seen: pl.Series
) -> tuple[pl.Series, pl.Series]:
    """E-mail addresses from name and domain; repeats get the lead number, so all are unique."""
    m = len(leads.index)
    free = rng.choice(len(FREE_DOMAINS), m, p=shares(FREE_DOMAINS))
    pattern = np.where(leads.email_kind == 1, 6 + rng.integers(0, 5, m), co.pattern[leads.company])
    f, last = pl.col("first_name").str.to_lowercase(), pl.col("last_name").str.to_lowercase()
    fi, digits = f.str.slice(0, 1), pl.col("digits").cast(pl.String)
    forms = [
        f + "." + last,
        fi + last,
        f,
        f + last.str.slice(0, 1),
        f + "_" + last,
        fi + "." + last,
        f + "." + last,
        f + last,
        f + "." + last + digits,
        fi + last + digits,
        f + last + digits,
    ]
    local = pl.lit(None, pl.String)
    for code in reversed(range(len(forms))):
        local = pl.when(pl.col("pattern") == code).then(forms[code]).otherwise(local)
    emails = frame.with_columns(
        pattern=pattern,
        digits=rng.integers(10, 100, m),
        number=leads.index + 1,
        domain=pl.when(pl.lit(leads.email_kind) == 1)
        .then(decode(VOCAB["free"], free))
        .otherwise(decode(co.domain, leads.company)),
    ).select(local=local, domain="domain", number="number", none=pl.lit(leads.email_kind == 2))
    emails = emails.with_columns(email=pl.col("local") + "@" + pl.col("domain"))
    taken = ~pl.col("email").is_first_distinct() | pl.col("email").is_in(seen.implode())
    result = emails.select(
        pl.when("none")
        .then(None)
        .when(taken)
        .then(pl.concat_str("local", pl.lit("_"), "number", pl.lit("@"), "domain"))
        .otherwise("email")
    ).to_series()
    shout = pl.Series(rng.random(m) < 0.02)
    return result.zip_with(~shout, result.str.to_titlecase()), result.drop_nulls()


def lead_frame(
    leads: Leads, co: Companies, rng: np.random.Generator, width: int, seen: pl.Series
) -> tuple[pl.DataFrame, pl.Series]:
    names = pl.DataFrame(
        {
            "first_name": decode(
                VOCAB["first"], rng.integers(0, len(FIRST_NAMES), len(leads.index))
            ),
            "last_name": decode(VOCAB["last"], rng.integers(0, len(LAST_NAMES), len(leads.index))),
        }
    )
    email, used = _addresses(leads, names, co, rng, seen)
    case = rng.random(len(leads.index))
    title = decode(VOCAB["title"], leads.title)
    title = pl.select(
        pl.when(pl.lit(case < 0.06))
        .then(pl.lit(title).str.to_lowercase())
        .when(pl.lit(case < 0.08))
        .then(pl.lit(title).str.to_uppercase())
        .otherwise(pl.lit(title))
    ).to_series()
    frame = pl.DataFrame(
        {
            "id": _ids("L", leads.index + 1, width),
            "email": email,
            "first_name": names["first_name"],
            "last_name": names["last_name"],
            "company": decode(co.name, leads.company),
            "industry": decode(VOCAB["industry"], leads.industry),
            "employees": pl.Series(leads.employees).set(pl.Series(leads.employees < 0), None),
            "job_title": title,
            "country": decode(VOCAB["country"], leads.country),
            "source": decode(VOCAB["source"], leads.source),
            "created_at": _timestamps(leads.created),
        }
    )
    return frame, used


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    return prefix + pl.Series(numbers, dtype=pl.Int64).cast(pl.String).str.zfill(width)


def event_frame(
    ev: dict[str, np.ndarray], lead_ids: pl.Series, cal: Calendar, first_number: int
) -> pl.DataFrame:
    n = len(ev["lead"])
    return pl.DataFrame(
        {
            "id": _ids("E", np.arange(first_number, first_number + n), 10),
            "lead_id": lead_ids.gather(ev["lead"]),
            "type": decode(VOCAB["type"], ev["type"]),
            "occurred_at": _timestamps(ev["t"]),
            "source": decode(VOCAB["event_source"], ev["type"]),
            "url": decode(VOCAB["url"], ev["url"]),
            "content_type": decode(VOCAB["content"], ev["content"]),
            "campaign": decode(cal.campaigns, ev["campaign"]),
            "webinar": decode(cal.webinars, ev["webinar"]),
        }
    )


def outcome_frame(rng: np.random.Generator, leads: Leads, lead_ids: pl.Series) -> pl.DataFrame:
    """Won deals are worth more at bigger companies; lost ones have no value."""
    size = np.log(np.maximum(leads.employees, 1) + 1.0)
    value = np.round(rng.lognormal(7.6 + 0.3 * size, 0.5), -1)
    decided = np.flatnonzero(leads.decided)
    won = leads.converted[decided]
    return pl.DataFrame(
        {
            "lead_id": lead_ids.gather(decided),
            "outcome": pl.Series(np.where(won, "converted", "lost")),
            "occurred_at": _timestamps(leads.stop[decided]),
            "value": pl.Series(value[decided]).set(pl.Series(~won), None),
        }
    )


def _timestamps(us: np.ndarray) -> pl.Series:
    return pl.Series(us, dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
