"""The facts analytics reads (core/analytics.py), aggregated in SQL where the figure allows:
the period's leads counted by score and tier with their conversions (GROUP BY), the converted
ones one by one, attribution by source and campaign (GROUP BY), costs by month, the deciles
of the predicted probability (NTILE); and, for the funnel only, every lead with its first
event and outcomes and the first time each stage appeared in its score history."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    ScalarSelect,
    Select,
    and_,
    case,
    exists,
    func,
    literal_column,
    select,
)

from leadscore.store.database import Row
from leadscore.store.tables import costs, events, leads, outcomes, score_history


def _in_period(start: int, end: int) -> ColumnElement[bool]:
    return and_(leads.c.created_at >= start, leads.c.created_at < end)


def _recorded(column: str, version: int) -> ScalarSelect[Any]:
    """A lead's `column` in its latest score history row written by model `version` (a
    correlated look-up on the (lead_pk, at) index)."""
    h = score_history.alias("recorded")
    return (
        select(h.c[column])
        .where(and_(h.c.lead_pk == leads.c.pk, h.c.model_version == version))
        .order_by(h.c.at.desc(), h.c.pk.desc())
        .limit(1)
        .scalar_subquery()
    )


def _scored(version: int | None) -> ColumnElement[bool]:
    """The leads with a score: any, or one recorded under `version`."""
    if version is None:
        return leads.c.model_version.is_not(None)
    h = score_history.alias("recorded")  # not the outer query's score_history
    return exists(
        select(h.c.pk).where(and_(h.c.lead_pk == leads.c.pk, h.c.model_version == version))
    )


def _facts(d: Any, version: int | None) -> Select[Any]:
    """The columns of a lead's facts: pk, score, tier, created_at, first_event_at (looked up
    on the (lead_pk, occurred_at) index), converted_at and lost_at from `d` (`_decided`)."""
    first_event = (
        select(func.min(events.c.occurred_at))
        .where(events.c.lead_pk == leads.c.pk)
        .scalar_subquery()
    )
    score, tier = _score_tier(version)
    return select(
        leads.c.pk,
        score.label("score"),
        tier.label("tier"),
        leads.c.created_at,
        first_event.label("first_event_at"),
        d.c.converted_at,
        d.c.lost_at,
    )


def lead_facts(conn: Connection, start: int, end: int, version: int | None = None) -> list[Row]:
    """One row per scored lead created in [start, end): pk, score, tier, created_at,
    first_event_at, converted_at and lost_at (the first of each). The score and
    tier are the current ones, or with `version` those of the lead's latest score history
    row under that model version (leads it never scored left out)."""

    d = _decided()
    query = (
        _facts(d, version)
        .select_from(leads.outerjoin(d, d.c.lead_pk == leads.c.pk))
        .where(and_(_in_period(start, end), _scored(version)))
        .order_by(leads.c.pk)
    )
    return list(conn.execute(query))


def stage_firsts(
    conn: Connection, start: int, end: int, version: int | None = None
) -> dict[int, dict[str, int]]:
    """lead pk → {stage: the first time its score history showed it}, for the leads created
    in [start, end)."""
    h = score_history
    query = (
        select(h.c.lead_pk, h.c.stage, func.min(h.c.at))
        .join(leads, leads.c.pk == h.c.lead_pk)
        .where(and_(_in_period(start, end), h.c.stage.is_not(None), _scored(version)))
        .group_by(h.c.lead_pk, h.c.stage)
    )
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for lead_pk, stage, at in conn.execute(query):
        found[lead_pk][stage] = at
    return dict(found)


def attribution(conn: Connection, start: int, end: int, version: int | None = None) -> list[Row]:
    """Per source and campaign (the lead attribute `campaign`), the scored leads created in
    [start, end): leads, converted (a converted outcome at any time), revenue (the sum of
    the values of all their converted outcomes) and valued (converted leads with a value).
    One GROUP BY over the period's leads joined to the converted outcomes per lead."""
    o = outcomes
    won = (
        select(
            o.c.lead_pk,
            func.sum(o.c.value).label("revenue"),
            func.count(o.c.value).label("with_value"),
        )
        .where(o.c.outcome == "converted")
        .group_by(o.c.lead_pk)
        .subquery()
    )
    campaign = leads.c.attributes["campaign"].as_string()
    query = (
        select(
            leads.c.source,
            campaign.label("campaign"),
            func.count().label("leads"),
            func.count(won.c.lead_pk).label("converted"),
            func.coalesce(func.sum(won.c.revenue), 0.0).label("revenue"),
            func.coalesce(func.sum(case((won.c.with_value > 0, 1), else_=0)), 0).label("valued"),
        )
        .select_from(leads.outerjoin(won, won.c.lead_pk == leads.c.pk))
        .where(and_(_in_period(start, end), _scored(version)))
        .group_by(leads.c.source, campaign)
    )
    return list(conn.execute(query))


def cost_totals(conn: Connection, first_month: str, last_month: str) -> list[Row]:
    """source, campaign ('' for the whole source), currency and the sum of amount_minor over
    the months from `first_month` to `last_month` (YYYY-MM, both included)."""
    c = costs
    query = (
        select(c.c.source, c.c.campaign, c.c.currency, func.sum(c.c.amount_minor).label("minor"))
        .where(and_(c.c.month >= first_month, c.c.month <= last_month))
        .group_by(c.c.source, c.c.campaign, c.c.currency)
    )
    return list(conn.execute(query))


