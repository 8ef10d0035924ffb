"""Who the leads are: companies, people and titles, the hidden propensity and the outcome.

The propensity, the probability that a lead converts once decided, is the sigmoid of fit effects
plus noise. The same logit sets how much a lead engages (heat) and seeks sales contact (buy),
which drives its events, so that a score has a real signal to find.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from leadscore.demo.sampling import DAY, SECOND, YEAR, member, pick, sigmoid, starts, stream
from leadscore.demo.vocabulary import (
    CLASS_EFFECT,
    CLASS_SIZES,
    COMPETITOR,
    COUNTRIES,
    EDUCATION,
    EMAIL_KIND,
    EXEC,
    GOVERNMENT,
    INDUSTRIES,
    INTERN,
    INTERN_TITLE,
    JOB_SEEKER,
    JOB_SEEKER_TITLE,
    NAME_WORDS,
    NONPROFIT,
    NORMAL,
    PERSONA_BUY,
    PERSONA_HEAT,
    PERSONA_SHARE,
    RIVAL,
    SOFTWARE,
    SOURCES,
    STUDENT,
    STUDENT_TITLE,
    SUFFIXES,
    TITLE_GROUPS,
    TITLE_SHARE,
    TLDS,
    UNIVERSITIES,
    WORD_INDUSTRY,
    WORDS,
    column,
    shares,
    vocab,
)

HEAT_REF = -2.4  # typical logit of an ordinary lead: heat is the logit relative to it
LOGIT_BASE = -3.0  # calibrated so that about 10% of decided leads convert


@dataclass(frozen=True)
class Companies:
    """One run's companies, shared by its chunks: the pool, universities, the competitor."""

    name: pl.Series  # vocabularies (null first)
    domain: pl.Series
    industry: np.ndarray
    employees: np.ndarray
    country: np.ndarray
    pattern: np.ndarray  # the house style of e-mail addresses
    cdf: np.ndarray  # cumulative pick weights of the pool: big companies bring more leads

    @property
    def university(self) -> int:
        return len(self.cdf)

    @property
    def competitor(self) -> int:
        return len(self.cdf) + len(UNIVERSITIES)


