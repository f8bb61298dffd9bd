"""A correct hall day against the real server on its test clock: the day's close-out, one-
chain items, windows whose client went away, ratings bound to their ticket, and one account
at one window (issue "A correct hall day", defects 1, 2, 3, 6, 7)."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from queue_protocol.client import EventReceived, QueueClient, ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CallNext,
    CallTicket,
    EndChain,
    FinishService,
    GetSnapshot,
    IssueTicket,
    MarkNoShow,
    Rate,
    Reinstate,
    StartService,
    TicketState,
    TicketStatus,
    WindowState,
)
from queue_server import cli
from queue_server.server import QueueServer, running
from queue_server.service import HallService
from queue_server.store.tables import EventRow, TicketRow
from tests.conftest import Clock, Connect, window_gone

pytestmark = [pytest.mark.hall_clock, pytest.mark.both_stores]

TUESDAY_17H = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai


@pytest.fixture
def hall_config(demo_config: dict[str, Any]) -> dict[str, Any]:
    """The demo hall with its real hours: weekdays 08:30-18:30, close-out 30 min later."""
    return copy.deepcopy(demo_config)


@pytest.fixture
def clock() -> Clock:
    return Clock(TUESDAY_17H)


async def refused(awaitable: Awaitable[Any], code: ErrorCode) -> ServerError:
    with pytest.raises(ServerError) as caught:
        await awaitable
    assert caught.value.code is code, caught.value
    return caught.value


async def events_until(
    client: QueueClient, name: str, timeout: float = 10.0, **fields: Any
) -> list[Any]:
    """Every event the client receives up to and including the first called `name` whose
    fields have the values given (`window=14` matches an event's window number too)."""
    seen: list[Any] = []
    async with asyncio.timeout(timeout):
        while True:
            notice = await client.next_notice()
            if isinstance(notice, EventReceived):
                seen.append(notice.event)
                if notice.event.name == name and all(
                    _field(notice.event, k) == v for k, v in fields.items()
                ):
                    return seen


def _field(event: Any, name: str) -> Any:
    value = getattr(event, name, None)
    return getattr(value, "number", value) if name == "window" else value


def open_tickets(service: HallService) -> list[TicketRow]:
    with Session(service.engine) as session:
        return list(
            session.exec(
                select(TicketRow).where(col(TicketRow.state).in_(["waiting", "called", "serving"]))
            ).all()
        )


def event_names(service: HallService) -> list[str]:
    with Session(service.engine) as session:
        return list(session.exec(select(EventRow.name).order_by(col(EventRow.seq))).all())


# ---------------------------------------------------------------------------------------
# 1. The day's close-out


async def test_yesterdays_tickets_are_never_called_today(connect: Connect, clock: Clock) -> None:
    """Tuesday 17:00 C001-C003 are issued and left waiting; on Wednesday at 09:00 a new ticket
    is C001 of Wednesday, and the window calls it, not Tuesday's C001."""
    kiosk = await connect("kiosk")
    tuesday = [(await kiosk.request(IssueTicket, category="SW")).ticket for _ in range(3)]
    assert [t.number for t in tuesday] == ["C001", "C002", "C003"]
    clock.advance(hours=16)  # Wednesday 09:00
    wednesday = (await kiosk.request(IssueTicket, category="SW")).ticket
    assert (wednesday.number, wednesday.id) == ("C001", "20261125-C001")
    window = await connect("window", window=11)
    called = await window.request(CallNext)
    assert called.ticket.id == wednesday.id
    for old in tuesday:
        status = await kiosk.request(TicketStatus, ticket=old.id)
        assert status.ticket.state is TicketState.EXPIRED
    await refused(window.request(CallNext), ErrorCode.INVALID_STATE)  # already calling


async def test_close_out_at_closing_plus_grace_expires_tickets_and_closes_windows(
    connect: Connect, clock: Clock, server: QueueServer
) -> None:
    """At 19:00 (closing 18:30 + 30 min) the running server ends every open ticket of the day
    with ticket_expired, closes every window, and says day_closed with the day's figures;
    the queues are empty and the call screen's last calls are gone."""
    kiosk = await connect("kiosk")
    display = await connect("display")
    admin = await connect("admin")
    serving_window = await connect("window", window=11)
    calling_window = await connect("window", window=12)
    for _ in range(4):
        await kiosk.request(IssueTicket, category="SW")
    await serving_window.request(CallNext)
    await serving_window.request(StartService)
    await calling_window.request(CallNext)
    done_window = await connect("window", window=15)
    await done_window.request(CallNext)
    await done_window.request(StartService)
    await done_window.request(FinishService)
    clock.advance(hours=1, minutes=59)  # 18:59: nothing yet
    await asyncio.sleep(0.2)
    assert len(open_tickets(server.service)) == 3

    clock.advance(minutes=1)  # 19:00
    seen = await events_until(admin, "day_closed")
    expired = [e for e in seen if e.name == "ticket_expired"]
    assert sorted(e.ticket.number for e in expired) == ["C001", "C002", "C004"]
    assert {e.ticket.state for e in expired} == {TicketState.EXPIRED}
    closed = {e.window.number: e.reason for e in seen if e.name == "window_changed"}
    assert closed == {11: "day_closed", 12: "day_closed", 15: "day_closed"}
    day_closed = seen[-1]
    assert day_closed.day.isoformat() == "2026-11-24"
    assert day_closed.closed_at == datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    summary = day_closed.summary
    assert (summary.issued, summary.done, summary.expired) == (4, 1, 3)
    assert open_tickets(server.service) == []

    on_screen = await events_until(display, "day_closed")
    assert on_screen[-1].name == "day_closed"  # the call screen hears of it, to clear itself
    snapshot = (await display.request(GetSnapshot)).snapshot
    assert snapshot.recent_calls == []
    assert all(q.waiting == 0 for q in snapshot.queues)
    assert all(w.state is WindowState.CLOSED for w in snapshot.windows)
    await refused(calling_window.request(CallNext), ErrorCode.WINDOW_TAKEN)  # logged out
    await refused(kiosk.request(IssueTicket, category="SW"), ErrorCode.HALL_CLOSED)


async def test_close_out_is_done_once(connect: Connect, clock: Clock, server: QueueServer) -> None:
    """The close-out is idempotent: asked again (by the poller, a command, a restart) it
    changes nothing and says day_closed once."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    clock.advance(hours=2)
    service = server.service
    await asyncio.to_thread(service.close_out_if_due)
    again = await asyncio.to_thread(service.close_out_if_due)
    assert again.events == []
    await asyncio.sleep(0.3)  # the poller asks too
    assert event_names(service).count("day_closed") == 1


async def test_a_server_down_across_midnight_closes_out_when_it_starts(
    engine: Any, demo_config: dict[str, Any], clock: Clock
) -> None:
    """A hall open late: the server stops at 23:59 with tickets waiting, called and being
    served; started at 00:10 it closes the old day out before it accepts anyone, and the new
    day's numbers start at 001."""
    config = copy.deepcopy(demo_config)
    config["hall"].pop("hours")  # always open: the close-out is at midnight
    clock.now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 23:00
    service = HallService(engine, clock=clock)
    service.import_config(config)
    async with running(service, port=0, poll_interval=0.05) as srv:
        url = f"ws://127.0.0.1:{srv.port}"
        kiosk = await _client(url, "kiosk")
        window = await _client(url, "window", 11)
        try:
            for _ in range(5):
                await kiosk.request(IssueTicket, category="SW")
            await window.request(CallNext)
            await window.request(StartService)
            clock.advance(minutes=59)  # 23:59
        finally:
            await asyncio.gather(kiosk.close(), window.close())
    assert len(open_tickets(service)) == 5
    clock.advance(minutes=11)  # 00:10, the server was down at midnight
    restarted = HallService(engine, clock=clock)
    async with running(restarted, port=0, poll_interval=0.05) as srv:
        assert open_tickets(restarted) == []
        url = f"ws://127.0.0.1:{srv.port}"
        kiosk = await _client(url, "kiosk")
        try:
            issued = [(await kiosk.request(IssueTicket, category="SW")).ticket for _ in range(3)]
        finally:
            await kiosk.close()
    assert [t.number for t in issued] == ["C001", "C002", "C003"]
    assert all(t.id.startswith("20261125-") for t in issued)
    names = event_names(restarted)
    assert names.count("day_closed") == 1
    assert names.count("ticket_expired") == 5


async def test_a_no_show_of_a_closed_day_cannot_be_reinstated(
    connect: Connect, clock: Clock
) -> None:
    """A no-show of 18:50 is final once the day is closed out at 19:00."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=11)
    ticket = (await kiosk.request(IssueTicket, category="SW")).ticket
    clock.advance(hours=1, minutes=50)
    await window.request(CallNext)
    await window.request(MarkNoShow)
    clock.advance(minutes=15)  # 19:05, inside the 30-minute reinstatement grace
    window = await connect("window", window=11)  # logged in again after the close-out
    error = await refused(window.request(Reinstate, ticket=ticket.id), ErrorCode.INVALID_STATE)
    assert error.reply.reason == "day_closed"
    await refused(window.request(CallTicket, ticket=ticket.id), ErrorCode.INVALID_STATE)


# ---------------------------------------------------------------------------------------
# 2. One-chain items


async def test_only_the_chain_item_goes_through_the_chain(connect: Connect) -> None:
    """企业变更登记 (QY, no chain) is done after one service; 企业设立登记 goes on to step 2."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=5)
    change = (await kiosk.request(IssueTicket, category="QY", item="企业变更登记")).ticket
    assert (change.steps, change.step) == (1, None)
    await window.request(CallNext)
    await window.request(StartService)
    assert (await window.request(FinishService)).ticket.state is TicketState.DONE
    opening = (await kiosk.request(IssueTicket, category="QY", item="企业设立登记")).ticket
    assert (opening.steps, opening.step) == (5, "企业登记")
    await window.request(CallNext)
    await window.request(StartService)
    after = (await window.request(FinishService)).ticket
    assert (after.state, after.chain_step, after.step) == (TicketState.WAITING, 1, "印章刻制")


async def test_each_chain_step_counts_at_the_window_that_served_it(
    connect: Connect, clock: Clock
) -> None:
    """Step 1 served at window 5 and step 2 at window 6 count one service each, in each
    window's figures for today."""
    kiosk = await connect("kiosk")
    five = await connect("window", window=5)
    six = await connect("window", window=6)
    await kiosk.request(IssueTicket, category="QY", item="企业设立登记")
    for window in (five, six):
        await window.request(CallNext)
        clock.advance(minutes=1)
        await window.request(StartService)
        clock.advance(minutes=10)
        await window.request(FinishService)
    admin = await connect("admin")
    stats = {s.window: s for s in (await admin.request(GetSnapshot)).snapshot.window_stats}
    assert (stats[5].served, stats[6].served) == (1, 1)
    assert stats[5].mean_service_minutes == stats[6].mean_service_minutes == 10.0


async def test_staff_can_end_a_chain_here_with_a_reason(connect: Connect) -> None:
    """`end_chain` finishes the visit at this step; the event carries the reason."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=5)
    admin = await connect("admin")
    await kiosk.request(IssueTicket, category="QY", item="企业设立登记")
    await window.request(CallNext)
    await window.request(StartService)
    ended = await window.request(EndChain, reason="材料不全，改日再办")
    assert (ended.ticket.state, ended.ticket.chain_step) == (TicketState.DONE, 0)
    finished = [e for e in await events_until(admin, "service_finished")][-1]
    assert finished.chain_ended == "材料不全，改日再办"
    assert finished.next_step is None
    plain = await connect("window", window=11)
    await kiosk.request(IssueTicket, category="SW")
    await plain.request(CallNext)
    await plain.request(StartService)
    await refused(plain.request(EndChain, reason="x"), ErrorCode.INVALID_STATE)


async def test_a_next_step_queues_behind_people_who_waited_longer(
    connect: Connect, clock: Clock
) -> None:
    """A chain ticket issued first but re-entering the queue at minute 30 is called after a
    ticket queued at minute 10: the next step is timed from its re-entry."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=5)
    chain = (await kiosk.request(IssueTicket, category="QY", item="企业设立登记")).ticket
    await window.request(CallNext)
    await window.request(StartService)
    clock.advance(minutes=10)
    other = (await kiosk.request(IssueTicket, category="QY")).ticket  # queued at minute 10
    clock.advance(minutes=20)
    back = (await window.request(FinishService)).ticket  # step 2 queues at minute 30
    assert back.queued_at is not None and back.queued_at > other.issued_at
    assert back.issued_at == chain.issued_at  # the visit still counts from its issue
    assert (await window.request(CallNext)).ticket.id == other.id


# ---------------------------------------------------------------------------------------
# 3. Windows whose client went away


async def test_a_vanished_window_goes_offline_then_closed(
    connect: Connect, clock: Clock, server: QueueServer
) -> None:
    """A window client that disappears: after 10 s the window is offline (no capacity in the
    estimate), after the hall's 5 minutes it is closed, each with a window_changed."""
    admin = await connect("admin")
    kiosk = await connect("kiosk")
    ghost = await connect("window", window=14)  # CJ only: the estimate shows its capacity
    await kiosk.request(IssueTicket, category="CJ")
    with_window = (await kiosk.request(IssueTicket, category="CJ")).estimated_wait_minutes
    await ghost.close()  # ctrl+q, a lost terminal, a crash: no close_window
    await window_gone(server, 14)
    clock.advance(seconds=11)
    seen = await events_until(admin, "window_changed", window=14, reason="offline")
    offline = seen[-1]
    assert (offline.window.number, offline.reason) == (14, "offline")
    assert offline.window.connected is False
    assert offline.window.state is WindowState.IDLE  # still logged in, for a quick return
    without = (await kiosk.request(IssueTicket, category="CJ")).estimated_wait_minutes
    assert without > with_window
    clock.advance(minutes=5)
    seen = await events_until(admin, "window_changed", window=14, reason="offline")
    closed = seen[-1]
    assert (closed.window.number, closed.window.state, closed.reason) == (
        14,
        WindowState.CLOSED,
        "offline",
    )


async def test_a_called_ticket_of_a_closed_ghost_window_goes_back_to_its_place(
    connect: Connect, clock: Clock, server: QueueServer
) -> None:
    """The ticket a ghost window had called waits again, ahead of those issued after it."""
    kiosk = await connect("kiosk")
    first = (await kiosk.request(IssueTicket, category="SW")).ticket
    clock.advance(minutes=1)
    await kiosk.request(IssueTicket, category="SW")  # issued after it
    ghost = await connect("window", window=11)
    assert (await ghost.request(CallNext)).ticket.id == first.id
    admin = await connect("admin")
    await ghost.close()
    await window_gone(server, 11)
    clock.advance(minutes=6)
    seen = await events_until(admin, "ticket_requeued")
    requeued = seen[-1]
    assert (requeued.ticket.id, requeued.ticket.state, requeued.reason) == (
        first.id,
        TicketState.WAITING,
        "offline",
    )
    other = await connect("window", window=12, user="ck12")
    assert (await other.request(CallNext)).ticket.id == first.id


async def test_a_window_in_the_middle_of_a_service_stays_until_its_staff_returns(
    connect: Connect, clock: Clock, server: QueueServer
) -> None:
    """A window serving a citizen when its client vanished is not closed by itself; its staff
    member logs in again and finishes."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=11)
    await kiosk.request(IssueTicket, category="SW")
    await window.request(CallNext)
    await window.request(StartService)
    await window.close()
    await window_gone(server, 11)
    clock.advance(minutes=10)
    await asyncio.sleep(0.3)  # several rounds of the server's watch
    back = await connect("window", window=11)
    finished = await back.request(FinishService)
    assert finished.ticket.state is TicketState.DONE


async def test_a_reconnect_within_the_grace_keeps_the_window_online(
    connect: Connect, clock: Clock, server: QueueServer
) -> None:
    """A client that reconnects within 10 s never shows the window offline."""
    admin = await connect("admin")
    window = await connect("window", window=11)
    await window.close()
    await window_gone(server, 11)
    clock.advance(seconds=5)
    window = await connect("window", window=11)
    clock.advance(seconds=30)
    await asyncio.sleep(0.3)
    snapshot = (await admin.request(GetSnapshot)).snapshot
    [eleven] = [w for w in snapshot.windows if w.number == 11]
    assert eleven.connected and eleven.state is WindowState.IDLE


def test_supervisor_closes_a_window_from_the_command_line(
    clocked_service: HallService,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    clock: Clock,
) -> None:
    """`queue-server window close N` closes a ghost window; one serving a citizen only with
    --requeue, which puts the ticket back in the queue."""
    monkeypatch.setenv("YICHUANG_CLOCK", clock.now.isoformat())  # the CLI on the hall's day
    from queue_protocol.messages import Hello, Role
    from queue_server.service import Principal

    p = Principal(role=Role.WINDOW, key="staff:ck11", staff="ck11", window=11)
    clocked_service.open_session(p, Hello(id="h", role=Role.WINDOW), takeover=True)
    kiosk = Principal(role=Role.KIOSK, key="device:k")
    clocked_service.execute(kiosk, IssueTicket(id="i", category="SW"))
    for verb in (CallNext(id="c"), StartService(id="s")):
        assert clocked_service.execute(p, verb).ok
    assert cli.main(["window", "close", "11", "--db", db_url]) == 1
    assert "--requeue" in capsys.readouterr().err
    assert cli.main(["window", "close", "11", "--requeue", "--db", db_url]) == 0
    [ticket] = open_tickets(clocked_service)
    assert (ticket.state, ticket.window) == ("waiting", None)
    [eleven] = [w for w in clocked_service.list_windows() if w.number == 11]
    assert eleven.state is WindowState.CLOSED


# ---------------------------------------------------------------------------------------
# 6. A rating is bound to its ticket


async def test_a_kiosk_rates_only_with_the_slips_secret(connect: Connect) -> None:
    """The secret comes in the issuing reply only (never in an event); without it, or with
    another ticket's, a kiosk cannot rate; with it, once."""
    kiosk = await connect("kiosk")
    admin = await connect("admin")
    window = await connect("window", window=11)
    issued = await kiosk.request(IssueTicket, category="SW")
    other = await kiosk.request(IssueTicket, category="SW")
    assert issued.secret and issued.secret != other.secret
    seen = await events_until(admin, "ticket_issued")
    assert issued.secret not in json.dumps([e.model_dump(mode="json") for e in seen])
    await window.request(CallNext)
    await window.request(StartService)
    await window.request(FinishService)
    number = issued.ticket.number
    no_secret = await refused(kiosk.request(Rate, ticket=number, level=1), ErrorCode.FORBIDDEN)
    assert no_secret.reply.reason == "secret_required"
    wrong = await refused(
        kiosk.request(Rate, ticket=number, level=5, secret=other.secret), ErrorCode.FORBIDDEN
    )
    assert wrong.reply.reason == "bad_secret"
    rated = await kiosk.request(Rate, ticket=number, level=1, secret=issued.secret)
    assert rated.rating.ticket == issued.ticket.id
    await refused(
        kiosk.request(Rate, ticket=number, level=1, secret=issued.secret),
        ErrorCode.INVALID_STATE,
    )


async def test_only_the_window_that_served_may_enter_a_rating(connect: Connect) -> None:
    """A paper rating form is entered at the window that served the ticket, not at another."""
    kiosk = await connect("kiosk")
    served_here = await connect("window", window=11)
    elsewhere = await connect("window", window=12)
    ticket = (await kiosk.request(IssueTicket, category="SW")).ticket
    await served_here.request(CallNext)
    await served_here.request(StartService)
    await served_here.request(FinishService)
    await refused(elsewhere.request(Rate, ticket=ticket.id, level=2), ErrorCode.FORBIDDEN)
    assert (await served_here.request(Rate, ticket=ticket.id, level=2)).rating.ticket == ticket.id


# ---------------------------------------------------------------------------------------
# 7. One account, one window


async def test_one_account_cannot_hold_two_connected_windows(connect: Connect) -> None:
    """ck03 working at window 3 cannot also log in at window 4."""
    await connect("window", window=3, user="ck03")
    with pytest.raises(ServerError) as caught:
        await connect("window", window=4, user="ck03")
    assert caught.value.code is ErrorCode.STAFF_ELSEWHERE
    assert (caught.value.reply.window, caught.value.reply.reason) == (3, "connected")


async def test_an_account_that_left_its_window_can_move(
    connect: Connect, clock: Clock, server: QueueServer
) -> None:
    """ck03 quits window 3 without closing it and logs in at window 4: window 3 is closed
    (reason moved) and window 4 opens."""
    admin = await connect("admin")
    three = await connect("window", window=3, user="ck03")
    await three.close()
    four = await connect("window", window=4, user="ck03")
    seen = await events_until(admin, "window_changed", window=3, reason="moved")
    assert seen[-1].window.state is WindowState.CLOSED
    snapshot = (await four.request(GetSnapshot)).snapshot
    [w4] = [w for w in snapshot.windows if w.number == 4]
    assert (w4.staff, w4.state) == ("ck03", WindowState.IDLE)


async def test_an_account_whose_window_holds_a_ticket_cannot_move(
    connect: Connect,
) -> None:
    """A window left with a called ticket must be finished or closed by a supervisor first."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    three = await connect("window", window=3, user="ck03")
    await three.request(CallNext)
    await three.close()
    with pytest.raises(ServerError) as caught:
        await connect("window", window=4, user="ck03")
    assert caught.value.code is ErrorCode.STAFF_ELSEWHERE
    assert (caught.value.reply.window, caught.value.reply.reason) == (3, "holds_ticket")


async def test_a_hall_may_allow_one_account_at_several_windows(
    connect: Connect, server: QueueServer
) -> None:
    """With `staff_multiple_windows = true` the same account may open two windows."""
    data = server.service.export_config()
    data["hall"]["staff_multiple_windows"] = True
    server.service.import_config(data)
    await connect("window", window=3, user="ck03")
    four = await connect("window", window=4, user="ck03")
    assert (await four.request(GetSnapshot)).snapshot is not None


async def _client(url: str, role: str, window: int | None = None) -> QueueClient:
    from queue_protocol.client import Credentials
    from queue_protocol.messages import Role
    from tests.conftest import DEMO_PASSWORD, KIOSK_TOKEN

    if role == "kiosk":
        creds = Credentials(role=Role.KIOSK, token=KIOSK_TOKEN)
    else:
        creds = Credentials(
            role=Role.WINDOW, user=f"ck{window:02d}", password=DEMO_PASSWORD, window=window
        )
    client = QueueClient(url, creds)
    await client.start()
    return client


async def test_a_window_opened_after_the_evening_close_out_is_closed_at_midnight(
    connect: Connect, clock: Clock, server: QueueServer
) -> None:
    """After the 19:00 close-out a window logged in again is closed at midnight, and the day
    already closed is not reported closed a second time."""
    admin = await connect("admin")
    clock.advance(hours=2)  # 19:00 close-out
    await events_until(admin, "day_closed")
    late = await connect("window", window=3)
    assert late is not None
    clock.advance(hours=5)  # midnight
    seen = await events_until(admin, "window_changed", window=3, reason="day_closed")
    assert seen[-1].window.connected is False
    await asyncio.sleep(0.3)  # the poller's next rounds
    assert event_names(server.service).count("day_closed") == 1
