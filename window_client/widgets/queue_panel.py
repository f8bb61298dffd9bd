"""The queue as this window sees it, live, and the window's own figures for today."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from window_client.i18n import duration, t
from window_client.state import DeskState
from window_client.widgets.text_update import pad, set_text

# Column widths in terminal cells: category, waiting, longest wait, target (each number
# column with a space before it). 35 in all: the panel's width at 80 columns.
COLUMNS = (14, 5, 9, 7)


class QueuePanel(Vertical):
    """Waiting count and longest wait per category served here; over-target ones in red."""

    def compose(self) -> ComposeResult:
        yield Static(t("queue.heading"), classes="panel-heading")
        yield Static(id="queue-table")
        yield Static(t("today.heading"), classes="panel-heading")
        yield Static(id="today-figures")

    def show(self, desk: DeskState, now: datetime) -> None:
        a, b, c, d = COLUMNS
        table = Text()
        header = (
            pad(t("queue.category"), a)
            + pad(t("queue.waiting"), b, right=True)
            + pad(t("queue.longest"), c, right=True)
            + pad(t("queue.target"), d, right=True)
        )
        table.append(header + "\n", "dim")
        for category in desk.served_categories():
            stat = desk.queues.get(category.code)
            waiting = stat.waiting if stat else 0
            oldest = stat.oldest_queued_at if stat else None
            longest = duration((now - oldest).total_seconds(), short=True) if oldest else "—"
            line = (
                pad(f"{category.prefix} {category.name}", a)
                + pad(str(waiting), b, right=True)
                + pad(longest, c, right=True)
                + pad(f"{category.target_wait_minutes}′", d, right=True)
            )
            over = desk.over_target(category.code, now)
            table.append(line, "bold white on red" if over else "")
            table.append("\n")
        set_text(self.query_one("#queue-table", Static), table)
        today = desk.today
        mean = today.mean_service_seconds
        figures = "   ".join(
            [
                t("today.served", n=today.served),
                t("today.no_shows", n=today.no_shows),
                t("today.mean", t=duration(mean, short=True) if mean is not None else "—"),
            ]
        )
        set_text(self.query_one("#today-figures", Static), figures)