def draw_companies(n_leads: int, seed: int) -> Companies:
    """About one company per four leads, named like 'Cedar Analytics' or 'Novasoft Inc'."""
    rng = stream(seed, 0)
    size = max(50, n_leads // 4)
    keys = _company_keys(rng, size)
    word, rest = keys % len(WORDS), keys // len(WORDS)
    first, second = rest % len(NAME_WORDS), rest // len(NAME_WORDS)
    industry, country = WORD_INDUSTRY[word], rng.choice(len(COUNTRIES), size, p=shares(COUNTRIES))
    suffix = rng.choice(len(SUFFIXES), size, p=shares(SUFFIXES))
    suffix[np.isin(industry, (EDUCATION, GOVERNMENT, NONPROFIT))] = 0
    parts = pl.DataFrame(
        {
            "second": pl.Series([*(f"{w} " for w in NAME_WORDS), ""]).gather(second),
            "first": pl.Series(NAME_WORDS).gather(first),
            "word": pl.Series([w if w.islower() else f" {w}" for w in WORDS]).gather(word),
            "suffix": pl.Series(column(SUFFIXES, 0)).gather(suffix),
            "tld": _tld(rng, industry, country),
        }
    )
    name = parts.select(pl.concat_str("second", "first", "word", "suffix")).to_series()
    domain = parts.select(
        pl.concat_str("second", "first", "word").str.to_lowercase().str.replace_all(" ", "")
        + pl.col("tld")
    ).to_series()
    employees = np.clip(np.rint(rng.lognormal(3.6, 1.9, size)), 1, 50_000).astype(np.int64)
    extras = [*UNIVERSITIES, COMPETITOR]
    n_uni = len(UNIVERSITIES)
    return Companies(
        name=pl.concat([vocab(name), pl.Series(column(extras, 0))]),
        domain=pl.concat([vocab(domain), pl.Series(column(extras, 1))]),
        industry=np.concatenate([industry, [EDUCATION] * n_uni, [SOFTWARE]]),
        employees=np.concatenate([employees, rng.integers(800, 20_000, n_uni), [850]]),
        country=np.concatenate([country, rng.integers(0, 2, n_uni), [0]]),
        pattern=np.concatenate(
            [
                rng.choice(6, size, p=[0.45, 0.2, 0.1, 0.1, 0.05, 0.1]),
                np.zeros(len(extras), np.int64),
            ]
        ),
        cdf=np.cumsum(employees**0.4),
    )


def _company_keys(rng: np.random.Generator, size: int) -> np.ndarray:
    """Distinct (second name word, first name word, industry word) keys, in draw order."""
    n_names, keys = len(NAME_WORDS), np.empty(0, np.int64)
    while len(keys) < size:
        k = 2 * size
        industry = rng.choice(len(INDUSTRIES), k, p=shares(INDUSTRIES))
        word = member(rng, industry, column(INDUSTRIES, 3))
        first = rng.integers(0, n_names, k)
        second = np.where(rng.random(k) < 0.35, rng.integers(0, n_names, k), n_names)
        second[second == first] = n_names  # n_names: no second word
        drawn = np.concatenate([keys, (second * n_names + first) * len(WORDS) + word])
        keys = drawn[np.sort(np.unique(drawn, return_index=True)[1])]
    return keys[:size]


def _tld(rng: np.random.Generator, industry: np.ndarray, country: np.ndarray) -> pl.Series:
    """Mostly .com; some .io/.net or the country's domain; .gov/.org/.edu where they fit."""
    n = len(industry)
    kind = rng.choice(4, n, p=[0.8, 0.07, 0.05, 0.08])
    code = np.where(kind == 3, len(TLDS) + country, kind)
    code[industry == GOVERNMENT] = TLDS.index(".gov")
    code[(industry == NONPROFIT) & (rng.random(n) < 0.8)] = TLDS.index(".org")
    code[(industry == EDUCATION) & (rng.random(n) < 0.5)] = TLDS.index(".edu")
    return pl.Series([*TLDS, *column(COUNTRIES, 3)]).gather(code)


@dataclass
class Leads:
    """One chunk of leads as numpy arrays (codes into the vocabularies, -1 for null)."""

    index: np.ndarray  # 0-based position in the whole data set
    persona: np.ndarray
    company: np.ndarray
    industry: np.ndarray
    employees: np.ndarray
    country: np.ndarray
    source: np.ndarray
    title_class: np.ndarray
    title: np.ndarray
    email_kind: np.ndarray  # 0 corporate, 1 free mail, 2 none
    created: np.ndarray  # microseconds since the epoch
    logit: np.ndarray = field(init=False)  # of the hidden propensity
    heat: np.ndarray = field(init=False)  # how much the lead engages
    buy: np.ndarray = field(init=False)  # how much it seeks demos, trials and sales contact
    act: np.ndarray = field(init=False)  # heavy-tailed activity multiplier
    decided: np.ndarray = field(init=False)
    converted: np.ndarray = field(init=False)
    stop: np.ndarray = field(init=False)  # the outcome's time if decided, else the end

    @property
    def propensity(self) -> np.ndarray:
        return sigmoid(self.logit)


def draw_leads(rng: np.random.Generator, start: int, m: int, co: Companies, end: int) -> Leads:
    persona = rng.choice(len(PERSONA_SHARE), m, p=shares(PERSONA_SHARE))
    u = rng.random(m) * co.cdf[-1]
    company = np.minimum(np.searchsorted(co.cdf, u, side="right"), len(co.cdf) - 1)
    company[persona == STUDENT] = (
        co.university + rng.integers(0, len(UNIVERSITIES), m)[persona == STUDENT]
    )
    company[persona == RIVAL] = co.competitor
    company[(persona == JOB_SEEKER) & (rng.random(m) < 0.6)] = -1
    known = company >= 0
    any_country = rng.choice(len(COUNTRIES), m, p=shares(COUNTRIES))
    employees = np.where(known, co.employees[company], -1)
    title_class, title = _titles(rng, persona, employees)
    email_kind = (rng.random(m)[:, None] > np.cumsum(EMAIL_KIND[persona], axis=1)[:, :2]).sum(1)
    email_kind[~known & (email_kind == 0)] = 1
    leads = Leads(
        index=np.arange(start, start + m),
        persona=persona,
        company=company,
        industry=np.where(known, co.industry[company], -1),
        employees=employees,
        country=np.where(known & (rng.random(m) < 0.85), co.country[company], any_country),
        source=rng.choice(len(SOURCES), m, p=shares(SOURCES)),
        title_class=title_class,
        title=title,
        email_kind=email_kind,
        created=end - rng.integers(1, YEAR // SECOND + 1, m) * SECOND,  # whole seconds
    )
    _propensity(rng, leads)
    _fate(rng, leads, end)
    return leads


def _titles(
    rng: np.random.Generator, persona: np.ndarray, employees: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Seniority class and job title; small companies are full of founders and owners."""
    m = len(persona)
    logits = np.tile(np.log(shares(TITLE_SHARE)), (m, 1))
    logits[:, EXEC] += np.where(employees < 20, 1.5, np.where(employees > 5000, -0.8, 0.0))
    cls = pick(rng, logits)
    for who, title_class in (
        (STUDENT, STUDENT_TITLE),
        (INTERN, INTERN_TITLE),
        (JOB_SEEKER, JOB_SEEKER_TITLE),
    ):
        cls[persona == who] = title_class
    group = starts(CLASS_SIZES)[cls] + (rng.random(m) * CLASS_SIZES[cls]).astype(np.int64)
    usual = starts(np.array([len(g) for g in TITLE_GROUPS]))[group]
    title = np.where(rng.random(m) < 0.5, usual, member(rng, group, TITLE_GROUPS))
    title[(persona == NORMAL) & (rng.random(m) < 0.03)] = -1  # left blank on the form
    return cls, title


def _propensity(rng: np.random.Generator, leads: Leads) -> None:
    """The hidden logit of converting: fit effects plus noise; non-buyers almost never."""
    m = len(leads.index)
    size = np.log10(np.maximum(leads.employees, 1))
    size_effect = np.interp(
        size, [0, 1, 1.7, 2.3, 3, 3.7, 4.7], [-1.2, -0.6, 0.1, 0.5, 0.7, 0.5, 0.1]
    )
    logit = (
        LOGIT_BASE
        + np.array([*column(INDUSTRIES, 2), 0.0])[leads.industry]
        + np.where(leads.employees > 0, size_effect, -0.5)
        + CLASS_EFFECT[leads.title_class]
        - 0.3 * (leads.title < 0)
        + np.array(column(COUNTRIES, 2))[leads.country]
        + np.array(column(SOURCES, 2))[leads.source]
        - 0.4 * (leads.email_kind == 1)
        + rng.normal(0.0, 0.7, m)
    )
    normal = leads.persona == NORMAL
    leads.logit = np.where(normal, logit, -9.0 + rng.normal(0.0, 0.5, m))
    heat = np.clip(leads.logit - HEAT_REF, -3.0, 3.0)
    leads.heat = np.where(normal, heat, PERSONA_HEAT[leads.persona])
    leads.buy = np.where(normal, heat, PERSONA_BUY[leads.persona])
    leads.act = rng.gamma(0.6, 1 / 0.6, m)


def _fate(rng: np.random.Generator, leads: Leads, end: int) -> None:
    """Leads older than a month are mostly decided after a sales cycle; the rest stay open."""
    m = len(leads.index)
    cycle = np.maximum(rng.lognormal(np.log(45 * DAY), 0.5, m), 14 * DAY).astype(np.int64)
    decided_at = leads.created + cycle
    old_enough = end - leads.created >= 30 * DAY
    leads.decided = old_enough & (rng.random(m) < 0.8) & (decided_at <= end)
    leads.converted = leads.decided & (rng.random(m) < leads.propensity)
    leads.stop = np.where(leads.decided, decided_at, end)
