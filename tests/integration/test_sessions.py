"""Sessions: revocation ends live connections, re-login replaces a session, daily figures."""

from __future__ import annotations

import asyncio

import pytest

from queue_protocol.client import LoginFailed, QueueClient, ServerError, Stopped
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CallNext,
    FinishService,
    IssueTicket,
    MarkNoShow,
    StartService,
)
from queue_server.service import HallService
from tests.conftest import Connect

pytestmark = pytest.mark.both_stores  # SQLite and a real PostgreSQL


async def test_revoked_kiosk_is_refused_on_its_live_connection(
    connect: Connect, service: HallService
) -> None:
    """A kiosk whose token is revoked gets auth_failed on its next request, issuing nothing."""
    kiosk = await connect("kiosk")
    await kiosk.request(IssueTicket, category="SW")
    await asyncio.to_thread(service.revoke_device, "一号取号机")
    with pytest.raises(ServerError) as refused:
        await kiosk.request(IssueTicket, category="SW", timeout=10)
    assert refused.value.code is ErrorCode.AUTH_FAILED
    admin = await connect("admin")
    assert admin.hello is not None
    waiting = {q.category: q.waiting for q in admin.hello.snapshot.queues}
    assert waiting["SW"] == 1  # the refused request issued nothing


async def test_disabled_staff_is_refused_and_disconnected(
    connect: Connect, service: HallService
) -> None:
    """A window whose staff account is disabled cannot act, and its connection is closed."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=11)
    await kiosk.request(IssueTicket, category="SW")
    await asyncio.to_thread(service.set_staff_disabled, "ck11", True)
    with pytest.raises(ServerError) as refused:
        await window.request(CallNext, timeout=10)
    assert refused.value.code is ErrorCode.AUTH_FAILED

    await asyncio.wait_for(_stopped(window), 15)


async def _stopped(client: QueueClient) -> Stopped:
    while True:
        notice = await client.next_notice(10)
        if isinstance(notice, Stopped):
            return notice


async def test_relogin_elsewhere_stops_the_older_client(connect: Connect) -> None:
    """A staff member logging in again at the same window ends the older client for good,
    instead of the two sessions taking the window from each other in turn."""
    first = await connect("window", window=3)
    await connect("window", window=3)
    stopped = await asyncio.wait_for(_stopped(first), 15)
    assert isinstance(stopped.error, LoginFailed)
    assert stopped.error.code is ErrorCode.WINDOW_TAKEN
    assert not first.connected


async def test_snapshot_carries_the_windows_figures_for_today(connect: Connect) -> None:
    """A window's hello snapshot counts today's served tickets, no-shows and mean service."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=14)
    for _ in range(3):
        await kiosk.request(IssueTicket, category="CJ")
    for _ in range(2):
        await window.request(CallNext)
        await window.request(StartService)
        await window.request(FinishService)
    await window.request(CallNext)
    await window.request(MarkNoShow)
    again = await connect("window", window=14)
    assert again.hello is not None
    (stat,) = again.hello.snapshot.window_stats
    assert (stat.window, stat.served, stat.no_shows) == (14, 2, 1)
    assert stat.mean_service_minutes is not None and stat.mean_service_minutes >= 0
    admin = await connect("admin")
    assert admin.hello is not None
    stats = {s.window: (s.served, s.no_shows) for s in admin.hello.snapshot.window_stats}
    assert sorted(stats) == list(range(1, 16))  # every window, idle ones with zeros
    assert stats[14] == (2, 1) and stats[1] == (0, 0)


async def test_revoked_display_is_cut_off_even_when_silent(
    connect: Connect, service: HallService
) -> None:
    """A call screen that never sends a request is still disconnected once its token is
    revoked, and it cannot log in again."""
    display = await connect("display")
    await asyncio.to_thread(service.revoke_device, "大厅主屏")
    stopped = await asyncio.wait_for(_stopped(display), 15)
    assert isinstance(stopped.error, LoginFailed)
    assert stopped.error.code is ErrorCode.AUTH_FAILED
