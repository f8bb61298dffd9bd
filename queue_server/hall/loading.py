"""Rebuild a hall's live state from the store: at start, after another process wrote to
the store, and after a configuration change (SPEC §7)."""

from __future__ import annotations

import json
from collections import deque
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, Engine
from sqlmodel import Session, col, func, select

from queue_protocol.codec import parse_event
from queue_protocol.messages import (
    AlertKind,
    AlertSeverity,
    AuditEntry,
    Priority,
    TicketCalled,
    TicketRecalled,
    TicketState,
    Transfer,
    WindowState,
)
from queue_server.domain.model import Ticket
from queue_server.hall import rating_store
from queue_server.hall.audit import audit_entry
from queue_server.hall.state import (
    OPEN,
    RECENT_CALLS_KEPT,
    SERVICE_TIME_SAMPLE,
    AlertLive,
    AppointmentLive,
    CategoryQueue,
    Figures,
    HallState,
    RecentCall,
    RequestLog,
    TicketLive,
    WindowLive,
)
from queue_server.hall.work import SERVED_OUTCOMES, recent_call
from queue_server.hallconfig import ConfigError, load_config
from queue_server.roles import CALL_EVENTS
from queue_server.stats.fold import whole_seconds
from queue_server.store.engine import read_session
from queue_server.store.tables import (
    AlertRow,
    AppointmentRow,
    DeviceRow,
    EventRow,
    HallRow,
    NumberCounterRow,
    RequestRow,
    ServiceRow,
    StaffRow,
    TicketRow,
    WindowRow,
)

REQUEST_LOG_DAYS = 2  # how long request ids are remembered for idempotent retries


def hall_codes(engine: Engine) -> list[str]:
    """The codes of the database's halls in service (not retired), in order."""
    with read_session(engine) as session:
        return list(
            session.exec(
                select(HallRow.code).where(col(HallRow.retired).is_(False)).order_by(HallRow.code)
            ).all()
        )


def only_hall(engine: Engine) -> str:
    """The code of the database's one hall in service, for programs not told which hall."""
    codes = hall_codes(engine)
    if not codes:
        raise ConfigError(
            "the database holds no hall yet; run `queue-server init --demo` "
            "or `queue-server init HALL.toml`"
        )
    if len(codes) > 1:
        raise ConfigError(f"the database holds the halls {', '.join(codes)}: name one (--hall)")
    return codes[0]


def hall_count(engine: Engine) -> int:
    with read_session(engine) as session:
        return len(session.exec(select(HallRow.id)).all())


