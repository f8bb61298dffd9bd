"""The database as the hall's write-ahead log: one transaction per batch of commands.

A batch's units of work (work.py) are written as plain SQL through the driver, not the
ORM: the changed tickets, windows, appointments and counters as upserts (INSERT … ON
CONFLICT, which SQLite and PostgreSQL share), the events, services and request-log rows as
inserts, and the hall row's `last_seq` moved on only if it still holds
the value this writer last saw. If another process wrote to the hall meanwhile (the CLI, a
second server), that update matches no row: `Conflict` is raised, the transaction is rolled
back, and the writer reloads its state and runs the batch again (core.py). This guard is
also what the district issue's lease will rest on.
"""

from __future__ import annotations

import contextlib
import functools
import json
import operator
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Table

from queue_server.domain.model import Ticket
from queue_server.hall import rating_store
from queue_server.hall.work import Work
from queue_server.store import notify
from queue_server.store.tables import (
    AlertRow,
    AppointmentRow,
    CaseStepRow,
    CategoryRow,
    EventRow,
    HallRow,
    NumberCounterRow,
    RatingCaseRow,
    RatingRow,
    RequestRow,
    ServiceRow,
    TicketRow,
    WindowRow,
)

TICKET: Table = TicketRow.__table__  # type: ignore[attr-defined]
WINDOW: Table = WindowRow.__table__  # type: ignore[attr-defined]
APPOINTMENT: Table = AppointmentRow.__table__  # type: ignore[attr-defined]
COUNTER: Table = NumberCounterRow.__table__  # type: ignore[attr-defined]
EVENT: Table = EventRow.__table__  # type: ignore[attr-defined]
SERVICE: Table = ServiceRow.__table__  # type: ignore[attr-defined]
REQUEST: Table = RequestRow.__table__  # type: ignore[attr-defined]
HALL: Table = HallRow.__table__  # type: ignore[attr-defined]
ALERT: Table = AlertRow.__table__  # type: ignore[attr-defined]
CATEGORY: Table = CategoryRow.__table__  # type: ignore[attr-defined]
RATING: Table = RatingRow.__table__  # type: ignore[attr-defined]
CASE: Table = RatingCaseRow.__table__  # type: ignore[attr-defined]
CASE_STEP: Table = CaseStepRow.__table__  # type: ignore[attr-defined]


class Conflict(Exception):
    """Another process changed the hall since this writer loaded it."""


