"""What the leads do: e-mail, web, content, webinar and sales events for a chunk of leads.

Each kind of behaviour is drawn for all leads of a chunk at once, at rates set by their heat
and buy (see `leads`): hot leads read pricing, attend webinars, book demos and start trials.
Buying steps happen before the outcome; e-mails and customers' doc reads go on after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from leadscore.demo.leads import Leads
from leadscore.demo.sampling import (
    DAY,
    HOUR,
    MINUTE,
    MONTH,
    NEVER,
    SECOND,
    delay,
    member,
    micros,
    pick,
    ranks,
    sigmoid,
    uniform_in,
)
from leadscore.demo.vocabulary import (
    ATTENDED,
    BROADCASTS,
    CANCELLED,
    CLICKED,
    CONTACT_URL,
    CONTENT_LOGITS,
    DEMO,
    DEMO_URL,
    DOWNLOAD,
    EMAIL_ENGAGEMENT,
    FORM,
    NEWSLETTER_URL,
    NORMAL,
    NURTURE_DAYS,
    OPENED,
    PAGE_LOGITS,
    PAGES,
    PERSONA_PAGES,
    REGISTERED,
    REPLIED,
    RESOURCES_URL,
    TRIAL,
    UNSUBSCRIBED,
    VIEWED,
    WEBINARS,
    vocab,
)


@dataclass(frozen=True)
class Calendar:
    """Weekly broadcasts, the welcome series, a webinar every other week; one per run."""

    sends: np.ndarray
    campaigns: pl.Series  # vocabulary: the broadcasts, then the welcome series
    webinar_at: np.ndarray
    webinars: pl.Series


def make_calendar(end: datetime) -> Calendar:
    day = end.replace(hour=0, minute=0, second=0, microsecond=0)
    sends = [day - timedelta(days=371 - 7 * w, hours=-14) for w in range(54)]
    sends = [s for s in sends if s <= end]
    campaigns = [f"{BROADCASTS[i % 4]} {s:%Y-%m-%d}" for i, s in enumerate(sends)]
    campaigns += [f"Welcome series {i + 1}" for i in range(len(NURTURE_DAYS))]
    webinars = [day - timedelta(days=400 - 14 * w, hours=-16) for w in range(33)]
    names = (f"{WEBINARS[i % len(WEBINARS)]} ({w:%Y-%m-%d})" for i, w in enumerate(webinars))
    return Calendar(
        sends=np.array([micros(s) for s in sends], dtype=np.int64),
        campaigns=vocab(campaigns),
        webinar_at=np.array([micros(w) for w in webinars], dtype=np.int64),
        webinars=vocab(names),
    )


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


def draw_events(
    rng: np.random.Generator, leads: Leads, cal: Calendar, end: int
) -> dict[str, np.ndarray]:
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


def _email_events(
    rng: np.random.Generator, leads: Leads, cal: Calendar, end: int, parts: _Parts
) -> np.ndarray:
    """Weekly broadcasts and a welcome series; opens, clicks, replies and an unsubscribe.

    Returns each lead's unsubscribe time, after which it engages with no more e-mail.
    """
    m = len(leads.index)
    subscribed = (leads.email_kind != 2) & (rng.random(m) < 0.92)
    first = np.searchsorted(cal.sends, leads.created)
    count = np.where(subscribed, len(cal.sends) - first, 0)
    lead = np.repeat(np.arange(m), count)
    campaign = first[lead] + ranks(count)
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
    quits = rng.random(len(lead)) < sigmoid(-6.5 - 0.4 * heat)
    cut = np.full(m, NEVER)
    np.minimum.at(cut, lead[quits], t[quits])
    ok = t <= cut[lead]
    lead, campaign, t, heat = lead[ok], campaign[ok], t[ok], heat[ok]
    last = np.zeros(len(lead), bool)  # the e-mail they unsubscribe from, once per lead
    at_cut = np.flatnonzero(t == cut[lead])
    last[at_cut[np.unique(lead[at_cut], return_index=True)[1]]] = True
    cold = (t >= leads.stop[lead]) & ~leads.converted[lead]  # lost leads tune out
    p_open = sigmoid(-0.5 + 0.45 * heat + 0.4 * np.log(leads.act[lead])) * np.where(cold, 0.5, 1)
    opened = last | (rng.random(len(lead)) < p_open)
    t_open = t + delay(rng, 5 * HOUR, len(lead))
    engaged = opened & ~last
    clicked = engaged & (rng.random(len(lead)) < sigmoid(-1.6 + 0.4 * heat))
    replied = engaged & (rng.random(len(lead)) < sigmoid(-5.0 + 0.6 * heat))
    t_click = t_open + delay(rng, 3 * MINUTE, len(lead))
    t_reply = t_open + delay(rng, 4 * HOUR, len(lead))
    t_quit = t_open + delay(rng, MINUTE, len(lead))
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


def _page_logits(leads: Leads) -> np.ndarray:
    """Per lead, the logits of the page categories it reads (hot leads: pricing, contact)."""
    ordinary = PAGE_LOGITS[0] + PAGE_LOGITS[1] * leads.heat[:, None]
    normal = (leads.persona == NORMAL)[:, None]
    logits: np.ndarray = np.where(normal, ordinary, PAGE_LOGITS[PERSONA_PAGES[leads.persona]])
    return logits


def _web(rng: np.random.Generator, leads: Leads, end: int, parts: _Parts) -> None:
    """Sign-up forms at creation, browsing sessions before the outcome, customers' doc reads."""
    m = len(leads.index)
    signup = np.flatnonzero(rng.random(m) < 0.3)
    url = np.where(
        rng.random(len(signup)) < sigmoid(-2.2 + 0.8 * leads.buy[signup]),
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


def _sessions(
    rng: np.random.Generator,
    lead: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    rate: np.ndarray,
    logits: np.ndarray,
    leads: Leads,
    parts: _Parts,
) -> None:
    """Visits at random times in [lo, hi), each a burst of page views minutes apart."""
    visits = rng.poisson(rate * (hi - lo) / MONTH)
    who = np.repeat(np.arange(len(lead)), visits)
    start = uniform_in(rng, lo[who], hi[who])
    pages = rng.geometric(np.clip(0.5 - 0.06 * leads.heat[lead[who]], 0.3, 0.7))
    who, start = np.repeat(who, pages), np.repeat(start, pages)
    gaps = delay(rng, 100 * SECOND, len(who))
    gaps[np.cumsum(pages) - pages] = 0
    elapsed = np.cumsum(gaps)
    t = start + elapsed - np.repeat(elapsed[np.cumsum(pages) - pages], pages)
    ok = t < hi[who]
    who, t = who[ok], t[ok]
    category = pick(rng, logits[who])
    url = member(rng, category, [paths for _, paths in PAGES])
    parts.add(lead[who], t, VIEWED, url=url)


def _in_window(
    rng: np.random.Generator, leads: Leads, rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson many times per lead, uniform between its creation and its outcome."""
    count = rng.poisson(rate * (leads.stop - leads.created) / MONTH)
    lead = np.repeat(np.arange(len(count)), count)
    return lead, uniform_in(rng, leads.created[lead], leads.stop[lead])


def _downloads(rng: np.random.Generator, leads: Leads, parts: _Parts) -> None:
    """Content downloads, most behind a form a few seconds earlier; hot leads want proof."""
    lead, t = _in_window(rng, leads, 0.25 * leads.act * np.exp(0.3 * leads.heat))
    content = pick(rng, CONTENT_LOGITS[0] + CONTENT_LOGITS[1] * leads.heat[lead, None])
    parts.add(lead, t, DOWNLOAD, content=content)
    gated = rng.random(len(lead)) < 0.6
    t_form = np.maximum(leads.created[lead], t - delay(rng, 40 * SECOND, len(lead)))
    parts.add(lead[gated], t_form[gated], FORM, url=RESOURCES_URL + content[gated])


def _webinars(rng: np.random.Generator, leads: Leads, cal: Calendar, parts: _Parts) -> None:
    """Registration for the next webinar; hot leads turn up more often."""
    lead, t = _in_window(rng, leads, 0.15 * leads.act * np.exp(0.5 * leads.heat))
    webinar = np.searchsorted(cal.webinar_at, t + HOUR)
    ok = webinar < len(cal.webinar_at)
    lead, t, webinar = lead[ok], t[ok], webinar[ok]
    parts.add(lead, t, REGISTERED, webinar=webinar)
    t_attend = cal.webinar_at[webinar] + rng.integers(0, 15 * MINUTE, len(lead))
    came = (rng.random(len(lead)) < sigmoid(-0.4 + 0.5 * leads.heat[lead])) & (
        t_attend < leads.stop[lead]
    )
    parts.add(lead[came], t_attend[came], ATTENDED, webinar=webinar[came])


def _sales(rng: np.random.Generator, leads: Leads, parts: _Parts) -> None:
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
    t_form = np.maximum(leads.created[lead], t - delay(rng, 2 * MINUTE, len(lead)))
    parts.add(lead[booked], t_form[booked], FORM, url=np.full(booked.sum(), DEMO_URL))
    t_cancel = t + rng.integers(2 * HOUR, 3 * DAY, len(lead))
    cancelled = (rng.random(len(lead)) < 0.15) & (t_cancel < leads.stop[lead])
    parts.add(lead[cancelled], t_cancel[cancelled], CANCELLED)
    months = (leads.stop - leads.created) / MONTH
    trial = rng.random(m) < 1 - np.exp(-0.02 * months * np.exp(1.0 * leads.buy))
    trial |= leads.converted & (rng.random(m) < 0.3)
    lead = np.flatnonzero(trial)
    parts.add(lead, _late(rng, leads, lead), TRIAL)


def _late(rng: np.random.Generator, leads: Leads, lead: np.ndarray) -> np.ndarray:
    """A time in the later part of the lead's window, where buying steps happen."""
    lo, hi = leads.created[lead], leads.stop[lead]
    moment: np.ndarray = lo + ((0.3 + 0.65 * rng.random(len(lead))) * (hi - lo)).astype(np.int64)
    return moment
