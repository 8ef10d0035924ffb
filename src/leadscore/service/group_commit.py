"""Group commit for concurrent event requests: one transaction stores the events of every
request waiting at that moment and rescores each of their leads once.

Under load most of the cost of one event is per transaction, not per event: the commit (an
fsync with PostgreSQL or SQLite `synchronous=FULL`), the lock hand-over, reading the active
model and the lead's events, writing the lead. A single writer thread per process takes the
first waiting request and every other one queued behind it (up to `max_events`), stores their
events, rescores the union of their leads, commits, and answers them all.

The common case is cheap: the whole group is stored as if it were one request (one
`ingest_in`: one lookup of the leads, one lock, one insert, one check of the ids' owners, one
rescore), and each request's answer is cut out of the result. Only when that raises NotFound
or Conflict — some request names an unknown lead or reuses another lead's event id — is the
transaction rolled back and the group stored again request by request, each in a savepoint of
its own, so that the bad request fails alone, as it would by itself, and the others are
stored. Both ways give every request the same answer.

Nothing is acknowledged before the commit. A request's response shows its leads' scores
after that transaction; two requests for one lead in one group share the lead's change, and
history gains one row for it (cause: its last event stored). Requests awaited on an event
loop (`store`, what the API uses) are answered with one call into the loop per group.

Without concurrency a group is one request, and this is `events.ingest_events` on another
thread. Requests larger than a group (big batches) do not go through the writer: they are a
transaction of their own, so they never hold up single events behind them on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

from leadscore.service import metrics
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, NotFound
from leadscore.service.events import Ingested, earliest, event_ids, ingest_events, ingest_in
from leadscore.service.inputs import EventIn
from leadscore.service.resolve import LocOf
from leadscore.service.scoring import Arrival, Cause, Change, rescore
from leadscore.store import Connection
from leadscore.store import leads as stored_leads
from leadscore.store.database import unavailable

log = logging.getLogger("leadscore.group_commit")

W = TypeVar("W")


@dataclass
class _Request:
    items: Sequence[EventIn]
    loc_of: LocOf
    ids: list[str]
    future: Future[Ingested] | None = None
    """Answered here when submitted from a thread (`submit`) …"""
    waiter: asyncio.Future[Ingested] | None = None
    """… or here when awaited on an event loop (`store`)."""
    answered: bool = False


Result: TypeAlias = Ingested | BaseException


class GroupCommit:
    """Stores events through one writer thread, in groups (see the module's docstring)."""

    def __init__(self, ctx: Context, max_events: int = 2_000) -> None:
        self.ctx = ctx
        self.max_events = max_events
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()  # None: stop
        self._thread = threading.Thread(target=self._run, name="leadscore-writer", daemon=True)
        self._thread.start()

    def submit(self, items: Sequence[EventIn], loc_of: LocOf) -> Future[Ingested]:
        """Queue one request's events; the future gives its `Ingested` or its error."""
        request = _Request(items, loc_of, event_ids(items), future=Future())
        self._queue.put(request)
        assert request.future is not None
        return request.future

    async def store(self, items: Sequence[EventIn], loc_of: LocOf) -> Ingested:
        """`submit` for a caller on an event loop: the writer answers every request of a
        group waiting on one loop with a single call into it, instead of one wake-up of the
        loop per request (through a concurrent future wrapped for asyncio)."""
        waiter: asyncio.Future[Ingested] = asyncio.get_running_loop().create_future()
        self._queue.put(_Request(items, loc_of, event_ids(items), waiter=waiter))
        return await waiter

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group, stop = waiting(self._queue, first, lambda r: len(r.items), self.max_events)
            try:
                self._commit(group)
            except Exception as exc:  # a bug: answer everyone rather than leave them waiting
                log.exception("the event writer failed")
                _reply([(r, exc) for r in group if not r.answered])
            if stop:
                return

    def _commit(self, group: list[_Request]) -> None:
        started = time.perf_counter()
        try:
            results = self._store(group)
            metrics.RESCORE_GROUP.observe(time.perf_counter() - started)
        except Exception as exc:
            if len(group) == 1:
                _reply([(group[0], exc)])
                return
            if unavailable(exc):  # alone, each would fail the same way: all answer 503 now
                log.warning("the database is unavailable: %d requests answered 503", len(group))
                _reply([(r, exc) for r in group])
                return
            log.exception("a group of %d requests failed; retrying them one by one", len(group))
            for request in group:
                self._alone(request)
            return
        _reply(list(zip(group, results, strict=True)))

    def _alone(self, request: _Request) -> None:
        result: Result
        try:
            result = ingest_events(self.ctx, request.items, request.loc_of)
        except Exception as exc:
            result = exc
        _reply([(request, result)])

    def _store(self, group: list[_Request]) -> list[Result]:
        ctx = self.ctx
        now = ctx.now()
        type_ids = ctx.event_types.ensure(ctx.db, {i.type for r in group for i in r.items})
        if len(group) == 1:  # alone: exactly `ingest_events`, its errors its own
            only = group[0]
            try:
                return [
                    ctx.db.transact(
                        lambda conn: ingest_in(
                            conn, ctx, only.items, only.ids, type_ids, now, only.loc_of
                        )
                    )
                ]
            except (NotFound, Conflict) as exc:
                return [exc]
        try:
            return ctx.db.transact(lambda conn: _together(conn, ctx, group, type_ids, now))
        except (NotFound, Conflict):
            pass  # some request is bad: store them one by one, so that it fails alone

        def work(conn: Connection) -> list[Result]:
            results: list[Result] = []
            for request in group:
                savepoint = conn.begin_nested()
                try:
                    stored = ingest_in(
                        conn,
                        ctx,
                        request.items,
                        request.ids,
                        type_ids,
                        now,
                        request.loc_of,
                        rescore_leads=False,
                    )
                except (NotFound, Conflict) as exc:  # this request fails alone
                    savepoint.rollback()
                    results.append(exc)
                    continue
                savepoint.commit()
                results.append(stored)
            return _rescored(conn, ctx, results, now)

        return ctx.db.transact(work)


def waiting(
    waiting_queue: queue.SimpleQueue[W | None],
    first: W,
    size_of: Callable[[W], int],
    limit: int,
) -> tuple[list[W], bool]:
    """The group a writer thread takes: `first` and what waits behind it in the queue, up to
    `limit` in size; and whether the stop mark (None) was met, after the group."""
    group, size = [first], size_of(first)
    while size < limit:
        try:
            found = waiting_queue.get_nowait()
        except queue.Empty:
            break
        if found is None:
            return group, True
        group.append(found)
        size += size_of(found)
    return group, False


def _reply(answers: Sequence[tuple[_Request, Result]]) -> None:
    """Give each request its result: a concurrent future at once, the waiters of one event
    loop together in one call into that loop."""
    on_loops: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Ingested], Result]]]
    on_loops = {}
    for request, result in answers:
        request.answered = True
        if request.waiter is not None:
            on_loops.setdefault(request.waiter.get_loop(), []).append((request.waiter, result))
        elif request.future is not None:
            if isinstance(result, BaseException):
                request.future.set_exception(result)
            else:
                request.future.set_result(result)
    for loop, waiting in on_loops.items():
        with suppress(RuntimeError):  # the loop is closed: nobody waits for these any more
            loop.call_soon_threadsafe(_settle, waiting)


