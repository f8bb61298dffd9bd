"""A citizen's visit through the real protocol: kiosk, window and call screen together."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest

from queue_protocol.client import Credentials, EventReceived, QueueClient, ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CallNext,
    CallTicket,
    CancelTicket,
    CloseWindow,
    FinishService,
    GetSnapshot,
    IssueTicket,
    MarkNoShow,
    PauseWindow,
    Priority,
    Recall,
    Reinstate,
    ResumeWindow,
    Role,
    StartService,
    TicketState,
    TicketStatus,
    TransferTicket,
    WindowState,
)
from queue_server.server import running
from queue_server.service import HallService
from tests.conftest import DEMO_PASSWORD, KIOSK_TOKEN, Clock, Connect

pytestmark = pytest.mark.both_stores  # SQLite and a real PostgreSQL


async def _events(client: QueueClient, count: int, timeout: float = 5.0) -> list:
    """The next `count` events the client receives, skipping connection notices."""
    events = []
    while len(events) < count:
        notice = await client.next_notice(timeout)
        if isinstance(notice, EventReceived):
            events.append(notice.event)
    return events


async def test_full_visit_issue_call_recall_start_finish(connect: Connect) -> None:
    """A ticket goes waiting -> called -> recalled -> serving -> done, and each reply says so."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=11)
    issued = await kiosk.request(IssueTicket, category="SW")
    assert issued.ticket.number == "C001"
    assert issued.ticket.state is TicketState.WAITING

    called = await window.request(CallNext)
    assert called.ticket.id == issued.ticket.id
    assert called.window.state is WindowState.CALLING
    recalled = await window.request(Recall)
    assert recalled.ticket.recall_count == 1
    started = await window.request(StartService)
    assert started.ticket.state is TicketState.SERVING
    finished = await window.request(FinishService)
    assert finished.ticket.state is TicketState.DONE
    assert finished.window.state is WindowState.IDLE
    assert len(finished.ticket.call_times) == 2


async def test_display_sees_calls_once_in_seq_order(connect: Connect) -> None:
    """A call screen receives the call and recall events exactly once, in seq order."""
    display = await connect("display")
    kiosk = await connect("kiosk")
    window = await connect("window", window=1)
    await display.next_notice(5)  # Connected
    await kiosk.request(IssueTicket, category="SW")
    await window.request(CallNext)
    await window.request(Recall)
    await window.request(StartService)
    await window.request(FinishService)
    events = await _events(display, 8)
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs))
    calls = [e.name for e in events if e.name in ("ticket_called", "ticket_recalled")]
    assert calls == ["ticket_called", "ticket_recalled"]
    assert {e.name for e in events} <= {
        "ticket_called",
        "ticket_recalled",
        "window_changed",
        "queue_changed",
    }


# ---------------------------------------------------------------------------
# Helpers for the visits below


async def _refused(coro: Awaitable[Any], code: ErrorCode) -> ServerError:
    """Await a request that must fail with `code`; return the error."""
    with pytest.raises(ServerError) as caught:
        await coro
    assert caught.value.code is code, caught.value
    return caught.value


async def _event_named(client: QueueClient, name: str, timeout: float = 5.0) -> Any:
    """The next event called `name` that the client receives (others are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            notice = await client.next_notice()
            if isinstance(notice, EventReceived) and notice.event.name == name:
                return notice.event


# ---------------------------------------------------------------------------
# No-show and reinstatement


async def test_no_show_then_reinstate_keeps_issue_time_and_is_called_again(
    connect: Connect,
) -> None:
    """A no-show reinstated within grace waits again with its issue time and is called first."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=11)
    first = (await kiosk.request(IssueTicket, category="SW")).ticket
    second = (await kiosk.request(IssueTicket, category="SW")).ticket

    called = await window.request(CallNext)
    assert called.ticket.id == first.id
    missed = await window.request(MarkNoShow)
    assert missed.ticket.state is TicketState.NO_SHOW
    assert missed.ticket.no_show_at is not None
    assert missed.window.state is WindowState.IDLE
    assert missed.window.ticket is None

    back = await window.request(Reinstate, ticket=first.number)
    assert back.ticket.state is TicketState.WAITING
    assert back.ticket.id == first.id
    assert back.ticket.issued_at == first.issued_at
    assert back.ticket.no_show_at is None
    assert back.people_ahead == 0  # older than the ticket issued after it

    again = await window.request(CallNext)
    assert again.ticket.id == first.id
    assert len(again.ticket.call_times) == 2
    status = await kiosk.request(TicketStatus, ticket=second.id)
    assert status.ticket.state is TicketState.WAITING
    assert status.people_ahead == 0


