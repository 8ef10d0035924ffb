"""The service's Prometheus metrics: counters and histograms the use cases move as they
work, in this process's default registry (api/metrics.py serves them at /metrics).

Why here, in the use cases, and not in the API: events come in through the API and through
file imports, recomputes run from the scheduler and from jobs, deliveries and syncs run on
background threads — each is counted where it happens. On the hot path (POST /events) the
cost is one counter increment and one histogram observation per transaction, no query:
what is computed from the database (the outbox's depth) is computed when scraped.

Every name and its meaning is listed in docs/operations.md#metrics.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series: half the lines

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LONG_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0)

EVENTS_INGESTED = Counter(
    "leadscore_events_ingested",
    "Events stored (duplicates not counted), by where they came in: api or import.",
    ["source"],
)
EVENTS_FROM_API = EVENTS_INGESTED.labels("api")
EVENTS_FROM_IMPORT = EVENTS_INGESTED.labels("import")

RESCORE_SECONDS = Histogram(
    "leadscore_rescore_seconds",
    "Time to store events and rescore their leads, one transaction: a group of concurrent "
    "requests (group), or one request stored alone: a batch larger than a group, or a "
    "request retried alone after its group failed (batch).",
    ["path"],
    buckets=LATENCY_BUCKETS,
)
RESCORE_GROUP = RESCORE_SECONDS.labels("group")
RESCORE_BATCH = RESCORE_SECONDS.labels("batch")

DELIVERY_FAILURES = Counter(
    "leadscore_outbox_delivery_failures",
    "Outbox deliveries that failed, by action and outcome: retry (scheduled again) or "
    "failed (kept as failed after its last attempt).",
    ["action", "outcome"],
)

RECOMPUTE_SECONDS = Histogram(
    "leadscore_recompute_seconds",
    "Duration of whole recomputes run by this process (scheduler or job).",
    buckets=LONG_BUCKETS,
)
RECOMPUTE_LAST_SECONDS = Gauge(
    "leadscore_recompute_last_duration_seconds",
    "Duration of the last recompute this process ran.",
)

SYNC_RUNS = Counter(
    "leadscore_sync_runs",
    "Connector syncs this process ran, by connector and status (ok or failed).",
    ["connector", "status"],
)
SYNC_ERRORS = Counter(
    "leadscore_sync_errors",
    "Connector syncs that failed, by connector.",
    ["connector"],
)

SOURCE_SUBMISSIONS = Counter(
    "leadscore_source_submissions",
    "What inbound sources delivered (lead forms, webhooks, tracking), by source and what "
    "became of each submission: stored, duplicate, suppressed or unknown.",
    ["source", "status"],
)
SOURCE_REFUSED = Counter(
    "leadscore_source_refused",
    "Inbound deliveries refused before anything was written, by source and status code "
    "(401 signature, 400 malformed, 413 too large, 404 not configured, 503 upstream).",
    ["source", "status"],
)

TRACKING_BEACONS = Counter(
    "leadscore_tracking_beacons",
    "Website tracking beacons by outcome: stored (anonymous), lead (written as a lead's "
    "event), duplicate, bot (dropped), origin (refused), limited (429), malformed (400), "
    "unsigned (bad site key or token).",
    ["outcome"],
)


def recomputed(seconds: float) -> None:
    RECOMPUTE_SECONDS.observe(seconds)
    RECOMPUTE_LAST_SECONDS.set(seconds)


def synced(connector: str, ok: bool) -> None:
    SYNC_RUNS.labels(connector, "ok" if ok else "failed").inc()
    if not ok:
        SYNC_ERRORS.labels(connector).inc()
