"""What the window client knows about its window, kept equal to the server's state.

The hello snapshot replaces everything; live events then update it. Replayed events
(sent again after a reconnect) are already in the snapshot, so they only feed the day's
tallies, never the state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from queue_protocol.messages import (
    AnyEvent,
    CategoryView,
    HelloReply,
    QueueChanged,
    QueueStat,
    ServiceFinished,
    ServiceItemView,
    Snapshot,
    TicketNoShow,
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

ACTIVE = frozenset({TicketState.CALLED, TicketState.SERVING})


@dataclass
class DeskState:
    """The hall as seen from one window."""

    number: int
    staff_name: str = ""
    hall_name: str = ""
    timezone: str = "Asia/Shanghai"
    recall_limit: int = 3  # the hall's no_show_after_recalls: one more recall is a no-show
    seq: int = 0
    window: WindowView | None = None
    categories: dict[str, CategoryView] = field(default_factory=dict)
    items: dict[tuple[str, str], ServiceItemView] = field(default_factory=dict)  # (category, name)
    windows: dict[int, WindowView] = field(default_factory=dict)
    queues: dict[str, QueueStat] = field(default_factory=dict)
    tickets: dict[str, TicketView] = field(default_factory=dict)  # this window's tickets
    today: DayFigures = field(default_factory=DayFigures)
    no_show_ids: set[str] = field(default_factory=set)  # the no-shows counted in `today`
    # When each service here began, kept past the ticket's leaving: a ticket going on to its
    # next step comes back without its start, and the reply that removes it from `tickets`
    # may arrive before the service_finished event that is counted.
    service_starts: dict[str, datetime] = field(default_factory=dict)

    # -- reading ---------------------------------------------------------------------------

    @property
    def window_state(self) -> WindowState:
        return self.window.state if self.window else WindowState.CLOSED

    @property
    def current(self) -> TicketView | None:
        """The ticket called or being served at this window."""
        if self.window is None or self.window.ticket is None:
            return None
        return self.tickets.get(self.window.ticket)

    def no_shows(self) -> list[TicketView]:
        """Today's tickets this window marked as no-show that may still be reinstated."""
        found = [
            t
            for t in self.tickets.values()
            if t.state is TicketState.NO_SHOW and t.window == self.number
        ]
        return sorted(found, key=lambda t: t.no_show_at or t.issued_at)

    def served_categories(self) -> list[CategoryView]:
        """The categories of this window's profile in its order (all for 全科)."""
        profile = self.window.profile if self.window else []
        if not profile:
            return list(self.categories.values())
        return [self.categories[c] for c in profile if c in self.categories]

    def over_target(self, code: str, now: datetime) -> bool:
        stat, category = self.queues.get(code), self.categories.get(code)
        if stat is None or category is None or stat.oldest_queued_at is None:
            return False
        waited = (now - stat.oldest_queued_at).total_seconds() / 60
        return waited > category.target_wait_minutes

    # -- updating --------------------------------------------------------------------------

    def apply_hello(self, hello: HelloReply) -> None:
        self.staff_name = hello.staff_name or ""
        self.apply_snapshot(hello.snapshot)

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        self.seq = snapshot.seq
        self.hall_name = snapshot.hall.name
        self.timezone = snapshot.hall.timezone
        self.recall_limit = snapshot.hall.no_show_after_recalls
        self.categories = {c.code: c for c in snapshot.categories}
        self.items = {(i.category, i.name): i for i in snapshot.items}
        self.windows = {w.number: w for w in snapshot.windows}
        self.window = self.windows.get(self.number)
        self.queues = {q.category: q for q in snapshot.queues}
        self.tickets = {t.id: t for t in snapshot.tickets if t.window == self.number}
        self.service_starts = {
            t.id: t.started_at for t in self.tickets.values() if t.started_at is not None
        }
        stats = {s.window: s for s in snapshot.window_stats}
        self.today = DayFigures.from_stat(stats.get(self.number))
        self.no_show_ids = {t.id for t in self.tickets.values() if t.state is TicketState.NO_SHOW}

    def apply_event(self, event: AnyEvent, *, replayed: bool = False) -> None:
        if replayed or event.seq <= self.seq:
            return  # the snapshot already holds its effect
        self._tally(event)
        self.seq = event.seq
        if isinstance(event, WindowChanged):
            self.apply_window(event.window)
        elif isinstance(event, QueueChanged):
            for stat in event.queues:
                self.queues[stat.category] = stat
        elif isinstance(ticket := getattr(event, "ticket", None), TicketView):
            self.apply_ticket(ticket)

    def apply_window(self, view: WindowView) -> None:
        self.windows[view.number] = view
        if view.number == self.number:
            self.window = view

    def apply_ticket(self, ticket: TicketView) -> None:
        mine = ticket.window == self.number and (
            ticket.state in ACTIVE or ticket.state is TicketState.NO_SHOW
        )
        if mine:
            self.tickets[ticket.id] = ticket
            if ticket.state is TicketState.SERVING and ticket.started_at is not None:
                self.service_starts[ticket.id] = ticket.started_at
        else:
            self.tickets.pop(ticket.id, None)

    def _tally(self, event: AnyEvent) -> None:
        if isinstance(event, ServiceFinished) and event.window == self.number:
            if counts_as_served(event):
                self._count_service(event)
        elif isinstance(event, TicketNoShow) and event.window == self.number:
            self.today.no_shows += 1
            self.no_show_ids.add(event.ticket.id)
        elif isinstance(event, TicketReinstated) and event.ticket.id in self.no_show_ids:
            # As the server counts it (window_stats): a no-show of this window that was
            # reinstated, here or at another window, is no longer one. Counting it on made
            # the figure drop at the next reconnect (过号 1 → 0). Known by id, not from
            # `tickets`: the reinstate reply may have removed the ticket before this event.
            self.no_show_ids.discard(event.ticket.id)
            self.today.no_shows = max(0, self.today.no_shows - 1)
        elif isinstance(event, TicketTransferred | TicketRequeued):
            self.service_starts.pop(event.ticket.id, None)  # passed on: not served here

    def _count_service(self, event: ServiceFinished) -> None:
        ticket = event.ticket
        started = self.service_starts.pop(ticket.id, None) or ticket.started_at
        self.today.served += 1
        if started is not None:
            end = ticket.finished_at if ticket.state is TicketState.DONE else None
            self.today.service_seconds += ((end or event.at) - started).total_seconds()
            self.today.timed += 1
