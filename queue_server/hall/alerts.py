"""The supervisors' alerts, computed on the server so that every console (and the
statistics) sees the same ones (SPEC §6; issue "Supervisor console").

An alert is about one thing (its kind and subject: a category, a window, a device, a
ticket) and lives from the moment its condition starts (`alert_raised`) to the moment it
ends (`alert_cleared`); a supervisor may acknowledge it meanwhile (`alert_acknowledged`),
which marks it seen but keeps it open while the condition lasts. A bad rating (差评) has
no condition that ends: acknowledging it closes it. The value and threshold are those at
the moment it was raised. Thresholds come from the hall's `[alerts]` (hallconfig.AlertRules).

`conditions` is pure: it reads the hall state at a moment, and the facts only the server
knows (which devices are connected, what their voice reports). `sync` raises and clears
alerts so that the open ones match the conditions; the server runs it every few seconds,
as a batch of its own only when something changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    AcknowledgeAlert,
    AlertAcknowledged,
    AlertCleared,
    AlertKind,
    AlertRaised,
    AlertReply,
    AlertSeverity,
    TicketState,
    VoiceState,
    WindowState,
)
from queue_server.domain.calendar import working_days_between
from queue_server.hall.state import AlertLive, HallState, RatingLive
from queue_server.hall.work import Work
from queue_server.roles import Principal

VOICE_FAILING = frozenset({VoiceState.ENGINE_MISSING, VoiceState.PLAYBACK_FAILING})
Key = tuple[AlertKind, str]  # (kind, subject)


@dataclass(frozen=True)
class Condition:
    """A condition that holds now, as an alert would describe it."""

    kind: AlertKind
    subject: str
    severity: AlertSeverity
    category: str | None = None
    window: int | None = None
    ticket: str | None = None
    device: str | None = None
    case: int | None = None
    value: float | None = None
    threshold: float | None = None

    @property
    def key(self) -> Key:
        return (self.kind, self.subject)


@dataclass(frozen=True)
class DeviceFacts:
    """What only the server knows: devices gone since when, and what voices report."""

    gone: dict[str, datetime] = field(default_factory=dict)  # device -> disconnected at
    voice: dict[str, VoiceState] = field(default_factory=dict)  # connected displays only


def _minutes(now: datetime, since: datetime | None) -> float:
    return 0.0 if since is None else (now - since).total_seconds() / 60


def conditions(state: HallState, now: datetime, devices: DeviceFacts) -> list[Condition]:
    rules = state.config.alerts
    found: list[Condition] = []
    open_windows = [
        w for w in state.windows.values() if w.connected and w.state is not WindowState.CLOSED
    ]
    for code, category in state.config.categories.items():
        queue = state.queues.get(code)
        if queue is None or not queue.count:
            continue
        queued_at, ticket_id = min(g[0] for g in queue.groups.values())
        waited = _minutes(now, queued_at)
        live = state.tickets.get(ticket_id)
        number = live.ticket.number if live is not None else None
        takers = [
            w
            for w in open_windows
            if w.state is not WindowState.PAUSED and (not w.profile or code in w.profile)
        ]
        if waited >= state.config.rules.max_wait_minutes and not takers:
            found.append(
                Condition(
                    AlertKind.WAIT_AT_CAP,
                    code,
                    AlertSeverity.CRITICAL,
                    category=code,
                    ticket=number,
                    value=round(waited, 1),
                    threshold=state.config.rules.max_wait_minutes,
                )
            )
        elif waited > category.target_wait_minutes:
            found.append(
                Condition(
                    AlertKind.WAIT_PAST_TARGET,
                    code,
                    AlertSeverity.WARNING,
                    category=code,
                    ticket=number,
                    value=round(waited, 1),
                    threshold=category.target_wait_minutes,
                )
            )
    waiting = {code for code, q in state.queues.items() if q.count}
    for w in open_windows:
        in_state = _minutes(now, w.since)
        subject = str(w.number)
        if w.state is WindowState.IDLE and in_state >= rules.idle_minutes:
            callable_ = waiting if not w.profile else waiting & set(w.profile)
            named = any(named == w.number for q in state.queues.values() for (_, named) in q.groups)
            if callable_ or named:
                found.append(
                    Condition(
                        AlertKind.WINDOW_IDLE,
                        subject,
                        AlertSeverity.WARNING,
                        window=w.number,
                        value=round(in_state, 1),
                        threshold=rules.idle_minutes,
                    )
                )
        elif w.state is WindowState.PAUSED and in_state >= rules.paused_minutes:
            found.append(
                Condition(
                    AlertKind.WINDOW_PAUSED_LONG,
                    subject,
                    AlertSeverity.WARNING,
                    window=w.number,
                    value=round(in_state, 1),
                    threshold=rules.paused_minutes,
                )
            )
        elif w.state is WindowState.SERVING and w.ticket is not None:
            live = state.tickets.get(w.ticket)
            if live is None or live.ticket.started_at is None:
                continue
            usual = state.service_minutes(live.ticket.category)
            serving = _minutes(now, live.ticket.started_at)
            if serving >= max(rules.service_factor * usual, rules.service_min_minutes):
                found.append(
                    Condition(
                        AlertKind.SERVICE_LONG,
                        subject,
                        AlertSeverity.WARNING,
                        window=w.number,
                        category=live.ticket.category,
                        ticket=live.ticket.number,
                        value=round(serving / usual, 1) if usual else None,
                        threshold=rules.service_factor,
                    )
                )
    recent = [
        t.ticket
        for t in state.tickets.values()
        if t.ticket.state is TicketState.NO_SHOW
        and t.ticket.no_show_at is not None
        and _minutes(now, t.ticket.no_show_at) <= rules.no_show_minutes
    ]
    if len(recent) >= rules.no_show_count:
        found.append(
            Condition(
                AlertKind.NO_SHOW_BURST,
                "hall",
                AlertSeverity.WARNING,
                value=len(recent),
                threshold=rules.no_show_count,
            )
        )
    for device, since in devices.gone.items():
        gone = (now - since).total_seconds()
        known = device in state.devices and device not in state.revoked_devices
        if known and gone >= rules.device_offline_seconds:
            found.append(
                Condition(
                    AlertKind.DEVICE_OFFLINE,
                    device,
                    AlertSeverity.WARNING,
                    device=device,
                    value=round(gone),
                    threshold=rules.device_offline_seconds,
                )
            )
    for device, voice in devices.voice.items():
        if voice in VOICE_FAILING:
            found.append(
                Condition(AlertKind.VOICE_FAILING, device, AlertSeverity.WARNING, device=device)
            )
    found.extend(_case_conditions(state, now))
    return [c for c in found if c.kind.value not in rules.off]


def differs(state: HallState, found: Iterable[Condition]) -> bool:
    """Whether `sync` would change anything (read without a batch)."""
    held = {k for k in state.alert_keys if k[0] is not AlertKind.BAD_RATING}
    return held != {c.key for c in found}


def sync(w: Work, found: list[Condition]) -> None:
    """Raise the alerts of conditions not yet alerted, clear those whose condition ended."""
    wanted = {c.key: c for c in found}
    for key, alert_id in sorted(w.state.alert_keys.items(), key=lambda kv: kv[1]):
        if key[0] is not AlertKind.BAD_RATING and key not in wanted:
            alert = w.alert(alert_id)
            alert.cleared_at = w.now
            w.save_alert(alert)
            w.emit(AlertCleared, alert=alert.view())
    for key, c in wanted.items():
        if key not in w.state.alert_keys:
            raise_alert(w, c)


def raise_alert(w: Work, c: Condition) -> AlertLive:
    alert = AlertLive(
        id=w.next_alert_id(),
        kind=c.kind,
        subject=c.subject,
        severity=c.severity,
        raised_at=w.now,
        category=c.category,
        window=c.window,
        ticket=c.ticket,
        device=c.device,
        case=c.case,
        value=c.value,
        threshold=c.threshold,
    )
    w.save_alert(alert)
    w.emit(AlertRaised, alert=alert.view())
    return alert


def bad_rating(w: Work, rating: RatingLive) -> None:
    """A bad rating was given: an alert until a supervisor acknowledges it."""
    rules = w.config.alerts
    if rating.level < rules.bad_rating_from or AlertKind.BAD_RATING.value in rules.off:
        return
    raise_alert(
        w,
        Condition(
            AlertKind.BAD_RATING,
            f"rating:{rating.id}",
            AlertSeverity.WARNING,
            window=rating.window,
            ticket=rating.number,
            case=rating.case,
            value=rating.level,
            threshold=rules.bad_rating_from,
        ),
    )


def _case_conditions(state: HallState, now: datetime) -> list[Condition]:
    """Follow-up cases not yet answered: near their deadline (within
    `case_due_working_days` working days, today included) or past it."""
    rules = state.config.alerts
    today = state.config.rules.local_day(now)
    found = []
    for case in state.ratings.cases.values():
        if case.answered_at is not None:
            continue
        rating = state.ratings.by_id.get(case.rating)
        if now >= case.due_at:
            kind, severity = AlertKind.CASE_OVERDUE, AlertSeverity.CRITICAL
            value, threshold = round((now - case.due_at).total_seconds() / 3600, 1), None
        else:
            due_day = state.config.rules.local_day(case.due_at - timedelta(microseconds=1))
            left = working_days_between(state.config.rules.calendar, today, due_day)
            if left > rules.case_due_working_days:
                continue
            kind, severity = AlertKind.CASE_DUE, AlertSeverity.WARNING
            value, threshold = left, rules.case_due_working_days
        found.append(
            Condition(
                kind,
                f"case:{case.id}",
                severity,
                window=rating.window if rating else None,
                ticket=rating.number if rating else None,
                case=case.id,
                value=value,
                threshold=threshold,
            )
        )
    return found


def acknowledge(w: Work, p: Principal, r: AcknowledgeAlert) -> AlertReply:
    alert = w.alert(r.alert)
    if alert.acknowledged_at is not None:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"alert {r.alert} was acknowledged by {alert.acknowledged_by}",
            reason="acknowledged",
            state="acknowledged",
        )
    alert.acknowledged_by, alert.acknowledged_at = p.key, w.now
    if alert.kind is AlertKind.BAD_RATING:
        alert.cleared_at = w.now
    w.save_alert(alert)
    w.emit(AlertAcknowledged, alert=alert.view())
    return AlertReply(re=r.id, alert=alert.view())
