"""Periods, groupings and the figures of a report, from cells (docs/statistics.md)."""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from queue_server.stats.cells import DIMENSIONS, Cell, Cells

TIME_GROUPINGS = ("day", "week", "month", "weekday")
GROUPINGS: tuple[str, ...] = (*DIMENSIONS, *TIME_GROUPINGS)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class StatsError(ValueError):
    """A report asked for something that does not exist (a grouping, a period)."""


@dataclass(frozen=True)
class Period:
    """Hall-local days from `start` to `end`, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise StatsError(f"the period ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def day(cls, day: date) -> Period:
        return cls(day, day)

    @classmethod
    def week(cls, day: date) -> Period:
        monday = day - timedelta(days=day.weekday())
        return cls(monday, monday + timedelta(days=6))

    @classmethod
    def month(cls, day: date) -> Period:
        last = calendar.monthrange(day.year, day.month)[1]
        return cls(day.replace(day=1), day.replace(day=last))

    @classmethod
    def year(cls, day: date) -> Period:
        return cls(date(day.year, 1, 1), date(day.year, 12, 31))

    def __contains__(self, day: object) -> bool:
        """A hall-local day "YYYY-MM-DD" in the period; a month "YYYY-MM" wholly in it."""
        if not isinstance(day, str):
            return False
        if len(day) == 7:
            return day in self.whole_months()
        return self.start.isoformat() <= day <= self.end.isoformat()

    def whole_months(self) -> list[str]:
        """The calendar months ("YYYY-MM") the period covers from their first to last day."""
        months = []
        first = self.start if self.start.day == 1 else Period.month(self.start).end + timedelta(1)
        while first <= self.end:
            month = Period.month(first)
            if month.end <= self.end:
                months.append(first.isoformat()[:7])
            first = month.end + timedelta(days=1)
        return months

    @property
    def label(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def parse_grouping(text: str | Iterable[str]) -> tuple[str, ...]:
    """`window`, `month,window`, …: at most one dimension and one time grouping."""
    parts = [p.strip() for p in text.split(",")] if isinstance(text, str) else list(text)
    parts = [p for p in parts if p]
    for p in parts:
        if p not in GROUPINGS:
            raise StatsError(f"no grouping {p!r} (known: {', '.join(GROUPINGS)})")
    dims = [p for p in parts if p in DIMENSIONS]
    times = [p for p in parts if p in TIME_GROUPINGS]
    if len(dims) > 1 or len(times) > 1:
        raise StatsError("group by at most one of hall/category/…/hour and one of day/week/…")
    return tuple(times + dims)


def dimension_of(by: tuple[str, ...]) -> str:
    dims = [p for p in by if p in DIMENSIONS]
    return dims[0] if dims else "hall"


def time_key(grouping: str, day: str) -> str:
    """The group of a cell's day ("YYYY-MM-DD"; a whole month "YYYY-MM" only by month)."""
    if grouping == "day":
        return day
    if grouping == "month":
        return day[:7]
    d = date.fromisoformat(day)
    if grouping == "week":
        year, week, _ = d.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{d.weekday() + 1}-{WEEKDAYS[d.weekday()]}"


# -- figures ----------------------------------------------------------------------------------


