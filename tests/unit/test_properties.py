"""Property tests: random command sequences through the real HallService on a real SQLite file.

Each hypothesis example starts from a fresh database file holding the demo hall (open around
the clock). Two HallService instances with their own engines share that file, like two server
processes, and commands go to either. After every command the hall's invariants (SPEC §3, §4,
§7) are checked against what is stored.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy import event as sa_event
from sqlmodel import Session, col, select

from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    AnyRequest,
    CallNext,
    CancelTicket,
    FinishService,
    Hello,
    IssueTicket,
    MarkNoShow,
    Policy,
    Priority,
    Recall,
    Reinstate,
    Role,
    StartService,
    TicketState,
    TransferTicket,
    WindowState,
)
from queue_server.domain.scheduling import may_call
from queue_server.hallconfig import window_of
from queue_server.service import HallService, Outcome, Principal
from queue_server.store.engine import make_engine
from queue_server.store.tables import EventRow, HallRow, TicketRow, WindowRow
from tests.conftest import Clock

# Windows opened in every example: 全科, dedicated, shared, and a three-category profile.
OPEN_WINDOWS = (1, 5, 6, 7, 13, 14)
CLOSED_WINDOW = 2  # exists but nobody logs in: a named transfer there just waits
CATEGORIES = ("QY", "SW", "GC", "BT", "BB", "CJ")
PRIORITIES = (Priority.NORMAL, Priority.GREEN, Priority.ASSISTED)
KIOSK = Principal(role=Role.KIOSK, key="device:一号取号机", device="一号取号机")

# Modest by default so the file runs in about a minute on two cores; raise it for a soak run:
# YICHUANG_PROPERTY_EXAMPLES=500 pytest tests/unit/test_properties.py
EXAMPLES = int(os.environ.get("YICHUANG_PROPERTY_EXAMPLES", "30"))
PROFILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # make_hall is a factory: each example is fresh
    ],
)

pick = st.integers(0, 10_000)  # index into whatever is stored, taken modulo its length
aimed = st.sampled_from((True, True, True, False))  # mostly at a window in the right state


def at_window(verb: str) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.tuples(st.just(verb), aimed, pick)


command = st.one_of(
    st.tuples(st.just("issue"), st.sampled_from(CATEGORIES), st.sampled_from(PRIORITIES)),
    st.tuples(st.just("issue"), st.sampled_from(CATEGORIES), st.just(Priority.NORMAL)),
    st.tuples(st.just("work"), st.just(False), pick),
    st.tuples(st.just("work"), st.just(False), pick),
    st.tuples(st.just("work"), st.just(False), pick),
    at_window("call_next"),
    at_window("recall"),
    at_window("start"),
    at_window("start"),
    at_window("finish"),
    at_window("finish"),
    at_window("no_show"),
    st.tuples(st.just("reinstate"), aimed, pick, pick),
    st.tuples(
        st.just("transfer"),
        aimed,
        pick,
        st.one_of(
            st.tuples(st.sampled_from(CATEGORIES), st.none()),
            st.tuples(st.none(), st.sampled_from((*OPEN_WINDOWS, CLOSED_WINDOW))),
        ),
    ),
    st.tuples(st.just("cancel"), pick),
    st.tuples(st.just("advance"), st.integers(0, 90)),
    st.tuples(st.just("advance"), st.sampled_from((600, 24 * 60))),  # across local midnight
)
# The window state each verb needs; an aimed command picks among windows in that state.
NEEDS = {
    "call_next": WindowState.IDLE,
    "recall": WindowState.CALLING,
    "start": WindowState.CALLING,
    "no_show": WindowState.CALLING,
    "finish": WindowState.SERVING,
    "transfer": WindowState.SERVING,
}


def choose_window(cmd: tuple[Any, ...], before: Stored) -> int:
    wanted = NEEDS.get(cmd[0])
    ready = [n for n in OPEN_WINDOWS if before.windows[n]["state"] == wanted]
    choices = ready if cmd[1] and ready else list(OPEN_WINDOWS)
    return choices[cmd[2] % len(choices)]


def window_principal(number: int) -> Principal:
    account = f"ck{number:02d}"
    return Principal(role=Role.WINDOW, key=f"staff:{account}", staff=account, window=number)


@dataclass
class Stored:
    """What the database holds, read back after a command."""

    tickets: dict[str, dict[str, Any]]
    windows: dict[int, dict[str, Any]]
    seqs: list[int]
    last_seq: int
    closed_out_at: Any = None

    def fingerprint(self) -> tuple[object, ...]:
        return (
            sorted((k, sorted(v.items())) for k, v in self.tickets.items()),
            sorted((k, sorted(v.items())) for k, v in self.windows.items()),
            self.last_seq,
        )


def read(engine: Engine) -> Stored:
    with Session(engine) as session:
        tickets = {t.id: t.model_dump() for t in session.exec(select(TicketRow)).all()}
        windows = {w.number: w.model_dump() for w in session.exec(select(WindowRow)).all()}
        seqs = list(session.exec(select(EventRow.seq).order_by(col(EventRow.seq))).all())
        hall = session.get(HallRow, 1)
        assert hall is not None
        return Stored(tickets, windows, seqs, hall.last_seq, hall.closed_out_at)


@dataclass
class Hall:
    """One example's hall: a fresh database, two services on it, and the history of calls."""

    clock: Clock
    engines: list[Engine]
    services: list[HallService]
    requests: int = 0
    issued: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    numbers_seen: set[tuple[str, str]] = field(default_factory=set)
    calls: int = 0
    days_closed: int = 0

    def send(self, turn: int, p: Principal, request: AnyRequest) -> Outcome:
        return self.services[turn % 2].execute(p, request)

    def rid(self) -> str:
        self.requests += 1
        return f"r{self.requests}"


