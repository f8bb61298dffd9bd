"""The hall's one writer: commands applied in order to the state in memory, each batch
written to the database in one transaction (group commit), replies and events released
only after that commit (SPEC §7).

`Hall.run(steps)` takes a batch of steps. Before them it carries out a close-out that has
come due (domain.day), so no command ever sees another day's open tickets. Each step runs
over a fresh unit of work (work.py): a refusal (ProtocolError) drops its work and leaves
the state as it was; a success is applied to the state at once, so the next step of the
batch sees it. After the last step one `queue_changed` reports every queue the batch
changed. Then the batch is journalled (journal.py) and committed; only then are its
outcomes returned. If the commit fails, the state is rebuilt from the database and every
step of the batch is answered with an internal error: nothing was acknowledged. The server
splits `run` in two (`stage`, then `Staged.commit` on a thread of its own, then
`Staged.done`): the commands' Python runs on its event loop, and only the wait for the
disk leaves it.

The state is rebuilt from the database when it is stale: at start, when another process
has written to the hall (its `last_seq` or `config_version` moved), after a close-out and
after a configuration change. "This process owns hall H" (the district's lease) is the one
thing a multi-process deployment adds: the check of the hall row at the start of each
batch and the conditional update of `last_seq` are where it goes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, RootTransaction

from queue_protocol.codec import encode
from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import ErrorReply, QueueChanged, TicketState
from queue_server.hall import day, journal, loading, rating_store, views
from queue_server.hall.journal import Conflict
from queue_server.hall.state import HallState
from queue_server.hall.work import SERVED_OUTCOMES, Published, Work
from queue_server.stats.fold import whole_seconds
from queue_server.store.engine import read_only

log = logging.getLogger(__name__)

# A step of a batch: reads and changes the hall through its Work, returns the encoded reply
# (or a function building it from the state with the step's changes applied: a login's
# snapshot), or raises ProtocolError to refuse, changing nothing.
Step = Callable[[Work], str | Callable[[], str]]
ATTEMPTS = 3  # runs of a batch that met another process's write before giving up
# What moves on writes, read at each batch's start.
HALL_VERSION = "SELECT id, last_seq, config_version FROM hall WHERE code = {mark}"
# A batch holds the hall row from its start on PostgreSQL, as BEGIN IMMEDIATE holds the
# whole file on SQLite: another process's change waits for the batch instead of making it
# run again.
HALL_VERSION_LOCKED = HALL_VERSION + " FOR UPDATE"


@dataclass
class Outcome:
    reply: str  # the reply frame (ok or error)
    events: list[Published] = field(default_factory=list)
    error: ErrorCode | None = None  # the code of an error reply
    refusal: ProtocolError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Batch:
    outcomes: list[Outcome]
    events: list[Published]  # every event of the batch, in seq order


@dataclass
class Request:
    """One step of a batch and the id its error reply answers."""

    rid: str | None
    step: Step


class Hall:
    """The writer of one hall of the database, named by its code (None: the database's
    one hall, see `code`)."""

    def __init__(
        self, engine: Engine, clock: Callable[[], datetime], code: str | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        self._code = code
        self._state: HallState | None = None
        # The writer's thread runs batches; the CLI and tests may call from others.
        self.lock = threading.RLock()
        # The writer keeps its own connection: no pool check-out and reset per batch.
        self._connection: Connection | None = None
        # Names this writer in its PostgreSQL notifications (store/notify.py), so its own
        # server does not read back what it has just published.
        self.writer = uuid.uuid4().hex[:12]

    # -- state --------------------------------------------------------------------------

    @property
    def code(self) -> str:
        """The hall's code; if none was given, that of the database's one hall."""
        if self._code is None:
            self._code = loading.only_hall(self.engine)
        return self._code

    @property
    def given_code(self) -> str | None:
        return self._code

    def named(self, code: str) -> None:
        """The hall was made (hall/config.py) under this code."""
        self._code = code

    @property
    def cached(self) -> HallState | None:
        """The state as of the last batch (no database work; None until loaded)."""
        return self._state

    def state(self) -> HallState:
        """The state, rebuilt from the database if another process changed the hall."""
        with self.lock, read_only(self.engine).connect() as connection:
            return self._fresh(connection, self.clock())

    def invalidate(self) -> None:
        """The database changed under the state (a configuration change): rebuild it."""
        with self.lock:
            self._state = None

    def _fresh(self, connection: Connection, now: datetime, lock: bool = False) -> HallState:
        locked = lock and connection.dialect.name == "postgresql"
        sql = HALL_VERSION_LOCKED if locked else HALL_VERSION
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            row = cursor.execute(sql.format(mark=mark), (self.code,)).fetchone()
        finally:
            cursor.close()
        if row is None:
            raise ProtocolError(ErrorCode.INTERNAL, f"the hall {self.code!r} is not configured")
        hall_id, seq, version = row
        state = self._state
        if state is None or state.last_seq != seq or state.config_version != version:
            state = self._state = loading.load(connection, now, hall_id)
        return state

    def work(self, state: HallState, now: datetime) -> Work:
        hall = state.hall_id
        return Work(
            state=state,
            now=now,
            fetch_ticket=lambda ticket_id: loading.fetch_ticket(self.engine, hall, ticket_id),
            fetch_appointment=lambda code: loading.fetch_appointment(self.engine, hall, code),
            fetch_appointments=lambda d: loading.fetch_appointments(self.engine, hall, d),
            fetch_audit=lambda *query: loading.audit(self.engine, hall, *query),
            fetch_services=lambda t: rating_store.fetch_services(self.engine, hall, t),
            fetch_cases=lambda ids: rating_store.fetch_cases(self.engine, hall, ids),
            fetch_ratings=lambda *q: rating_store.fetch_ratings(self.engine, hall, *q),
            fetch_rating=lambda r: rating_store.fetch_rating(self.engine, hall, r),
        )

    # -- batches ------------------------------------------------------------------------

    def run(self, requests: Sequence[Request]) -> Batch:
        """Carry out a batch and commit it, all on the calling thread."""
        staged = self.stage(requests)
        staged.commit()
        return staged.done()

    def stage(self, requests: Sequence[Request]) -> Staged:
        """Carry out a batch up to its commit: the steps applied to the state, the batch
        written in an open transaction. The caller then calls `commit()` (on any thread:
        it is the disk's wait, during which the caller's thread may do other work) and
        `done()` on this thread, which hands back the batch. The hall stays locked from
        here to `done()`."""
        rids = [r.rid for r in requests]
        self.lock.acquire()
        try:
            for _ in range(ATTEMPTS):
                try:
                    return self._stage_once(requests, rids)
                except Conflict:
                    log.info("another process wrote to the hall; reloading and running again")
                    self._state = None
                except Exception:
                    log.exception(
                        "a batch of %d commands failed; nothing was changed", len(requests)
                    )
                    self._abandon()
                    return Staged(self, None, failed(rids), rids)
            log.error("the hall kept changing under a batch; nothing was changed")
            return Staged(self, None, failed(rids), rids)
        except BaseException:
            self.lock.release()
            raise

    def close(self) -> None:
        """Let go of the writer's connection (a new one is opened when needed)."""
        with self.lock:
            if self._connection is not None:
                connection, self._connection = self._connection, None
                with contextlib.suppress(Exception):
                    connection.close()

    def _abandon(self) -> None:
        """After a failure: forget the state (its changes were never committed) and the
        connection."""
        self._state = None
        self.close()

    def _stage_once(self, requests: Sequence[Request], rids: list[str | None]) -> Staged:
        if self._connection is None:
            self._connection = self.engine.connect()
        connection = self._connection
        transaction = connection.begin()
        try:
            now = self.clock()
            state = self._fresh(connection, now, lock=True)
            expected = state.last_seq
            works: list[Work] = []
            outcomes: list[Outcome] = []
            reload = False
            touched: set[str] = set()
            closing = self.work(state, now)
            moment = day.owed(closing)
            if moment is not None:
                expired = day.close_out(closing, moment)
                closing.note(f"day close-out at {moment.isoformat()}: {expired} tickets expired")
                touched |= closing.touched
                apply(closing)
                works.append(closing)
                reload = True
            for request in requests:
                w = self.work(state, now)
                try:
                    reply = request.step(w)
                except ProtocolError as exc:
                    outcomes.append(refused(request.rid, exc))
                    continue
                except Exception:
                    log.exception("a command failed; nothing of it was changed")
                    outcomes.append(internal(request.rid))
                    continue
                apply(w)
                works.append(w)
                if callable(reply):  # built from the state with this command's changes
                    reply = reply()
                touched |= w.touched
                reload = reload or w.reload
                outcomes.append(Outcome(reply, w.events))
            if touched:
                figures = self.work(state, now)
                figures.emit(QueueChanged, queues=views.queue_stats(state, touched))
                apply(figures)
                works.append(figures)
            if any(_changes(w) for w in works):
                journal.write(connection, state.hall_id, works, expected, self.writer)
        except BaseException:
            transaction.rollback()
            raise
        batch = Batch(outcomes, [e for w in works for e in w.events])
        return Staged(self, transaction, batch, rids, works, reload)


