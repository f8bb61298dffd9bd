"""The current ticket, large: number, category, item, priority flags, times, history."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from queue_protocol.messages import Priority, TicketView, WindowState
from window_client.i18n import duration, t
from window_client.state import DeskState
from window_client.widgets.bigtext import big
from window_client.widgets.text_update import pad, set_text

PRIORITY_STYLE = {
    Priority.GREEN: "bold white on dark_green",
    Priority.APPOINTMENT: "bold white on dark_blue",
    Priority.ASSISTED: "bold white on dark_magenta",
}


def recalls(count: int, limit: int) -> str:
    """Recalls made of the hall's limit, with a warning at the last and after it."""
    key = (
        "ticket.recalls_used"
        if count >= limit
        else "ticket.last_recall"
        if count == limit - 1
        else "ticket.recalls_of"
    )
    return t(key, count=count, limit=limit)


def chain_progress(ticket: TicketView) -> str | None:
    """ "One-chain step 2 of 5: 印章刻制" for a ticket on a one-chain visit, else None."""
    if ticket.steps <= 1:
        return None
    return t(
        "ticket.chain",
        index=ticket.chain_step + 1,
        steps=ticket.steps,
        step=ticket.step or t("ticket.none"),
    )


def on_last_step(ticket: TicketView) -> bool:
    return ticket.chain_step + 1 >= ticket.steps


def visit_called_at(ticket: TicketView) -> datetime | None:
    """When this window first called the ticket in its current visit (recalls come after)."""
    if not ticket.call_times:
        return None
    return ticket.call_times[-(ticket.recall_count + 1)]


class TicketPanel(Vertical):
    """Shows the window's state and its current ticket."""

    def compose(self) -> ComposeResult:
        yield Static(id="ticket-state")
        yield Static(id="ticket-number")
        yield Static(id="ticket-chain")
        yield Static(id="ticket-flags")
        yield Static(id="ticket-details")

    def show(self, desk: DeskState, now: datetime) -> None:
        ticket = desk.current
        state = desk.window_state
        status = self.query_one("#ticket-state", Static)
        number = self.query_one("#ticket-number", Static)
        chain = self.query_one("#ticket-chain", Static)
        flags = self.query_one("#ticket-flags", Static)
        details = self.query_one("#ticket-details", Static)
        self.set_class(state is WindowState.CALLING, "-calling")
        self.set_class(state is WindowState.SERVING, "-serving")
        self.set_class(state is WindowState.PAUSED, "-paused")
        if state is WindowState.PAUSED and desk.window is not None:
            set_text(status, t("work.paused", reason=desk.window.pause_reason or ""))
        elif ticket is not None:  # the plain number too, for copying and for screen readers
            set_text(status, f"{t(f'state.{state.value}')} · {ticket.number}")
        else:
            set_text(status, t(f"state.{state.value}"))
        progress = chain_progress(ticket) if ticket is not None else None
        chain.display = progress is not None
        set_text(chain, progress or "")
        if ticket is None:
            set_text(number, big("----"))
            set_text(flags, "")
            set_text(details, t("work.hint_idle") if state is WindowState.IDLE else "")
            return
        set_text(number, big(ticket.number))
        set_text(flags, self._flags(ticket))
        set_text(details, self._details(desk, ticket, now))

    def _flags(self, ticket: TicketView) -> Text:
        text = Text()
        if ticket.priority in PRIORITY_STYLE:
            text.append(f" {t(f'prio.{ticket.priority.value}')} ", PRIORITY_STYLE[ticket.priority])
        if ticket.target_window is not None:
            text.append("  ")
            text.append(f" → {t('ticket.window_n', n=ticket.target_window)} ", "bold reverse")
        return text

    @staticmethod
    def _next_step(desk: DeskState, ticket: TicketView) -> str:
        if on_last_step(ticket):
            return t("ticket.last_step")
        item = desk.items.get((ticket.category, ticket.item or ""))
        index = ticket.chain_step + 1
        if item is None or index >= len(item.chain):
            return t("ticket.none")  # the item's chain changed meanwhile
        return item.chain[index]

    def _details(self, desk: DeskState, ticket: TicketView, now: datetime) -> Text:
        category = desk.categories.get(ticket.category)
        called = visit_called_at(ticket)
        # Waited in the queue since it (re)entered it: a later one-chain step from its re-entry.
        waited = (called or now) - (ticket.queued_at or ticket.issued_at)
        rows: list[tuple[str, str]] = [
            (t("ticket.category"), f"{category.name if category else ''} ({ticket.category})"),
            (t("ticket.item"), ticket.item or t("ticket.none")),
        ]
        if ticket.steps > 1:
            rows.append((t("ticket.next_step"), self._next_step(desk, ticket)))
        rows.append((t("ticket.waited"), duration(waited.total_seconds())))
        if called is not None:
            rows.append((t("ticket.since_called"), duration((now - called).total_seconds())))
        if ticket.started_at is not None:
            rows.append(
                (t("ticket.serving_for"), duration((now - ticket.started_at).total_seconds()))
            )
        rows.append((t("ticket.recalls"), recalls(ticket.recall_count, desk.recall_limit)))
        text = Text()
        width = max(cell_len(label) for label, _ in rows)  # values in one column
        for label, value in rows:
            text.append(f"{pad(label, width)}  ", "dim")
            text.append(f"{value}\n", "bold")
        if ticket.transfers:
            zone = ZoneInfo(desk.timezone)
            text.append(f"{t('ticket.transfers')}\n", "dim")
            for move in ticket.transfers:
                src = move.from_category + (
                    f"/{t('ticket.window_n', n=move.from_window)}" if move.from_window else ""
                )
                dst = move.to_category + (
                    f"/{t('ticket.window_n', n=move.to_window)}" if move.to_window else ""
                )
                at = move.at.astimezone(zone).strftime("%H:%M")
                text.append(
                    "  " + t("ticket.transfer_line", at=at, src=src, dst=dst, reason=move.reason)
                )
                text.append("\n")
        return text
