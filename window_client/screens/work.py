"""The work screen: the current ticket large, the actions, the live queue."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Static

from queue_protocol.messages import (
    CallNext,
    CallTicket,
    CancelTicket,
    CloseWindow,
    EndChain,
    FinishService,
    MarkNoShow,
    PauseWindow,
    Recall,
    Reinstate,
    ResumeWindow,
    StartService,
    TransferTicket,
    WindowState,
    _Request,
)
from staff_tui.dialogs import ConfirmDialog, Dialog
from window_client.i18n import t
from window_client.screens.dialogs import (
    CallNumberDialog,
    CancelNumberDialog,
    EndChainDialog,
    PauseDialog,
    ReinstateDialog,
    TransferChoice,
    TransferDialog,
)
from window_client.widgets.queue_panel import QueuePanel
from window_client.widgets.text_update import set_text
from window_client.widgets.ticket_panel import TicketPanel, chain_progress, on_last_step

if TYPE_CHECKING:
    from window_client.app import WindowApp

# Which actions make sense in each window state; everything else is disabled. A waiting
# ticket can be voided (cancel_ticket) whatever this window is doing, except while closed.
ALLOWED: dict[WindowState, frozenset[str]] = {
    WindowState.IDLE: frozenset({"call_next", "call_number", "cancel_ticket", "pause", "close"}),
    WindowState.CALLING: frozenset({"recall", "start", "no_show", "cancel_ticket"}),
    WindowState.SERVING: frozenset({"finish", "end_chain", "transfer", "cancel_ticket"}),
    WindowState.PAUSED: frozenset({"resume", "cancel_ticket", "close"}),
    WindowState.CLOSED: frozenset(),
}
# (action, key, text key) in the order of the buttons.
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("call_next", "n", "act.call_next"),
    ("recall", "r", "act.recall"),
    ("start", "s", "act.start"),
    ("finish", "f", "act.finish"),
    ("end_chain", "e", "act.end_chain"),
    ("no_show", "x", "act.no_show"),
    ("transfer", "t", "act.transfer"),
    ("call_number", "c", "act.call_number"),
    ("cancel_ticket", "v", "act.cancel_ticket"),
    ("reinstate", "i", "act.reinstate"),
    ("pause", "p", "act.pause"),
    ("resume", "u", "act.resume"),
    ("close", "q", "act.close"),
)
ACTION_NAMES = frozenset(name for name, _, _ in ACTIONS)
# The action each request is sent for, to say which one is waiting for the server.
REQUEST_ACTIONS = {
    "call_next": "call_next",
    "recall": "recall",
    "start_service": "start",
    "finish_service": "finish",
    "end_chain": "end_chain",
    "mark_no_show": "no_show",
    "transfer": "transfer",
    "call_ticket": "call_number",
    "cancel_ticket": "cancel_ticket",
    "reinstate": "reinstate",
    "pause_window": "pause",
    "resume_window": "resume",
    "close_window": "close",
}
LABELS = {name: label for name, _, label in ACTIONS}
SHOW_WAITING_AFTER = 1.0  # seconds: a reply slower than this is shown as waiting

T = TypeVar("T")


class WorkScreen(Screen[None]):
    """Where staff spend the day; every action has a single key and a button."""

    # The buttons show each key in the chosen language, so the bindings stay out of sight.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, name, name, show=False) for name, key, _ in ACTIONS
    ]

    # Columns: below this the buttons go five to a row in three rows (window.tcss): seven
    # buttons of 12 cells, 6 gutters and the bar's padding need 92.
    NARROW = 92

    def __init__(self, app_: WindowApp) -> None:
        super().__init__()
        self._app = app_
        self.ready = False  # true from mount to unmount: while the widgets exist
        self._ticker: Timer | None = None

    def compose(self) -> ComposeResult:
        # Set before the first layout, as the login screen does: a class coming with the
        # first resize would move the buttons under a click already aimed at them.
        self._fit(self.app.size.width)
        with Horizontal(id="topbar"):
            yield Static(id="hall-name")
            yield Static(id="window-name")
            yield Static(id="staff-name")
            yield Static(id="conn-status")
        yield Static(id="offline-banner")
        with Horizontal(id="main"):
            yield TicketPanel(id="ticket-panel")
            yield QueuePanel(id="queue-panel")
        with Horizontal(id="actions"):
            for name, key, label in ACTIONS:
                caption = Content(f"{t(label)} [{key.upper()}]")  # plain text, not markup
                button = Button(caption, id=f"act-{name}", compact=True)
                # No padding beside the label: at 80 columns a button is 12 cells, just
                # "开始办理 [S]" (TCSS refuses `line-pad: 0`, so it is set here).
                button.styles.line_pad = 0
                yield button

    def on_mount(self) -> None:
        self.ready = True
        self._ticker = self.set_interval(1.0, self.render_desk)
        self.render_desk()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        self.set_class(width < self.NARROW, "-narrow")

    def on_unmount(self) -> None:
        self.ready = False
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    # -- showing the state ------------------------------------------------------------------

    @property
    def showing(self) -> bool:
        """Whether this screen is the app's work screen, mounted and in the screen stack: a
        screen being replaced (logout) or torn down (the app closing) is never drawn."""
        app = self._app
        return (
            self.ready and self.is_attached and app.work_screen is self and self in app.screen_stack
        )

    def render_desk(self) -> None:
        """Draw the window's state as the app knows it now (nothing if not showing)."""
        if not self.showing:
            return
        try:
            self._render_desk()
        except NoMatches:
            # On a slow machine the widgets can go between the check and the query (the
            # screen is being removed): nothing left to draw, and no reason to crash.
            return

    def _render_desk(self) -> None:
        app, desk = self._app, self._app.desk
        now = app.clock()
        window = desk.window
        set_text(self.query_one("#hall-name", Static), desk.hall_name)
        if window is not None:
            set_text(
                self.query_one("#window-name", Static),
                t("work.window", name=window.name, number=window.number),
            )
        set_text(self.query_one("#staff-name", Static), t("work.staff", name=desk.staff_name))
        set_text(self.query_one("#conn-status", Static), self._connection_text())
        banner = self.query_one("#offline-banner", Static)
        banner.display = not app.online
        if not app.online:
            set_text(banner, t("conn.offline", retry=app.retry_in))
        self.set_class(not app.online, "-offline")
        self.query_one(TicketPanel).show(desk, now)
        self.query_one(QueuePanel).show(desk, now)
        for name in ACTION_NAMES:
            self.query_one(f"#act-{name}", Button).disabled = not self.allowed(name)
        self.refresh_bindings()

    def _connection_text(self) -> str:
        """Online, or the action that has waited for its reply for over a second."""
        app = self._app
        if not app.online:
            return ""
        waited = time.monotonic() - app.busy_since
        if app.busy is not None and waited >= SHOW_WAITING_AFTER:
            verb = str(getattr(app.busy, "type", ""))  # every request model has one
            action = REQUEST_ACTIONS.get(verb)
            what = t(LABELS[action]) if action else verb
            return t("conn.waiting", action=what, s=int(waited))
        return t("conn.online")

    def allowed(self, action: str) -> bool:
        app = self._app
        if not app.online or app.busy:
            return False
        if action == "reinstate":
            return bool(app.desk.no_shows())
        if action == "end_chain":  # a one-chain visit with steps still to come
            ticket = app.desk.current
            if ticket is None or ticket.steps <= 1 or on_last_step(ticket):
                return False
        return action in ALLOWED[app.desk.window_state]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ACTION_NAMES:
            return True if self.allowed(action) else None
        return True

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        name = (event.button.id or "").removeprefix("act-")
        if name in ACTION_NAMES and self.allowed(name):
            getattr(self, f"action_{name}")()

    # -- actions ----------------------------------------------------------------------------

    def _send(self, request: type[_Request], **fields: Any) -> None:
        """One logical action = one request id, whatever happens to the connection."""
        self._app.send(request(id=self._app.new_request_id(), **fields))

    def action_call_next(self) -> None:
        self._send(CallNext)

    def action_recall(self) -> None:
        ticket = self._app.desk.current
        if ticket is not None and ticket.recall_count >= self._app.desk.recall_limit:
            # Recalls used up: the server marks this recall a no-show. Ask first.
            question = t("confirm.recall_no_show", number=ticket.number)
            self._ask(ConfirmDialog(question), lambda _yes: self._send(Recall))
            return
        self._send(Recall)

    def action_start(self) -> None:
        self._send(StartService)

    def action_finish(self) -> None:
        self._send(FinishService)

    def action_end_chain(self) -> None:
        ticket = self._app.desk.current
        if ticket is None:
            return
        dialog = EndChainDialog(ticket)
        self._ask(dialog, lambda reason: self._send(EndChain, reason=reason))

    def action_no_show(self) -> None:
        ticket = self._app.desk.current
        if ticket is None:
            return
        question = t("confirm.no_show", number=ticket.number)
        self._ask(ConfirmDialog(question), lambda _yes: self._send(MarkNoShow))

    def action_resume(self) -> None:
        self._send(ResumeWindow)

    def action_close(self) -> None:
        self._send(CloseWindow)

    def action_transfer(self) -> None:
        desk = self._app.desk
        ticket = desk.current
        if ticket is None:
            return
        others = [w for n, w in sorted(desk.windows.items()) if n != desk.number]
        dialog = TransferDialog(
            ticket.number, list(desk.categories.values()), others, ticket.category
        )
        self.app.push_screen(dialog, self._transfer_chosen)

    def _transfer_chosen(self, choice: TransferChoice | None) -> None:
        if choice is not None:
            self._send(
                TransferTicket,
                to_category=choice.to_category,
                to_window=choice.to_window,
                reason=choice.reason,
            )

    def action_call_number(self) -> None:
        self._ask(CallNumberDialog(), lambda number: self._send(CallTicket, ticket=number))

    def action_cancel_ticket(self) -> None:
        """Void a waiting ticket by its number, after a question naming it: it cannot be
        taken back (the protocol's cancel_ticket takes the number; no reason field)."""

        def confirm(number: str) -> None:
            question = ConfirmDialog(
                t("confirm.cancel_ticket", number=number),
                dialog_id="cancel-confirm-dialog",
                yes=t("confirm.cancel_ticket_yes", number=number),
                no=t("confirm.cancel_ticket_no"),
            )
            self._ask(question, lambda _yes: self._send(CancelTicket, ticket=number))

        self._ask(CancelNumberDialog(self._app.desk.current), confirm)

    def action_pause(self) -> None:
        self._ask(PauseDialog(), lambda reason: self._send(PauseWindow, reason=reason))

    def action_reinstate(self) -> None:
        desk = self._app.desk
        zone = ZoneInfo(desk.timezone)
        choices = []
        for ticket in desk.no_shows():
            category = desk.categories.get(ticket.category)
            at: datetime = ticket.no_show_at or ticket.issued_at
            label = t(
                "reinstate.line",
                number=ticket.number,
                category=category.name if category else ticket.category,
                at=at.astimezone(zone).strftime("%H:%M"),
            )
            progress = chain_progress(ticket)
            choices.append((ticket, f"{label}  {progress}" if progress else label))
        self._ask(ReinstateDialog(choices), lambda ref: self._send(Reinstate, ticket=ref))

    def _ask(self, dialog: Dialog[T], then: Callable[[T], None]) -> None:
        def answered(value: T | None) -> None:
            if value:
                then(value)

        self.app.push_screen(dialog, answered)