async def test_reinstate_refused_for_a_ticket_that_is_not_a_no_show(connect: Connect) -> None:
    """Reinstating a waiting ticket is refused and changes nothing."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=11)
    ticket = (await kiosk.request(IssueTicket, category="SW")).ticket
    await _refused(window.request(Reinstate, ticket=ticket.id), ErrorCode.INVALID_STATE)
    status = await kiosk.request(TicketStatus, ticket=ticket.id)
    assert status.ticket.state is TicketState.WAITING


async def test_reinstate_after_the_grace_period_is_refused(
    clocked_service: HallService, clock: Clock, hall_config: dict[str, Any]
) -> None:
    """A no-show reinstated after the grace period is refused and stays a no-show."""
    grace = hall_config["hall"]["reinstate_grace_minutes"]
    async with running(clocked_service, port=0) as srv:
        url = f"ws://127.0.0.1:{srv.port}"
        kiosk = QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN))
        window = QueueClient(
            url, Credentials(role=Role.WINDOW, user="ck11", password=DEMO_PASSWORD, window=11)
        )
        async with kiosk, window:
            ticket = (await kiosk.request(IssueTicket, category="SW")).ticket
            await window.request(CallNext)
            await window.request(MarkNoShow)
            clock.advance(minutes=grace, seconds=1)
            error = await _refused(
                window.request(Reinstate, ticket=ticket.id), ErrorCode.INVALID_STATE
            )
            assert "new ticket" in error.message
            status = await kiosk.request(TicketStatus, ticket=ticket.id)
            assert status.ticket.state is TicketState.NO_SHOW
            await _refused(window.request(CallNext), ErrorCode.QUEUE_EMPTY)


async def test_recalls_beyond_the_configured_number_mark_a_no_show(
    connect: Connect, hall_config: dict[str, Any]
) -> None:
    """After `no_show_after_recalls` recalls the next recall makes the ticket a no-show."""
    allowed = hall_config["hall"]["no_show_after_recalls"]
    kiosk = await connect("kiosk")
    window = await connect("window", window=12)
    display = await connect("display")
    ticket = (await kiosk.request(IssueTicket, category="SB")).ticket
    await window.request(CallNext)
    for n in range(1, allowed + 1):
        recalled = await window.request(Recall)
        assert recalled.ticket.state is TicketState.CALLED
        assert recalled.ticket.recall_count == n
    last = await window.request(Recall)
    assert last.ticket.id == ticket.id
    assert last.ticket.state is TicketState.NO_SHOW
    assert len(last.ticket.call_times) == allowed + 1
    assert last.window.state is WindowState.IDLE
    assert last.window.ticket is None
    await _refused(window.request(Recall), ErrorCode.INVALID_STATE)
    calls = []
    async with asyncio.timeout(5):
        while len(calls) < allowed + 1:
            notice = await display.next_notice()
            if isinstance(notice, EventReceived) and notice.event.name.startswith("ticket_"):
                calls.append(notice.event.name)
    assert calls == ["ticket_called"] + ["ticket_recalled"] * allowed


# ---------------------------------------------------------------------------
# Transfers


async def test_transfer_to_a_category_waits_there_and_is_called_by_its_window(
    connect: Connect,
) -> None:
    """A ticket moved to BT keeps number and issue time, records the move; window 10 calls it."""
    kiosk = await connect("kiosk")
    w11 = await connect("window", window=11)  # SW, SB
    w10 = await connect("window", window=10)  # BT, SB
    ticket = (await kiosk.request(IssueTicket, category="SW")).ticket
    await w11.request(CallNext)
    await w11.request(StartService)

    moved = await w11.request(TransferTicket, to_category="BT", reason="需办理不动产登记")
    assert moved.window.state is WindowState.IDLE
    assert moved.ticket.state is TicketState.WAITING
    assert moved.ticket.category == "BT"
    assert moved.ticket.number == ticket.number
    assert moved.ticket.issued_at == ticket.issued_at
    assert moved.ticket.target_window is None
    [record] = moved.ticket.transfers
    assert (record.from_category, record.to_category) == ("SW", "BT")
    assert (record.from_window, record.to_window) == (11, None)
    assert record.reason == "需办理不动产登记"

    status = await kiosk.request(TicketStatus, ticket=ticket.number)
    assert status.ticket.category == "BT"
    assert status.ticket.state is TicketState.WAITING
    await _refused(w11.request(CallNext), ErrorCode.QUEUE_EMPTY)  # 11 does not serve BT

    called = await w10.request(CallNext)
    assert called.ticket.id == ticket.id
    assert called.ticket.window == 10
    assert len(called.ticket.transfers) == 1
    await w10.request(StartService)
    done = await w10.request(FinishService)
    assert done.ticket.state is TicketState.DONE


async def test_transfer_to_a_named_window_only_that_window_may_call_it(connect: Connect) -> None:
    """A ticket sent to window 12 is not called by window 15, which also serves its category."""
    kiosk = await connect("kiosk")
    w11 = await connect("window", window=11)  # SW, SB
    w12 = await connect("window", window=12)  # SB, SW
    w15 = await connect("window", window=15)  # CJ, SW
    ticket = (await kiosk.request(IssueTicket, category="SW")).ticket
    await w11.request(CallNext)
    await w11.request(StartService)
    await _refused(w11.request(TransferTicket, to_window=11, reason="自己"), ErrorCode.BAD_REQUEST)
    moved = await w11.request(TransferTicket, to_window=12, reason="需社保窗口复核")
    assert moved.ticket.state is TicketState.WAITING
    assert moved.ticket.target_window == 12
    assert moved.ticket.category == "SW"
    assert moved.ticket.issued_at == ticket.issued_at
    assert moved.ticket.transfers[-1].to_window == 12

    await _refused(w15.request(CallNext), ErrorCode.QUEUE_EMPTY)
    await _refused(w15.request(CallTicket, ticket=ticket.number), ErrorCode.FORBIDDEN)
    await _refused(w11.request(CallNext), ErrorCode.QUEUE_EMPTY)
    still = await kiosk.request(TicketStatus, ticket=ticket.id)
    assert still.ticket.state is TicketState.WAITING

    called = await w12.request(CallNext)
    assert called.ticket.id == ticket.id
    assert called.window.ticket == ticket.id


async def test_the_sender_takes_back_a_ticket_sent_to_a_window_nobody_serves(
    connect: Connect,
) -> None:
    """Window 11 sends a ticket to window 12, where nobody works. call_next at 11 leaves it
    for 12, another window may not call it, but 11 may take it back by its number; it is
    then no longer waiting for window 12."""
    kiosk = await connect("kiosk")
    w11 = await connect("window", window=11)  # SW, SB
    w15 = await connect("window", window=15)  # CJ, SW
    ticket = (await kiosk.request(IssueTicket, category="SW")).ticket
    await w11.request(CallNext)
    await w11.request(StartService)
    await w11.request(TransferTicket, to_window=12, reason="需社保窗口复核")
    await _refused(w11.request(CallNext), ErrorCode.QUEUE_EMPTY)
    await _refused(w15.request(CallTicket, ticket=ticket.number), ErrorCode.FORBIDDEN)
    back = await w11.request(CallTicket, ticket=ticket.number)
    assert back.ticket.id == ticket.id and back.ticket.state is TicketState.CALLED
    assert back.ticket.window == 11 and back.ticket.target_window is None
    await w11.request(StartService)
    done = await w11.request(FinishService)
    assert done.ticket.state is TicketState.DONE


async def test_transfer_needs_a_ticket_in_service(connect: Connect) -> None:
    """A window that has only called a ticket cannot transfer it."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=1)
    await kiosk.request(IssueTicket, category="SW")
    await window.request(CallNext)
    await _refused(
        window.request(TransferTicket, to_category="BT", reason="x"), ErrorCode.INVALID_STATE
    )


