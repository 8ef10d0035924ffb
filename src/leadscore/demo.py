"""Seeded synthetic B2B leads, events and outcomes (`leadscore demo-data`).

Demos, tests and benchmarks need realistic data that nobody has to hand over. Every lead gets
a hidden propensity, the probability that it converts once decided, computed from its fit
(industry, company size, seniority, country, source) plus noise. The same propensity drives
the events the lead produces (hot leads read pricing, attend webinars, book demos and start
trials; cold ones open a few e-mails or nothing) and its outcome, so that a sensible rule score
or a trained model finds a real signal. The propensity is never written to the files; the
Python API returns it so that tests can check it is recoverable.

Decided leads get their outcome after their buying steps (forms, downloads, webinars, demos,
trials, and their browsing as prospects); e-mails keep arriving afterwards and customers keep
reading the docs, as in real data, so features must be cut at the outcome's time (leakage).

Generation is vectorised with numpy and polars and runs in chunks of `CHUNK_LEADS` leads, each
with its own random stream, so a million leads stream to disk in bounded memory and the same
(leads, seed, end) always give byte-identical files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import typer

__all__ = [
    "CHUNK_LEADS",
    "DemoData",
    "as_end",
    "generate",
    "iter_chunks",
    "register",
    "write",
    "write_demo",
]

CHUNK_LEADS = 50_000
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
MONTH = 30 * DAY
YEAR = 365 * DAY
NEVER = np.iinfo(np.int64).max
CSV_TIME = "%Y-%m-%dT%H:%M:%S%.6fZ"

# ---------------------------------------------------------------------------------------------
# Vocabularies (data tables, kept compact). Effects are additive terms of the hidden logit.


def _words(text: str) -> list[str]:
    return text.split()


# fmt: off
INDUSTRIES = (  # name, share, effect, company-name words (lower case: glued, else spaced)
    ("software", 14, 0.8, ("soft", "ware", "logic", "stack", "Labs", "Systems", "Software")),
    ("saas", 11, 1.0, ("ly", "ify", "hub", "flow", "desk", "Cloud", "App")),
    ("it services", 10, 0.4, ("net", "Tech", "Networks", "Technologies", "Digital")),
    ("financial services", 10, 0.3, ("pay", "Capital", "Bank", "Financial", "Insurance")),
    ("healthcare", 8, 0.0, ("med", "Health", "Care", "Medical", "Bio", "Clinics")),
    ("manufacturing", 9, -0.2, ("Industries", "Manufacturing", "Motors", "Steel", "Machines")),
    ("retail", 8, -0.4, ("mart", "Retail", "Stores", "Market", "Outfitters", "Goods")),
    ("education", 6, -0.9, ("Academy", "Learning", "School", "Institute", "Tutors")),
    ("government", 4, -1.1, ("County", "City Council", "Agency", "Authority")),
    ("consulting", 8, 0.1, ("Consulting", "Advisors", "Partners", "Associates", "Strategy")),
    ("media", 6, -0.3, ("Media", "Studios", "Press", "Publishing", "Films")),
    ("nonprofit", 6, -1.2, ("Foundation", "Trust", "Alliance", "Society", "Initiative")),
)
SOFTWARE, EDUCATION, GOVERNMENT, NONPROFIT = 0, 7, 8, 11
NAME_WORDS = _words("""
    Acme Apex Alder Agile Atlas Aurora Beacon Birch Blue Bold Bright Cascade Cedar Clear Cobalt
    Core Crest Crimson Delta Dune Echo Ember Evergreen Falcon Fjord Fusion Gemini Glacier Granite
    Green Harbor Helix Horizon Indigo Iron Ivory Jade Juniper Kestrel Keystone Lotus Lumen Lynx
    Maple Meridian Nexus Nimbus North Nova Oak Onyx Open Orbit Pine Pinnacle Pioneer Polar Prime
    Prism Quantum Quartz Radiant Red Redwood Ridge River Sapphire Sierra Silver Smart Solar Spark
    Stellar Stone Summit Swift Tidal Titan True Unity Vector Velvet Vertex Vista Willow Wren
    Zenith Zephyr Amber Arrow Aspen Basalt Bay Brook Canyon Coral Crown Dawn Eagle Elm Fern Flint
    Forge Frost Grove Hawk Hazel Heron Iris Lark Maven Mesa Mist Noble Opal Orchid Peak Pearl
    Quill Raven Sage Shore Sky Slate Spruce Star Terra Thistle Topaz Trail Vale Wave West
""")
FIRST_NAMES = _words("""
    James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard
    Susan Joseph Jessica Thomas Sarah Daniel Karen Matthew Lisa Anthony Nancy Mark Sandra Paul
    Ashley Steven Emily Andrew Michelle Joshua Amanda Kevin Melissa Brian Laura Emma Olivia Liam
    Noah Sophie Lukas Hannah Felix Lea Pierre Camille Hugo Chloe Lars Ingrid Sven Astrid Priya
    Rahul Ananya Arjun Wei Mei Hiroshi Yuki Carlos Lucia Mateo Sofia Marco Giulia Ana Pedro Fatima
    Omar Aisha Noor Jan Eva Piet Anouk Oliver Charlotte Jack Amelia Ethan Mohammed Sara Leon Mia
    Nils Freya Raj Kavya Kenji Aiko Diego Valentina
""")
LAST_NAMES = _words("""
    Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
    Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Thompson White Harris Clark Lewis Walker
    Young Allen King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter
    Phillips Evans Turner Parker Collins Edwards Stewart Morris Murphy Cook Mueller Schmidt
    Schneider Fischer Weber Meyer Wagner Becker Dubois Bernard Petit Durand Leroy Moreau Jansen
    Visser Bakker Smit Andersson Johansson Karlsson Nilsson Hansen Olsen Larsen Sharma Patel Gupta
    Singh Kumar Tanaka Suzuki Sato Watanabe Silva Santos Oliveira Costa Rossi Russo Ferrari
    Esposito Romano Fernandez Gonzalez Sanchez Perez Chen Wang Li Zhang Liu Tan Lim Ng Nguyen
    Kowalski Novak
