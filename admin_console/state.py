"""The whole hall as the supervisor console knows it, kept equal to the server's state.

The hello snapshot (and every later one) replaces the state; live events then update it.
A replayed event (sent again after a reconnect) is already in the snapshot that came just
before it, so it changes nothing but the queues' last-hour trend, whose points are the
queue_changed events themselves: the replay fills in the minutes the console was away.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from queue_protocol.messages import (
    AlertAcknowledged,
    AlertCleared,
    AlertRaised,
    AlertSeverity,
    AlertView,
    AnyEvent,
    CallView,
    CaseOpened,
    CaseUpdated,
    CaseView,
    CategoryView,
    HallView,
    QueueChanged,
    QueueStat,
    ServiceFinished,
    Snapshot,
    TicketCalled,
    TicketNoShow,
    TicketRecalled,
    TicketReinstated,
    TicketRequeued,
    TicketState,
    TicketTransferred,
    TicketView,
    WindowChanged,
    WindowState,
    WindowView,
)
from staff_tui.figures import DayFigures, counts_as_served

OPEN = frozenset({TicketState.WAITING, TicketState.CALLED, TicketState.SERVING})
TREND_SPAN = timedelta(hours=1)
RECENT_CALLS = 30
SEVERITY_ORDER = {AlertSeverity.CRITICAL: 0, AlertSeverity.WARNING: 1, AlertSeverity.INFO: 2}


def shown_state(view: WindowView) -> str:
    """The state a supervisor sees: the window's own, or `offline` for an open window whose
    client is not connected."""
    if view.state is not WindowState.CLOSED and not view.connected:
        return "offline"
    return view.state.value


@dataclass
class HallBoard:
    """Windows, queues, calls and today's figures of every window."""

    seq: int = 0
    hall: HallView | None = None
    categories: dict[str, CategoryView] = field(default_factory=dict)
    windows: dict[int, WindowView] = field(default_factory=dict)
    # When each window entered the state shown (None: before the console knew, with no
    # ticket time to tell it).
    since: dict[int, datetime | None] = field(default_factory=dict)
    figures: dict[int, DayFigures] = field(default_factory=dict)
    queues: dict[str, QueueStat] = field(default_factory=dict)
    tickets: dict[str, TicketView] = field(default_factory=dict)  # waiting, called, serving
    calls: deque[CallView] = field(default_factory=lambda: deque(maxlen=RECENT_CALLS))
    # (at, seq, waiting) per category over the last hour, from the queue_changed events seen
    # and the snapshots (placed at the console's clock).
    trend: dict[str, list[tuple[datetime, int, int]]] = field(default_factory=dict)
    no_show_windows: dict[str, int] = field(default_factory=dict)  # no-shows counted, by id
    service_starts: dict[str, datetime] = field(default_factory=dict)
    # The hall's open alerts by id (the server computes them; Snapshot.alerts, alert_*).
    alerts: dict[int, AlertView] = field(default_factory=dict)
    # The follow-up cases (工单) the console has seen, by id: from list_cases and get_case
    # when the cases screen asks, and from case_opened / case_updated (not in the snapshot).
    cases: dict[int, CaseView] = field(default_factory=dict)
    # The server's clock minus the console's, from the last snapshot's `now`: waits and
    # times in state are counted on the server's clock, whatever the PC's says.
    skew: timedelta = timedelta(0)
    events_applied: int = 0  # live events applied (not replayed): for tests and the bench

    # -- reading ---------------------------------------------------------------------------

    @property
    def timezone(self) -> str:
        return self.hall.timezone if self.hall else "Asia/Shanghai"

    def ticket_by_number(self, number: str) -> TicketView | None:
        wanted = number.strip().upper()
        return next((t for t in self.tickets.values() if t.number == wanted), None)

    def waiting_in(self, category: str) -> list[TicketView]:
        found = [
            t
            for t in self.tickets.values()
            if t.category == category and t.state is TicketState.WAITING
        ]
        return sorted(found, key=lambda t: t.queued_at or t.issued_at)

    def open_alerts(self) -> list[AlertView]:
        """Those still to be seen first (not acknowledged), the most severe first, then the
        newest; the acknowledged ones (still open while their condition lasts) after."""
        return sorted(
            self.alerts.values(),
            key=lambda a: (
                a.acknowledged_at is not None,
                SEVERITY_ORDER.get(a.severity, 3),
                -a.raised_at.timestamp(),
                -a.id,
            ),
        )

    def apply_alert(self, alert: AlertView) -> None:
        """An alert as an event or a reply shows it: open until it is cleared (a bad
        rating is cleared by its acknowledgement)."""
        if alert.cleared_at is not None:
            self.alerts.pop(alert.id, None)
        else:
            self.alerts[alert.id] = alert

    def apply_case(self, case: CaseView) -> None:
        """A case as an event or a reply shows it. Its steps only grow, one per update: a
        view with fewer steps than the one known (a list asked for before an update it
        crossed) is older and changes nothing."""
        known = self.cases.get(case.id)
        if known is None or len(case.steps) >= len(known.steps):
            self.cases[case.id] = case

    # -- updating --------------------------------------------------------------------------

    def apply_snapshot(self, snapshot: Snapshot, now: datetime) -> None:
        """`now`: the console's clock when the snapshot arrived."""
        if snapshot.now is not None:
            self.skew = snapshot.now - now
            now = snapshot.now
        before = dict(self.windows)
        self.seq = snapshot.seq
        self.hall = snapshot.hall
        self.categories = {c.code: c for c in snapshot.categories}
        self.windows = {w.number: w for w in snapshot.windows}
        self.queues = {q.category: q for q in snapshot.queues}
        self.tickets = {t.id: t for t in snapshot.tickets if t.state in OPEN}
        self.alerts = {a.id: a for a in snapshot.alerts if a.cleared_at is None}
        self.service_starts = {
            t.id: t.started_at for t in self.tickets.values() if t.started_at is not None
        }
        stats = {s.window: s for s in snapshot.window_stats}
        self.figures = {n: DayFigures.from_stat(stats.get(n)) for n in self.windows}
        calls = sorted(snapshot.recent_calls, key=lambda c: c.seq)
        self.calls = deque(calls, maxlen=RECENT_CALLS)
        for number, view in self.windows.items():
            old = before.get(number)
            unchanged = old is not None and _same_state(old, view) and number in self.since
            if view.since is None and unchanged:
                continue  # unchanged while away: keep the time it entered it
            self.since[number] = self._since_from(view)
        for stat in snapshot.queues:
            self._trend_point(stat, now, snapshot.seq)

    def _since_from(self, view: WindowView) -> datetime | None:
        """When a window entered its state: the server's `since`, or (from an older server)
        as far as its ticket's times tell."""
        if view.since is not None:
            return view.since
        ticket = self.tickets.get(view.ticket) if view.ticket else None
        if ticket is None:
            return None
        if view.state is WindowState.SERVING:
            return ticket.started_at
        if view.state is WindowState.CALLING and ticket.call_times:
            return ticket.call_times[-1]
        return None

    def apply_event(self, event: AnyEvent, *, replayed: bool = False) -> None:
        if isinstance(event, CaseOpened | CaseUpdated):
            self.apply_case(event.case)  # no snapshot holds the cases: a replay fills them in
        if isinstance(event, QueueChanged):
            for stat in event.queues:
                self._trend_point(stat, event.at, event.seq)
        if replayed or event.seq <= self.seq:
            return  # the snapshot already holds its effect
        self.seq = event.seq
        self.events_applied += 1
        self._tally(event)
        if isinstance(event, WindowChanged):
            self._apply_window(event.window, event.at)
        elif isinstance(event, QueueChanged):
            for stat in event.queues:
                self.queues[stat.category] = stat
        elif isinstance(event, AlertRaised | AlertCleared | AlertAcknowledged):
            self.apply_alert(event.alert)
        else:
            ticket: TicketView | None = getattr(event, "ticket", None)
            if ticket is not None:
                self.apply_ticket(ticket)
        if isinstance(event, TicketCalled | TicketRecalled):
            self.calls.append(
                CallView(
                    seq=event.seq,
                    at=event.at,
                    ticket=event.ticket.id,
                    number=event.ticket.number,
                    category=event.ticket.category,
                    window=event.window,
                    window_name=event.window_name,
                    zone=event.zone,
                    recall=isinstance(event, TicketRecalled),
                    chain_step=event.ticket.chain_step,
                    steps=event.ticket.steps,
                    step=event.ticket.step,
                )
            )

    def _apply_window(self, view: WindowView, at: datetime) -> None:
        old = self.windows.get(view.number)
        self.windows[view.number] = view
        self.figures.setdefault(view.number, DayFigures())
        if old is None or not _same_state(old, view):
            self.since[view.number] = view.since or at

    def apply_window(self, view: WindowView, at: datetime) -> None:
        """A window as an act's reply shows it (its event follows and changes nothing)."""
        self._apply_window(view, at)

    def apply_ticket(self, ticket: TicketView) -> None:
        if ticket.state in OPEN:
            self.tickets[ticket.id] = ticket
            if ticket.state is TicketState.SERVING and ticket.started_at is not None:
                self.service_starts[ticket.id] = ticket.started_at
        else:
            self.tickets.pop(ticket.id, None)

    def _trend_point(self, stat: QueueStat, at: datetime, seq: int) -> None:
        points = self.trend.setdefault(stat.category, [])
        point = (at, seq, stat.waiting)
        index = bisect.bisect_left(points, point)
        if index < len(points) and points[index] == point:
            return  # the same event seen again
        points.insert(index, point)
        while points and points[0][0] < points[-1][0] - TREND_SPAN * 2:
            points.pop(0)

    def _tally(self, event: AnyEvent) -> None:
        """Today's figures per window, as the server's window_stats counts them."""
        if isinstance(event, ServiceFinished):
            if counts_as_served(event):
                figures = self.figures.setdefault(event.window, DayFigures())
                ticket = event.ticket
                started = self.service_starts.pop(ticket.id, None) or ticket.started_at
                figures.served += 1
                if started is not None:
                    end = ticket.finished_at if ticket.state is TicketState.DONE else None
                    figures.service_seconds += ((end or event.at) - started).total_seconds()
                    figures.timed += 1
        elif isinstance(event, TicketNoShow):
            self.figures.setdefault(event.window, DayFigures()).no_shows += 1
            self.no_show_windows[event.ticket.id] = event.window
        elif isinstance(event, TicketReinstated) and event.ticket.id in self.no_show_windows:
            # As the server counts it: a reinstated no-show is no longer one.
            marked = self.figures.get(self.no_show_windows.pop(event.ticket.id))
            if marked is not None:
                marked.no_shows = max(0, marked.no_shows - 1)
        elif isinstance(event, TicketTransferred | TicketRequeued):
            self.service_starts.pop(event.ticket.id, None)


def _same_state(old: WindowView, new: WindowView) -> bool:
    return (shown_state(old), old.pause_reason, old.ticket) == (
        shown_state(new),
        new.pause_reason,
        new.ticket,
    )