# ---------------------------------------------------------------------------
# One-chain visit (一链办理)


async def test_one_chain_company_opening_visits_every_step(
    connect: Connect, hall_config: dict[str, Any]
) -> None:
    """A ticket for the one-chain item 企业设立登记 waits again after each step of its chain,
    shows the step it is at, and is done after the last."""
    [item] = [i for i in hall_config["items"] if i["name"] == "企业设立登记"]
    steps = item["chain"]
    assert len(steps) > 1
    kiosk = await connect("kiosk")
    window = await connect("window", window=5)  # [QY]
    admin = await connect("admin")
    ticket = (await kiosk.request(IssueTicket, category="QY", item="企业设立登记")).ticket
    assert ticket.number.startswith("A")
    assert (ticket.steps, ticket.step) == (len(steps), steps[0])

    for step in range(len(steps)):
        called = await window.request(CallNext)
        assert called.ticket.id == ticket.id
        assert called.ticket.chain_step == step
        assert called.ticket.step == steps[step]
        await window.request(StartService)
        finished = await window.request(FinishService)
        event = await _event_named(admin, "service_finished")
        assert event.ticket.id == ticket.id
        if step + 1 < len(steps):
            assert finished.ticket.state is TicketState.WAITING
            assert finished.ticket.chain_step == step + 1
            assert finished.ticket.window is None
            assert event.next_step == steps[step + 1]
            status = await kiosk.request(TicketStatus, ticket=ticket.id)
            assert status.ticket.state is TicketState.WAITING
            assert status.ticket.issued_at == ticket.issued_at
        else:
            assert finished.ticket.state is TicketState.DONE
            assert finished.ticket.finished_at is not None
            assert event.next_step is None
    assert len(finished.ticket.call_times) == len(steps)
    await _refused(window.request(CallNext), ErrorCode.QUEUE_EMPTY)


