"""The statistics kept (stats_cell, stats_fold) equal the from-scratch fold of the event
log, whatever the history and however often they were brought up to date in between: a
property test over random hall days run by the real hall service on a real SQLite file."""

from __future__ import annotations

import contextlib
import copy
import itertools
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from queue_protocol.errors import ProtocolError
from queue_protocol.messages import (
    CallNext,
    CancelTicket,
    CloseWindow,
    EndChain,
    FinishService,
    Hello,
    IssueTicket,
    MarkNoShow,
    MoveTicket,
    PauseWindow,
    Recall,
    Reinstate,
    ResumeWindow,
    Role,
    StaffRole,
    StartService,
    TransferTicket,
)
from queue_server.roles import Principal
from queue_server.service import HallService
from queue_server.stats import GROUPINGS, Period, from_scratch, rebuild, refresh, report
from queue_server.stats.aggregates import stored_cells
from queue_server.stats.cells import DIMENSIONS, Cells
from queue_server.stats.compute import fold_from_scratch, halls
from queue_server.store.engine import make_engine, read_only
from tests.conftest import Clock

START = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
WINDOWS = (5, 11, 12)  # QY; SW, SB; SB, SW
CATEGORIES = ("QY", "SW", "SB")
REASONS = ("午休", "业务培训")
EVERYTHING = Period(date(2026, 11, 1), date(2026, 12, 31))  # two whole months
EDGES = Period(date(2026, 11, 25), date(2026, 12, 31))  # a part of a month and a whole one

window_no = st.sampled_from(WINDOWS)
issue = st.tuples(st.just("issue"), st.sampled_from(CATEGORIES), st.booleans())
# A window's whole turn: call, perhaps recall, then one ending, with time between.
turn = st.tuples(
    st.just("turn"),
    window_no,
    st.sampled_from(("finish", "finish", "finish", "no_show", "transfer", "end_chain", "stay")),
    st.integers(0, 600),
    st.integers(0, 2),
    st.integers(1, 1500),
    st.sampled_from(CATEGORIES),
)
# A break: paused for a while with a reason, then back.
pause = st.tuples(st.just("break"), window_no, st.sampled_from(REASONS), st.integers(1, 3600))
action = st.one_of(
    *([issue] * 4),
    *([turn] * 5),
    pause,
    st.tuples(
        st.sampled_from(
            ("call", "call", "recall", "start", "finish", "finish", "no_show", "end_chain")
        ),
        window_no,
    ),
    st.tuples(st.just("transfer"), window_no, st.sampled_from(CATEGORIES)),
    st.tuples(st.just("pause"), window_no, st.sampled_from(REASONS)),
    st.tuples(st.sampled_from(("resume", "close", "login", "reinstate")), window_no),
    st.tuples(st.just("cancel")),
    st.tuples(st.just("move"), st.sampled_from(CATEGORIES)),
    st.tuples(st.just("wait"), st.integers(1, 1800)),
    st.tuples(st.just("night"), st.integers(4, 20)),  # hours: across a close-out
    st.tuples(st.just("refresh")),
)


def plain(cells: Cells) -> dict[Any, Any]:
    return {k: c.plain() for k, c in cells.items() if c.plain()}


