"""The facts analytics reads (core/analytics.py): the leads created in a period with their
score, tier, stage, creation, first event and first converted and lost outcomes, in one
query; and the first time each of their stages appeared in the score history, in another."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    ScalarSelect,
    and_,
    case,
    exists,
    func,
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


def lead_facts(conn: Connection, start: int, end: int, version: int | None = None) -> list[Row]:
    """One row per scored lead created in [start, end): pk, score, tier, stage, created_at,
    first_event_at, converted_at and its value, lost_at (the first of each). The score and
    tier are the current ones, or with `version` those of the lead's latest score history
    row under that model version (leads it never scored left out)."""

    def first(outcome: str, column: ColumnElement[Any]) -> ScalarSelect[Any]:
        """A correlated look-up on the (lead_pk, outcome, occurred_at) unique index."""
        return (
            select(column)
            .where(and_(outcomes.c.lead_pk == leads.c.pk, outcomes.c.outcome == outcome))
            .order_by(outcomes.c.occurred_at)
            .limit(1)
            .scalar_subquery()
        )

    first_event = (
        select(func.min(events.c.occurred_at))
        .where(events.c.lead_pk == leads.c.pk)  # the (lead_pk, occurred_at) index
        .scalar_subquery()
    )
    score: ColumnElement[Any] = leads.c.score
    tier: ColumnElement[Any] = leads.c.tier
    if version is not None:
        score = _recorded("score", version)
        tier = _recorded("tier", version)
    query = (
        select(
            leads.c.pk,
            score.label("score"),
            tier.label("tier"),
            leads.c.stage,
            leads.c.created_at,
            first_event.label("first_event_at"),
            first("converted", outcomes.c.occurred_at).label("converted_at"),
            first("converted", outcomes.c.value).label("value"),
            first("lost", outcomes.c.occurred_at).label("lost_at"),
        )
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


def predictions(conn: Connection, start: int, end: int) -> list[Row]:
    """pk, explanation and whether converted, for the scored leads created in [start, end)
    (the predicted probability is the explanation's `predictive` line)."""
    converted = exists(
        select(outcomes.c.pk).where(
            and_(outcomes.c.lead_pk == leads.c.pk, outcomes.c.outcome == "converted")
        )
    )
    query = (
        select(leads.c.pk, leads.c.explanation, converted.label("converted"))
        .where(and_(_in_period(start, end), leads.c.model_version.is_not(None)))
        .order_by(leads.c.pk)
    )
    return list(conn.execute(query))