# ---------------------------------------------------------------------------
# Cancel, status, call by number


async def test_cancel_a_waiting_ticket(connect: Connect) -> None:
    """A ticket cancelled at a window leaves the queue; cancelling again or calling it fails."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=11)
    ticket = (await kiosk.request(IssueTicket, category="SW")).ticket
    cancelled = await window.request(CancelTicket, ticket=ticket.id)
    assert cancelled.ticket.state is TicketState.CANCELLED
    await _refused(window.request(CancelTicket, ticket=ticket.id), ErrorCode.INVALID_STATE)
    await _refused(window.request(CallNext), ErrorCode.QUEUE_EMPTY)
    await _refused(window.request(CallTicket, ticket=ticket.number), ErrorCode.INVALID_STATE)
    status = await kiosk.request(TicketStatus, ticket=ticket.number)
    assert status.ticket.state is TicketState.CANCELLED


async def test_cancel_a_called_ticket_is_refused(connect: Connect) -> None:
    """Only a waiting ticket can be cancelled."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=11)
    ticket = (await kiosk.request(IssueTicket, category="SW")).ticket
    await window.request(CallNext)
    await _refused(window.request(CancelTicket, ticket=ticket.id), ErrorCode.INVALID_STATE)
    status = await kiosk.request(TicketStatus, ticket=ticket.id)
    assert status.ticket.state is TicketState.CALLED


