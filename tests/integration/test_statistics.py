"""Statistics of a hand-computed hall day (issue 16, docs/statistics.md): the day is driven
through the real server on its test clock by real kiosk, window and admin clients — with a
recall, a transfer, a one-chain visit ended early, a no-show reinstated and one not, a pause
with its reason, a window closed and opened again, appointments checked in, missed and
cancelled, and the close-out — and every figure is checked to the second against the
numbers worked out by hand below."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from queue_protocol.messages import (
    BookAppointment,
    CallTicket,
    CancelAppointment,
    CancelTicket,
    CheckIn,
    CloseWindow,
    EndChain,
    FinishService,
    GetSnapshot,
    IssueTicket,
    MarkNoShow,
    MoveTicket,
    PauseWindow,
    Recall,
    Reinstate,
    ResumeWindow,
    Snapshot,
    StartService,
    TransferTicket,
)
from queue_server import cli
from queue_server.server import QueueServer
from queue_server.stats import Figures, Period, Report, from_scratch, report
from queue_server.stats import ratings as rating_figures
from queue_server.stats.compute import halls as stats_halls
from queue_server.stats.export import read_csv, read_xlsx, records
from tests.conftest import Clock, Connect
from tests.integration.test_hall_day import events_until

pytestmark = [pytest.mark.hall_clock, pytest.mark.both_stores]

DAY = date(2026, 11, 24)  # a Tuesday; the demo hall opens 08:30-18:30, closes out at 19:00
LOCAL = timedelta(hours=8)  # Asia/Shanghai


def at(hhmmss: str) -> datetime:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return datetime(DAY.year, DAY.month, DAY.day, h, m, s, tzinfo=UTC) - LOCAL


@pytest.fixture
def hall_config(demo_config: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(demo_config)  # with its real hours: the close-out is at 19:00


@pytest.fixture
def clock() -> Clock:
    return Clock(at("09:00:00"))


async def hand_day(connect: Connect, clock: Clock) -> Snapshot:
    """The day. Times are hall-local; each comment says what the statistics make of it."""
    kiosk = await connect("kiosk")
    admin = await connect("admin")
    w5 = await connect("window", window=5)  # QY, the one-chain zone
    w6 = await connect("window", window=6)  # QY, SW
    w11 = await connect("window", window=11)  # SW, SB
    w12 = await connect("window", window=12)  # SB, SW
    c001 = (await kiosk.request(IssueTicket, category="SW")).ticket  # wait 1 starts 09:00
    a001 = (await kiosk.request(IssueTicket, category="QY", item="企业设立登记")).ticket
    e001 = (await kiosk.request(IssueTicket, category="SB")).ticket
    book: dict[str, Any] = {"name": "张三", "phone": "13812345678", "day": DAY}
    kept = (await kiosk.request(BookAppointment, category="QY", slot="10:00", **book)).appointment
    await kiosk.request(BookAppointment, category="QY", slot="10:30", **book)  # never comes
    gc = await kiosk.request(BookAppointment, category="GC", slot="11:00", **book)
    dropped = gc.appointment

    async def when(hhmmss: str) -> None:
        clock.now = at(hhmmss)

    await when("09:02:00")
    await w5.request(CallTicket, ticket=a001.id)  # A001 step 1 waited 120 s
    await when("09:03:00")
    await w5.request(StartService)
    await when("09:05:00")
    await w11.request(CallTicket, ticket=c001.id)  # C001 waited 300 s in SW
    await when("09:05:30")
    await w11.request(Recall)  # a recall: the wait ended at the first call
    await when("09:06:00")
    await w11.request(StartService)
    await when("09:08:00")
    await w5.request(FinishService)  # A001 step 1 served 300 s; step 2 queues from 09:08
    await when("09:10:00")
    # C001 served 240 s at window 11, then transferred: not a service; waits anew in SB
    await w11.request(TransferTicket, to_category="SB", reason="需社保窗口")
    await when("09:12:00")
    await w12.request(CallTicket, ticket=e001.id)  # E001 waited 720 s
    await when("09:13:00")
    await w12.request(MarkNoShow)
    await when("09:14:00")
    await w6.request(CallTicket, ticket=a001.id)  # A001 step 2 waited 360 s (from 09:08)
    await when("09:15:00")
    await w6.request(StartService)
    await when("09:16:00")
    await w11.request(PauseWindow, reason="业务培训")
    await when("09:20:00")
    await w12.request(Reinstate, ticket=e001.id)  # E001 waits again, from 09:20
    await when("09:25:00")
    await w6.request(EndChain, reason="材料不全")  # 600 s; the visit took 1500 s
    await when("09:26:00")
    await w11.request(ResumeWindow)  # paused 600 s for 业务培训
    await when("09:30:00")
    await w12.request(CallTicket, ticket=c001.id)  # C001 waited 1200 s in SB (> 15 min)
    await when("09:31:00")
    await w12.request(StartService)
    await when("09:35:00")
    await w12.request(FinishService)  # 240 s
    await when("09:36:00")
    await w12.request(CallTicket, ticket=e001.id)  # E001 waited 960 s (> 15 min)
    await when("09:37:00")
    await w12.request(StartService)
    await when("09:40:00")
    await w12.request(FinishService)  # 180 s: E001 is served, not a no-show
    c002 = (await kiosk.request(IssueTicket, category="SW")).ticket
    c003 = (await kiosk.request(IssueTicket, category="SW")).ticket
    await when("09:45:00")
    await w11.request(CallTicket, ticket=c002.id)  # C002 waited 300 s
    await when("09:46:00")
    await w11.request(MarkNoShow)  # never reinstated: a no-show at the close-out
    await when("09:50:00")
    await admin.request(CancelTicket, ticket=c003.id)  # cancelled, its wait not counted
    await kiosk.request(CheckIn, code=kept.code)  # A002, of class appointment, never called
    await when("10:00:00")
    await kiosk.request(IssueTicket, category="SW")  # C004: expires at the close-out
    await when("10:10:00")
    await kiosk.request(CancelAppointment, code=dropped.code)
    await when("10:30:00")
    await w11.request(CloseWindow)  # closed 10:30-11:00: counted, it opens again that day
    await when("11:00:00")
    await connect("window", window=11)
    await when("18:00:00")
    before_close = (await admin.request(GetSnapshot)).snapshot  # the windows' own figures
    await when("19:00:00")  # close-out: C004 and A002 expire, C002 stays a no-show
    await events_until(admin, "day_closed")
    return before_close


def figures_of(report: Report, *key: str) -> Figures:
    rows = {row.key: row.figures for row in report.rows}
    return rows[key]


async def test_hand_computed_day(
    connect: Connect, clock: Clock, server: QueueServer, store: str
) -> None:
    """Every figure of the day, for the hall and by window, staff, category, hour and class,
    equals the hand computation to the second."""
    snapshot = await hand_day(connect, clock)
    engine = server.service.engine
    now = at("19:30:00")
    day = Period.day(DAY)

    hall = from_scratch(engine, day, ("hall",), now)
    total = hall.total
    assert figures_of(hall, "donghu") == total
    # Tickets: C001-C004, A001, E001 and A002; C001 was transferred once.
    assert (total.issued, total.served, total.no_show, total.cancelled, total.expired) == (
        7,
        3,
        1,
        1,
        2,
    )
    assert (total.transferred, total.transfers, total.recalls, total.open) == (1, 1, 1, 0)
    # Waits ended by a call: 120, 300, 720, 360, 1200, 960, 300 s.
    assert total.waits == 7
    assert total.wait_mean == round(3960 / 7, 1)
    assert (total.wait_median, total.wait_p90, total.wait_max) == (360, 1200, 1200)
    assert total.within_target == round(5 / 7, 4)  # C001 in SB and E001's second wait over
    # Services: A001 300 + 600, C001 240, E001 180.
    assert (total.services, total.service_mean, total.service_p90) == (4, 330.0, 600)
    # Windows 5, 6, 11, 12 from 09:00 to 19:00; window 11 closed 10:30-11:00.
    assert (total.serving, total.calling, total.paused, total.closed) == (1560, 420, 600, 1800)
    assert total.idle == 4 * 36000 - 1800 - 1560 - 420 - 600
    assert total.paused_by_reason == {"业务培训": 600}
    assert total.utilisation == round(1560 / (4 * 36000 - 1800), 4)
    assert (
        total.appointments_booked,
        total.appointments_checked_in,
        total.appointments_missed,
        total.appointments_cancelled,
    ) == (3, 1, 1, 1)
    assert (total.visits, total.visit_mean, total.chains_ended) == (1, 1500.0, 1)

    by_window = from_scratch(engine, day, ("window",), now)
    w11 = figures_of(by_window, "11")
    assert (w11.serving, w11.calling, w11.paused, w11.closed) == (240, 120, 600, 1800)
    assert w11.idle == 300 + 360 + 1140 + 2640 + 8 * 3600
    assert (w11.services, w11.transfers, w11.recalls) == (0, 1, 1)
    assert (w11.waits, w11.wait_max) == (2, 300)  # C001 and C002, called here
    w12 = figures_of(by_window, "12")
    assert (w12.services, w12.service_mean, w12.waits, w12.wait_mean) == (2, 210.0, 3, 960.0)
    assert (w12.serving, w12.calling, w12.idle) == (420, 180, 36000 - 600)
    # The one-chain visit counts a service at each window that served a step.
    assert (figures_of(by_window, "5").services, figures_of(by_window, "6").services) == (1, 1)
    assert [row.key for row in by_window.rows] == [("5",), ("6",), ("11",), ("12",), ("",)]
    nowhere = figures_of(by_window, "")  # tickets never called: C003, C004, A002
    assert (nowhere.issued, nowhere.cancelled, nowhere.expired, nowhere.waits) == (3, 1, 2, 0)

    # The window client's own figures (window_stats) count by the same definitions.
    rows = {row.key[0]: row.figures for row in by_window.rows}
    for stat in snapshot.window_stats:
        f = rows.get(str(stat.window), Figures())
        mean = None if f.service_mean is None else round(f.service_mean / 60, 1)
        assert (stat.served, stat.no_shows, stat.mean_service_minutes) == (
            f.services,
            f.no_show,
            mean,
        ), stat
    assert len(snapshot.window_stats) == 15

    by_staff = from_scratch(engine, day, ("staff",), now)
    assert figures_of(by_staff, "ck12").services == 2
    assert figures_of(by_staff, "ck11").paused_by_reason == {"业务培训": 600}

    by_category = from_scratch(engine, day, ("category",), now)
    sw, sb, qy = (figures_of(by_category, c) for c in ("SW", "SB", "QY"))
    # Tickets count where they were issued; waits and services where they happened.
    assert (sw.issued, sw.served, sw.no_show, sw.cancelled, sw.expired) == (4, 1, 1, 1, 1)
    assert (sw.waits, sw.within_target, sw.services) == (2, 1.0, 0)
    assert (sb.issued, sb.waits, sb.wait_median, sb.within_target) == (1, 3, 960.0, 0.3333)
    assert (sb.services, sb.service_mean) == (2, 210.0)
    assert (qy.issued, qy.waits, qy.services, qy.visits, qy.expired) == (2, 2, 2, 1, 1)
    assert (qy.appointments_booked, qy.appointments_missed) == (2, 1)
    assert figures_of(by_category, "GC").appointments_cancelled == 1

    by_priority = from_scratch(engine, day, ("priority",), now)
    appointment = figures_of(by_priority, "appointment")
    assert (appointment.issued, appointment.expired, appointment.appointments_booked) == (1, 1, 3)

    by_hour = from_scratch(engine, day, ("hour",), now)
    ten = figures_of(by_hour, "10")
    assert (ten.closed, ten.idle) == (1800, 3 * 3600 + 1800)  # window 11 closed half of it
    assert (ten.issued, ten.waits) == (1, 0)  # C004 issued at 10:00
    assert figures_of(by_hour, "09").waits == 7
    assert figures_of(by_hour, "18").idle == 4 * 3600

    weekday = from_scratch(engine, Period.week(DAY), ("weekday",), now)
    assert [row.key for row in weekday.rows] == [("2-tue",)]
    assert figures_of(weekday, "2-tue") == total
    assert from_scratch(engine, Period.day(DAY + timedelta(days=1)), ("hall",), now).rows == ()

    # The statistics kept (what `queue-server report` reads) give the same figures.
    for by in (("hall",), ("window",), ("staff",), ("category",), ("hour",), ("weekday",)):
        period = Period.week(DAY) if by == ("weekday",) else day
        assert report(engine, period, by, now) == from_scratch(engine, period, by, now)


async def test_report_exports_read_back(
    connect: Connect,
    clock: Clock,
    server: QueueServer,
    db_url: str,
    tmp_path: Path,
    store: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`queue-server report` writes the day by window as CSV and XLSX that read back to
    exactly the computed figures, a table with the same numbers in minutes, and a one-page
    HTML report with its charts as inline SVG and no script."""
    await hand_day(connect, clock)
    engine, period = server.service.engine, Period.day(DAY)
    expected = from_scratch(engine, period, ("window",), at("19:30:00"))
    with engine.connect() as connection:
        found = stats_halls(connection)
    ratings = rating_figures.for_report(engine, found, period, ("window",), at("19:30:00"))
    header, rows = records(expected, ratings)  # the day's services, none rated
    assert "ratings:rating_rate" in header and ratings is not None and ratings[1].rated == 0
    base = ["report", "--db", db_url, "--day", DAY.isoformat(), "--by", "window"]

    csv_path, xlsx_path, html_path = (tmp_path / f"day.{x}" for x in ("csv", "xlsx", "html"))
    assert cli.main([*base, "--format", "csv", "-o", str(csv_path)]) == 0
    read = read_csv(csv_path.read_text(encoding="utf-8"))
    assert list(read[0]) == header and "paused:业务培训" in header
    assert [[r[h] for h in header] for r in read] == [
        ["" if v is None else str(v) for v in row] for row in rows
    ]
    w11 = next(r for r in read if r["window"] == "11")
    assert (w11["serving"], w11["paused:业务培训"], w11["closed"]) == ("240", "600", "1800")

    assert cli.main([*base, "--format", "xlsx", "-o", str(xlsx_path)]) == 0
    blank_is_empty = [[None if v == "" else v for v in row] for row in rows]  # Excel's way
    assert read_xlsx(xlsx_path) == (header, blank_is_empty)

    capsys.readouterr()
    assert cli.main(["stats", "rebuild", "--db", db_url]) == 0  # the kept figures made again
    assert capsys.readouterr().out.startswith("donghu: ")
    assert cli.main([*base, "--format", "csv"]) == 0
    assert read_csv(capsys.readouterr().out) == read
    assert cli.main([*base, "--format", "table"]) == 0
    assert "11号窗口" in capsys.readouterr().out
    assert cli.main([*base, "--format", "html", "-o", str(html_path)]) == 0
    page = html_path.read_text(encoding="utf-8")
    assert page.count("<svg") == 4 and "<script" not in page
    assert "窗口利用率" in page and "11号窗口" in page