def quantiles(hist: Counter[int]) -> tuple[float | None, int | None, int | None]:
    """(median, p90, max) of a histogram, in one pass over its sorted values. The median is
    the middle value (the mean of the two middle ones of an even count); p90 is the nearest
    rank: the smallest value with at least 90% of the values at or below it."""
    n = sum(hist.values())
    if n == 0:
        return None, None, None
    ranks = ((n + 1) // 2, n // 2 + 1, max(1, -(-9 * n // 10)))
    found: list[int] = []
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        while len(found) < 3 and seen >= ranks[len(found)]:
            found.append(value)
        if len(found) == 3:
            break
    return (found[0] + found[1]) / 2, found[2], max(hist)


def _mean(total: float, count: int) -> float | None:
    return round(total / count, 1) if count else None


@dataclass(frozen=True)
class Figures:
    """One row of a report. Durations are in seconds."""

    issued: int = 0
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    transferred: int = 0
    moved: int = 0  # moved while waiting by a supervisor (move_ticket)
    expired: int = 0
    open: int = 0
    transfers: int = 0
    recalls: int = 0
    waits: int = 0
    wait_mean: float | None = None
    wait_median: float | None = None
    wait_p90: int | None = None
    wait_max: int | None = None
    within_target: float | None = None  # share 0..1 of the waits within their target
    services: int = 0
    service_mean: float | None = None
    service_p90: int | None = None
    serving: int = 0
    calling: int = 0
    idle: int = 0
    paused: int = 0
    closed: int = 0
    paused_by_reason: dict[str, int] = field(default_factory=dict)
    utilisation: float | None = None  # serving / (serving + calling + idle + paused)
    appointments_booked: int = 0
    appointments_checked_in: int = 0
    appointments_missed: int = 0
    appointments_cancelled: int = 0
    visits: int = 0
    visit_mean: float | None = None
    chains_ended: int = 0

    @classmethod
    def of(cls, cell: Cell, targets: Mapping[str, int]) -> Figures:
        """`targets`: target wait in seconds per key of `cell.waits`."""
        n, s = cell.n, cell.s
        all_waits: Counter[int] = Counter()
        within = 0
        for category, hist in cell.waits.items():
            if all_waits:
                all_waits.update(hist)
            else:
                all_waits = Counter(hist)
            target = targets.get(category)
            if target is not None:
                within += sum(c for v, c in hist.items() if v <= target)
        waits = sum(all_waits.values())
        wait_median, wait_p90, wait_max = quantiles(all_waits)
        staffed = s["t_serving"] + s["t_calling"] + s["t_idle"] + s["t_paused"]
        return cls(
            issued=n["issued"],
            served=n["served"],
            no_show=n["no_show"],
            cancelled=n["cancelled"],
            transferred=n["transferred"],
            moved=n["moved"],
            expired=n["expired"],
            open=n["open"],
            transfers=n["transfers"],
            recalls=n["recalls"],
            waits=waits,
            wait_mean=_mean(s["wait"], waits),
            wait_median=wait_median,
            wait_p90=wait_p90,
            wait_max=wait_max,
            within_target=round(within / waits, 4) if waits else None,
            services=n["services"],
            service_mean=_mean(s["service"], n["services"]),
            service_p90=quantiles(cell.services)[1],
            serving=s["t_serving"],
            calling=s["t_calling"],
            idle=s["t_idle"],
            paused=s["t_paused"],
            closed=s["t_closed"],
            paused_by_reason={k: v for k, v in sorted(cell.paused.items()) if v},
            utilisation=round(s["t_serving"] / staffed, 4) if staffed else None,
            appointments_booked=n["appt_booked"],
            appointments_checked_in=n["appt_checked_in"],
            appointments_missed=n["appt_missed"],
            appointments_cancelled=n["appt_cancelled"],
            visits=n["visits"],
            visit_mean=_mean(s["visit"], n["visits"]),
            chains_ended=n["chains_ended"],
        )

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


FIGURE_NAMES: tuple[str, ...] = tuple(Figures.__dataclass_fields__)


@dataclass(frozen=True)
class Row:
    key: tuple[str, ...]  # one value per grouping, in the report's `by` order
    figures: Figures


@dataclass(frozen=True)
class Report:
    halls: tuple[str, ...]
    period: Period
    by: tuple[str, ...]
    rows: tuple[Row, ...]
    total: Figures


def build_report(
    cells_by_hall: Mapping[str, Cells],
    targets_by_hall: Mapping[str, Mapping[str, int]],
    period: Period,
    by: tuple[str, ...],
    total_cells: Mapping[str, Cells] | None = None,
) -> Report:
    """Group the cells of the period into rows, and its total from `total_cells` (the
    same figures at a coarser grain, when the caller has them) or from the rows' cells.
    A cell's day may be a whole month ("YYYY-MM") when no grouping needs its days."""
    dim = dimension_of(by)
    groups: dict[tuple[str, ...], Cell] = {}
    total = Cell()
    targets: dict[str, int] = {}
    for hall, cells in cells_by_hall.items():
        for category, seconds in targets_by_hall.get(hall, {}).items():
            targets[f"{hall}/{category}"] = seconds
        for (day, cell_dim, key), cell in cells.items():
            if day not in period or cell_dim not in (dim, "hall"):
                continue
            cell = _by_hall(hall, cell)
            if cell_dim == "hall" and total_cells is None:
                total.merge(cell)
            if cell_dim != dim:
                continue
            parts = []
            for grouping in by:
                if grouping in TIME_GROUPINGS:
                    parts.append(time_key(grouping, day))
                else:
                    parts.append(hall if grouping == "hall" else key)
            group = groups.setdefault(tuple(parts), Cell())
            group.merge(cell)
    for hall, cells in (total_cells or {}).items():
        for (day, cell_dim, _), cell in cells.items():
            if day in period and cell_dim == "hall":
                total.merge(_by_hall(hall, cell))
    rows = tuple(Row(k, Figures.of(c, targets)) for k, c in sorted(groups.items(), key=_order))
    return Report(
        halls=tuple(cells_by_hall),
        period=period,
        by=by,
        rows=rows,
        total=Figures.of(total, targets),
    )


def _by_hall(hall: str, cell: Cell) -> Cell:
    """The cell with its waits keyed by hall and category (targets are per hall)."""
    return Cell(
        n=cell.n,
        s=cell.s,
        paused=cell.paused,
        waits={f"{hall}/{c}": h for c, h in cell.waits.items()},
        services=cell.services,
    )


def _order(item: tuple[tuple[str, ...], Cell]) -> tuple[Any, ...]:
    """Windows in number order, the rest as text."""
    return tuple((0, int(k), "") if k.isdigit() else (1, 0, k) for k in item[0])
