"""The audit trail: who did what when (the server's `audit`, newest first), filtered by
account, window, ticket and a start time, and written to a CSV file for the record."""

from __future__ import annotations

import csv
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, DataTable, Input, Static

from admin_console.i18n import t
from queue_protocol.messages import Audit, AuditEntry, AuditReply

if TYPE_CHECKING:
    from admin_console.app import AdminApp

AUDIT_COLUMNS = ("time", "by", "action", "window", "ticket", "detail")
AUDIT_LIMIT = 500  # entries per query (the server's default; at most 5000)
CSV_HEADER = ("seq", "time", "by", "action", "window", "ticket", "detail")


def parse_since(text: str, today: datetime, timezone: str) -> datetime | None:
    """`HH:MM` (today), `YYYY-MM-DD` or `YYYY-MM-DD HH:MM`, in the hall's time; None if it
    is none of them."""
    zone = ZoneInfo(timezone)
    text = " ".join(text.split())
    for form in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, form).replace(tzinfo=zone)
        except ValueError:
            pass
    try:
        clock = datetime.strptime(text, "%H:%M").time()
    except ValueError:
        return None
    day = today.astimezone(zone).date()
    return datetime.combine(day, time(clock.hour, clock.minute), tzinfo=zone)


def action_label(action: str) -> str:
    """An audit action (an event's name, session_opened, login_refused) in words."""
    words = t(f"action.{action}")
    return action if words == f"action.{action}" else words


def write_csv(path: Path, entries: list[AuditEntry], timezone: str) -> None:
    """The entries as CSV (UTF-8 with a BOM, so that Excel reads the Chinese), times in the
    hall's timezone."""
    zone = ZoneInfo(timezone)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_HEADER)
        for e in entries:
            writer.writerow(
                (
                    e.seq,
                    e.at.astimezone(zone).isoformat(timespec="seconds"),
                    e.by or "",
                    e.action,
                    "" if e.window is None else e.window,
                    e.ticket or "",
                    e.detail,
                )
            )


class AuditScreen(Screen[None]):
    """Filters on top, the entries below, CSV export at the bottom; Escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", show=False)]

    def __init__(self, console: AdminApp) -> None:
        super().__init__()
        self.console = console
        self.entries: list[AuditEntry] = []
        self.asked: Audit | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(t("audit.title")), id="audit-title", classes="heading")
        with Horizontal(id="audit-filters"):
            yield Input(placeholder=t("audit.account"), id="account", max_length=80)
            yield Input(placeholder=t("audit.window"), id="window", type="integer", max_length=4)
            yield Input(placeholder=t("audit.ticket"), id="ticket", max_length=40)
            yield Input(placeholder=t("audit.since"), id="since", max_length=16)
            yield Button(t("audit.search"), id="search", variant="primary")
        yield Static(id="audit-status")
        yield DataTable(id="audit", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="audit-export"):
            yield Input(self._default_path(), id="csv-path")
            yield Button(t("audit.export"), id="export")
            yield Button(t("audit.back"), id="back")

    def _default_path(self) -> str:
        stamp = self.console.now().astimezone(ZoneInfo(self.console.board.timezone))
        return f"audit-{stamp:%Y%m%d-%H%M}.csv"  # in the folder the console was started in

    def on_mount(self) -> None:
        table = self.query_one("#audit", DataTable)
        for column in AUDIT_COLUMNS:
            table.add_column(t(f"audit.col.{column}"), key=column)
        self.query_one("#account", Input).focus()
        self.search()

    def action_back(self) -> None:
        self.dismiss()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.dismiss()

    def status(self, text: str, *, error: bool = False) -> None:
        line = self.query_one("#audit-status", Static)
        line.update(Text(text))
        line.set_class(error, "-error")

    # -- querying ----------------------------------------------------------------------------

    @on(Input.Submitted, "#audit-filters Input")
    @on(Button.Pressed, "#search")
    def search(self) -> None:
        account = self.query_one("#account", Input).value.strip()
        window_text = self.query_one("#window", Input).value.strip()
        ticket = self.query_one("#ticket", Input).value.strip().upper()
        since_text = self.query_one("#since", Input).value.strip()
        since = None
        if since_text:
            since = parse_since(since_text, self.console.now(), self.console.board.timezone)
            if since is None:
                self.status(t("audit.bad_since", text=since_text), error=True)
                return
        if window_text and not (window_text.isdigit() and 1 <= int(window_text) <= 9999):
            self.status(t("audit.bad_window", text=window_text), error=True)
            return
        request = Audit(
            id=self.console.new_request_id(),
            account=account or None,
            window=int(window_text) if window_text else None,
            ticket=ticket or None,
            since=since,
            limit=AUDIT_LIMIT,
        )
        self.asked = request
        self.status(t("audit.asking"))
        self.console.send(request, then=self.show)

    def show(self, reply: Any) -> None:
        if not isinstance(reply, AuditReply) or not self.is_attached:
            return
        self.entries = list(reply.entries)
        zone = ZoneInfo(self.console.board.timezone)
        table = self.query_one("#audit", DataTable)
        table.clear()
        for e in self.entries:
            table.add_row(
                e.at.astimezone(zone).strftime("%m-%d %H:%M:%S"),
                Text(e.by or t("audit.by_server")),
                Text(action_label(e.action)),
                "" if e.window is None else str(e.window),
                Text(e.ticket or ""),
                Text(e.detail),
            )
        more = len(self.entries) >= AUDIT_LIMIT
        self.status(t("audit.count_more" if more else "audit.count", n=len(self.entries)))

    # -- export ------------------------------------------------------------------------------

    @on(Input.Submitted, "#csv-path")
    @on(Button.Pressed, "#export")
    def export(self) -> None:
        text = self.query_one("#csv-path", Input).value.strip()
        if not text:
            self.status(t("audit.need_path"), error=True)
            return
        path = Path(text).expanduser()
        try:
            write_csv(path, self.entries, self.console.board.timezone)
        except OSError:
            self.status(t("audit.cannot_write", path=str(path)), error=True)
            return
        self.status(t("audit.written", n=len(self.entries), path=str(path)))
