"""A citizen's visit through the real protocol: kiosk, window and call screen together."""

from __future__ import annotations

from queue_protocol.client import EventReceived, QueueClient
from queue_protocol.messages import (
    CallNext,
    FinishService,
    IssueTicket,
    Recall,
    StartService,
    TicketState,
    WindowState,
)
from tests.conftest import Connect


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