def _settle(waiting: list[tuple[asyncio.Future[Ingested], Result]]) -> None:
    """On the waiters' event loop: set each result (a waiter cancelled meanwhile — its client
    went away — is skipped; its events are stored all the same)."""
    for waiter, result in waiting:
        if waiter.done():
            continue
        if isinstance(result, BaseException):
            waiter.set_exception(result)
        else:
            waiter.set_result(result)


def _together(
    conn: Connection, ctx: Context, group: list[_Request], type_ids: dict[str, int], now: int
) -> list[Result]:
    """Store and rescore a group as one request, then cut each request's answer out of it."""
    items = [item for request in group for item in request.items]
    ids = [event_id for request in group for event_id in request.ids]
    done = ingest_in(conn, ctx, items, ids, type_ids, now)
    answers: list[Result] = []
    change_of = {change.lead_id: change for change in done.leads}
    created = {c.lead_id: c.lead_pk for c in done.leads if c.lead_pk in done.created}
    start = 0
    for request in group:
        end = start + len(request.items)
        answers.append(_answer(done.events[start:end], request.items, change_of, created, now))
        start = end
    return answers


def _answer(
    statuses: list[dict[str, str]],
    items: Sequence[EventIn],
    change_of: dict[str, Change],
    created: dict[str, int],
    now: int,
) -> Ingested:
    """One request's part of a group stored together: what it would have got stored in a
    savepoint of its own, after the requests before it (a lead created by an earlier request
    of the group is not `created` for a later one)."""
    last: dict[int, str] = {}
    arrivals: dict[int, Arrival] = {}
    events: dict[int, list[tuple[str, str]]] = {}
    mine: set[int] = set()
    for status, item in zip(statuses, items, strict=True):
        pk = change_of[status["lead_id"]].lead_pk
        pk_created = created.pop(status["lead_id"], None)  # the first mention created it
        if pk_created is not None:
            mine.add(pk_created)
        if status["status"] != "stored":
            continue
        last[pk] = status["id"]
        occurred_at = now if item.occurred_at is None else item.occurred_at
        earliest(arrivals, pk, Arrival(status["id"], item.type, occurred_at))
        events.setdefault(pk, []).append((status["id"], item.type))
    leads = [change_of[lead_id] for lead_id in dict.fromkeys(s["lead_id"] for s in statuses)]
    return Ingested(statuses, leads, mine, last, arrivals, events)


def _rescored(conn: Connection, ctx: Context, results: list[Result], now: int) -> list[Result]:
    """Rescore every lead the group stored events for (or created), once, and put the new
    scores into each request's answer."""
    done = [r for r in results if isinstance(r, Ingested)]
    last: dict[int, str] = {}
    arrivals: dict[int, Arrival] = {}
    touched: set[int] = set()
    created: set[int] = set()
    events: dict[int, list[tuple[str, str]]] = {}
    for stored in done:
        last.update(stored.last_stored)
        for pk, arrival in stored.arrivals.items():
            earliest(arrivals, pk, arrival)
        for pk, pairs in stored.stored_events.items():
            events.setdefault(pk, []).extend(pairs)
        touched |= stored.last_stored.keys() | stored.created
        created |= stored.created
    rows = stored_leads.lock(conn, touched)
    ordered = [rows[pk] for pk in sorted(touched)]
    cause = Cause("event", last, arrivals, frozenset(created), events)
    changes = {c.lead_pk: c for c in rescore(conn, ctx, ordered, None, cause, settle_at=now)}
    answers: list[Result] = []
    for result in results:
        if isinstance(result, Ingested):
            leads = [changes.get(c.lead_pk, c) for c in result.leads]
            result = Ingested(
                result.events,
                leads,
                result.created,
                result.last_stored,
                result.arrivals,
                result.stored_events,
            )
        answers.append(result)
    return answers
