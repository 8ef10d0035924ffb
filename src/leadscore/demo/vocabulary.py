"""The data tables the generator draws from (kept compact), and the codes that index them.

Rows carry a share (how often a value is drawn) and often an effect (an additive term of the
hidden logit, see `leads`). Generation works on integer codes into these tables (-1 for null),
decoded to strings only when the frames are built, so that no step needs a Python loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl


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


def vocab(values: Any) -> pl.Series:
    """A string vocabulary with a null in front, so that code -1 decodes to null."""
    return pl.Series([None, *values], dtype=pl.String)


def column(rows: Any, column: int) -> list[object]:
    return [row[column] for row in rows]


VOCAB = {
    "title": vocab(v for g in TITLE_GROUPS for v in g),
    "industry": vocab(column(INDUSTRIES, 0)),
    "country": vocab(column(COUNTRIES, 0)),
    "source": vocab(column(SOURCES, 0)),
    "first": vocab(FIRST_NAMES),
    "last": vocab(LAST_NAMES),
    "free": vocab(column(FREE_DOMAINS, 0)),
    "type": vocab(column(EVENT_TYPES, 0)),
    "event_source": vocab(column(EVENT_TYPES, 1)),
    "url": vocab(URLS),
    "content": vocab(CONTENT),
}


def decode(vocab: pl.Series, codes: np.ndarray) -> pl.Series:
    """Map integer codes (-1 for null) to strings without a Python loop."""
    return vocab.gather(codes.astype(np.int64) + 1)


def shares(rows: Any) -> np.ndarray:
    weights = np.array([row[1] if isinstance(row, tuple) else row for row in rows], dtype=float)
    share: np.ndarray = weights / weights.sum()
    return share
