"""The live hall: every window, every queue and the recent calls, redrawn from the events
the console receives (never by asking the server again), and the keys of the acts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.widgets.data_table import CellDoesNotExist

from admin_console.i18n import describe_alert, duration, t
from admin_console.state import HallBoard, shown_state
from queue_protocol.messages import AlertSeverity, AlertView, CategoryView, WindowState, WindowView

if TYPE_CHECKING:
    from admin_console.app import AdminApp

SPARKS = "▁▂▃▄▅▆▇█"
TREND_BUCKETS = 12  # one per five minutes of the last hour
FIVE_MINUTES = timedelta(minutes=5)

WINDOW_COLUMNS = (
    "number",
    "name",
    "zone",
    "profile",
    "state",
    "staff",
    "ticket",
    "in_state",
    "served",
    "mean",
)
QUEUE_COLUMNS = ("category", "waiting", "longest", "estimate", "target", "trend", "issuing")
CALL_COLUMNS = ("time", "ticket", "window")
ALERT_COLUMNS = ("raised", "severity", "about", "acknowledged")
ALERT_WIDTHS = {"raised": 8, "severity": 8, "about": 64, "acknowledged": 20}
SEVERITY_STYLE = {
    AlertSeverity.CRITICAL: "bold white on red",
    AlertSeverity.WARNING: "bold yellow",
    AlertSeverity.INFO: "cyan",
}

Row = tuple[str | Text, ...]


def sparkline(values: list[int | None]) -> str:
    """The last hour's waiting counts as bars; a blank where nothing is known yet."""
    known = [v for v in values if v is not None]
    top = max(known, default=0)
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif top == 0:
            out.append(SPARKS[0])
        else:
            out.append(SPARKS[min(len(SPARKS) - 1, round(v / top * (len(SPARKS) - 1)))])
    return "".join(out)


def trend(board: HallBoard, category: str, now: datetime) -> str:
    """The waiting count at the end of each five minutes of the last hour."""
    points = board.trend.get(category, [])
    values: list[int | None] = []
    index, last = 0, None
    for bucket in range(TREND_BUCKETS):
        end = now - (TREND_BUCKETS - 1 - bucket) * FIVE_MINUTES
        while index < len(points) and points[index][0] <= end:
            last = points[index][2]
            index += 1
        values.append(last)
    return sparkline(values)