async def test_ticket_status_counts_people_ahead(connect: Connect) -> None:
    """ticket_status reports how many wait ahead in the category, by id or by number."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=11)
    issued = [await kiosk.request(IssueTicket, category="SW") for _ in range(3)]
    assert [r.people_ahead for r in issued] == [0, 1, 2]
    await kiosk.request(IssueTicket, category="SB")  # another category: not ahead
    last = issued[-1].ticket
    status = await kiosk.request(TicketStatus, ticket=last.number)
    assert status.ticket.id == last.id
    assert status.people_ahead == 2
    await window.request(CallTicket, ticket=issued[0].ticket.number)
    status = await kiosk.request(TicketStatus, ticket=last.id)
    assert status.people_ahead == 1
    called = await kiosk.request(TicketStatus, ticket=issued[0].ticket.id)
    assert called.ticket.state is TicketState.CALLED
    assert called.people_ahead == 0
    await _refused(kiosk.request(TicketStatus, ticket="C999"), ErrorCode.NOT_FOUND)


async def test_call_ticket_calls_the_named_number(connect: Connect) -> None:
    """call_ticket calls a given number out of order; a window outside its category may not."""
    kiosk = await connect("kiosk")
    w11 = await connect("window", window=11)  # SW, SB
    w14 = await connect("window", window=14)  # CJ
    tickets = [(await kiosk.request(IssueTicket, category="SW")).ticket for _ in range(3)]
    await _refused(w14.request(CallTicket, ticket=tickets[2].number), ErrorCode.FORBIDDEN)
    called = await w11.request(CallTicket, ticket=tickets[2].number)
    assert called.ticket.id == tickets[2].id
    assert called.ticket.state is TicketState.CALLED
    assert called.window.state is WindowState.CALLING
    await w11.request(StartService)
    await w11.request(FinishService)
    nxt = await w11.request(CallNext)
    assert nxt.ticket.id == tickets[0].id  # the others keep their order


# ---------------------------------------------------------------------------
# Window states


async def test_pause_and_resume_a_window(connect: Connect) -> None:
    """A paused window shows its reason, cannot call, and calls again once resumed."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=2)
    display = await connect("display")
    ticket = (await kiosk.request(IssueTicket, category="SW")).ticket
    paused = await window.request(PauseWindow, reason="午间轮换")
    assert paused.window.state is WindowState.PAUSED
    assert paused.window.pause_reason == "午间轮换"
    seen = await _event_named(display, "window_changed")
    while seen.window.number != 2 or seen.window.state is not WindowState.PAUSED:
        seen = await _event_named(display, "window_changed")
    assert seen.window.pause_reason == "午间轮换"
    await _refused(window.request(CallNext), ErrorCode.INVALID_STATE)
    await _refused(window.request(PauseWindow, reason="again"), ErrorCode.INVALID_STATE)
    resumed = await window.request(ResumeWindow)
    assert resumed.window.state is WindowState.IDLE
    assert resumed.window.pause_reason is None
    await _refused(window.request(ResumeWindow), ErrorCode.INVALID_STATE)
    called = await window.request(CallNext)
    assert called.ticket.id == ticket.id


async def test_close_window_logs_out(connect: Connect) -> None:
    """close_window is refused with a ticket in hand, then closes; the window acts no more."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=3)
    admin = await connect("admin")
    await kiosk.request(IssueTicket, category="SW")
    await window.request(CallNext)
    await _refused(window.request(CloseWindow), ErrorCode.INVALID_STATE)
    await window.request(StartService)
    await _refused(window.request(CloseWindow), ErrorCode.INVALID_STATE)
    await window.request(FinishService)
    closed = await window.request(CloseWindow)
    assert closed.window.state is WindowState.CLOSED
    assert closed.window.staff is None
    await _refused(window.request(CallNext), ErrorCode.WINDOW_TAKEN)
    snapshot = (await admin.request(GetSnapshot)).snapshot
    [w3] = [w for w in snapshot.windows if w.number == 3]
    assert w3.state is WindowState.CLOSED
    assert w3.staff is None


async def test_green_channel_ticket_has_only_priority_tickets_ahead(connect: Connect) -> None:
    """A 绿色通道 ticket reports only earlier priority tickets ahead, not the normal queue."""
    kiosk = await connect("kiosk")
    for _ in range(3):
        await kiosk.request(IssueTicket, category="SB")
    first_green = await kiosk.request(IssueTicket, category="SB", priority=Priority.GREEN)
    assert first_green.people_ahead == 0
    assisted = await kiosk.request(IssueTicket, category="SB", priority=Priority.ASSISTED)
    assert assisted.people_ahead == 1
    normal = await kiosk.request(IssueTicket, category="SB")
    assert normal.people_ahead == 5