def fast(engine: Engine) -> Engine:
    """Skip the fsync of each commit: durability is not what these examples test, and the
    thousands of commits would otherwise dominate the run. Everything else is the product's
    own engine (WAL, BEGIN IMMEDIATE, foreign keys)."""
    engine.dispose()  # drop the connection opened by create_all; new ones get the pragma

    @sa_event.listens_for(engine, "connect")
    def _no_fsync(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    return engine


@pytest.fixture
def make_hall(demo_config: dict[str, Any]) -> Any:
    """A factory for fresh halls; everything it creates is removed after the test."""
    made: list[tuple[Path, list[Engine]]] = []

    def make(policy: Policy) -> Hall:
        folder = Path(tempfile.mkdtemp(prefix="yichuang-prop-"))
        url = f"sqlite:///{folder / 'hall.db'}"
        config = copy.deepcopy(demo_config)
        config["hall"].pop("hours", None)
        config["hall"]["policy"] = policy.value
        clock = Clock()
        engines = [fast(make_engine(url)), fast(make_engine(url))]
        services = [HallService(e, clock=clock) for e in engines]
        services[0].import_config(config)
        made.append((folder, engines))
        for number in OPEN_WINDOWS:
            p = window_principal(number)
            hello = Hello(id="h", role=Role.WINDOW, user=p.staff, password="-", window=number)
            services[number % 2].open_session(p, hello, takeover=True)
        return Hall(clock=clock, engines=engines, services=services)

    yield make
    for folder, engines in made:
        for engine in engines:
            engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def run(hall: Hall, turn: int, cmd: tuple[Any, ...], before: Stored) -> Outcome | None:
    """Carry out one command, checking what can only be checked against the state before it."""
    verb = cmd[0]
    if verb == "advance":
        hall.clock.advance(minutes=cmd[1])
        # What the server's poller does a few times a second: a close-out that came due.
        closing = hall.services[turn % 2].close_out_if_due()
        if any(e.name == "day_closed" for e in closing.events):
            hall.days_closed += 1
            for number in OPEN_WINDOWS:  # the next morning, staff log in again
                p = window_principal(number)
                hello = Hello(id="h", role=Role.WINDOW, user=p.staff, password="-", window=number)
                hall.services[number % 2].open_session(p, hello, takeover=True)
        return None
    if verb == "issue":
        return hall.send(turn, KIOSK, IssueTicket(id=hall.rid(), category=cmd[1], priority=cmd[2]))
    if verb == "cancel":
        waiting = sorted(t for t, row in before.tickets.items() if row["state"] == "waiting")
        ids = waiting or sorted(before.tickets)
        if not ids:
            return None
        # Window staff cancel a ticket at the citizen's request (kiosks may not cancel).
        staff = window_principal(OPEN_WINDOWS[cmd[1] % len(OPEN_WINDOWS)])
        return hall.send(turn, staff, CancelTicket(id=hall.rid(), ticket=ids[cmd[1] % len(ids)]))
    number = choose_window(cmd, before)
    if verb == "work":  # the window's natural next step
        state = WindowState(before.windows[number]["state"])
        verb = {WindowState.CALLING: "start", WindowState.SERVING: "finish"}.get(state, "call_next")
    p = window_principal(number)
    rid = hall.rid()
    if verb == "call_next":
        return hall.send(turn, p, CallNext(id=rid))
    if verb == "recall":
        return hall.send(turn, p, Recall(id=rid))
    if verb == "start":
        return hall.send(turn, p, StartService(id=rid))
    if verb == "finish":
        return hall.send(turn, p, FinishService(id=rid))
    if verb == "no_show":
        return hall.send(turn, p, MarkNoShow(id=rid))
    if verb == "reinstate":
        missed = sorted(t for t, row in before.tickets.items() if row["state"] == "no_show")
        ids = missed or sorted(before.tickets)
        if not ids:
            return None
        return hall.send(turn, p, Reinstate(id=rid, ticket=ids[cmd[3] % len(ids)]))
    if verb == "transfer":
        to_category, to_window = cmd[3]
        request = TransferTicket(
            id=rid, to_category=to_category, to_window=to_window, reason="转办"
        )
        return hall.send(turn, p, request)
    raise AssertionError(f"unknown command {cmd!r}")


def was_call(cmd: tuple[Any, ...], before: Stored) -> bool:
    if cmd[0] == "call_next":
        return True
    if cmd[0] != "work":
        return False
    state = before.windows[choose_window(cmd, before)]["state"]
    return state not in (WindowState.CALLING, WindowState.SERVING)


def check_call(hall: Hall, cmd: tuple[Any, ...], outcome: Outcome, before: Stored) -> None:
    """A call takes a ticket this window may take, the oldest of its category and class; an
    empty-queue answer means there really was nothing this window could call."""
    number = choose_window(cmd, before)
    row = before.windows[number]
    window = window_of(WindowRow(**row))
    waiting = [
        (tid, t) for tid, t in before.tickets.items() if t["state"] == TicketState.WAITING.value
    ]
    reply = json.loads(outcome.reply)
    if not outcome.ok:
        if reply["code"] == ErrorCode.QUEUE_EMPTY:
            callable_ = [tid for tid, t in waiting if may_call(window, _plain(t))]
            assert not callable_, f"window {number} said the queue is empty but could call"
        else:
            assert row["state"] != WindowState.IDLE.value, reply
        return
    hall.calls += 1
    ticket_id = reply["ticket"]["id"]
    chosen = before.tickets[ticket_id]
    assert chosen["state"] == TicketState.WAITING.value
    profile = json.loads(row["profile"])
    assert (
        chosen["target_window"] == number
        if chosen["target_window"] is not None
        else (not profile or chosen["category"] in profile)
    ), f"window {number} ({profile}) received {chosen['category']} / {chosen['target_window']}"
    group = (chosen["category"], chosen["priority"], chosen["target_window"])
    for tid, t in waiting:
        if (t["category"], t["priority"], t["target_window"]) == group and tid != ticket_id:
            assert (t["queued_at"], tid) > (chosen["queued_at"], ticket_id), (
                f"{ticket_id} was called before {tid}, queued earlier in its category and class"
            )


def _plain(row: dict[str, Any]) -> Any:
    from queue_server.domain.model import Ticket

    return Ticket(
        id=row["id"],
        number=row["number"],
        category=row["category"],
        issued_at=row["issued_at"],
        queued_at=row["queued_at"],
        priority=Priority(row["priority"]),
        state=TicketState(row["state"]),
        target_window=row["target_window"],
    )


def check_issue(hall: Hall, outcome: Outcome) -> None:
    """Numbers are prefix + the next daily sequence of that category; none is ever reused."""
    if not outcome.ok:
        return
    ticket = json.loads(outcome.reply)["ticket"]
    config = hall.services[0].config()
    prefix = config.categories[ticket["category"]].prefix
    day = ticket["id"].split("-", 1)[0]
    assert ticket["number"].startswith(prefix)
    key = (day, ticket["number"])
    assert key not in hall.numbers_seen, f"number {key} issued twice"
    hall.numbers_seen.add(key)
    sequence = int(ticket["number"][len(prefix) :])
    issued = hall.issued[(day, ticket["category"])]
    assert sequence == len(issued) + 1, f"{ticket['number']} after {len(issued)} that day"
    issued.append(sequence)


def check_invariants(after: Stored, outcome: Outcome | None, before: Stored) -> None:
    """Whatever happened, the stored hall is consistent."""
    # A ticket is held by at most one window, a window holds at most one ticket, and the
    # holder, the ticket's own window and both states agree.
    holders: dict[str, int] = {}
    for number, w in after.windows.items():
        if w["ticket"] is None:
            assert w["state"] in (WindowState.IDLE, WindowState.CLOSED, WindowState.PAUSED)
            continue
        assert w["ticket"] not in holders, (
            f"{w['ticket']} held by {holders[w['ticket']]} and {number}"
        )
        holders[w["ticket"]] = number
        t = after.tickets[w["ticket"]]
        assert t["window"] == number
        expected = {"calling": "called", "serving": "serving"}[w["state"]]
        assert t["state"] == expected, (number, w["state"], t["state"])
    for tid, t in after.tickets.items():
        if t["state"] in (TicketState.CALLED, TicketState.SERVING):
            assert holders.get(tid) == t["window"], f"{tid} is {t['state']} but no window has it"
        else:
            assert tid not in holders
    # No ticket of a day already closed out is open (SPEC §3).
    if after.closed_out_at is not None:
        for tid, t in after.tickets.items():
            if t["issued_at"] < after.closed_out_at:
                assert t["state"] not in ("waiting", "called", "serving"), (tid, t["state"])
    # The event log is gapless 1..N and the hall counter agrees.
    assert after.seqs == list(range(1, len(after.seqs) + 1))
    assert after.last_seq == len(after.seqs)
    if outcome is None:
        pass  # a clock move: the poller's close-out may have changed the hall
    elif outcome.ok:
        assert [e.seq for e in outcome.events] == list(
            range(before.last_seq + 1, after.last_seq + 1)
        )
    else:
        assert after.fingerprint() == before.fingerprint(), "a refused command changed the hall"
    # Numbers are unique per day, and the waiting ones keep their issue time on any move.
    assert len({(t["day"], t["number"]) for t in after.tickets.values()}) == len(after.tickets)
    for tid, t in before.tickets.items():
        assert after.tickets[tid]["issued_at"] == t["issued_at"]
        assert after.tickets[tid]["number"] == t["number"]


@pytest.mark.parametrize("policy", list(Policy))
@PROFILE
@given(commands=st.lists(command, min_size=10, max_size=50))
def test_random_commands_keep_the_hall_invariants(
    make_hall: Any, policy: Policy, commands: list[tuple[Any, ...]]
) -> None:
    """Under any sequence of issue, call, recall, start, finish, no-show, reinstate, transfer,
    cancel and clock moves (across midnight, with its close-out): one window per ticket and one
    ticket per window, first queued first called within a category and class, windows only
    get their profile or named transfers, ticket numbers never reused, refused commands change
    nothing, no ticket of a closed day stays open, and the event seq is gapless."""
    hall = make_hall(policy)
    before = read(hall.engines[0])
    for turn, cmd in enumerate(commands):
        outcome = run(hall, turn, cmd, before)
        if outcome is not None:
            reply = json.loads(outcome.reply)
            assert reply["type"] == ("ok" if outcome.ok else "error")
            assert outcome.ok or reply["code"] != ErrorCode.INTERNAL, reply
            event(f"{cmd[0]}: {'ok' if outcome.ok else reply['code']}")
            if outcome.ok and "ticket" in reply:
                event(f"ticket became {reply['ticket']['state']}")
            if cmd[0] == "issue":
                check_issue(hall, outcome)
            elif was_call(cmd, before):
                check_call(hall, cmd, outcome, before)
        after = read(hall.engines[turn % 2])
        check_invariants(after, outcome, before)
        before = after


@settings(PROFILE, max_examples=max(1, EXAMPLES // 2))
@given(
    plan=st.lists(
        st.tuples(st.sampled_from(("SW", "SB")), st.sampled_from(PRIORITIES), st.integers(0, 30)),
        min_size=2,
        max_size=15,
    )
)
def test_a_shared_window_drains_each_category_and_class_in_issue_order(
    make_hall: Any, plan: list[tuple[str, Priority, int]]
) -> None:
    """Window 11 (SW, SB) working alone through a random queue calls each category and class in
    the order the tickets were issued, and calls every ticket exactly once."""
    hall = make_hall(Policy.WEIGHTED_WAIT)
    issued: list[dict[str, Any]] = []
    for category, priority, minutes in plan:
        out = hall.send(0, KIOSK, IssueTicket(id=hall.rid(), category=category, priority=priority))
        assert out.ok, out.reply
        issued.append(json.loads(out.reply)["ticket"])
        hall.clock.advance(minutes=minutes)
    p = window_principal(11)
    hall.services[0].open_session(p, Hello(id="h", role=Role.WINDOW, window=11), takeover=True)
    called: list[dict[str, Any]] = []
    for turn in range(len(plan) + 1):
        out = hall.send(turn, p, CallNext(id=hall.rid()))
        if not out.ok:
            assert json.loads(out.reply)["code"] == ErrorCode.QUEUE_EMPTY
            break
        called.append(json.loads(out.reply)["ticket"])
        for request in (StartService(id=hall.rid()), FinishService(id=hall.rid())):
            assert hall.send(turn, p, request).ok
        hall.clock.advance(minutes=3)
    first_calls = [t["id"] for t in called]
    assert sorted(first_calls) == sorted(t["id"] for t in issued)  # each exactly once
    by_id = {t["id"]: t for t in issued}
    for category in ("SW", "SB"):
        for priority in PRIORITIES:
            order = [
                by_id[tid]["issued_at"]
                for tid in first_calls
                if by_id[tid]["category"] == category and by_id[tid]["priority"] == priority
            ]
            assert order == sorted(order), (category, priority)
    state = read(hall.engines[0])
    assert all(t["state"] == TicketState.DONE for t in state.tickets.values())
    assert state.seqs == list(range(1, len(state.seqs) + 1))


def test_the_hall_starts_with_no_window_holding_a_ticket(make_hall: Any) -> None:
    """Sanity check of the property harness: the opened windows are idle and staffed."""
    hall = make_hall(Policy.WEIGHTED_WAIT)
    stored = read(hall.engines[0])
    for number in OPEN_WINDOWS:
        assert stored.windows[number]["state"] == WindowState.IDLE
        assert stored.windows[number]["staff"] == f"ck{number:02d}"
    assert stored.windows[CLOSED_WINDOW]["state"] == WindowState.CLOSED
    assert stored.seqs == list(range(1, stored.last_seq + 1))