class Day:
    """A hall run by the real service on its test clock."""

    def __init__(self, engine: Engine, config: dict[str, Any]) -> None:
        self.clock = Clock(START)
        self.service = HallService(engine, clock=self.clock)
        self.service.import_config(config)
        self.ids = (str(n) for n in itertools.count())
        self.kiosk = Principal(role=Role.KIOSK, key="device:k")
        self.admin = Principal(
            role=Role.ADMIN, key="staff:zhuren", staff="zhuren", staff_role=StaffRole.SUPERVISOR
        )
        self.no_shows: list[str] = []
        self.issued: list[str] = []

    def window(self, n: int) -> Principal:
        return Principal(role=Role.WINDOW, key=f"staff:ck{n:02d}", staff=f"ck{n:02d}", window=n)

    def do(self, step: tuple[Any, ...]) -> None:
        kind, *args = step
        rid = next(self.ids)
        svc = self.service
        if kind == "issue":
            item = "企业设立登记" if args[0] == "QY" and args[1] else None
            out = svc.execute(self.kiosk, IssueTicket(id=rid, category=args[0], item=item))
            if out.ok:
                self.issued.append(out.reply.split('"id":"', 1)[1].split('"', 1)[0])
        elif kind == "login":
            with contextlib.suppress(ProtocolError):  # a refused login changes nothing
                svc.open_session(
                    self.window(args[0]), Hello(id=rid, role=Role.WINDOW), takeover=True
                )
        elif kind == "cancel":
            if self.issued:
                svc.execute(self.admin, CancelTicket(id=rid, ticket=self.issued[-1]))
        elif kind == "move":
            if self.issued:
                move = MoveTicket(id=rid, ticket=self.issued[-1], to_category=args[0], reason="调")
                svc.execute(self.admin, move)
        elif kind == "reinstate":
            if self.no_shows:
                svc.execute(self.window(args[0]), Reinstate(id=rid, ticket=self.no_shows[-1]))
        elif kind == "turn":
            number, ending, calling, recalls, serving, to = args
            self.do(("resume", number))  # back from a pause or a close, if need be
            self.do(("login", number))
            self.do(("call", number))
            self.clock.advance(seconds=calling)
            for _ in range(recalls):
                self.do(("recall", number))
            if ending == "no_show":
                self.do(("no_show", number))
                return
            self.do(("start", number))
            self.clock.advance(seconds=serving)
            if ending != "stay":
                self.do((ending, number, to) if ending == "transfer" else (ending, number))
        elif kind == "break":
            self.do(("pause", args[0], args[1]))
            self.clock.advance(seconds=args[2])
            self.do(("resume", args[0]))
        elif kind == "wait":
            self.clock.advance(seconds=args[0])
        elif kind == "night":
            self.clock.advance(hours=args[0])
            svc.close_out_if_due()
        elif kind != "refresh":
            p = self.window(args[0])
            request: Any = {
                "call": lambda: CallNext(id=rid),
                "recall": lambda: Recall(id=rid),
                "start": lambda: StartService(id=rid),
                "finish": lambda: FinishService(id=rid),
                "end_chain": lambda: EndChain(id=rid, reason="材料不全"),
                "no_show": lambda: MarkNoShow(id=rid),
                "transfer": lambda: TransferTicket(id=rid, to_category=args[1], reason="转"),
                "pause": lambda: PauseWindow(id=rid, reason=args[1]),
                "resume": lambda: ResumeWindow(id=rid),
                "close": lambda: CloseWindow(id=rid),
            }[kind]()
            out = svc.execute(p, request)
            if kind in ("no_show", "recall") and out.ok and '"state":"no_show"' in out.reply:
                self.no_shows.append(out.reply.split('"ticket":{"id":"', 1)[1].split('"', 1)[0])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(action, min_size=5, max_size=120))
@example(
    steps=[
        ("issue", "SW", False),
        ("issue", "QY", True),
        ("issue", "SB", False),
        ("wait", 300),
        ("turn", 5, "finish", 60, 0, 600, "QY"),  # a one-chain step, on to the next
        ("turn", 11, "transfer", 30, 1, 200, "SB"),
        ("refresh",),
        ("turn", 12, "no_show", 45, 2, 0, "SB"),
        ("reinstate", 12),
        ("break", 11, "午休", 1800),
        ("turn", 12, "finish", 10, 0, 400, "SB"),
        ("turn", 5, "end_chain", 20, 0, 300, "QY"),
        ("issue", "SW", False),
        ("refresh",),
        ("turn", 11, "stay", 5, 0, 100, "SW"),
        ("issue", "SW", False),
        ("cancel",),
        ("issue", "SW", False),
        ("move", "SB"),
        ("wait", 120),
        ("turn", 12, "finish", 10, 0, 60, "SB"),
        ("close", 5),
        ("wait", 900),
        ("login", 5),
        ("night", 17),  # the close-out: the ticket being served and the rest expire
        ("issue", "SB", False),
        ("turn", 12, "no_show", 5, 0, 0, "SB"),
        ("night", 20),  # the no-show of the second day becomes final
        ("refresh",),
        ("issue", "SW", False),
        ("turn", 11, "stay", 5, 0, 100, "SW"),
    ]
)
def test_statistics_kept_equal_the_event_log(demo_config: dict[str, Any], steps: list[Any]) -> None:
    """After any hall history, brought up to date at any points between, the kept cells with
    the open part equal the from-scratch fold, cell by cell, and so every report does."""
    config = copy.deepcopy(demo_config)
    config["hall"].pop("hours", None)  # open around the clock: the close-out at midnight
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'hall.db'}")
        try:
            day = Day(engine, config)
            reader = read_only(engine)
            with reader.connect() as connection:
                [hall] = halls(connection, None)
            for n in WINDOWS:
                day.do(("login", n))
            for step in steps:
                day.do(step)
                if step[0] == "refresh":
                    refresh(engine, hall, chunk=7)  # small chunks: many transactions
            now = day.clock.now + timedelta(minutes=5)
            with reader.connect() as connection:
                expected = fold_from_scratch(connection, hall, now)
            refresh(engine, hall, chunk=11)
            with reader.connect() as connection:
                kept = stored_cells(connection, hall, EVERYTHING, DIMENSIONS, now)
            assert plain(kept) == plain(expected)
            for period in (EVERYTHING, EDGES, Period.day(START.date())):
                for by in (*((g,) for g in GROUPINGS), ("month", "window"), ("day", "hall")):
                    assert report(engine, period, by, now) == from_scratch(
                        engine, period, by, now
                    ), (period, by)
            rebuild(engine, hall)
            with reader.connect() as connection:
                again = stored_cells(connection, hall, EVERYTHING, DIMENSIONS, now)
            assert plain(again) == plain(expected)
        finally:
            engine.dispose()