def load(connection: Connection, now: datetime, hall: int) -> HallState:
    """The state of the hall `hall` as the database holds it, read over `connection` (in
    the writer's transaction when a batch finds the state stale)."""
    with Session(bind=connection) as session:
        hall_row = session.get(HallRow, hall)
        if hall_row is None:
            raise ConfigError("the database holds no such hall; run `queue-server init` first")
        config = load_config(session, hall)
        rules = config.rules
        today = rules.local_day(now)
        # Every day not yet closed out stays in memory (with its finished tickets: the
        # close-out reports their figures), and today.
        first_day = rules.local_day(hall_row.closed_out_at) if hall_row.closed_out_at else today
        first_day = min(first_day, today)
        tickets: dict[str, TicketLive] = {}
        rows = session.exec(
            select(TicketRow).where(
                TicketRow.hall_id == hall,
                (col(TicketRow.day) >= first_day.isoformat())
                | col(TicketRow.state).in_([s.value for s in OPEN]),
            )
        ).all()
        for row in rows:
            tickets[row.id] = ticket_live(row)
        windows = {
            w.number: WindowLive(
                number=w.number,
                name=w.name,
                zone=w.zone,
                profile=tuple(json.loads(w.profile)),
                state=WindowState(w.state),
                staff=w.staff,
                pause_reason=w.pause_reason,
                ticket=w.ticket,
                connected=w.connected,
                since=w.since,
            )
            for w in session.exec(
                select(WindowRow).where(WindowRow.hall_id == hall).order_by(col(WindowRow.number))
            ).all()
        }
        counters = {
            (c.day, c.category): c.last
            for c in session.exec(
                select(NumberCounterRow).where(
                    NumberCounterRow.hall_id == hall,
                    NumberCounterRow.day >= first_day.isoformat(),
                )
            ).all()
        }
        samples = _samples(session, hall, list(config.categories))
        figures = _figures(session, hall, today.isoformat(), tickets)
        calls = _recent_calls(session, hall, hall_row.closed_out_at)
        appointments_from = today - timedelta(days=1)
        appointments = {
            a.code: appointment_live(a)
            for a in session.exec(
                select(AppointmentRow).where(
                    AppointmentRow.hall_id == hall,
                    AppointmentRow.day >= appointments_from.isoformat(),
                )
            ).all()
        }
        requests = RequestLog()
        since = now - timedelta(days=REQUEST_LOG_DAYS)
        for principal, request_id, fingerprint in session.exec(
            select(RequestRow.principal, RequestRow.request_id, RequestRow.fingerprint).where(
                RequestRow.hall_id == hall, col(RequestRow.at) >= since
            )
        ).all():
            requests.fingerprints[(principal, request_id)] = fingerprint
        staff = session.exec(select(StaffRow).where(StaffRow.hall_id == hall)).all()
        disabled = frozenset(s.account for s in staff if s.disabled)
        device_rows = session.exec(select(DeviceRow).where(DeviceRow.hall_id == hall)).all()
        devices = frozenset(d.name for d in device_rows)
        revoked = frozenset(d.name for d in device_rows if d.revoked)
        alerts = {
            a.id: alert_live(a)
            for a in session.exec(
                select(AlertRow).where(AlertRow.hall_id == hall, col(AlertRow.cleared_at).is_(None))
            ).all()
        }
        last_alert = session.exec(
            select(func.max(AlertRow.id)).where(AlertRow.hall_id == hall)
        ).one()
        book = rating_store.book(session, hall, today)
        last_seq = hall_row.last_seq
        notice, version, closed_out_at = (
            hall_row.notice,
            hall_row.config_version,
            hall_row.closed_out_at,
        )
    queues: dict[str, CategoryQueue] = {}
    numbers: dict[str, str] = {}
    for live in tickets.values():
        if live.ticket.state is TicketState.WAITING:
            queues.setdefault(live.ticket.category, CategoryQueue()).add(live.ticket)
        if live.day == today.isoformat():
            numbers[live.ticket.number] = live.ticket.id
    return HallState(
        hall_id=hall,
        config=config,
        notice=notice,
        config_version=version,
        last_seq=last_seq,
        closed_out_at=closed_out_at,
        day=today,
        windows=windows,
        tickets=tickets,
        numbers=numbers,
        queues=queues,
        counters=counters,
        samples=samples,
        figures=figures,
        recent_calls=calls,
        appointments=appointments,
        appointments_from=appointments_from,
        requests=requests,
        disabled_staff=disabled,
        devices=devices,
        revoked_devices=revoked,
        alerts=alerts,
        alert_keys={a.key: a.id for a in alerts.values()},
        last_alert=last_alert or 0,
        ratings=book,
    )


def audit(
    engine: Engine,
    hall: int,
    since: datetime | None,
    until: datetime | None,
    by: str | None,
    window: int | None,
    ticket_id: str | None,
    limit: int,
) -> list[AuditEntry]:
    """The events someone's request made (their `by`), newest first, filtered."""
    query = select(EventRow).where(
        EventRow.hall_id == hall,
        col(EventRow.by).is_not(None) | (EventRow.name == "login_refused"),
    )
    if by is not None:
        query = query.where(EventRow.by == by)
    if since is not None:
        query = query.where(col(EventRow.at) >= since)
    if until is not None:
        query = query.where(col(EventRow.at) < until)
    if window is not None:
        query = query.where(EventRow.window == window)
    if ticket_id is not None:
        query = query.where(col(EventRow.payload).contains(f'"id":"{ticket_id}"'))
    with read_session(engine) as session:
        rows = session.exec(query.order_by(col(EventRow.seq).desc()).limit(limit)).all()
        return [audit_entry(r.seq, r.at, r.name, r.by, r.payload) for r in rows]


def alert_live(row: AlertRow) -> AlertLive:
    return AlertLive(
        id=row.id,
        kind=AlertKind(row.kind),
        subject=row.subject,
        severity=AlertSeverity(row.severity),
        raised_at=row.raised_at,
        category=row.category,
        window=row.window,
        ticket=row.ticket,
        device=row.device,
        case=row.case_id,
        value=row.value,
        threshold=row.threshold,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        cleared_at=row.cleared_at,
    )


def ticket_of(row: TicketRow) -> Ticket:
    return Ticket(
        id=row.id,
        number=row.number,
        category=row.category,
        issued_at=row.issued_at,
        queued_at=row.queued_at,
        priority=Priority(row.priority),
        state=TicketState(row.state),
        item=row.item,
        call_times=tuple(_utc(datetime.fromisoformat(t)) for t in json.loads(row.call_times)),
        started_at=row.started_at,
        finished_at=row.finished_at,
        no_show_at=row.no_show_at,
        window=row.window,
        staff=row.staff,
        recall_count=row.recall_count,
        transfers=tuple(Transfer.model_validate(t) for t in json.loads(row.transfers)),
        chain_step=row.chain_step,
        chain=tuple(json.loads(row.chain)),
        target_window=row.target_window,
        appointment_at=row.appointment_at,
    )


