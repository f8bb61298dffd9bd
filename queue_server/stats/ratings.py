"""好差评 figures and the ledger (台账) of a period, read from the rating, case and service
rows (hall/ratings.py, hall/cases.py); definitions in docs/statistics.md.

- 好评率 (satisfaction): 非常满意 + 满意 + 基本满意 among the counted ratings, those excluded
  after an appeal left out;
- 评价率 (rating rate): rated services among services (each one-chain step is a service; a
  whole-visit rating is not a service's and is left out of this share);
- 差评 count; of their cases: answered on time (回复率), called back (回访率), overdue (not
  answered by their deadline, now or when answered).

The ledger has a row per rating with the fields the provincial 好差评 system takes: the
stage (办理环节), staff name and number, ticket and case numbers, item, times, the
evaluator's channel and masked phone, level, reasons and the case's outcome.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, func, literal
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from queue_protocol.messages import BAD_FROM, LEVEL_NAMES, CaseState
from queue_server.domain.appointments import mask_phone
from queue_server.hall.work import SERVED_OUTCOMES
from queue_server.stats.compute import HallInfo
from queue_server.stats.figures import TIME_GROUPINGS, Period, time_key
from queue_server.store.engine import read_session
from queue_server.store.tables import (
    RatingCaseRow,
    RatingRow,
    ServiceRow,
    StaffRow,
    TicketRow,
)

GROUPINGS = ("hall", "day", "month", "window", "staff", "category", "item")
# A report's groupings that ratings have: not priority, nor hour (a rating has neither).
REPORT_GROUPINGS = frozenset({*GROUPINGS, "week", "weekday"})
CHANNEL_ZH = {"pad": "评价器", "qr": "二维码", "paper": "纸质评价表"}
STATE_ZH = {
    "open": "待核实",
    "verified": "已核实",
    "rectifying": "整改中",
    "answered": "已反馈",
    "called_back": "已回访",
    "closed": "已办结",
    "appealed": "申诉中",
    "excluded": "申诉成立，已剔除",
}
LEDGER_HEADER = (
    "评价编号",
    "评价时间",
    "办件日期",
    "取号号码",
    "票据编号",
    "事项名称",
    "业务类别",
    "办理环节",
    "窗口",
    "工作人员",
    "工号",
    "评价渠道",
    "评价人联系方式",
    "评价等级",
    "评价等级名称",
    "差评原因",
    "评价内容",
    "是否剔除",
    "剔除理由",
    "工单编号",
    "工单状态",
    "整改期限",
    "反馈时间",
    "按期反馈",
    "回访满意度",
    "办结时间",
)
FIGURE_FIELDS = (
    "services",
    "rated",
    "rating_rate",
    "counted",
    "good",
    "bad",
    "excluded",
    "satisfaction",
    "cases",
    "answered_on_time",
    "on_time_rate",
    "called_back",
    "callback_rate",
    "overdue",
)
FIGURE_ZH = {
    "services": "服务次数",
    "rated": "评价次数",
    "rating_rate": "评价率",
    "counted": "计入评价",
    "good": "好评",
    "bad": "差评",
    "excluded": "剔除",
    "satisfaction": "好评率",
    "cases": "差评工单",
    "answered_on_time": "按期反馈",
    "on_time_rate": "回复率",
    "called_back": "已回访",
    "callback_rate": "回访率",
    "overdue": "超期",
}


@dataclass
class RatingFigures:
    key: str
    services: int = 0
    rated: int = 0  # ratings of services (not of whole visits)
    counted: int = 0  # ratings counted: all but the excluded
    good: int = 0
    bad: int = 0
    excluded: int = 0
    cases: int = 0
    answered_on_time: int = 0
    called_back: int = 0
    overdue: int = 0
    visits: set[str] = field(default_factory=set, repr=False)

    @property
    def rating_rate(self) -> float | None:
        return self.rated / self.services if self.services else None

    @property
    def satisfaction(self) -> float | None:
        return self.good / self.counted if self.counted else None

    @property
    def on_time_rate(self) -> float | None:
        return self.answered_on_time / self.cases if self.cases else None

    @property
    def callback_rate(self) -> float | None:
        return self.called_back / self.cases if self.cases else None

    def row(self) -> list[Any]:
        return [self.key, *(getattr(self, f) for f in FIGURE_FIELDS)]


def _key(
    grouping: str, day: str, window: int | None, staff: str | None, category: str, item: str | None
) -> str:
    return {
        "hall": "",
        "day": day,
        "month": day[:7],
        "window": "" if window is None else str(window),
        "staff": staff or "",
        "category": category,
        "item": item or "",
    }[grouping]


Keyer = Callable[[str, int | None, str | None, str, str | None], Iterable[RatingFigures]]


def figures(
    engine: Engine, hall_id: int, since: date, until: date, grouping: str, now: datetime
) -> list[RatingFigures]:
    """The figures of the hall-local days `since` … `until` (the ticket's day) per
    `grouping` key, in key order (`grouping` one of GROUPINGS)."""
    if grouping not in GROUPINGS:
        raise ValueError(f"group by one of {', '.join(GROUPINGS)}")
    out: dict[str, RatingFigures] = {}

    def of(
        day: str, window: int | None, staff: str | None, category: str, item: str | None
    ) -> Iterable[RatingFigures]:
        key = _key(grouping, day, window, staff, category, item)
        return (out.setdefault(key, RatingFigures(key)),)

    _collect(engine, hall_id, since, until, now, of, grouping == "item")
    return [out[k] for k in sorted(out)]


def for_report(
    engine: Engine, halls: Iterable[HallInfo], period: Period, by: tuple[str, ...], now: datetime
) -> tuple[dict[tuple[str, ...], RatingFigures], RatingFigures] | None:
    """The figures of a `queue-server report`: per row key of its grouping `by`, and the
    total. None when `by` has a grouping ratings have not (priority, hour)."""
    if not set(by) <= REPORT_GROUPINGS:
        return None
    rows: dict[tuple[str, ...], RatingFigures] = {}
    total = RatingFigures("*")
    for hall in halls:

        def of(
            day: str,
            window: int | None,
            staff: str | None,
            category: str,
            item: str | None,
            code: str = hall.code,
        ) -> Iterable[RatingFigures]:
            key = tuple(
                time_key(g, day)
                if g in TIME_GROUPINGS
                else code
                if g == "hall"
                else _key(g, day, window, staff, category, item)
                for g in by
            )
            return (rows.setdefault(key, RatingFigures("|".join(key))), total)

        _collect(engine, hall.id, period.start, period.end, now, of, "item" in by)
    return rows, total


def _collect(
    engine: Engine,
    hall_id: int,
    since: date,
    until: date,
    now: datetime,
    keyed: Keyer,
    by_item: bool,
) -> None:
    """Count the services, ratings and cases of the days into the figures `keyed` names
    for each (by day, window, staff, category and, if `by_item`, item; else item None)."""
    first, last = since.isoformat(), until.isoformat()
    with read_session(engine) as session:
        # Counted in the database, one row per key: a year holds some 600,000 services.
        keys: tuple[Any, ...] = (
            col(ServiceRow.day),
            col(ServiceRow.window),
            col(ServiceRow.staff),
            col(ServiceRow.category),
            col(TicketRow.item) if by_item else literal(None),
        )
        query = sa_select(*keys, func.count()).where(
            col(ServiceRow.hall_id) == hall_id,
            col(ServiceRow.day) >= first,
            col(ServiceRow.day) <= last,
            col(ServiceRow.outcome).in_(SERVED_OUTCOMES),
        )
        if by_item:  # the service row has no item: its ticket's
            query = query.join(
                TicketRow,
                and_(
                    col(TicketRow.hall_id) == col(ServiceRow.hall_id),
                    col(TicketRow.id) == col(ServiceRow.ticket),
                ),
            )
        counted = session.execute(query.group_by(*keys)).all()
        for day, window, staff, category, item, count in counted:
            for f in keyed(day, window, staff, category, item):
                f.services += count
        ratings = session.exec(
            select(RatingRow).where(
                RatingRow.hall_id == hall_id, RatingRow.day >= first, RatingRow.day <= last
            )
        ).all()
        cases = {
            c.id: c
            for c in session.exec(
                select(RatingCaseRow).where(
                    RatingCaseRow.hall_id == hall_id,
                    col(RatingCaseRow.id).in_([r.case_id for r in ratings if r.case_id]),
                )
            ).all()
        }
    for r in ratings:
        for f in keyed(r.day, r.window, r.staff, r.category, r.item):
            _count(f, r, cases.get(r.case_id or 0), now)


def _count(f: RatingFigures, r: RatingRow, case: RatingCaseRow | None, now: datetime) -> None:
    if r.step >= 0:
        f.rated += 1
    if r.excluded:
        f.excluded += 1
    else:
        f.counted += 1
        if r.level >= BAD_FROM:
            f.bad += 1
        else:
            f.good += 1
    if case is None or case.state == CaseState.EXCLUDED.value:
        return
    f.cases += 1
    if case.answered_at is not None and case.answered_at < case.due_at:
        f.answered_on_time += 1
    if case.callback_level is not None:
        f.called_back += 1
    answered_or_now = case.answered_at or now
    if answered_or_now >= case.due_at:
        f.overdue += 1


def ledger(
    engine: Engine, hall_id: int, since: date, until: date, timezone: str
) -> list[list[Any]]:
    """The ledger's rows (LEDGER_HEADER), oldest first: every rating of the tickets of the
    hall-local days `since` … `until`."""
    zone = ZoneInfo(timezone)

    def local(at: datetime | None) -> str:
        return "" if at is None else at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    with read_session(engine) as session:
        ratings = session.exec(
            select(RatingRow)
            .where(
                RatingRow.hall_id == hall_id,
                RatingRow.day >= since.isoformat(),
                RatingRow.day <= until.isoformat(),
            )
            .order_by(col(RatingRow.id))
        ).all()
        names = {
            s.account: s.name
            for s in session.exec(select(StaffRow).where(StaffRow.hall_id == hall_id)).all()
        }
        ids = [r.case_id for r in ratings if r.case_id]
        cases = {
            c.id: c
            for c in session.exec(
                select(RatingCaseRow).where(
                    RatingCaseRow.hall_id == hall_id, col(RatingCaseRow.id).in_(ids)
                )
            ).all()
        }
    rows: list[list[Any]] = []
    for r in ratings:
        case = cases.get(r.case_id or 0)
        on_time = (
            ""
            if case is None or case.answered_at is None
            else ("是" if case.answered_at < case.due_at else "否")
        )
        rows.append(
            [
                r.id,
                local(r.rated_at),
                r.day,
                r.number,
                r.ticket,
                r.item or "",
                r.category,
                "整体评价" if r.step < 0 else (r.step_name or "窗口办理"),
                "" if r.window is None else r.window,
                names.get(r.staff or "", r.staff or ""),
                r.staff or "",
                CHANNEL_ZH.get(r.channel, r.channel),
                mask_phone(r.phone) if r.phone else "",
                r.level,
                LEVEL_NAMES[r.level],
                "；".join(json.loads(r.reasons)),
                r.comment or "",
                "是" if r.excluded else "否",
                r.excluded_reason or "",
                "" if case is None else case.id,
                "" if case is None else STATE_ZH.get(case.state, case.state),
                "" if case is None else local(case.due_at),
                "" if case is None else local(case.answered_at),
                on_time,
                ""
                if case is None or case.callback_level is None
                else LEVEL_NAMES[case.callback_level],
                "" if case is None else local(case.closed_at),
            ]
        )
    return rows


def to_csv(header: Iterable[str], rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(list(header))
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def write_xlsx(path: Path, sheets: dict[str, tuple[Iterable[str], Iterable[list[Any]]]]) -> None:
    from openpyxl import Workbook  # imported here: only this format needs it

    book = Workbook()
    first = True
    for title, (header, rows) in sheets.items():
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None
        first = False
        sheet.title = title
        sheet.append(list(header))
        for row in rows:
            sheet.append(["" if v is None else v for v in row])
        sheet.freeze_panes = "A2"
    book.save(path)