def _decided() -> Any:
    """Per lead with outcomes: its first converted and first lost time (one pass over the
    outcomes, GROUP BY lead_pk, joined by hash rather than looked up lead by lead)."""
    o = outcomes
    return (
        select(
            o.c.lead_pk,
            func.min(case((o.c.outcome == "converted", o.c.occurred_at))).label("converted_at"),
            func.min(case((o.c.outcome == "lost", o.c.occurred_at))).label("lost_at"),
        )
        .group_by(o.c.lead_pk)
        .subquery("decided")
    )


def _score_tier(version: int | None) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    if version is None:
        return leads.c.score, leads.c.tier
    return _recorded("score", version), _recorded("tier", version)


def score_counts(conn: Connection, start: int, end: int, version: int | None = None) -> list[Row]:
    """score, tier, leads, converted and lost (never converted) of the scored leads created
    in [start, end), GROUP BY score and tier (scores have 2 decimals: a few thousand rows)."""
    d = _decided()
    score, tier = _score_tier(version)
    inner = (
        select(
            score.label("score"),
            tier.label("tier"),
            d.c.converted_at,
            d.c.lost_at,
        )
        .select_from(leads.outerjoin(d, d.c.lead_pk == leads.c.pk))
        .where(and_(_in_period(start, end), _scored(version)))
        .subquery("scored")
    )
    lost_only = case(
        (and_(inner.c.lost_at.is_not(None), inner.c.converted_at.is_(None)), 1), else_=0
    )
    query = select(
        inner.c.score,
        inner.c.tier,
        func.count().label("leads"),
        func.count(inner.c.converted_at).label("converted"),
        func.coalesce(func.sum(lost_only), 0).label("lost"),
    ).group_by(inner.c.tier, inner.c.score)  # tier first: SQLite would otherwise walk the
    # (score, pk) index to spare the GROUP BY its sort, reading the rows in score order
    # (a covering index on the period's columns was tried and dropped: every score write
    # paid for it, +9 % on a recompute, docs/performance.md)
    return list(conn.execute(query))


def converted_facts(
    conn: Connection, start: int, end: int, version: int | None = None
) -> list[Row]:
    """The converted ones of the scored leads created in [start, end): score, tier,
    created_at, first_event_at, converted_at, lost_at (the first event looked up only for
    them, on the (lead_pk, occurred_at) index)."""
    d = _decided()
    query = (
        _facts(d, version)
        .select_from(leads.join(d, d.c.lead_pk == leads.c.pk))
        .where(and_(_in_period(start, end), _scored(version), d.c.converted_at.is_not(None)))
    )
    return list(conn.execute(query))


def _probability(conn: Connection) -> ColumnElement[Any]:
    """The probability in a lead's explanation (its `predictive` line's raw), read by the
    database's own JSON functions."""
    if conn.dialect.name == "postgresql":
        return literal_column(
            "(jsonb_path_query_first(leads.explanation,"
            " '$[*] ? (@.kind == \"predictive\").raw'))::float8"
        )
    return literal_column(
        "(SELECT json_extract(line.value, '$.raw') FROM json_each(leads.explanation) AS line"
        " WHERE json_extract(line.value, '$.kind') = 'predictive' LIMIT 1)"
    )


def calibration_deciles(conn: Connection, start: int, end: int) -> list[Row]:
    """The scored leads created in [start, end) with a predicted probability, by NTILE(10)
    over (probability, pk): number (1–10), leads, converted, total, low and high of their
    probabilities; and one row with `number` 0 counting those without a probability (no
    stored explanation, or no predictive line in it). One pass over the leads."""
    d = _decided()
    p = _probability(conn).label("p")
    with_p = (
        select(leads.c.pk, p, d.c.converted_at)
        .select_from(leads.outerjoin(d, d.c.lead_pk == leads.c.pk))
        .where(and_(_in_period(start, end), leads.c.model_version.is_not(None)))
        .cte("predicted")
        .prefix_with("MATERIALIZED")  # read each explanation once, not once per use of p
    )
    missing = with_p.c.p.is_(None)
    tiled = select(
        with_p.c.p,
        with_p.c.converted_at,
        case(
            (missing, 0),
            else_=func.ntile(10).over(partition_by=missing, order_by=(with_p.c.p, with_p.c.pk)),
        ).label("tile"),
    ).subquery("tiled")
    query = (
        select(
            tiled.c.tile.label("number"),
            func.count().label("leads"),
            func.count(tiled.c.converted_at).label("converted"),
            func.sum(tiled.c.p).label("total"),
            func.min(tiled.c.p).label("low"),
            func.max(tiled.c.p).label("high"),
        )
        .group_by(tiled.c.tile)
        .order_by(tiled.c.tile)
    )
    return list(conn.execute(query))


def lead_count_bound(conn: Connection) -> int:
    """At least the number of leads (the highest key: one index step, not a count of a
    million rows); deleted leads make it larger, never smaller."""
    return int(conn.execute(select(func.max(leads.c.pk))).scalar() or 0)
