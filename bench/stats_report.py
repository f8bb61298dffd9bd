"""Report speed on a long history: python -m bench.stats_report [--days 365] [--district-days 30].

Generates (1) a year of the demo hall (~1,650 tickets a day) and (2) a month of the
12-hall demo district on one SQLite file each: protocol event models (queue_protocol),
encoded as the server encodes them and written through the hall's journal
(queue_server/hall/journal.write, the writer's own code, with its gapless seq guard). A
small discrete-event day per hall: Poisson-ish arrivals, windows calling by profile,
recalls and no-shows (some reinstated), transfers, one-chain visits, pauses with
reasons, appointments kept / missed / cancelled, and the close-out.

Then it prints: the rebuild of the statistics kept (`stats rebuild`: the whole log
folded), every report asked for (each the median of 3 runs, through `stats.report`, which
first folds any new events), the refresh after one more day, and the same report folded
from scratch (`stats.from_scratch`) as the reference in the same run.
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import Engine, Table, func, select

from queue_protocol.codec import encode
from queue_protocol.messages import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentView,
    DayClosed,
    DaySummary,
    Priority,
    QueueChanged,
    QueueStat,
    ServiceFinished,
    ServiceStarted,
    TicketCalled,
    TicketCancelled,
    TicketExpired,
    TicketIssued,
    TicketNoShow,
    TicketRecalled,
    TicketReinstated,
    TicketState,
    TicketTransferred,
    TicketView,
    Transfer,
    WindowChanged,
    WindowState,
    WindowView,
)
from queue_server.hall import journal
from queue_server.hall.work import Published, Work
from queue_server.hallconfig import demo_district_path, demo_hall_path, read_district, read_toml
from queue_server.service import HallService
from queue_server.stats import Period, from_scratch, rebuild, refresh, report
from queue_server.stats.compute import HallInfo, halls
from queue_server.store.engine import make_engine
from queue_server.store.tables import EventRow, HallRow

TZ = ZoneInfo("Asia/Shanghai")
HALL: Table = HallRow.__table__  # type: ignore[attr-defined]
REASONS = ("午休", "临时离开", "业务培训")


@dataclass
class Hall:
    code: str
    hall_id: int
    windows: list[tuple[int, str, tuple[str, ...]]]  # number, zone, profile
    categories: dict[str, float]  # code -> mean service minutes
    prefixes: dict[str, str]
    chain_item: tuple[str, str, int] | None  # (category, item, steps)
    seq: int = 0
    pending: list[tuple[int, str, int | None, str | None, BaseModel]] = field(default_factory=list)


def load_halls(engine: Engine, configs: list[dict[str, Any]]) -> list[Hall]:
    out = []
    with engine.connect() as connection:
        rows = connection.execute(select(HALL.c.code, HALL.c.id)).all()
    ids: dict[str, int] = {code: hall_id for code, hall_id in rows}
    for data in configs:
        code = data["hall"]["code"]
        windows = []
        for w in data["windows"]:
            profile = w.get("profile", [])
            profile = () if profile in ("全科", []) else tuple(profile)
            windows.append((w["number"], w.get("zone", ""), profile))
        cats = {c["code"]: float(c.get("service_minutes", 10)) for c in data["categories"]}
        prefixes = {c["code"]: c["prefix"] for c in data["categories"]}
        chain = next(
            (
                (i["category"], i["name"], len(i["chain"]))
                for i in data.get("items", [])
                if i.get("chain")
            ),
            None,
        )
        out.append(Hall(code, ids[code], windows, cats, prefixes, chain))
    return out


# -- one generated day -------------------------------------------------------------------------


class DayGen:
    """One hall's day as protocol events, with a clock in epoch seconds."""

    def __init__(self, hall: Hall, day: date, per_day: int, rng: random.Random) -> None:
        self.hall, self.day, self.rng, self.per_day = hall, day, rng, per_day
        opening = datetime.combine(day, datetime.min.time(), tzinfo=TZ) + timedelta(hours=8.5)
        self.t0 = int(opening.timestamp())
        self.close = self.t0 + 10 * 3600
        self.heap: list[tuple[int, int, str, Any]] = []
        self.n = 0
        self.waiting: dict[str, list[tuple[int, int, str]]] = {c: [] for c in hall.categories}
        self.tickets: dict[str, dict[str, Any]] = {}
        self.counters: dict[str, int] = {}
        self.idle: set[int] = set()
        self.summary = {"issued": 0, "done": 0, "no_show": 0, "cancelled": 0, "expired": 0}
        self.missed = 0

    def at(self, t: int) -> datetime:
        return datetime.fromtimestamp(t, UTC)

    def push(self, t: int, kind: str, arg: Any) -> None:
        self.n += 1
        heapq.heappush(self.heap, (t, self.n, kind, arg))

    def emit(self, t: int, model: type[BaseModel], **fields: Any) -> None:
        self.hall.seq += 1
        # Built without re-validating what this generator made (model_construct), encoded as
        # the server encodes every event.
        event = model.model_construct(seq=self.hall.seq, at=self.at(t), **fields)
        about = fields.get("window")
        window = about.number if isinstance(about, WindowView) else about
        zone = next((z for n, z, _ in self.hall.windows if n == window), None)
        name = getattr(event, "name")  # noqa: B009
        self.hall.pending.append((self.hall.seq, name, window, zone, event))

    def view(self, tk: dict[str, Any]) -> TicketView:
        return TicketView.model_construct(
            id=tk["id"],
            number=tk["number"],
            category=tk["category"],
            item=tk.get("item"),
            priority=tk["priority"],
            state=tk["state"],
            issued_at=self.at(tk["issued"]),
            queued_at=self.at(tk["queued"]),
            call_times=[self.at(c) for c in tk["calls"]],
            started_at=self.at(tk["started"]) if tk.get("started") else None,
            finished_at=None,
            no_show_at=None,
            window=tk.get("window"),
            staff=tk.get("staff"),
            recall_count=tk.get("recalls", 0),
            transfers=tk["transfers"],
            chain_step=tk["step"],
            steps=tk["steps"],
            step=None,
            target_window=None,
            appointment_at=None,
        )

    def window_view(self, number: int, state: WindowState, reason: str | None = None) -> WindowView:
        zone, profile = next((z, p) for n, z, p in self.hall.windows if n == number)
        staff = None if state is WindowState.CLOSED else f"ck{number:02d}"
        return WindowView.model_construct(
            number=number,
            name=f"{number}号",
            zone=zone,
            profile=list(profile),
            state=state,
            staff=staff,
            staff_name=None,
            pause_reason=reason,
            ticket=None,
            ticket_number=None,
            connected=state is not WindowState.CLOSED,
        )

    def set_window(
        self, t: int, number: int, state: WindowState, reason: str | None = None
    ) -> None:
        self.emit(t, WindowChanged, window=self.window_view(number, state, reason))

    def run(self) -> None:
        rng = self.rng
        for number, _, _ in self.hall.windows:
            self.set_window(self.t0, number, WindowState.IDLE)
            self.idle.add(number)
            lunch = self.t0 + int(3.5 * 3600) + rng.randrange(0, 3600)
            self.push(lunch, "pause", (number, "午休", rng.randrange(1800, 3600)))
            if rng.random() < 0.4:
                self.push(
                    self.t0 + rng.randrange(0, 9 * 3600),
                    "pause",
                    (number, rng.choice(REASONS[1:]), rng.randrange(300, 900)),
                )
        for _ in range(self.per_day):
            self.push(self.t0 + rng.randrange(0, 9 * 3600 + 1800), "arrive", None)
        for _ in range(self.per_day // 60):
            self.push(self.t0, "book", None)
        while self.heap:
            t, _, kind, arg = heapq.heappop(self.heap)
            getattr(self, f"on_{kind}")(t, arg)
        self.close_out()

    # -- events of the day

    def new_ticket(
        self, t: int, category: str, priority: Priority, item: str | None = None, steps: int = 1
    ) -> dict[str, Any]:
        n = self.counters[category] = self.counters.get(category, 0) + 1
        number = f"{self.hall.prefixes[category]}{n:03d}"
        tk: dict[str, Any] = {
            "id": f"{self.day:%Y%m%d}-{number}",
            "number": number,
            "category": category,
            "item": item,
            "priority": priority,
            "state": TicketState.WAITING,
            "issued": t,
            "queued": t,
            "calls": [],
            "transfers": [],
            "step": 0,
            "steps": steps,
        }
        self.tickets[tk["id"]] = tk
        self.summary["issued"] += 1
        self.emit(t, TicketIssued, ticket=self.view(tk))
        self.enqueue(t, tk)
        self.queue_changed(t, category)
        return tk

    def queue_changed(self, t: int, category: str) -> None:
        """The figures of the queue a command changed (the server sends one per batch)."""
        waiting = len(self.waiting[category])
        stat = QueueStat.model_construct(
            category=category, waiting=waiting, oldest_queued_at=None, estimated_wait_minutes=0.0
        )
        self.emit(t, QueueChanged, queues=[stat])

    def on_arrive(self, t: int, _: Any) -> None:
        rng = self.rng
        if t >= self.close:
            return
        category = rng.choice(list(self.hall.categories))
        item, steps = None, 1
        if self.hall.chain_item and rng.random() < 0.01:
            category, item, steps = self.hall.chain_item
        priority = Priority.GREEN if rng.random() < 0.05 else Priority.NORMAL
        tk = self.new_ticket(t, category, priority, item, steps)
        if rng.random() < 0.01:
            self.push(t + rng.randrange(60, 1800), "cancel", tk["id"])

    def on_book(self, t: int, _: Any) -> None:
        rng = self.rng
        category = rng.choice(list(self.hall.categories))
        slot = f"{rng.randrange(9, 16):02d}:{rng.choice(('00', '30'))}"
        code = f"K{self.n:07d}"
        view = AppointmentView.model_construct(
            code=code,
            category=category,
            item=None,
            day=self.day,
            slot=slot,
            name="张*",
            phone="138****0000",
            state="booked",
            ticket=None,
        )
        self.emit(t, AppointmentBooked, appointment=view)
        slot_t = self.t0 + (int(slot[:2]) * 60 + int(slot[3:]) - 8 * 60 - 30) * 60
        u = rng.random()
        if u < 0.7:
            self.push(slot_t - rng.randrange(0, 600), "check_in", view)
        elif u < 0.8:
            self.push(t + rng.randrange(600, 3600), "appt_cancel", view)
        else:
            self.missed += 1

    def on_check_in(self, t: int, view: AppointmentView) -> None:
        self.emit(t, AppointmentCheckedIn, appointment=view, on_time=True)
        self.new_ticket(t, view.category, Priority.APPOINTMENT)

    def on_appt_cancel(self, t: int, view: AppointmentView) -> None:
        self.emit(t, AppointmentCancelled, appointment=view)

    def enqueue(self, t: int, tk: dict[str, Any]) -> None:
        tk["state"] = TicketState.WAITING
        heapq.heappush(self.waiting[tk["category"]], (tk["queued"], self.n, tk["id"]))
        self.n += 1
        for number in sorted(self.idle):
            if self.serves(number, tk["category"]):
                self.idle.discard(number)
                self.push(t, "call", number)
                break

    def serves(self, number: int, category: str) -> bool:
        profile = next(p for n, _, p in self.hall.windows if n == number)
        return not profile or category in profile

    def on_cancel(self, t: int, tid: str) -> None:
        tk = self.tickets.get(tid)
        if tk is None or tk["state"] is not TicketState.WAITING:
            return
        tk["state"] = TicketState.CANCELLED
        del self.tickets[tid]
        self.summary["cancelled"] += 1
        self.emit(t, TicketCancelled, ticket=self.view(tk))

    def on_call(self, t: int, number: int) -> None:
        profile = next(p for n, _, p in self.hall.windows if n == number) or tuple(self.waiting)
        best = None
        for category in profile:
            queue = self.waiting.get(category, [])
            while queue and (
                queue[0][2] not in self.tickets
                or self.tickets[queue[0][2]]["state"] is not TicketState.WAITING
            ):
                heapq.heappop(queue)
            if queue and (best is None or queue[0] < best[0]):
                best = (queue[0], category)
        if best is None or t >= self.close + 1800:
            self.idle.add(number)
            return
        heapq.heappop(self.waiting[best[1]])
        tk = self.tickets[best[0][2]]
        tk.update(state=TicketState.CALLED, window=number, staff=f"ck{number:02d}", recalls=0)
        tk["calls"].append(t)
        self.emit(t, TicketCalled, window=number, ticket=self.view(tk), window_name=f"{number}号")
        self.queue_changed(t, tk["category"])
        self.set_window(t, number, WindowState.CALLING)
        rng = self.rng
        if rng.random() < 0.04:  # away: two recalls, then a no-show
            self.push(t + 60, "recall", (number, tk["id"], 1))
        else:
            self.push(t + rng.randrange(15, 90), "start", (number, tk["id"]))

    def on_recall(self, t: int, arg: tuple[int, str, int]) -> None:
        number, tid, count = arg
        tk = self.tickets[tid]
        if count <= 2:
            tk["recalls"] = count
            tk["calls"].append(t)
            self.emit(
                t, TicketRecalled, window=number, ticket=self.view(tk), window_name=f"{number}号"
            )
            self.push(t + 60, "recall", (number, tid, count + 1))
            return
        tk["state"] = TicketState.NO_SHOW
        self.emit(t, TicketNoShow, window=number, ticket=self.view(tk))
        self.set_window(t, number, WindowState.IDLE)
        if self.rng.random() < 0.3:
            self.push(t + self.rng.randrange(120, 1200), "reinstate", tid)
        else:
            del self.tickets[tid]
            self.summary["no_show"] += 1
        self.free(t, number)

    def on_reinstate(self, t: int, tid: str) -> None:
        tk = self.tickets[tid]
        tk.update(window=None, staff=None)
        tk["state"] = TicketState.WAITING
        self.emit(t, TicketReinstated, ticket=self.view(tk))
        self.enqueue(t, tk)

    def on_start(self, t: int, arg: tuple[int, str]) -> None:
        number, tid = arg
        tk = self.tickets[tid]
        tk.update(state=TicketState.SERVING, started=t)
        self.emit(t, ServiceStarted, window=number, ticket=self.view(tk))
        self.set_window(t, number, WindowState.SERVING)
        minutes = self.rng.expovariate(1 / self.hall.categories[tk["category"]])
        self.push(t + max(30, int(minutes * 60)), "finish", arg)

    def on_finish(self, t: int, arg: tuple[int, str]) -> None:
        number, tid = arg
        tk = self.tickets[tid]
        rng = self.rng
        if rng.random() < 0.02 and tk["steps"] == 1:
            to = rng.choice(list(self.hall.categories))
            record = Transfer(
                at=self.at(t),
                from_category=tk["category"],
                to_category=to,
                from_window=number,
                reason="转办",
            )
            tk.update(category=to, window=None, staff=None, started=None)
            tk["transfers"] = [*tk["transfers"], record]
            tk["state"] = TicketState.WAITING
            self.emit(t, TicketTransferred, window=number, ticket=self.view(tk), transfer=record)
            self.set_window(t, number, WindowState.IDLE)
            self.enqueue(t, tk)
        elif tk["step"] + 1 < tk["steps"]:
            tk.update(step=tk["step"] + 1, queued=t, window=None, staff=None, started=None)
            tk["state"] = TicketState.WAITING
            self.emit(t, ServiceFinished, window=number, ticket=self.view(tk), next_step="下一步")
            self.set_window(t, number, WindowState.IDLE)
            self.enqueue(t, tk)
        else:
            tk["state"] = TicketState.DONE
            del self.tickets[tid]
            self.summary["done"] += 1
            self.emit(t, ServiceFinished, window=number, ticket=self.view(tk))
            self.set_window(t, number, WindowState.IDLE)
        self.free(t, number)

    def free(self, t: int, number: int) -> None:
        self.idle.add(number)
        self.push(t, "next", number)

    def on_next(self, t: int, number: int) -> None:
        if number in self.idle:
            self.idle.discard(number)
            self.on_call(t, number)

    def on_pause(self, t: int, arg: tuple[int, str, int]) -> None:
        number, reason, seconds = arg
        if number not in self.idle:  # busy: go on the break when done
            self.push(t + 120, "pause", arg)
            return
        self.idle.discard(number)
        self.set_window(t, number, WindowState.PAUSED, reason)
        self.push(t + seconds, "resume", number)

    def on_resume(self, t: int, number: int) -> None:
        self.set_window(t, number, WindowState.IDLE)
        self.idle.add(number)
        self.push(t, "next", number)

    def close_out(self) -> None:
        t = self.close + 1800
        for tk in list(self.tickets.values()):
            tk["state"] = TicketState.EXPIRED
            self.summary["expired"] += 1
            self.emit(t, TicketExpired, ticket=self.view(tk))
        for number, _, _ in self.hall.windows:
            self.emit(
                t,
                WindowChanged,
                window=self.window_view(number, WindowState.CLOSED),
                reason="day_closed",
            )
        self.emit(
            t,
            DayClosed,
            day=self.day,
            closed_at=self.at(t),
            summary=DaySummary(**self.summary, appointments_missed=self.missed),
        )


def write(engine: Engine, hall: Hall) -> int:
    """The hall's pending events through the journal (one transaction, the seq guard)."""
    if not hall.pending:
        return 0
    work = Work(state=cast(Any, None), now=datetime.now(UTC))
    work.events = [
        Published(seq, name, window, zone, encode(event), event.at)  # type: ignore[attr-defined]
        for seq, name, window, zone, event in hall.pending
    ]
    first = hall.pending[0][0]
    with engine.begin() as connection:
        journal.write(connection, hall.hall_id, [work], first - 1, "bench")
    count = len(hall.pending)
    hall.pending.clear()
    return count


def generate(engine: Engine, hall: Hall, start: date, days: int, per_day: int, seed: int) -> int:
    with engine.connect() as connection:
        hall.seq = connection.execute(
            select(HALL.c.last_seq).where(HALL.c.id == hall.hall_id)
        ).scalar_one()
    written = 0
    for i in range(days):
        DayGen(hall, start + timedelta(days=i), per_day, random.Random(seed * 100_000 + i)).run()
        written += write(engine, hall)
    return written


# -- measuring ------------------------------------------------------------------------------


def timed(fn: Any, repeat: int = 3) -> tuple[float, Any]:
    runs, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), result