@dataclass
class Staged:
    """A batch carried out and written, its transaction still open (Hall.stage)."""

    hall: Hall
    transaction: RootTransaction | None  # None: nothing to commit (the batch failed)
    batch: Batch
    rids: list[str | None]  # what each command's error reply answers
    works: list[Work] = field(default_factory=list)
    reload: bool = False
    error: BaseException | None = None

    def commit(self) -> None:
        """Commit the batch (blocks for the disk); never raises: `done()` reports it."""
        if self.transaction is not None:
            try:
                self.transaction.commit()
            except Exception as exc:  # a full disk, a lost database
                self.error = exc

    def done(self) -> Batch:
        """The batch as committed, or every command answered with an internal error if
        its commit failed (the state is then rebuilt: nothing was acknowledged)."""
        hall = self.hall
        try:
            if self.error is not None:
                log.error(
                    "a batch of %d commands failed to commit; nothing was changed",
                    len(self.batch.outcomes),
                    exc_info=self.error,
                )
                hall._abandon()
                return failed(self.rids)
            for w in self.works:
                for line in w.notes:
                    log.info("%s", line)
            if self.reload:
                hall._state = None
            return self.batch
        finally:
            hall.lock.release()


def apply(w: Work) -> None:
    """Move a successful unit of work into the state, keeping its indices in step."""
    state = w.state
    for ticket_id, live in w.tickets.items():
        old = state.tickets.get(ticket_id)
        before = old.ticket if old is not None else None
        after = live.ticket
        if before is not None and before.state is TicketState.WAITING:
            state.queue(before.category).remove(before)
        if after.state is TicketState.WAITING:
            state.queue(after.category).add(after)
        if after.state is TicketState.DONE and (
            before is None or before.state is not TicketState.DONE
        ):
            minutes = loading.window_minutes(after)
            if minutes is not None:
                state.samples.setdefault(after.category, state.new_samples()).append(minutes)
        if live.day == state.day.isoformat():  # today's no-shows per window
            if before is not None and before.state is TicketState.NO_SHOW and before.window:
                state.figures_of(before.window).no_shows -= 1
            if after.state is TicketState.NO_SHOW and after.window is not None:
                state.figures_of(after.window).no_shows += 1
        state.tickets[ticket_id] = live
        if live.day == state.day.isoformat():
            state.numbers[after.number] = ticket_id
    book = state.ratings
    for service in w.services:
        if service.day == state.day.isoformat():
            rating_store.remember(book, service.live())
        if service.outcome in SERVED_OUTCOMES and service.day == state.day.isoformat():
            figures = state.figures_of(service.window)
            figures.served += 1
            figures.service_minutes += whole_seconds(service.started_at, service.ended_at) / 60
    for rating in w.ratings.values():
        book.rated[(rating.ticket, rating.step)] = book.by_id[rating.id] = rating
        book.last_rating = max(book.last_rating, rating.id)
    for case in w.cases.values():
        book.last_case = max(book.last_case, case.id)
        if case.finished:
            book.cases.pop(case.id, None)
        else:
            book.cases[case.id] = case
    if w.windows:
        state.windows.update(w.windows)
        state.windows_changed(w.windows)
    state.appointments.update(w.appointments)
    state.counters.update(w.counters)
    if "notice" in w.hall:
        state.notice = w.hall["notice"]
    if "config_version" in w.hall:
        state.config_version = w.hall["config_version"]
    if "closed_out_at" in w.hall:
        state.closed_out_at = w.hall["closed_out_at"]
    for alert in w.alerts.values():
        state.last_alert = max(state.last_alert, alert.id)
        if alert.cleared_at is None:
            state.alerts[alert.id] = alert
            state.alert_keys[alert.key] = alert.id
        else:
            state.alerts.pop(alert.id, None)
            if state.alert_keys.get(alert.key) == alert.id:
                del state.alert_keys[alert.key]
    state.last_seq += len(w.events)
    state.recent_calls.extend(w.calls)
    if w.request is not None:
        state.requests.add(*w.request)


def _changes(w: Work) -> bool:
    return bool(
        w.tickets
        or w.windows
        or w.appointments
        or w.counters
        or w.hall
        or w.events
        or w.services
        or w.request
        or w.alerts
        or w.paused
        or w.ratings
        or w.cases
    )


def refused(rid: str | None, exc: ProtocolError) -> Outcome:
    reply = encode(ErrorReply(re=rid, code=exc.code, message=exc.message, **exc.details))
    return Outcome(reply, error=exc.code, refusal=exc)


def internal(rid: str | None) -> Outcome:
    """The answer to a command the server could not carry out (nothing of it was changed)."""
    message = "the server could not do this; nothing was changed"
    return refused(rid, ProtocolError(ErrorCode.INTERNAL, message))


def failed(rids: Sequence[str | None]) -> Batch:
    """A batch none of whose commands was carried out."""
    return Batch([internal(rid) for rid in rids], [])