""")
COUNTRIES = (  # code, share, effect, country-code top-level domain
    ("US", 38, 0.3, ".us"), ("GB", 9, 0.2, ".co.uk"), ("DE", 7, 0.1, ".de"), ("FR", 5, 0.0, ".fr"),
    ("CA", 5, 0.2, ".ca"), ("AU", 4, 0.1, ".com.au"), ("NL", 3, 0.1, ".nl"), ("SE", 2, 0.1, ".se"),
    ("NO", 1, 0.1, ".no"), ("IN", 6, -0.7, ".in"), ("BR", 4, -0.5, ".com.br"),
    ("ES", 3, -0.2, ".es"), ("IT", 3, -0.2, ".it"), ("JP", 2, -0.3, ".jp"), ("SG", 2, 0.0, ".sg"),
    ("IE", 1, 0.2, ".ie"), ("CH", 1, 0.1, ".ch"), ("DK", 1, 0.1, ".dk"), ("FI", 1, 0.1, ".fi"),
    ("BE", 1, 0.0, ".be"), ("PL", 1, -0.3, ".pl"), ("MX", 1, -0.4, ".mx"),
    ("ZA", 1, -0.3, ".co.za"), ("NZ", 1, 0.1, ".co.nz"), ("IL", 1, 0.1, ".co.il"),
)
SOURCES = (  # name, share, effect
    ("organic_search", 22, 0.0), ("paid_search", 14, -0.1), ("social", 9, -0.5),
    ("referral", 8, 0.7), ("webinar", 8, 0.3), ("event", 7, 0.3), ("partner", 5, 0.5),
    ("direct", 10, 0.2), ("linkedin_ads", 9, 0.0), ("facebook_ads", 8, -0.7),
)
SUFFIXES = (("", 70), (" Inc", 14), (" Ltd", 8), (" LLC", 8))
TLDS = (".com", ".io", ".net", ".org", ".gov", ".edu")
FREE_DOMAINS = (("gmail.com", 50), ("yahoo.com", 15), ("outlook.com", 20), ("hotmail.com", 15))
UNIVERSITIES = (
    ("Northfield University", "northfield.edu"), ("Eastbrook College", "eastbrook.edu"),
    ("University of Westmere", "westmere.edu"), ("Lakeside Institute of Technology", "lit.edu"),
    ("Ashford University", "ashford.edu"), ("Kingsbridge College", "kingsbridge.edu"),
    ("Riverton State University", "riverton.edu"), ("Hollis School of Business", "hollis.edu"),
)
COMPETITOR = ("Competitor Inc", "competitor.com")

# Personas: ordinary buyers, and the groups that (almost) never buy.
NORMAL, STUDENT, INTERN, JOB_SEEKER, RIVAL = range(5)
PERSONA_SHARE = (91, 3, 2, 3, 1)
EMAIL_KIND = np.array([  # corporate, free, none; per persona
    [0.77, 0.20, 0.03], [0.60, 0.38, 0.02], [0.70, 0.28, 0.02], [0.0, 0.9, 0.1], [1.0, 0, 0],
])
PERSONA_HEAT = np.array([0.0, -0.5, -0.3, -0.3, 0.5])  # how active the non-buyers are
PERSONA_BUY = np.array([0.0, -5.0, -5.0, -5.0, -1.5])  # their appetite for demos and trials

TITLES = (  # class, logit effect, groups of variants (the first variant is the usual one)
    ("exec", 1.1, (
        ("CEO", "Chief Executive Officer", "CEO & Co-Founder", "Chief Executive Officer (CEO)"),
        ("CTO", "Chief Technology Officer", "CTO / Co-Founder"),
        ("CMO", "Chief Marketing Officer"), ("CFO", "Chief Financial Officer"),
        ("COO", "Chief Operating Officer"), ("Chief Revenue Officer", "CRO"),
        ("Founder", "Co-Founder", "Founder & CEO", "Founder and Managing Director"),
        ("Owner", "Business Owner", "Owner / Operator"), ("President", "Managing Director"),
    )),
    ("vp", 1.0, (
        ("VP Marketing", "VP of Marketing", "Vice President, Marketing", "SVP Marketing"),
        ("VP Sales", "VP of Sales", "Vice President of Sales", "VP Sales EMEA"),
        ("VP Engineering", "VP of Engineering", "Vice President Engineering"),
        ("VP Operations", "VP of Revenue Operations"),
    )),
    ("director", 0.8, (
        ("Director of Engineering", "Engineering Director", "Sr. Director of Engineering"),
        ("Director of Marketing", "Marketing Director", "Director, Demand Generation"),
        ("Head of Growth", "Head of Growth Marketing", "Growth Lead"),
        ("Head of Sales", "Sales Director", "Regional Sales Director"),
        ("Head of Marketing", "Head of Digital Marketing"),
        ("IT Director", "Director of IT", "Head of IT"),
        ("Head of Revenue Operations", "Director, RevOps"),
    )),
    ("manager", 0.1, (
        ("Marketing Manager", "Senior Marketing Manager", "Digital Marketing Manager"),
        ("Sales Manager", "Inside Sales Manager", "Regional Sales Manager"),
        ("Product Manager", "Senior Product Manager"),
        ("Demand Generation Manager", "Demand Gen Manager"),
        ("IT Manager", "IT Operations Manager"),
        ("Marketing Operations Manager", "Marketing Ops Manager"),
        ("Account Manager", "Key Account Manager"), ("Operations Manager",),
    )),
    ("individual", -0.7, (
        ("Software Engineer", "Senior Software Engineer", "Software Developer", "Backend Engineer"),
        ("Data Analyst", "Senior Data Analyst", "Business Analyst"),
        ("Consultant", "Senior Consultant", "Management Consultant"),
        ("Marketing Specialist", "Marketing Coordinator", "Marketing Associate"),
        ("Account Executive", "Senior Account Executive"),
        ("Sales Development Representative", "SDR", "Business Development Representative"),
        ("Designer", "UX Designer", "Graphic Designer"),
        ("Accountant", "Financial Analyst"), ("Data Scientist", "Machine Learning Engineer"),
    )),
    ("recruiter", -2.5, (
        ("Recruiter", "Technical Recruiter", "Talent Acquisition Specialist"),
        ("HR Manager", "HR Business Partner"),
    )),
    ("student", 0.0, (("Student", "MBA Student", "PhD Candidate", "Computer Science Student"),)),
    ("intern", 0.0, (("Intern", "Marketing Intern", "Software Engineering Intern"),)),
    ("job seeker", 0.0, (
        ("Job Seeker", "Looking for new opportunities", "Open to work", "Unemployed"),
    )),
)
TITLE_SHARE = (10, 7, 12, 25, 40, 6)  # of the first six classes, for ordinary leads
EXEC, STUDENT_TITLE, INTERN_TITLE, JOB_SEEKER_TITLE = 0, 6, 7, 8

PAGES = (  # category, paths
    ("home", ("/",)),
    ("blog", tuple(f"/blog/{s}" for s in (
        "what-is-lead-scoring", "mql-vs-sql", "predictive-lead-scoring", "lead-nurturing-guide",
        "b2b-marketing-trends", "email-deliverability-tips", "account-based-marketing",
        "sales-marketing-alignment", "intent-data-101", "attribution-models", "crm-hygiene",
        "release-notes"))),
    ("product", ("/product", "/product/features", "/product/integrations", "/product/security")),
    ("pricing", ("/pricing",)),
    ("contact", ("/contact", "/request-demo")),
    ("careers", ("/careers", "/careers/software-engineer", "/careers/account-executive",
                 "/careers/product-designer")),
    ("docs", tuple(f"/docs/{s}" for s in (
        "getting-started", "api", "scoring-models", "integrations/hubspot",
        "integrations/salesforce", "webhooks", "faq"))),
    ("case studies", tuple(f"/case-studies/{s}" for s in (
        "globex", "initech", "hooli", "vandelay", "umbrella"))),
    ("about", ("/about", "/about/team", "/partners")),
)
PAGE_LOGITS = np.array([  # per category as in PAGES; rows by who reads
    [1.0, 1.2, 0.6, -0.4, -1.9, -2.5, -0.5, -0.9, -1.0],  # ordinary lead, base
    [0.0, -0.3, 0.3, 0.7, 0.7, -0.3, 0.1, 0.4, 0.0],  # ordinary lead, slope on heat
    [0.5, 1.8, -0.3, -2.5, -4.0, -0.5, 0.8, -2.0, -1.0],  # student or intern
    [0.3, -1.0, -1.5, -3.5, -4.0, 2.8, -3.0, -3.0, 0.5],  # job seeker
    [0.2, 0.3, 1.2, 1.2, -3.0, -1.0, 1.0, 0.5, -0.5],  # competitor
    [0.0, -1.0, -0.4, -9, -9, -9, 1.5, -9, -9],  # customer after the deal
])
PERSONA_PAGES = np.array([0, 2, 2, 3, 4])  # row of PAGE_LOGITS per persona
CONTENT = ("case_study", "whitepaper", "ebook", "datasheet")
CONTENT_LOGITS = np.array([[-0.5, 0.0, 0.6, -0.6], [0.5, 0.1, -0.3, 0.4]])  # base, slope
EVENT_TYPES = (  # type, source
    ("email_opened", "email"), ("email_clicked", "email"), ("email_replied", "email"),
    ("email_unsubscribed", "email"), ("page_viewed", "web"), ("form_submitted", "web"),
    ("content_downloaded", "web"), ("webinar_registered", "webinar"),
    ("webinar_attended", "webinar"), ("demo_booked", "sales"), ("meeting_cancelled", "sales"),
    ("trial_started", "product"),
)
(OPENED, CLICKED, REPLIED, UNSUBSCRIBED, VIEWED, FORM, DOWNLOAD, REGISTERED, ATTENDED, DEMO,
 CANCELLED, TRIAL) = range(len(EVENT_TYPES))
BROADCASTS = ("Newsletter", "Product update", "Customer stories", "Webinar invite")
NURTURE_DAYS = (0.01, 2, 5, 9, 14)
WEBINARS = (
    "Lead scoring 101", "From MQL to revenue", "Predictive scoring in practice",
    "Sales and marketing alignment", "Intent data explained", "Building a nurture program",
    "Scoring models as code", "Pipeline reviews that work",
)
# fmt: on
HEAT_REF = -2.4  # typical logit of an ordinary lead: heat is the logit relative to it
LOGIT_BASE = -3.0  # calibrated so that about 10% of decided leads convert
URLS = [*(p for _, paths in PAGES for p in paths), "/newsletter"]
URLS += [f"/resources/{c.replace('_', '-')}" for c in CONTENT]  # gated-content forms
CONTACT_URL, DEMO_URL, NEWSLETTER_URL = (URLS.index(u) for u in PAGES[4][1] + ("/newsletter",))
RESOURCES_URL = NEWSLETTER_URL + 1
EMAIL_ENGAGEMENT = (OPENED, CLICKED, REPLIED)
TITLE_GROUPS = [g for _, _, groups in TITLES for g in groups]
CLASS_SIZES = np.array([len(groups) for _, _, groups in TITLES])
CLASS_EFFECT = np.array([effect for _, effect, _ in TITLES])
WORDS = [w for *_, words in INDUSTRIES for w in words]
WORD_INDUSTRY = np.repeat(np.arange(len(INDUSTRIES)), [len(i[3]) for i in INDUSTRIES])


def _vocab(values: Any) -> pl.Series:
    """A string vocabulary with a null in front, so that code -1 decodes to null."""
    return pl.Series([None, *values], dtype=pl.String)


def _column(rows: Any, column: int) -> list:
    return [row[column] for row in rows]


VOCAB = {
    "title": _vocab(v for g in TITLE_GROUPS for v in g),
    "industry": _vocab(_column(INDUSTRIES, 0)),
    "country": _vocab(_column(COUNTRIES, 0)),
    "source": _vocab(_column(SOURCES, 0)),
    "first": _vocab(FIRST_NAMES),
    "last": _vocab(LAST_NAMES),
    "free": _vocab(_column(FREE_DOMAINS, 0)),
    "type": _vocab(_column(EVENT_TYPES, 0)),
    "event_source": _vocab(_column(EVENT_TYPES, 1)),
    "url": _vocab(URLS),
    "content": _vocab(CONTENT),
}


def _decode(vocab: pl.Series, codes: np.ndarray) -> pl.Series:
    """Map integer codes (-1 for null) to strings without a Python loop."""
    return vocab.gather(codes.astype(np.int64) + 1)


def _shares(rows: Any) -> np.ndarray:
    weights = np.array([row[1] if isinstance(row, tuple) else row for row in rows], dtype=float)
    return weights / weights.sum()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _stream(seed: int, *key: int) -> np.random.Generator:
    """An independent random stream per purpose and chunk: chunks never share draws."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _member(rng: np.random.Generator, group: np.ndarray, groups: Any) -> np.ndarray:
    """A uniform member of each row's group, as an index into the flattened groups."""
    size = np.array([len(g) for g in groups])
    return _starts(size)[group] + (rng.random(len(group)) * size[group]).astype(np.int64)