def event_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(EventRow)).scalar_one())


def run_reports(
    engine: Engine,
    label: str,
    cases: list[tuple[str, Period, tuple[str, ...], list[str] | None]],
    now: datetime,
) -> None:
    print(f"  {label}: reports through the statistics kept (median of 3)")
    for name, period, by, codes in cases:
        seconds, result = timed(lambda p=period, b=by, c=codes: report(engine, p, b, now, c))
        print(
            f"    {name:<40} {seconds * 1000:8.1f} ms"
            f"  ({len(result.rows)} rows, {result.total.issued:,} tickets)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stats_report")
    parser.add_argument("--days", type=int, default=365, help="days of the one-hall history")
    parser.add_argument("--per-day", type=int, default=1650, help="tickets a day (the hall)")
    parser.add_argument(
        "--district-days", type=int, default=31, help="days of the district (31: January)"
    )
    parser.add_argument("--district-only", action="store_true", help="skip the one-hall year")
    parser.add_argument("--centre-per-day", type=int, default=400, help="tickets a day a centre")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    start = date(2026, 1, 1)
    now = datetime(2027, 1, 5, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.district_only:
            one_hall(args, Path(tmp), start, now)
        district(args, Path(tmp), start, now)
    return 0


def one_hall(args: argparse.Namespace, tmp: Path, start: date, now: datetime) -> None:
    print(f"one hall, {args.days} days of {args.per_day} tickets")
    engine = make_engine(f"sqlite:///{tmp / 'hall.db'}")
    config = read_toml(demo_hall_path())
    HallService(engine).import_config(config)
    [hall] = load_halls(engine, [config])
    took, written = timed(
        lambda: generate(engine, hall, start, args.days, args.per_day, args.seed), 1
    )
    print(f"  generated {written:,} events in {took:.0f} s")
    with engine.connect() as connection:
        [info] = halls(connection, None)
    took, folded = timed(lambda: rebuild(engine, info), 1)
    print(
        f"  stats rebuild: {folded:,} events folded in {took:.1f} s ({folded / took:,.0f} events/s)"
    )
    year = Period(start, start + timedelta(days=args.days - 1))
    month = Period.month(start + timedelta(days=min(args.days - 1, 40)))
    run_reports(
        engine,
        "the hall",
        [
            ("year, total", year, ("hall",), None),
            ("year by window", year, ("window",), None),
            ("year by staff", year, ("staff",), None),
            ("year by category", year, ("category",), None),
            ("year by hour of day", year, ("hour",), None),
            ("year by weekday", year, ("weekday",), None),
            ("year by day", year, ("day",), None),
            ("year by month", year, ("month",), None),
            ("year by month and window", year, ("month", "window"), None),
            ("year by month and category", year, ("month", "category"), None),
            ("one month by window", month, ("window",), None),
            ("one day by hour", Period.day(start + timedelta(days=10)), ("hour",), None),
        ],
        now,
    )
    scratch, _ = timed(lambda: from_scratch(engine, month, ("window",), now), 1)
    kept, _ = timed(lambda: report(engine, month, ("window",), now))
    print(
        f"  reference: one month by window folded from scratch {scratch:.1f} s;"
        f" kept {kept * 1000:.1f} ms ({scratch / kept:,.0f}x faster)"
    )
    generate(engine, hall, start + timedelta(days=args.days), 1, args.per_day, args.seed + 7)
    took, folded = timed(lambda: refresh(engine, info), 1)
    print(f"  refresh after one more day: {folded:,} events in {took * 1000:.0f} ms")
    engine.dispose()


def district(args: argparse.Namespace, tmp: Path, start: date, now: datetime) -> None:
    print(
        f"district of 12 halls, {args.district_days} days"
        f" (hall {args.per_day}, centres {args.centre_per_day} tickets a day)"
    )
    engine = make_engine(f"sqlite:///{tmp / 'district.db'}")
    configs = read_district(demo_district_path())
    for data in configs:
        HallService(engine, hall=data["hall"]["code"]).import_config(data)
    halls_ = load_halls(engine, configs)
    total = 0
    gen_started = time.perf_counter()
    for i, h in enumerate(halls_):
        per_day = args.per_day if i == 0 else args.centre_per_day
        total += generate(engine, h, start, args.district_days, per_day, args.seed + i)
    print(f"  generated {total:,} events in {time.perf_counter() - gen_started:.0f} s")
    with engine.connect() as connection:
        infos: list[HallInfo] = halls(connection, None)
    started = time.perf_counter()
    folded = sum(rebuild(engine, h) for h in infos)
    took = time.perf_counter() - started
    print(f"  stats rebuild: {folded:,} events folded in {took:.1f} s")
    dmonth = Period(start, start + timedelta(days=args.district_days - 1))
    part = Period(start + timedelta(days=1), start + timedelta(days=args.district_days - 2))
    run_reports(
        engine,
        "the district",
        [
            ("month, every hall, by hall", dmonth, ("hall",), []),
            ("month, every hall, by category", dmonth, ("category",), []),
            ("month, every hall, by day", dmonth, ("day",), []),
            ("month, every hall, by hour of day", dmonth, ("hour",), []),
            ("month, every hall, by window", dmonth, ("window",), []),
            ("month, every hall, by day and hall", dmonth, ("day", "hall"), []),
            ("month, the district hall, by staff", dmonth, ("staff",), [halls_[0].code]),
            (f"{part.label}, every hall, by hall", part, ("hall",), []),
            (f"{part.label}, every hall, by category", part, ("category",), []),
        ],
        now,
    )
    scratch, _ = timed(lambda: from_scratch(engine, dmonth, ("hall",), now, None), 1)
    kept, _ = timed(lambda: report(engine, dmonth, ("hall",), now, None))
    print(
        f"  reference: the district month by hall from scratch {scratch:.1f} s;"
        f" kept {kept * 1000:.1f} ms ({scratch / kept:,.0f}x faster)"
    )
    engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