def write(
    connection: Connection, hall_id: int, works: Sequence[Work], expected_seq: int, writer: str
) -> None:
    """Write the batch `works` (in order) of the hall `hall_id` inside the caller's
    transaction; on PostgreSQL other processes are told of its events at its commit
    (store/notify.py)."""
    hall_key = {"hall_id": hall_id}
    tickets: dict[str, dict[str, Any]] = {}
    windows: dict[int, dict[str, Any]] = {}
    appointments: dict[str, dict[str, Any]] = {}
    counters: dict[tuple[str, str], int] = {}
    hall: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    alerts: dict[int, dict[str, Any]] = {}
    ratings: dict[int, dict[str, Any]] = {}
    cases: dict[int, dict[str, Any]] = {}
    case_steps: list[dict[str, Any]] = []
    paused: dict[str, str | None] = {}
    for work in works:  # later works override earlier ones' rows
        for live in work.tickets.values():
            tickets[live.ticket.id] = (
                hall_key
                | ticket_columns(live.ticket)
                | {"day": live.day, "secret_hash": live.secret_hash}
            )
        for window in work.windows.values():
            windows[window.number] = hall_key | {
                "number": window.number,
                "name": window.name,
                "zone": window.zone,
                "profile": json.dumps(list(window.profile), ensure_ascii=False),
                "state": window.state.value,
                "staff": window.staff,
                "pause_reason": window.pause_reason,
                "ticket": window.ticket,
                "connected": window.connected,
                "since": window.since,
            }
        for a in work.appointments.values():
            appointments[a.code] = hall_key | {
                "code": a.code,
                "category": a.category,
                "item": a.item,
                "day": a.day,
                "slot": a.slot,
                "slot_at": a.slot_at,
                "name": a.name,
                "phone": a.phone,
                "state": a.state,
                "ticket": a.ticket,
                "created_at": a.created_at,
                "checked_in_at": a.checked_in_at,
                "cancelled_at": a.cancelled_at,
            }
        counters.update(work.counters)
        hall.update(work.hall)
        paused.update(work.paused)
        for alert in work.alerts.values():
            alerts[alert.id] = hall_key | {
                "id": alert.id,
                "kind": alert.kind.value,
                "subject": alert.subject,
                "severity": alert.severity.value,
                "raised_at": alert.raised_at,
                "cleared_at": alert.cleared_at,
                "category": alert.category,
                "window": alert.window,
                "ticket": alert.ticket,
                "device": alert.device,
                "case_id": alert.case,
                "value": alert.value,
                "threshold": alert.threshold,
                "acknowledged_by": alert.acknowledged_by,
                "acknowledged_at": alert.acknowledged_at,
            }
        for rating in work.ratings.values():
            ratings[rating.id] = hall_key | rating_store.rating_columns(rating)
        for case in work.cases.values():
            cases[case.id] = hall_key | rating_store.case_columns(case)
        case_steps.extend(hall_key | rating_store.step_columns(s) for s in work.case_steps)
        events.extend(
            hall_key
            | {
                "seq": e.seq,
                "at": e.at,
                "name": e.name,
                "payload": e.text,
                "window": e.window,
                "zone": e.zone,
                "by": e.by,
            }
            for e in work.events
        )
        services.extend(hall_key | vars(s) for s in work.services)
        if work.request is not None:
            (principal, request_id), fingerprint, reply = work.request
            requests.append(
                hall_key
                | {
                    "principal": principal,
                    "request_id": request_id,
                    "fingerprint": fingerprint,
                    "reply": reply,
                    "at": work.now,
                }
            )
    last_seq = expected_seq + len(events)
    values = {"last_seq": last_seq, **hall}
    guard = _statement(connection.dialect, HALL, tuple(values), ("last_seq",), "update")
    # On PostgreSQL the batch's statements go out together (pipeline mode), in one round
    # trip instead of one each: the event loop waits for the database once per batch.
    for code, reason in paused.items():  # rare (a supervisor's act): before the pipeline
        connection.execute(
            CATEGORY.update()
            .where(CATEGORY.c.hall_id == hall_id, CATEGORY.c.code == code)
            .values(issuing_paused_reason=reason)
        )
    raw = connection.connection.driver_connection
    postgres = connection.dialect.name == "postgresql"
    with raw.pipeline() if postgres else contextlib.nullcontext():  # type: ignore[union-attr]
        moved = guard.run(connection, [values | {"id": hall_id, "expected": expected_seq}])
        _upsert(connection, TICKET, ("hall_id", "id"), list(tickets.values()))
        _upsert(connection, WINDOW, ("hall_id", "number"), list(windows.values()))
        _upsert(connection, APPOINTMENT, ("hall_id", "code"), list(appointments.values()))
        _upsert(connection, ALERT, ("hall_id", "id"), list(alerts.values()))
        _upsert(connection, RATING, ("hall_id", "id"), list(ratings.values()))
        _upsert(connection, CASE, ("hall_id", "id"), list(cases.values()))
        _upsert(
            connection,
            COUNTER,
            ("hall_id", "day", "category"),
            [hall_key | {"day": d, "category": c, "last": n} for (d, c), n in counters.items()],
        )
        for table, rows in (
            (EVENT, events),
            (SERVICE, services),
            (REQUEST, requests),
            (CASE_STEP, case_steps),
        ):
            if rows:
                _statement(connection.dialect, table, tuple(rows[0]), (), "insert").run(
                    connection, rows
                )
        if events:
            notify.announce(connection, writer, hall_id, last_seq)
    if moved() != 1:
        raise Conflict(f"the hall's last_seq is no longer {expected_seq}")