def _starts(sizes: np.ndarray) -> np.ndarray:
    return np.cumsum(sizes) - sizes


def _pick(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """One category per row from per-row logits (the Gumbel-max trick)."""
    return np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, … within each run of `np.repeat(x, counts)`."""
    return np.arange(int(counts.sum())) - np.repeat(_starts(counts), counts)


def _uniform_in(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Microsecond timestamps uniform in [lo, hi)."""
    return lo + (rng.random(len(lo)) * (hi - lo)).astype(np.int64)


def _delay(rng: np.random.Generator, mean_us: float, n: int) -> np.ndarray:
    """Positive exponential delays (at least a second), so effects follow their causes."""
    return rng.exponential(mean_us, n).astype(np.int64) + SECOND


def _timestamps(us: np.ndarray) -> pl.Series:
    return pl.Series(us, dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def _micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


# ---------------------------------------------------------------------------------------------
# The context shared by all chunks of a run: companies, e-mail and webinar calendars.


@dataclass(frozen=True)
class _Companies:
    """The company pool, then the universities, then the competitor, by company code."""

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


def _companies(n_leads: int, seed: int) -> _Companies:
    """About one company per four leads, named like 'Cedar Analytics' or 'Novasoft Inc'."""
    rng = _stream(seed, 0)
    size = max(50, n_leads // 4)
    keys = _company_keys(rng, size)
    word, rest = keys % len(WORDS), keys // len(WORDS)
    first, second = rest % len(NAME_WORDS), rest // len(NAME_WORDS)
    industry, country = WORD_INDUSTRY[word], rng.choice(len(COUNTRIES), size, p=_shares(COUNTRIES))
    suffix = rng.choice(len(SUFFIXES), size, p=_shares(SUFFIXES))
    suffix[np.isin(industry, (EDUCATION, GOVERNMENT, NONPROFIT))] = 0
    parts = pl.DataFrame(
        {
            "second": pl.Series([*(f"{w} " for w in NAME_WORDS), ""]).gather(second),
            "first": pl.Series(NAME_WORDS).gather(first),
            "word": pl.Series([w if w.islower() else f" {w}" for w in WORDS]).gather(word),
            "suffix": pl.Series(_column(SUFFIXES, 0)).gather(suffix),
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
    return _Companies(
        name=pl.concat([_vocab(name), pl.Series(_column(extras, 0))]),
        domain=pl.concat([_vocab(domain), pl.Series(_column(extras, 1))]),
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
        industry = rng.choice(len(INDUSTRIES), k, p=_shares(INDUSTRIES))
        word = _member(rng, industry, _column(INDUSTRIES, 3))
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
    return pl.Series([*TLDS, *_column(COUNTRIES, 3)]).gather(code)


@dataclass(frozen=True)
class _Calendar:
    """Weekly broadcast e-mails, the welcome series, and a webinar every other week."""

    sends: np.ndarray
    campaigns: pl.Series  # vocabulary: the broadcasts, then the welcome series
    webinar_at: np.ndarray
    webinars: pl.Series


def _calendar(end: datetime) -> _Calendar:
    day = end.replace(hour=0, minute=0, second=0, microsecond=0)
    sends = [day - timedelta(days=371 - 7 * w, hours=-14) for w in range(54)]
    sends = [s for s in sends if s <= end]
    campaigns = [f"{BROADCASTS[i % 4]} {s:%Y-%m-%d}" for i, s in enumerate(sends)]
    campaigns += [f"Welcome series {i + 1}" for i in range(len(NURTURE_DAYS))]
    webinars = [day - timedelta(days=400 - 14 * w, hours=-16) for w in range(33)]
    names = (f"{WEBINARS[i % len(WEBINARS)]} ({w:%Y-%m-%d})" for i, w in enumerate(webinars))
    return _Calendar(
        sends=np.array([_micros(s) for s in sends], dtype=np.int64),
        campaigns=_vocab(campaigns),
        webinar_at=np.array([_micros(w) for w in webinars], dtype=np.int64),
        webinars=_vocab(names),
    )


# ---------------------------------------------------------------------------------------------
# Leads: attributes, the hidden propensity and the fate (outcome) of the leads of a chunk.


@dataclass
class _Leads:
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
        return _sigmoid(self.logit)


def _leads(rng: np.random.Generator, start: int, m: int, co: _Companies, end: int) -> _Leads:
    persona = rng.choice(len(PERSONA_SHARE), m, p=_shares(PERSONA_SHARE))
    u = rng.random(m) * co.cdf[-1]
    company = np.minimum(np.searchsorted(co.cdf, u, side="right"), len(co.cdf) - 1)
    company[persona == STUDENT] = (
        co.university + rng.integers(0, len(UNIVERSITIES), m)[persona == STUDENT]
    )
    company[persona == RIVAL] = co.competitor
    company[(persona == JOB_SEEKER) & (rng.random(m) < 0.6)] = -1
    known = company >= 0
    any_country = rng.choice(len(COUNTRIES), m, p=_shares(COUNTRIES))
    employees = np.where(known, co.employees[company], -1)
    title_class, title = _titles(rng, persona, employees)
    email_kind = (rng.random(m)[:, None] > np.cumsum(EMAIL_KIND[persona], axis=1)[:, :2]).sum(1)
    email_kind[~known & (email_kind == 0)] = 1
    leads = _Leads(
        index=np.arange(start, start + m),
        persona=persona,
        company=company,
        industry=np.where(known, co.industry[company], -1),
        employees=employees,
        country=np.where(known & (rng.random(m) < 0.85), co.country[company], any_country),
        source=rng.choice(len(SOURCES), m, p=_shares(SOURCES)),
        title_class=title_class,
        title=title,
        email_kind=email_kind,
        created=end - rng.integers(1, YEAR // SECOND + 1, m) * SECOND,  # whole seconds
    )
    _propensity(rng, leads)
    _fate(rng, leads, end)
    return leads


def _titles(rng: np.random.Generator, persona: np.ndarray, employees: np.ndarray):
    """Seniority class and job title; small companies are full of founders and owners."""
    m = len(persona)
    logits = np.tile(np.log(_shares(TITLE_SHARE)), (m, 1))
    logits[:, EXEC] += np.where(employees < 20, 1.5, np.where(employees > 5000, -0.8, 0.0))
    cls = _pick(rng, logits)
    for who, title_class in (
        (STUDENT, STUDENT_TITLE),
        (INTERN, INTERN_TITLE),
        (JOB_SEEKER, JOB_SEEKER_TITLE),
    ):
        cls[persona == who] = title_class
    group = _starts(CLASS_SIZES)[cls] + (rng.random(m) * CLASS_SIZES[cls]).astype(np.int64)
    usual = _starts(np.array([len(g) for g in TITLE_GROUPS]))[group]
    title = np.where(rng.random(m) < 0.5, usual, _member(rng, group, TITLE_GROUPS))
    title[(persona == NORMAL) & (rng.random(m) < 0.03)] = -1  # left blank on the form
    return cls, title


def _propensity(rng: np.random.Generator, leads: _Leads) -> None:
    """The hidden logit of converting: fit effects plus noise; non-buyers almost never."""
    m = len(leads.index)
    size = np.log10(np.maximum(leads.employees, 1))
    size_effect = np.interp(
        size, [0, 1, 1.7, 2.3, 3, 3.7, 4.7], [-1.2, -0.6, 0.1, 0.5, 0.7, 0.5, 0.1]
    )
    logit = (
        LOGIT_BASE
        + np.array([*_column(INDUSTRIES, 2), 0.0])[leads.industry]
        + np.where(leads.employees > 0, size_effect, -0.5)
        + CLASS_EFFECT[leads.title_class]
        - 0.3 * (leads.title < 0)
        + np.array(_column(COUNTRIES, 2))[leads.country]
        + np.array(_column(SOURCES, 2))[leads.source]
        - 0.4 * (leads.email_kind == 1)
        + rng.normal(0.0, 0.7, m)
    )
    normal = leads.persona == NORMAL
    leads.logit = np.where(normal, logit, -9.0 + rng.normal(0.0, 0.5, m))
    heat = np.clip(leads.logit - HEAT_REF, -3.0, 3.0)
    leads.heat = np.where(normal, heat, PERSONA_HEAT[leads.persona])
    leads.buy = np.where(normal, heat, PERSONA_BUY[leads.persona])
    leads.act = rng.gamma(0.6, 1 / 0.6, m)


def _fate(rng: np.random.Generator, leads: _Leads, end: int) -> None:
    """Leads older than a month are mostly decided after a sales cycle; the rest stay open."""
    m = len(leads.index)
    cycle = np.maximum(rng.lognormal(np.log(45 * DAY), 0.5, m), 14 * DAY).astype(np.int64)
    decided_at = leads.created + cycle
    old_enough = end - leads.created >= 30 * DAY
    leads.decided = old_enough & (rng.random(m) < 0.8) & (decided_at <= end)
    leads.converted = leads.decided & (rng.random(m) < leads.propensity)
    leads.stop = np.where(leads.decided, decided_at, end)


# ---------------------------------------------------------------------------------------------
# Events: each kind of behaviour is drawn for all leads of a chunk at once.


class _Parts:
    """Event columns collected kind by kind, concatenated once at the end."""

    NAMES = ("lead", "t", "type", "url", "content", "campaign", "webinar")

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, lead: np.ndarray, t: np.ndarray, kind: int, **props: np.ndarray) -> None:
        n = len(lead)
        none = np.full(n, -1, np.int32)
        cols = [props.get(name, none).astype(np.int32) for name in self.NAMES[3:]]
        self.parts.append((lead, t, np.full(n, kind, np.int8), *cols))

    def concat(self) -> dict[str, np.ndarray]:
        return {n: np.concatenate([p[i] for p in self.parts]) for i, n in enumerate(self.NAMES)}


def _events(rng: np.random.Generator, leads: _Leads, cal: _Calendar, end: int) -> dict:
    """All events of a chunk, sorted by lead then time; none after `end` or an unsubscribe."""
    parts = _Parts()
    unsubscribed_at = _email_events(rng, leads, cal, end, parts)
    _web(rng, leads, end, parts)
    _downloads(rng, leads, parts)
    _webinars(rng, leads, cal, parts)
    _sales(rng, leads, parts)
    ev = parts.concat()
    muted = np.isin(ev["type"], EMAIL_ENGAGEMENT) & (ev["t"] > unsubscribed_at[ev["lead"]])
    keep = (ev["t"] <= end) & ~muted
    order = np.lexsort((ev["t"][keep], ev["lead"][keep]))  # stable: ties keep their kind order
    return {name: col[keep][order] for name, col in ev.items()}


def _email_events(rng, leads: _Leads, cal: _Calendar, end: int, parts: _Parts) -> np.ndarray:
    """Weekly broadcasts and a welcome series; opens, clicks, replies and an unsubscribe.

    Returns each lead's unsubscribe time, after which it engages with no more e-mail.
    """
    m = len(leads.index)
    subscribed = (leads.email_kind != 2) & (rng.random(m) < 0.92)
    first = np.searchsorted(cal.sends, leads.created)
    count = np.where(subscribed, len(cal.sends) - first, 0)
    lead = np.repeat(np.arange(m), count)
    campaign = first[lead] + _ranks(count)
    sent = rng.random(len(lead)) < 0.9  # segments: not every broadcast goes to everyone
    lead, campaign = lead[sent], campaign[sent]
    welcome = np.flatnonzero(subscribed)
    steps = len(NURTURE_DAYS)
    lead = np.concatenate([lead, np.repeat(welcome, steps)])
    campaign = np.concatenate([campaign, np.tile(len(cal.sends) + np.arange(steps), len(welcome))])
    offsets = (np.array(NURTURE_DAYS) * DAY).astype(np.int64)
    t = np.concatenate(
        [
            cal.sends[campaign[: len(campaign) - steps * len(welcome)]],
            leads.created[welcome].repeat(steps) + np.tile(offsets, len(welcome)),
        ]
    )
    ok = t <= end
    lead, campaign, t = lead[ok], campaign[ok], t[ok]
    heat = leads.heat[lead]
    quits = rng.random(len(lead)) < _sigmoid(-6.5 - 0.4 * heat)
    cut = np.full(m, NEVER)
    np.minimum.at(cut, lead[quits], t[quits])
    ok = t <= cut[lead]
    lead, campaign, t, heat = lead[ok], campaign[ok], t[ok], heat[ok]
    last = np.zeros(len(lead), bool)  # the e-mail they unsubscribe from, once per lead
    at_cut = np.flatnonzero(t == cut[lead])
    last[at_cut[np.unique(lead[at_cut], return_index=True)[1]]] = True
    cold = (t >= leads.stop[lead]) & ~leads.converted[lead]  # lost leads tune out
    p_open = _sigmoid(-0.5 + 0.45 * heat + 0.4 * np.log(leads.act[lead])) * np.where(cold, 0.5, 1)
    opened = last | (rng.random(len(lead)) < p_open)
    t_open = t + _delay(rng, 5 * HOUR, len(lead))
    engaged = opened & ~last
    clicked = engaged & (rng.random(len(lead)) < _sigmoid(-1.6 + 0.4 * heat))
    replied = engaged & (rng.random(len(lead)) < _sigmoid(-5.0 + 0.6 * heat))
    t_click = t_open + _delay(rng, 3 * MINUTE, len(lead))
    t_reply = t_open + _delay(rng, 4 * HOUR, len(lead))
    t_quit = t_open + _delay(rng, MINUTE, len(lead))
    for mask, when, kind in (
        (opened, t_open, OPENED),
        (clicked, t_click, CLICKED),
        (replied, t_reply, REPLIED),
        (last, t_quit, UNSUBSCRIBED),
    ):
        parts.add(lead[mask], when[mask], kind, campaign=campaign[mask])
    unsubscribed_at = np.full(m, NEVER)
    unsubscribed_at[lead[last]] = t_quit[last]
    return unsubscribed_at


def _page_logits(leads: _Leads) -> np.ndarray:
    """Per lead, the logits of the page categories it reads (hot leads: pricing, contact)."""
    ordinary = PAGE_LOGITS[0] + PAGE_LOGITS[1] * leads.heat[:, None]
    normal = (leads.persona == NORMAL)[:, None]
    return np.where(normal, ordinary, PAGE_LOGITS[PERSONA_PAGES[leads.persona]])


def _web(rng: np.random.Generator, leads: _Leads, end: int, parts: _Parts) -> None:
    """Sign-up forms at creation, browsing sessions before the outcome, customers' doc reads."""
    m = len(leads.index)
    signup = np.flatnonzero(rng.random(m) < 0.3)
    url = np.where(
        rng.random(len(signup)) < _sigmoid(-2.2 + 0.8 * leads.buy[signup]),
        CONTACT_URL,
        NEWSLETTER_URL,
    )
    parts.add(signup, leads.created[signup] + rng.integers(0, MINUTE, len(signup)), FORM, url=url)
    all_leads = np.arange(m)
    rate = 2.0 * leads.act * np.exp(0.35 * leads.heat)
    _sessions(rng, all_leads, leads.created, leads.stop, rate, _page_logits(leads), leads, parts)
    customers = np.flatnonzero(leads.converted)
    logits = np.tile(PAGE_LOGITS[5], (len(customers), 1))
    _sessions(
        rng,
        customers,
        leads.stop[customers],
        np.full(len(customers), end),
        1.0 * leads.act[customers],
        logits,
        leads,
        parts,
    )


def _sessions(rng, lead, lo, hi, rate, logits, leads: _Leads, parts: _Parts) -> None:
    """Visits at random times in [lo, hi), each a burst of page views minutes apart."""
    visits = rng.poisson(rate * (hi - lo) / MONTH)
    who = np.repeat(np.arange(len(lead)), visits)
    start = _uniform_in(rng, lo[who], hi[who])
    pages = rng.geometric(np.clip(0.5 - 0.06 * leads.heat[lead[who]], 0.3, 0.7))
    who, start = np.repeat(who, pages), np.repeat(start, pages)
    gaps = _delay(rng, 100 * SECOND, len(who))
    gaps[np.cumsum(pages) - pages] = 0
    elapsed = np.cumsum(gaps)
    t = start + elapsed - np.repeat(elapsed[np.cumsum(pages) - pages], pages)
    ok = t < hi[who]
    who, t = who[ok], t[ok]
    category = _pick(rng, logits[who])
    url = _member(rng, category, [paths for _, paths in PAGES])
    parts.add(lead[who], t, VIEWED, url=url)


def _in_window(rng, leads: _Leads, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson many times per lead, uniform between its creation and its outcome."""
    count = rng.poisson(rate * (leads.stop - leads.created) / MONTH)
    lead = np.repeat(np.arange(len(count)), count)
    return lead, _uniform_in(rng, leads.created[lead], leads.stop[lead])


def _downloads(rng: np.random.Generator, leads: _Leads, parts: _Parts) -> None:
    """Content downloads, most behind a form a few seconds earlier; hot leads want proof."""
    lead, t = _in_window(rng, leads, 0.25 * leads.act * np.exp(0.3 * leads.heat))
    content = _pick(rng, CONTENT_LOGITS[0] + CONTENT_LOGITS[1] * leads.heat[lead, None])
    parts.add(lead, t, DOWNLOAD, content=content)
    gated = rng.random(len(lead)) < 0.6
    t_form = np.maximum(leads.created[lead], t - _delay(rng, 40 * SECOND, len(lead)))
    parts.add(lead[gated], t_form[gated], FORM, url=RESOURCES_URL + content[gated])


def _webinars(rng: np.random.Generator, leads: _Leads, cal: _Calendar, parts: _Parts) -> None:
    """Registration for the next webinar; hot leads turn up more often."""
    lead, t = _in_window(rng, leads, 0.15 * leads.act * np.exp(0.5 * leads.heat))
    webinar = np.searchsorted(cal.webinar_at, t + HOUR)
    ok = webinar < len(cal.webinar_at)
    lead, t, webinar = lead[ok], t[ok], webinar[ok]
    parts.add(lead, t, REGISTERED, webinar=webinar)
    t_attend = cal.webinar_at[webinar] + rng.integers(0, 15 * MINUTE, len(lead))
    came = (rng.random(len(lead)) < _sigmoid(-0.4 + 0.5 * leads.heat[lead])) & (
        t_attend < leads.stop[lead]
    )
    parts.add(lead[came], t_attend[came], ATTENDED, webinar=webinar[came])


def _sales(rng: np.random.Generator, leads: _Leads, parts: _Parts) -> None:
    """Contact requests, demos (some cancelled) and trials; most buyers had a demo first."""
    m = len(leads.index)
    lead, t = _in_window(rng, leads, 0.04 * np.exp(0.9 * leads.buy))
    parts.add(lead, t, FORM, url=np.full(len(lead), CONTACT_URL))
    lead, t = _in_window(rng, leads, 0.025 * np.exp(1.1 * leads.buy) * np.sqrt(leads.act))
    late = np.flatnonzero(leads.converted & (rng.random(m) < 0.6))
    lead = np.concatenate([lead, late])
    t = np.concatenate([t, _late(rng, leads, late)])
    parts.add(lead, t, DEMO)
    booked = rng.random(len(lead)) < 0.5
    t_form = np.maximum(leads.created[lead], t - _delay(rng, 2 * MINUTE, len(lead)))
    parts.add(lead[booked], t_form[booked], FORM, url=np.full(booked.sum(), DEMO_URL))
    t_cancel = t + rng.integers(2 * HOUR, 3 * DAY, len(lead))
    cancelled = (rng.random(len(lead)) < 0.15) & (t_cancel < leads.stop[lead])
    parts.add(lead[cancelled], t_cancel[cancelled], CANCELLED)
    months = (leads.stop - leads.created) / MONTH
    trial = rng.random(m) < 1 - np.exp(-0.02 * months * np.exp(1.0 * leads.buy))
    trial |= leads.converted & (rng.random(m) < 0.3)
    lead = np.flatnonzero(trial)
    parts.add(lead, _late(rng, leads, lead), TRIAL)


def _late(rng: np.random.Generator, leads: _Leads, lead: np.ndarray) -> np.ndarray:
    """A time in the later part of the lead's window, where buying steps happen."""
    lo, hi = leads.created[lead], leads.stop[lead]
    return lo + ((0.3 + 0.65 * rng.random(len(lead))) * (hi - lo)).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Frames and the public API.


@dataclass(frozen=True)
class DemoData:
    """Leads, events and outcomes as in SPEC §3, and the hidden propensity of each lead row."""

    leads: pl.DataFrame
    events: pl.DataFrame
    outcomes: pl.DataFrame
    propensity: np.ndarray


def _addresses(leads: _Leads, frame: pl.DataFrame, co: _Companies, rng, seen: pl.Series):
    """E-mail addresses from name and domain; repeats get the lead number, so all are unique."""
    m = len(leads.index)
    free = rng.choice(len(FREE_DOMAINS), m, p=_shares(FREE_DOMAINS))
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
        .then(_decode(VOCAB["free"], free))
        .otherwise(_decode(co.domain, leads.company)),
    ).select(local=local, domain="domain", number="number", none=pl.lit(leads.email_kind == 2))
    emails = emails.with_columns(email=pl.col("local") + "@" + pl.col("domain"))
    taken = ~pl.col("email").is_first_distinct() | pl.col("email").is_in(seen)
    result = emails.select(
        pl.when("none")
        .then(None)
        .when(taken)
        .then(pl.concat_str("local", pl.lit("_"), "number", pl.lit("@"), "domain"))
        .otherwise("email")
    ).to_series()
    shout = pl.Series(rng.random(m) < 0.02)
    return result.zip_with(~shout, result.str.to_titlecase()), result.drop_nulls()


def _lead_frame(leads: _Leads, co: _Companies, rng, width: int, seen: pl.Series):
    names = pl.DataFrame(
        {
            "first_name": _decode(
                VOCAB["first"], rng.integers(0, len(FIRST_NAMES), len(leads.index))
            ),
            "last_name": _decode(VOCAB["last"], rng.integers(0, len(LAST_NAMES), len(leads.index))),
        }
    )
    email, used = _addresses(leads, names, co, rng, seen)
    case = rng.random(len(leads.index))
    title = _decode(VOCAB["title"], leads.title)
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
            "company": _decode(co.name, leads.company),
            "industry": _decode(VOCAB["industry"], leads.industry),
            "employees": pl.Series(leads.employees).set(pl.Series(leads.employees < 0), None),
            "job_title": title,
            "country": _decode(VOCAB["country"], leads.country),
            "source": _decode(VOCAB["source"], leads.source),
            "created_at": _timestamps(leads.created),
        }
    )
    return frame, used


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    return prefix + pl.Series(numbers, dtype=pl.Int64).cast(pl.String).str.zfill(width)


def _event_frame(ev: dict, lead_ids: pl.Series, cal: _Calendar, first_number: int):
    n = len(ev["lead"])
    return pl.DataFrame(
        {
            "id": _ids("E", np.arange(first_number, first_number + n), 10),
            "lead_id": lead_ids.gather(ev["lead"]),
            "type": _decode(VOCAB["type"], ev["type"]),
            "occurred_at": _timestamps(ev["t"]),
            "source": _decode(VOCAB["event_source"], ev["type"]),
            "url": _decode(VOCAB["url"], ev["url"]),
            "content_type": _decode(VOCAB["content"], ev["content"]),
            "campaign": _decode(cal.campaigns, ev["campaign"]),
            "webinar": _decode(cal.webinars, ev["webinar"]),
        }
    )


def _outcome_frame(rng, leads: _Leads, lead_ids: pl.Series) -> pl.DataFrame:
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


def iter_chunks(
    n_leads: int, seed: int = 0, end: datetime | date | None = None
) -> Iterator[DemoData]:
    """Generate the data set chunk by chunk (`CHUNK_LEADS` leads each) in bounded memory."""
    if n_leads <= 0:
        raise ValueError(f"the number of leads must be positive, not {n_leads}")
    if seed < 0:
        raise ValueError(f"the seed must not be negative, not {seed}")
    return _chunks(n_leads, seed, as_end(end))


def _chunks(n_leads: int, seed: int, end: datetime) -> Iterator[DemoData]:
    end_us = _micros(end)
    co, cal = _companies(n_leads, seed), _calendar(end)
    width = max(7, len(str(n_leads)))
    seen, events_so_far = pl.Series([], dtype=pl.String), 0
    for chunk, start in enumerate(range(0, n_leads, CHUNK_LEADS)):
        rng = _stream(seed, 1, chunk)
        leads = _leads(rng, start, min(CHUNK_LEADS, n_leads - start), co, end_us)
        frame, used = _lead_frame(leads, co, rng, width, seen)
        seen = pl.concat([seen, used])
        ev = _events(rng, leads, cal, end_us)
        events = _event_frame(ev, frame["id"], cal, events_so_far + 1)
        events_so_far += events.height
        outcomes = _outcome_frame(rng, leads, frame["id"])
        yield DemoData(frame, events, outcomes, leads.propensity)


def generate(n_leads: int, seed: int = 0, end: datetime | date | None = None) -> DemoData:
    """The whole data set in memory; for large N prefer `write_demo`, which streams."""
    chunks = list(iter_chunks(n_leads, seed, end))
    return DemoData(
        leads=pl.concat([c.leads for c in chunks]),
        events=pl.concat([c.events for c in chunks]),
        outcomes=pl.concat([c.outcomes for c in chunks]),
        propensity=np.concatenate([c.propensity for c in chunks]),
    )


def as_end(end: datetime | date | str | None) -> datetime:
    """The end of the data (UTC): a date means its midnight, naive times are UTC."""
    if end is None:
        end = datetime.now(UTC).date()
    if isinstance(end, str):
        end = datetime.fromisoformat(end) if "T" in end or " " in end else date.fromisoformat(end)
    if not isinstance(end, datetime):
        return datetime(end.year, end.month, end.day, tzinfo=UTC)
    return end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)


# ---------------------------------------------------------------------------------------------
# Writing: Parquet row groups or CSV appended chunk by chunk, renamed into place at the end.

TABLES = ("leads", "events", "outcomes")
ARROW_TYPES = {pl.String: pa.string(), pl.Int64: pa.int64(), pl.Float64: pa.float64()}


def _arrow(frame: pl.DataFrame) -> pa.Table:
    """Plain Arrow types (string, not large_string), the same whatever polars prefers."""
    fields = [
        pa.field(
            name,
            pa.timestamp("us", tz="UTC")
            if dtype == pl.Datetime("us", "UTC")
            else ARROW_TYPES[dtype],
        )
        for name, dtype in frame.schema.items()
    ]
    return frame.to_arrow().cast(pa.schema(fields))


class _Sink:
    """Writes the three tables of a data set; a failed run leaves no half-written file."""

    def __init__(self, out_dir: Path, fmt: str) -> None:
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"unknown format {fmt!r}: use parquet or csv")
        self.fmt = fmt
        out_dir.mkdir(parents=True, exist_ok=True)
        self.paths = {t: out_dir / f"{t}.{fmt}" for t in TABLES}
        self.temps = {t: p.with_name(f".{p.name}.partial") for t, p in self.paths.items()}
        self.writers: dict[str, Any] = {}
        self.rows = dict.fromkeys(TABLES, 0)

    def add(self, data: DemoData) -> None:
        for table in TABLES:
            frame = getattr(data, table)
            self.rows[table] += frame.height
            if self.fmt == "csv":
                self._add_csv(table, frame)
            else:
                arrow = _arrow(frame)
                if table not in self.writers:
                    self.writers[table] = pq.ParquetWriter(
                        self.temps[table], arrow.schema, compression="zstd"
                    )
                self.writers[table].write_table(arrow, row_group_size=max(1, frame.height))

    def _add_csv(self, table: str, frame: pl.DataFrame) -> None:
        first = table not in self.writers
        if first:
            self.writers[table] = open(self.temps[table], "wb")  # noqa: SIM115
        frame.write_csv(
            self.writers[table], include_header=first, datetime_format=CSV_TIME, float_precision=2
        )

    def close(self, ok: bool) -> None:
        for writer in self.writers.values():
            writer.close()
        for table, temp in self.temps.items():
            if ok:
                os.replace(temp, self.paths[table])
            else:
                temp.unlink(missing_ok=True)


def write(data: DemoData, out_dir: Path | str, fmt: str = "parquet") -> dict[str, Path]:
    """Write an in-memory data set as DIR/leads.<fmt>, events.<fmt> and outcomes.<fmt>."""
    return _write_all([data], Path(out_dir), fmt)[0]


def write_demo(
    n_leads: int,
    seed: int,
    end: datetime | date | None,
    out_dir: Path | str,
    fmt: str = "parquet",
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Generate and write chunk by chunk; returns the row count of each table."""
    return _write_all(iter_chunks(n_leads, seed, end), Path(out_dir), fmt, progress)[1]


def _write_all(chunks: Iterable[DemoData], out_dir: Path, fmt: str, progress=None):
    """Write each chunk on a second thread while the next one is generated (2 cores)."""
    sink, ok = _Sink(out_dir, fmt), False
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending: Future | None = None
            for data in chunks:
                if pending is not None:
                    pending.result()
                pending = pool.submit(sink.add, data)
                if progress is not None:
                    pending.add_done_callback(lambda _, n=data.leads.height: progress(n))
            if pending is not None:
                pending.result()
        ok = True
    finally:
        sink.close(ok)
    return sink.paths, sink.rows


# ---------------------------------------------------------------------------------------------
# The command line.


class Format(StrEnum):
    parquet = "parquet"
    csv = "csv"


def register(app: typer.Typer) -> None:
    """Add the `demo-data` command to the CLI."""

    @app.command("demo-data")
    def demo_data(
        leads: Annotated[int, typer.Option("--leads", help="Number of leads to generate.")],
        out: Annotated[Path, typer.Option("--out", help="Directory to write the files to.")],
        seed: Annotated[
            int, typer.Option("--seed", help="Random seed (same seed, same data).")
        ] = 0,
        fmt: Annotated[Format, typer.Option("--format", help="File format.")] = Format.parquet,
        end: Annotated[
            str | None,
            typer.Option(
                "--end", help="ISO date or time the data ends at (UTC); default: today 00:00 UTC."
            ),
        ] = None,
    ) -> None:
        """Write seeded synthetic leads, events and outcomes (SPEC §3 input format)."""
        if leads <= 0:
            raise typer.BadParameter(f"must be at least 1, not {leads}", param_hint="--leads")
        if seed < 0:
            raise typer.BadParameter(f"must not be negative, not {seed}", param_hint="--seed")
        if out.exists() and not out.is_dir():
            raise typer.BadParameter(f"{out} exists and is not a directory", param_hint="--out")
        try:
            end_at = as_end(end)
        except ValueError as exc:
            raise typer.BadParameter(
                f"not an ISO 8601 date or time: {end!r}", param_hint="--end"
            ) from exc
        counts = _run_with_progress(leads, seed, end_at, out, fmt.value)
        typer.echo(
            f"wrote {counts['leads']:,} leads, {counts['events']:,} events and "
            f"{counts['outcomes']:,} outcomes ({fmt.value}) to {out}"
        )


def _run_with_progress(n_leads: int, seed: int, end: datetime, out: Path, fmt: str):
    """A progress bar on stderr when the run takes more than one chunk."""
    if n_leads <= CHUNK_LEADS:
        return write_demo(n_leads, seed, end, out, fmt)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("leads", total=n_leads)
        return write_demo(n_leads, seed, end, out, fmt, lambda done: bar.advance(task, done))