def test_report_refuses_bad_input(db_url: str, clocked_service: Any, capsys: Any) -> None:
    """A wrong grouping, format, period or hall is a one-line error and writes nothing."""
    base = ["report", "--db", db_url]
    for extra, says in (
        (["--by", "colour"], "no grouping 'colour'"),
        (["--by", "window,staff"], "at most one"),
        (["--from", "2026-11-30", "--to", "2026-11-01"], "ends (2026-11-01) before it starts"),
        (["--month", "2026-13"], "--month: expected YYYY-MM"),
        (["--hall", "nowhere"], "no hall 'nowhere'"),
        (["--format", "xlsx"], "give --output"),
    ):
        assert cli.main([*base, *extra]) == 1
        err = capsys.readouterr()
        assert says in err.err and err.out == ""


async def test_a_supervisors_move_keeps_the_wait(
    connect: Connect, clock: Clock, server: QueueServer, store: str
) -> None:
    """A waiting ticket a supervisor moves to another category waits on: one wait from its
    issue to its call, in the category moved to; it counts as moved, not transferred."""
    kiosk = await connect("kiosk")
    admin = await connect("admin")
    w12 = await connect("window", window=12)  # SB, SW
    c001 = (await kiosk.request(IssueTicket, category="SW")).ticket
    clock.now = at("09:05:00")
    await admin.request(MoveTicket, ticket=c001.id, to_category="SB", reason="窗口调整")
    clock.now = at("09:12:30")
    await w12.request(CallTicket, ticket=c001.id)
    got = from_scratch(server.service.engine, Period.day(DAY), ("category",), at("09:13:00"))
    sb, sw = figures_of(got, "SB"), figures_of(got, "SW")
    assert (sb.waits, sb.wait_max, sb.within_target) == (1, 750, 1.0)
    assert (sw.issued, sw.moved, sw.transferred, sw.waits) == (1, 1, 0, 0)
    assert got.total.transfers == 0