def _upsert(
    connection: Connection, table: Table, keys: tuple[str, ...], rows: list[dict[str, Any]]
) -> None:
    """Insert `rows`, or update them where their key exists (SQLite and PostgreSQL alike)."""
    if rows:
        _statement(connection.dialect, table, tuple(rows[0]), keys, "upsert").run(connection, rows)


class _Statement:
    """SQL for the driver itself, run on its own cursor inside the caller's transaction,
    with each column's bind processing (UTC times): on this path SQLAlchemy's
    per-execution work cost more than SQLite's."""

    def __init__(
        self,
        sql: str,
        columns: tuple[str, ...],
        processors: tuple[Callable[[Any], Any] | None, ...],
    ) -> None:
        self.sql = sql
        self._values = operator.itemgetter(*columns)  # one tuple per row, in C
        self._processed = [(i, p) for i, p in enumerate(processors) if p is not None]
        self._single = len(columns) == 1

    def params(self, row: dict[str, Any]) -> tuple[Any, ...]:
        values = (self._values(row),) if self._single else self._values(row)
        if not self._processed:
            return values
        listed = list(values)
        for i, process in self._processed:
            listed[i] = process(listed[i])
        return tuple(listed)

    def run(self, connection: Connection, rows: list[dict[str, Any]]) -> Callable[[], int]:
        """Run it; returns how to read the rows it touched (in PostgreSQL's pipeline mode,
        known only once the pipeline is synced)."""
        params = [self.params(row) for row in rows]
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        if len(params) > 1:
            cursor.executemany(self.sql, params)
        else:
            cursor.execute(self.sql, params[0])
        return lambda: int(cursor.rowcount)


@functools.cache
def _statement(
    dialect: Dialect, table: Table, columns: tuple[str, ...], keys: tuple[str, ...], kind: str
) -> _Statement:
    """`insert`, `upsert` (on conflict of `keys` update the other columns), or `update`
    (of `columns` where id = :id and last_seq = :expected: the hall row's guard)."""
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    name = quote(table.name)
    if kind == "update":
        sets = ", ".join(f"{quote(c)} = {mark}" for c in columns)
        sql = f"UPDATE {name} SET {sets} WHERE id = {mark} AND last_seq = {mark}"
        bound = (*columns, "id", "expected")
    else:
        listed = ", ".join(quote(c) for c in columns)
        sql = f"INSERT INTO {name} ({listed}) VALUES ({', '.join(mark for _ in columns)})"
        if kind == "upsert":
            sets = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns if c not in keys)
            sql += f" ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {sets}"
        bound = columns
    types = {c.name: c.type for c in table.columns} | {"expected": HALL.c.last_seq.type}
    processors = tuple(types[c]._cached_bind_processor(dialect) for c in bound)
    return _Statement(sql, bound, processors)


def ticket_columns(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "category": ticket.category,
        "item": ticket.item,
        "priority": ticket.priority.value,
        "state": ticket.state.value,
        "issued_at": ticket.issued_at,
        "queued_at": ticket.queue_time,
        "call_times": json.dumps([t.isoformat() for t in ticket.call_times]),
        "started_at": ticket.started_at,
        "finished_at": ticket.finished_at,
        "no_show_at": ticket.no_show_at,
        "window": ticket.window,
        "staff": ticket.staff,
        "recall_count": ticket.recall_count,
        "transfers": json.dumps([t.model_dump(mode="json") for t in ticket.transfers]),
        "chain_step": ticket.chain_step,
        "chain": json.dumps(ticket.chain, ensure_ascii=False),
        "target_window": ticket.target_window,
        "appointment_at": ticket.appointment_at,
    }
