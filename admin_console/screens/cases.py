"""评必反馈: the follow-up cases (工单) of the 差评, their detail and their steps.

The list holds the cases not yet finished (all of them with H), soonest due first, kept
current by the case_opened / case_updated events (state.HallBoard.cases); a case finished
while the screen is open stays listed until it is left. The case under the cursor is shown
below it — its rating and every step — with the actions its state allows, each asking in
a dialog what it needs (dialogs.CaseStepDialog) and sent as update_case.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Button, DataTable, Static

from admin_console.i18n import t
from admin_console.screens.dialogs import CaseStep, CaseStepDialog
from admin_console.screens.hall import Row, selected_key, sync_rows, who
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CaseAction,
    CaseListReply,
    CaseReply,
    CaseState,
    CaseView,
    ErrorReply,
    GetCase,
    ListCases,
    UpdateCase,
)

if TYPE_CHECKING:
    from admin_console.app import AdminApp

A, S = CaseAction, CaseState
FINISHED = frozenset({S.CLOSED, S.EXCLUDED})
BEFORE_ANSWER = frozenset({S.OPEN, S.VERIFIED, S.RECTIFYING})
# The states each action may be taken from: the server's own table (queue_server/hall/
# cases.py MOVES) as the console offers it; tests/unit/test_admin_cases.py checks that the
# two agree. The server decides in the end: someone else may have moved the case meanwhile.
ACTS_FROM: dict[CaseAction, frozenset[CaseState]] = {
    A.VERIFY: frozenset({S.OPEN}),
    A.RECTIFY: frozenset({S.VERIFIED, S.RECTIFYING}),
    A.ANSWER: frozenset({S.VERIFIED, S.RECTIFYING}),
    A.CALL_BACK: frozenset({S.ANSWERED}),
    A.CLOSE: frozenset({S.CALLED_BACK}),
    A.APPEAL: BEFORE_ANSWER,
    A.UPHOLD: frozenset({S.APPEALED}),
    A.EXCLUDE: frozenset({S.APPEALED}),
    A.ASSIGN: frozenset(set(CaseState) - FINISHED),
}
TEXT_OPTIONAL = frozenset({A.CLOSE, A.ASSIGN})  # every other action needs its text (cases.py)
KEYS: dict[CaseAction, str] = {
    A.VERIFY: "v",
    A.RECTIFY: "r",
    A.ANSWER: "a",
    A.CALL_BACK: "b",
    A.CLOSE: "c",
    A.APPEAL: "p",
    A.UPHOLD: "u",
    A.EXCLUDE: "e",
    A.ASSIGN: "o",
}
CASE_COLUMNS = ("id", "state", "ticket", "level", "reasons", "window", "staff", "owner", "due")
CASE_WIDTHS = {"reasons": 24}
STEP_COLUMNS = ("at", "by", "action", "state", "text", "level", "owner")
LIST_LIMIT = 1000  # list_cases' most; a hall has some tens of cases a year
STATE_STYLE = {
    S.OPEN: "bold",
    S.APPEALED: "yellow",
    S.ANSWERED: "green",
    S.CALLED_BACK: "green",
    S.CLOSED: "dim",
    S.EXCLUDED: "dim",
}


def allowed(state: CaseState) -> list[CaseAction]:
    """The actions a case in `state` may be given, in the order the screen offers them."""
    return [action for action in CaseAction if state in ACTS_FROM[action]]


def overdue_now(case: CaseView, now: datetime) -> bool:
    """Unanswered past due at `now`, or answered late (as the server's `overdue` says it,
    kept current between events by the console's clock)."""
    if case.answered_at is not None:
        return case.overdue
    return case.overdue or (case.state not in FINISHED and now >= case.due_at)


def action_label(action: str) -> str:
    """A step's action (opened, or a CaseAction) in words."""
    return t(f"case.action.{action}")


def describe_case_refusal(request: UpdateCase | GetCase, error: ErrorReply) -> str | None:
    """A refused case request in words, from the code and the fields (None: the shared
    words say it)."""
    code, reason, number = error.code, error.reason, request.case
    if code is ErrorCode.INVALID_STATE and reason == "case_state" and error.state:
        state = t(f"case.state.{error.state}")
        if isinstance(request, UpdateCase):
            action = t(f"case.action.{request.action.value}")
            return t("case.refused.state", case=number, state=state, action=action)
        return t("case.refused.state_plain", case=number, state=state)
    if code is ErrorCode.FORBIDDEN and reason == "own_appeal":
        return t("case.refused.own_appeal")
    if code is ErrorCode.BAD_REQUEST and reason == "missing":
        return t(
            {"level": "case.need_level", "owner": "case.need_owner"}.get(
                error.field or "", "case.need_text"
            )
        )
    if code is ErrorCode.NOT_FOUND and reason == "staff" and isinstance(request, UpdateCase):
        return t("case.refused.no_account", account=request.owner or "")
    if code is ErrorCode.NOT_FOUND:
        return t("case.refused.no_case", case=number)
    return None


class CasesScreen(Screen[None]):
    """The cases on top, the one selected below with its steps and its actions; Escape goes
    back to the hall."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", show=False),
        Binding("h", "finished", show=False),
        *(Binding(key, f"act('{action.value}')", show=False) for action, key in KEYS.items()),
    ]

    def __init__(self, console: AdminApp) -> None:
        super().__init__()
        self.console = console
        self.finished = False  # the finished cases listed too
        self.loaded = False  # the first list has come
        self.kept: set[int] = set()  # listed while the screen is open: stays listed
        self._rows: dict[object, Row] = {}
        self._detail: tuple[object, ...] | None = None  # what the detail shows now

    def compose(self) -> ComposeResult:
        yield Static(id="cases-heading", classes="heading")
        yield DataTable(id="cases", cursor_type="row", zebra_stripes=True)
        yield Static(id="case-heading", classes="heading")
        yield Static(id="case-rating")
        with VerticalScroll(id="case-steps-box"):
            yield Static(id="case-steps")  # a table whose texts wrap: they may be long
        with Horizontal(id="case-acts"):
            for action in CaseAction:
                label = t(
                    "case.act", action=t(f"case.action.{action.value}"), key=KEYS[action].upper()
                )
                yield Button(label, id=f"act-{action.value}", compact=True)
        yield Static(Text(t("case.keys")), id="cases-keys")

    def on_mount(self) -> None:
        table = self.query_one("#cases", DataTable)
        for column in CASE_COLUMNS:
            table.add_column(t(f"case.col.{column}"), key=column, width=CASE_WIDTHS.get(column))
        table.focus()
        self.reload()
        self.render_cases()
        self.set_interval(5.0, self.render_cases)  # a case falls due between events

    def reload(self) -> None:
        """Ask for the list again (on opening, on H, after a reconnection)."""
        request = ListCases(
            id=self.console.new_request_id(), open_only=not self.finished, limit=LIST_LIMIT
        )
        self.console.send(request, then=self._listed)

    def _listed(self, reply: Any) -> None:
        if isinstance(reply, CaseListReply):  # the board has taken it in (AdminApp)
            self.loaded = True
            self.render_cases()

    def action_back(self) -> None:
        self.dismiss()

    def action_finished(self) -> None:
        self.finished = not self.finished
        self.kept.clear()
        self.reload()
        self.render_cases()

    # -- reading -----------------------------------------------------------------------------

    def listed(self) -> list[CaseView]:
        """The cases shown, soonest due first, the finished ones last."""
        found = [
            c
            for c in self.console.board.cases.values()
            if self.finished or c.state not in FINISHED or c.id in self.kept
        ]
        return sorted(found, key=lambda c: (c.state in FINISHED, c.due_at, c.id))

    def selected_case(self) -> CaseView | None:
        key = selected_key(self.query_one("#cases", DataTable))
        return self.console.board.cases.get(int(key)) if key is not None else None

    def select_case(self, case: int) -> None:
        table = self.query_one("#cases", DataTable)
        table.move_cursor(row=table.get_row_index(str(case)))

    def mine(self, case: CaseView) -> bool:
        return bool(case.owner) and case.owner == self.console.account

    # -- drawing -----------------------------------------------------------------------------

    def render_cases(self) -> None:
        try:
            cases = self.listed()
            self.kept.update(c.id for c in cases)
            self._render_heading(cases)
            self._sync({str(c.id): self._row(c) for c in cases})
            self._render_detail(self.selected_case())
        except NoMatches:  # not composed yet, or going away
            return

    def _local(self, moment: datetime, form: str = "%m-%d %H:%M") -> str:
        return moment.astimezone(ZoneInfo(self.console.board.timezone)).strftime(form)

    def _render_heading(self, cases: list[CaseView]) -> None:
        now = self.console.now()
        unfinished = [c for c in cases if c.state not in FINISHED]
        late = sum(overdue_now(c, now) and c.answered_at is None for c in unfinished)
        heading = t(
            "cases.heading",
            n=len(unfinished),
            overdue=late,
            mine=sum(self.mine(c) for c in unfinished),
        )
        if self.finished:
            heading += t("cases.with_finished")
        if not self.loaded:
            heading += t("cases.asking")
        elif not cases:
            heading += t("cases.none")
        widget = self.query_one("#cases-heading", Static)
        widget.update(Text(heading))
        widget.set_class(late > 0, "-alarm")

    def due_time(self, case: CaseView) -> str:
        """When the answer is due, in the hall's time: a day alone for its end (the instant
        itself is the next day's 00:00, when it is already late), as deadlines are said."""
        local = case.due_at.astimezone(ZoneInfo(self.console.board.timezone))
        if local.time() == time(0, 0):
            return f"{local - timedelta(days=1):%m-%d}"
        return f"{local:%m-%d %H:%M}"

    def _due(self, case: CaseView) -> Text:
        due = self.due_time(case)
        if not overdue_now(case, self.console.now()):
            return Text(due)
        if case.answered_at is None:
            return Text(t("case.overdue", due=due), style="bold white on red")
        return Text(t("case.late", due=due), style="yellow")

    def _owner(self, case: CaseView) -> Text:
        name = case.owner_name or case.owner or t("none")
        if self.mine(case):
            return Text(t("case.mine", name=name), style="bold cyan")
        return Text(name)

    def _row(self, case: CaseView) -> Row:
        r = case.rating
        finished = case.state in FINISHED
        return (
            str(case.id),
            Text(t(f"case.state.{case.state.value}"), style=STATE_STYLE.get(case.state, "")),
            Text(r.number),
            Text(t(f"level.{r.level}"), style="dim" if finished else "red"),
            Text("；".join(r.reasons) or t("none")),
            Text(t("alert.window", number=r.window) if r.window else t("case.visit")),
            Text(r.staff_name or r.staff or t("none")),
            self._owner(case),
            self._due(case),
        )

    def _sync(self, rows: dict[object, Row]) -> None:
        """Bring the list to `rows`; the cursor stays on its case when cases come."""
        chosen = self.selected_case()
        rebuilt = sync_rows(self.query_one("#cases", DataTable), self._rows, rows)
        if rebuilt and chosen is not None and str(chosen.id) in rows:
            self.select_case(chosen.id)

    def _render_detail(self, case: CaseView | None) -> None:
        shown = (case, self._due(case), self.mine(case)) if case is not None else None
        if shown == self._detail and shown is not None:
            return  # the same: redrawn on every hall event, it would flicker and scroll
        self._detail = shown
        heading = self.query_one("#case-heading", Static)
        rating = self.query_one("#case-rating", Static)
        steps = self.query_one("#case-steps", Static)
        offered = set(allowed(case.state)) if case is not None else set()
        for action in CaseAction:
            self.query_one(f"#act-{action.value}", Button).display = action in offered
        if case is None:
            heading.update(Text(t("case.pick")))
            rating.update("")
            steps.update("")
            return
        heading.update(Text(self._case_heading(case)))
        rating.update(Text(self._rating_lines(case)))
        steps.update(self._steps_table(case))

    def _steps_table(self, case: CaseView) -> Table:
        table = Table(box=None, expand=True, header_style="bold", padding=(0, 1))
        for column in STEP_COLUMNS:
            wide = column == "text"
            table.add_column(t(f"case.step.{column}"), ratio=1 if wide else None, no_wrap=not wide)
        for step in case.steps:
            table.add_row(
                self._local(step.at),
                Text(who(step.by) if step.by else t("audit.by_server")),
                Text(action_label(step.action)),
                Text(t(f"case.state.{step.state.value}")),
                Text(step.text or t("none")),
                Text(t(f"level.{step.level}") if step.level else ""),
                Text(step.owner or ""),
            )
        return table

    def _case_heading(self, case: CaseView) -> str:
        owner = case.owner_name or case.owner or t("none")
        if self.mine(case):
            owner = t("case.mine", name=owner)
        due = str(self._due(case))
        return t(
            "case.heading",
            case=case.id,
            state=t(f"case.state.{case.state.value}"),
            owner=owner,
            due=due,
        )

    def _rating_lines(self, case: CaseView) -> str:
        r = case.rating
        board = self.console.board
        window = board.windows.get(r.window or 0)
        where = (
            t("alert.window", number=r.window) + (f" {window.name}" if window else "")
            if r.window
            else t("case.visit")
        )
        item = r.item or (c.name if (c := board.categories.get(r.category)) else r.category)
        lines = [
            t(
                "case.rating",
                level=f"{r.level} {t(f'level.{r.level}')}",
                channel=t(f"case.channel.{r.channel.value}"),
                at=self._local(r.rated_at, "%Y-%m-%d %H:%M"),
                ticket=r.number,
                item=item,
            ),
            t(
                "case.where",
                window=where,
                staff=r.staff_name or r.staff or t("none"),
                phone=r.phone or t("none"),
            ),
            t(
                "case.reasons",
                reasons="；".join(r.reasons) or t("none"),
                comment=r.comment or t("none"),
            ),
        ]
        if case.answered_at is not None:
            key = "case.answered" if case.answered_on_time else "case.answered_late"
            answered = t(key, at=self._local(case.answered_at))
            if case.callback_level is not None:
                answered += t("case.called_back", level=t(f"level.{case.callback_level}"))
            lines.append(answered)
        if r.excluded:
            lines.append(t("case.excluded"))
        return "\n".join(lines)

    # -- acting ------------------------------------------------------------------------------

    @on(Button.Pressed, "#case-acts Button")
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_act((event.button.id or "").removeprefix("act-"))

    @on(DataTable.RowHighlighted, "#cases")
    def _highlighted(self) -> None:
        try:
            self._render_detail(self.selected_case())
        except NoMatches:
            return

    def action_act(self, name: str) -> None:
        action = CaseAction(name)
        case = self.selected_case()
        if case is None:
            self.notify(t("case.pick"), severity="warning", timeout=3)
            return
        if not self.console.online:
            self.notify(t("error.offline"), severity="warning", timeout=3)
            return
        if action not in allowed(case.state):
            state = t(f"case.state.{case.state.value}")
            words = t(f"case.action.{name}")
            self.notify(
                t("case.refused.state", case=case.id, state=state, action=words),
                severity="warning",
                timeout=4,
            )
            return
        number, label = case.id, t(f"case.action.{name}")

        def chosen(step: CaseStep | None) -> None:
            if step is None:
                return
            request = UpdateCase(
                id=self.console.new_request_id(),
                case=number,
                action=action,
                text=step.text,
                level=step.level,
                owner=step.owner,
            )
            self.console.send(request, then=lambda reply: self._done(reply, label))

        dialog = CaseStepDialog(
            heading=t(
                "case.dialog.heading",
                action=label,
                case=number,
                ticket=case.rating.number,
                level=t(f"level.{case.rating.level}"),
            ),
            placeholder=t(f"case.text.{name}"),
            note=t(f"case.note.{name}"),
            text_optional=action in TEXT_OPTIONAL,
            ask_level=action is A.CALL_BACK,
            ask_owner=action is A.ASSIGN,
        )
        self.console.push_screen(dialog, chosen)

    def _done(self, reply: Any, label: str) -> None:
        if isinstance(reply, CaseReply):
            state = t(f"case.state.{reply.case.state.value}")
            self.notify(t("case.done", case=reply.case.id, action=label, state=state), timeout=3)