class HallScreen(Screen[None]):
    """The windows board, the queues, the recent calls; the acts work on the window
    selected in the board."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "act('close')", show=False),
        Binding("p", "act('pause')", show=False),
        Binding("f", "act('profile')", show=False),
        Binding("n", "act('call_ticket')", show=False),
        Binding("t", "act('transfer')", show=False),
        Binding("x", "act('cancel_ticket')", show=False),
        Binding("m", "act('notice')", show=False),
        Binding("a", "act('acknowledge')", show=False),
        Binding("g", "act('move_ticket')", show=False),
        Binding("i", "act('issuing')", show=False),
        Binding("u", "act('audit')", show=False),
        Binding("r", "act('cases')", show=False),
    ]

    def __init__(self, console: AdminApp) -> None:
        super().__init__()
        self.console = console
        self._rows: dict[str, dict[object, Row]] = {
            "windows": {},
            "queues": {},
            "calls": {},
            "alerts": {},
        }

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static(id="hall-name")
            yield Static(id="who")
            yield Static(id="conn-status")
        yield Static(id="offline-banner")
        yield Static(id="notice-line")
        yield Static(id="summary")
        with Vertical(id="alerts-box"):
            yield Static(classes="heading", id="alerts-heading")
            yield DataTable(id="alerts", cursor_type="row")
        yield DataTable(id="windows", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="lower"):
            with Vertical(id="queues-box"):
                yield Static(t("hall.queues"), classes="heading", id="queues-heading")
                yield DataTable(id="queues", cursor_type="row", zebra_stripes=True)
            with Vertical(id="calls-box"):
                yield Static(t("hall.calls"), classes="heading")
                yield DataTable(id="calls", cursor_type="none")
        yield Static(t("keys"), id="keys")

    def on_mount(self) -> None:
        for table_id, columns in (
            ("windows", WINDOW_COLUMNS),
            ("queues", QUEUE_COLUMNS),
            ("calls", CALL_COLUMNS),
            ("alerts", ALERT_COLUMNS),
        ):
            table = self.query_one(f"#{table_id}", DataTable)
            for column in columns:
                # The alerts' columns are of fixed width: a table widens to the longest text it
                # has shown, and alerts come and go.
                width = ALERT_WIDTHS.get(column) if table_id == "alerts" else None
                table.add_column(t(f"col.{column}"), key=column, width=width)
        self.query_one("#windows", DataTable).focus()
        self.render_hall()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """Times in state and waits grow by the clock between events."""
        self.render_hall()

    # -- reading the selection ---------------------------------------------------------------

    def selected_window(self) -> WindowView | None:
        key = self._selected_key("windows")
        return self.console.board.windows.get(int(key)) if key is not None else None

    def _selected_key(self, table_id: str) -> str | None:
        return selected_key(self.query_one(f"#{table_id}", DataTable))

    def selected_alert(self) -> AlertView | None:
        """The alert under the alerts table's cursor (its first row until moved)."""
        key = self._selected_key("alerts")
        return self.console.board.alerts.get(int(key)) if key is not None else None

    def selected_category(self) -> CategoryView | None:
        """The category under the queues table's cursor."""
        key = self._selected_key("queues")
        return self.console.board.categories.get(key) if key is not None else None

    def select_category(self, code: str) -> None:
        table = self.query_one("#queues", DataTable)
        table.move_cursor(row=table.get_row_index(code))

    def select_alert(self, alert: int) -> None:
        table = self.query_one("#alerts", DataTable)
        table.move_cursor(row=table.get_row_index(str(alert)))

    def select_window(self, number: int) -> None:
        table = self.query_one("#windows", DataTable)
        table.move_cursor(row=table.get_row_index(str(number)))

    def action_act(self, name: str) -> None:
        self.console.start_act(name, self.selected_window())

    # -- drawing -----------------------------------------------------------------------------

    def render_hall(self) -> None:
        try:
            self._render_top()
            self._sync("windows", self._window_rows())
            self._sync("queues", self._queue_rows())
            self._sync("calls", self._call_rows(), newest_first=True)
            self._render_alerts()
        except NoMatches:  # not composed yet, or going away
            return

    def _render_top(self) -> None:
        app, board = self.console, self.console.board
        hall = board.hall
        name = hall.name if hall else ""
        if hall and not hall.open_now:
            name += t("hall.closed_now")
        self.query_one("#hall-name", Static).update(Text(name))
        self.query_one("#who", Static).update(
            Text(t("hall.who", name=app.staff_name, account=app.account))
        )
        status = self.query_one("#conn-status", Static)
        status.update(t("conn.online") if app.online else "")
        banner = self.query_one("#offline-banner", Static)
        banner.display = not app.online
        if not app.online:
            banner.update(t("conn.offline", retry=app.retry_in))
        notice = hall.notice if hall else ""
        self.query_one("#notice-line", Static).update(
            Text(t("hall.notice", notice=notice) if notice else t("hall.no_notice"))
        )
        paused = [
            t("issuing.paused_one", category=c.name, reason=c.issuing_paused_reason or "")
            for c in board.categories.values()
            if c.issuing_paused
        ]
        heading = t("hall.queues") + (
            t("issuing.paused_list", which="；".join(paused)) if paused else ""
        )
        self.query_one("#queues-heading", Static).update(Text(heading))
        views = board.windows.values()
        self.query_one("#summary", Static).update(
            t(
                "hall.summary",
                open=sum(v.state is not WindowState.CLOSED for v in views),
                offline=sum(shown_state(v) == "offline" for v in views),
                waiting=sum(q.waiting for q in board.queues.values()),
            )
        )

    def _render_alerts(self) -> None:
        board = self.console.board
        alerts = board.open_alerts()
        unseen = sum(a.acknowledged_at is None for a in alerts)
        heading = self.query_one("#alerts-heading", Static)
        if alerts:
            heading.update(Text(t("hall.alerts", n=len(alerts), unseen=unseen)))
        else:
            heading.update(Text(t("hall.no_alerts")))
        heading.set_class(unseen > 0, "-alarm")
        table = self.query_one("#alerts", DataTable)
        table.display = bool(alerts)
        zone = ZoneInfo(board.timezone)
        rows: dict[object, Row] = {}
        for alert in alerts:
            seen = alert.acknowledged_at is not None
            rows[str(alert.id)] = (
                alert.raised_at.astimezone(zone).strftime("%H:%M:%S"),
                Text(
                    t(f"severity.{alert.severity.value}"),
                    style="dim" if seen else SEVERITY_STYLE.get(alert.severity, ""),
                ),
                Text(describe_alert(alert, board), style="dim" if seen else ""),
                Text(
                    t("alert.seen_by", by=who(alert.acknowledged_by))
                    if seen
                    else t("alert.unseen"),
                    style="dim" if seen else "bold",
                ),
            )
        self._sync("alerts", rows)

    def _window_rows(self) -> dict[object, Row]:
        board, now = self.console.board, self.console.now()
        rows: dict[object, Row] = {}
        for number in sorted(board.windows):
            view = board.windows[number]
            state = shown_state(view)
            label = (
                t("state.paused_why", reason=view.pause_reason)
                if state == "paused" and view.pause_reason
                else t(f"state.{state}")
            )
            style = {
                "offline": "bold red",
                "paused": "yellow",
                "closed": "dim",
                "calling": "bold cyan",
                "serving": "green",
            }.get(state, "")
            since = board.since.get(number)
            figures = board.figures.get(number)
            mean = figures.mean_service_seconds if figures else None
            rows[str(number)] = (
                str(number),
                Text(view.name),
                Text(view.zone or t("none")),
                Text(" ".join(view.profile) if view.profile else t("profile.all")),
                Text(label, style=style),
                Text(view.staff_name or t("none")),
                view.ticket_number or t("none"),
                duration((now - since).total_seconds(), short=True)
                if since is not None and view.state is not WindowState.CLOSED
                else t("none"),
                str(figures.served if figures else 0),
                duration(mean, short=True) if mean is not None else t("none"),
            )
        return rows

    def _queue_rows(self) -> dict[object, Row]:
        board, now = self.console.board, self.console.now()
        rows: dict[object, Row] = {}
        for code, category in board.categories.items():
            stat = board.queues.get(code)
            waiting = stat.waiting if stat else 0
            oldest = stat.oldest_queued_at if stat else None
            waited = (now - oldest).total_seconds() if oldest is not None else None
            over = waited is not None and waited > category.target_wait_minutes * 60
            longest = duration(waited, short=True) if waited is not None else t("none")
            rows[code] = (
                Text(f"{code} {category.name}"),
                str(waiting),
                Text(longest, style="bold red" if over else ""),
                duration(stat.estimated_wait_minutes * 60, short=True)
                if stat and waiting
                else t("none"),
                t("minutes", m=category.target_wait_minutes),
                trend(board, code, now),
                Text(t("issuing.paused"), style="bold red")
                if category.issuing_paused
                else Text(t("issuing.on")),
            )
        return rows

    def _call_rows(self) -> dict[object, Row]:
        board = self.console.board
        zone = ZoneInfo(board.timezone)
        rows: dict[object, Row] = {}
        for call in board.calls:
            number = call.number + (t("call.recall") if call.recall else "")
            rows[str(call.seq)] = (
                call.at.astimezone(zone).strftime("%H:%M:%S"),
                Text(number),
                Text(call.window_name),
            )
        return rows

    def _sync(self, table_id: str, rows: dict[object, Row], *, newest_first: bool = False) -> None:
        sync_rows(
            self.query_one(f"#{table_id}", DataTable), self._rows[table_id], rows, newest_first
        )


def who(principal: str | None) -> str:
    """An account as people say it: `staff:zhuren` is zhuren."""
    if not principal:
        return t("none")
    return principal.split(":", 1)[1] if principal.startswith("staff:") else principal


def selected_key(table: DataTable[Any]) -> str | None:
    """The key of the row under `table`'s cursor (None: no rows)."""
    if table.row_count == 0:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except CellDoesNotExist:
        return None


def sync_rows(
    table: DataTable[Any],
    shown: dict[object, Row],
    rows: dict[object, Row],
    newest_first: bool = False,
) -> bool:
    """Bring `table`, showing `shown` (kept equal to it), to `rows`, touching only the cells
    that changed; True if it was built again (rows came or went: the cursor went to the
    top)."""
    if list(shown) != list(rows):
        table.clear()
        order = reversed(list(rows.items())) if newest_first else iter(rows.items())
        for key, row in order:
            table.add_row(*row, key=str(key))
        shown.clear()
        shown.update(rows)
        return True
    columns = list(table.columns)
    for key, row in rows.items():
        old = shown.get(key)
        if old == row:
            continue
        for index, cell in enumerate(row):
            if old is None or old[index] != cell:
                table.update_cell(str(key), columns[index], cell)
        shown[key] = row
    return False