def ticket_live(row: TicketRow) -> TicketLive:
    return TicketLive(ticket_of(row), day=row.day, secret_hash=row.secret_hash)


def appointment_live(row: AppointmentRow) -> AppointmentLive:
    return AppointmentLive(
        code=row.code,
        category=row.category,
        item=row.item,
        day=row.day,
        slot=row.slot,
        slot_at=row.slot_at,
        name=row.name,
        phone=row.phone,
        state=row.state,
        ticket=row.ticket,
        created_at=row.created_at,
        checked_in_at=row.checked_in_at,
        cancelled_at=row.cancelled_at,
    )


def fetch_ticket(engine: Engine, hall: int, ticket_id: str) -> TicketLive | None:
    """A ticket the live state does not hold (an earlier day's)."""
    with read_session(engine) as session:
        row = session.get(TicketRow, (hall, ticket_id))
        return ticket_live(row) if row is not None else None


def fetch_appointment(engine: Engine, hall: int, code: str) -> AppointmentLive | None:
    with read_session(engine) as session:
        row = session.get(AppointmentRow, (hall, code))
        return appointment_live(row) if row is not None else None


def fetch_appointments(engine: Engine, hall: int, day: date) -> list[AppointmentLive]:
    with read_session(engine) as session:
        rows = session.exec(
            select(AppointmentRow).where(
                AppointmentRow.hall_id == hall, AppointmentRow.day == day.isoformat()
            )
        )
        return [appointment_live(a) for a in rows.all()]


def fetch_reply(engine: Engine, hall: int, key: tuple[str, str]) -> str | None:
    """The stored answer to a request id whose reply is no longer in memory."""
    with read_session(engine) as session:
        row = session.get(RequestRow, (hall, *key))
        return row.reply if row is not None else None


def _samples(session: Session, hall: int, categories: list[str]) -> dict[str, deque[float]]:
    """Per category, the window minutes (from the call that led to the final service to its
    finish: the call, the walk, recalls and the service) of its last done tickets."""
    out: dict[str, deque[float]] = {}
    for code in categories:
        rows = session.exec(
            select(TicketRow)
            .where(
                TicketRow.hall_id == hall,
                TicketRow.category == code,
                TicketRow.state == TicketState.DONE,
                col(TicketRow.started_at).is_not(None),
            )
            .order_by(col(TicketRow.finished_at).desc())
            .limit(SERVICE_TIME_SAMPLE)
        ).all()
        minutes = [
            m for m in (window_minutes(ticket_of(r)) for r in reversed(rows)) if m is not None
        ]
        out[code] = deque(minutes, maxlen=SERVICE_TIME_SAMPLE)
    return out


def window_minutes(ticket: Ticket) -> float | None:
    """Window time of a done ticket: from the call that led to its final service to its end."""
    if ticket.finished_at is None or len(ticket.call_times) <= ticket.recall_count:
        return None
    called = ticket.call_times[-(ticket.recall_count + 1)]
    return (ticket.finished_at - called).total_seconds() / 60


def _figures(
    session: Session, hall: int, today: str, tickets: dict[str, TicketLive]
) -> dict[int, Figures]:
    figures: dict[int, Figures] = {}
    for window, started, ended in session.exec(
        select(ServiceRow.window, ServiceRow.started_at, ServiceRow.ended_at).where(
            ServiceRow.hall_id == hall,
            ServiceRow.day == today,
            col(ServiceRow.outcome).in_(SERVED_OUTCOMES),
        )
    ).all():
        f = figures.setdefault(window, Figures())
        f.served += 1
        f.service_minutes += whole_seconds(started, ended) / 60
    for live in tickets.values():
        t = live.ticket
        if live.day == today and t.state is TicketState.NO_SHOW and t.window is not None:
            figures.setdefault(t.window, Figures()).no_shows += 1
    return figures


def _recent_calls(session: Session, hall: int, closed_out_at: datetime | None) -> deque[RecentCall]:
    query = select(EventRow).where(EventRow.hall_id == hall, col(EventRow.name).in_(CALL_EVENTS))
    if closed_out_at is not None:
        query = query.where(col(EventRow.at) >= closed_out_at)
    rows = session.exec(query.order_by(col(EventRow.seq).desc()).limit(RECENT_CALLS_KEPT)).all()
    calls = (parse_event(json.loads(r.payload)) for r in reversed(rows))
    return deque(
        (recent_call(e) for e in calls if isinstance(e, TicketCalled | TicketRecalled)),
        maxlen=RECENT_CALLS_KEPT,
    )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
