"""The citizen's ticket status page (issue 18), over the real server and real sockets: the
`citizen` role sees its own ticket only, is refused everything else, and the page itself
is served on the websocket port."""

from __future__ import annotations

import asyncio
import logging
import urllib.request
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from queue_protocol.client import Credentials, QueueClient
from queue_protocol.messages import (
    CallNext,
    FinishService,
    IssueTicket,
    PauseWindow,
    Priority,
    Role,
    StartService,
    TicketState,
    TicketStatus,
)
from queue_server.server import QueueServer
from queue_server.service import HallService
from tests.citizen import StatusPage
from tests.conftest import KIOSK_TOKEN, Clock, Connect


def _names(config: dict[str, Any]) -> list[str]:
    """Every person's name and account the hall knows: none may reach a status page."""
    return [s["account"] for s in config["staff"]] + [s["name"] for s in config["staff"]]


async def test_page_follows_its_ticket_and_nothing_else(
    connect: Connect, url: str, hall_config: dict[str, Any]
) -> None:
    """People ahead fall as the window calls the others, the call names the window, the
    service ends, the page rates it; no frame carries another ticket's number or a name."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=11)
    first = await kiosk.request(IssueTicket, category="SW")
    second = await kiosk.request(IssueTicket, category="SW")
    mine = await kiosk.request(IssueTicket, category="SW")
    page = await StatusPage.open(url, mine.ticket.id, mine.secret)
    assert page.status is not None
    assert (page.status.number, page.status.state) == ("C003", TicketState.WAITING)
    assert page.status.category_name == "社会事务"
    assert page.status.people_ahead == 2
    # The figures of ticket_status (hall/views.py), in the whole minutes the page shows.
    status = await kiosk.request(TicketStatus, ticket=mine.ticket.id)
    assert page.status.people_ahead == status.people_ahead
    assert page.status.estimated_wait_minutes == round(status.estimated_wait_minutes) > 0

    await window.request(CallNext)  # C001
    await page.until(lambda s: s.people_ahead == 1)
    await window.request(StartService)
    await window.request(FinishService)
    await window.request(CallNext)  # C002
    await page.until(lambda s: s.people_ahead == 0)
    await window.request(StartService)
    await window.request(FinishService)
    await window.request(CallNext)  # mine
    called = await page.until(lambda s: s.state is TicketState.CALLED)
    assert (called.window, called.window_name) == (11, "社会事务11号")
    assert called.called_at is not None
    await window.request(StartService)
    await window.request(FinishService)
    done = await page.until(lambda s: s.state is TicketState.DONE)
    assert not done.rated and done.window is None

    rated = await page.ask(
        {"type": "rate", "id": "r1", "ticket": mine.ticket.id, "level": 1, "secret": mine.secret}
    )
    assert rated["type"] == "ok", rated
    # The page is told no one's account nor name.
    assert rated["rating"]["staff"] is None and rated["rating"]["staff_name"] is None
    assert (rated["rating"]["channel"], rated["rating"]["level"]) == ("qr", 1)
    again = await StatusPage.open(url, mine.ticket.id, mine.secret)
    assert again.status is not None and again.status.rated

    for frame in page.frames + again.frames:
        assert first.ticket.number not in frame and second.ticket.number not in frame
        assert first.ticket.id not in frame and second.ticket.id not in frame
        for name in _names(hall_config):
            assert name not in frame, (name, frame)
    await page.close()
    await again.close()


async def test_a_page_is_refused_without_its_secret_and_may_ask_nothing_else(
    connect: Connect, url: str
) -> None:
    kiosk = await connect("kiosk")
    mine = await kiosk.request(IssueTicket, category="SW")
    other = await kiosk.request(IssueTicket, category="SW")
    assert mine.secret and other.secret

    wrong = await StatusPage.open(url, mine.ticket.id, other.secret)
    assert (wrong.hello["code"], wrong.hello["reason"]) == ("auth_failed", "bad_secret")
    unknown = await StatusPage.open(url, "20200101-C001", mine.secret)
    assert (unknown.hello["code"], unknown.hello["reason"]) == ("auth_failed", "bad_secret")
    missing = await StatusPage.open(url, mine.ticket.id, None)
    assert missing.hello["code"] == "bad_request"

    page = await StatusPage.open(url, mine.ticket.id, mine.secret)
    assert page.hello["type"] == "ok" and "snapshot" not in page.hello
    for verb in ({"type": "snapshot"}, {"type": "ticket_status", "ticket": other.ticket.id}):
        reply = await page.ask({"id": f"x-{verb['type']}", **verb})
        assert reply["code"] == "forbidden", reply
    issued = await page.ask({"type": "issue_ticket", "id": "x-issue", "category": "SW"})
    assert issued["code"] == "forbidden"
    # Even with the other slip's secret, a page rates its own ticket only.
    other_rating = await page.ask(
        {"type": "rate", "id": "x-rate", "ticket": other.ticket.id, "level": 1,
         "secret": other.secret}
    )  # fmt: skip
    assert (other_rating["code"], other_rating["reason"]) == ("forbidden", "bad_secret")
    for frame in page.frames:
        assert other.ticket.number not in frame
    for client in (wrong, unknown, missing, page):
        await client.close()


async def test_the_page_is_served_on_the_websocket_port(server: QueueServer, url: str) -> None:
    """`GET /t/<id>?k=…` is a small static page (the same for every ticket: its script asks
    the server); a malformed ticket id is a 404."""
    base = f"http://127.0.0.1:{server.port}"

    def get(path: str) -> tuple[int, dict[str, str], str]:
        try:
            with urllib.request.urlopen(base + path, timeout=10) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode()

    status, headers, body = await asyncio.to_thread(get, "/t/20261125-C001?k=abc")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "C001" not in body and "abc" not in body  # nothing of the ticket is in the page
    assert 'role: "citizen"' in body and "__PROTOCOL_VERSION__" not in body
    status, _, _ = await asyncio.to_thread(get, "/t/..%2Fetc")
    assert status == 404


async def test_the_secret_is_never_logged(
    connect: Connect, url: str, server: QueueServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Not even at debug level, where the websockets library logs request lines and frames:
    the page's URL, the hello, the kiosk's reply."""
    with caplog.at_level(logging.DEBUG):
        kiosk = await connect("kiosk")
        mine = await kiosk.request(IssueTicket, category="SW")
        assert mine.secret
        address = f"http://127.0.0.1:{server.port}/t/{mine.ticket.id}?k={mine.secret}"
        await asyncio.to_thread(lambda: urllib.request.urlopen(address, timeout=10).read())
        page = await StatusPage.open(url, mine.ticket.id, mine.secret)
        wrong = await StatusPage.open(url, mine.ticket.id, mine.secret[::-1])
        await page.ask({"type": "snapshot", "id": "s"})
        await page.close()
        await wrong.close()
    assert any("status page refused" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        if record.name.startswith("websockets.client"):  # the phone's side, not the server
            continue
        assert mine.secret not in record.getMessage()
        assert mine.secret[::-1] not in record.getMessage()


async def test_a_page_survives_a_server_restart(service: HallService) -> None:
    """The secret is stored (hashed) with the ticket: after a restart the same slip opens
    the same page."""
    first = QueueServer(service, port=0)
    port = await first.start()
    url = f"ws://127.0.0.1:{port}"
    try:
        async with QueueClient(url, Credentials(role=Role.KIOSK, token=KIOSK_TOKEN)) as kiosk:
            mine = await kiosk.request(IssueTicket, category="SW")
        page = await StatusPage.open(url, mine.ticket.id, mine.secret)
    finally:
        await first.stop()
    with pytest.raises(ConnectionClosed):
        await page.read()
    restarted = QueueServer(HallService(service.engine, clock=service.clock), port=port)
    await restarted.start()
    try:
        again = await StatusPage.open(url, mine.ticket.id, mine.secret)
        assert again.status is not None and again.status.number == mine.ticket.number
        assert again.status.state is TicketState.WAITING
        await again.close()
    finally:
        await restarted.stop()


@pytest.mark.hall_clock
async def test_past_days_tickets_are_expired(connect: Connect, url: str, clock: Clock) -> None:
    """A page open across the close-out is told its ticket expired; opened the next day,
    it is answered once (expired) and closed."""
    kiosk = await connect("kiosk")
    mine = await kiosk.request(IssueTicket, category="SW")
    page = await StatusPage.open(url, mine.ticket.id, mine.secret)
    clock.advance(days=1)  # the poller closes the day out
    expired = await page.until(lambda s: s.expired)
    assert expired.state is TicketState.EXPIRED and expired.people_ahead == 0
    later = await StatusPage.open(url, mine.ticket.id, mine.secret)
    assert later.status is not None and later.status.expired
    await asyncio.wait_for(later.ws.wait_closed(), 10)
    assert later.ws.close_code == 1000
    await page.close()


def test_the_page_names_no_other_ticket_in_its_hello_reply_schema() -> None:
    """The citizen's hello reply has no snapshot, and its view no staff or citizen field."""
    from queue_protocol.messages import CitizenHelloReply, CitizenTicketView

    assert "snapshot" not in CitizenHelloReply.model_fields
    fields = set(CitizenTicketView.model_fields)
    assert not fields & {"staff", "staff_name", "name", "phone", "tickets", "queues"}


async def test_the_page_s_figures_are_ticket_status_s(connect: Connect, url: str) -> None:
    """Across categories sharing 全科 windows, a paused window and a green-channel ticket,
    each page says what ticket_status says (the page works the capacities out once per
    category, citizen.Estimates)."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=1)
    await window.request(PauseWindow, reason="午休")
    slips = []
    for category, priority in [
        ("SW", Priority.NORMAL), ("QY", Priority.NORMAL), ("SW", Priority.NORMAL),
        ("BT", Priority.NORMAL), ("SW", Priority.GREEN), ("QY", Priority.NORMAL),
        ("SW", Priority.NORMAL), ("BT", Priority.NORMAL),
    ]:  # fmt: skip
        slips.append(await kiosk.request(IssueTicket, category=category, priority=priority))
    for slip in slips:
        page = await StatusPage.open(url, slip.ticket.id, slip.secret)
        status = await kiosk.request(TicketStatus, ticket=slip.ticket.id)
        assert page.status is not None
        assert page.status.people_ahead == status.people_ahead, slip.ticket.number
        assert page.status.estimated_wait_minutes == round(status.estimated_wait_minutes)
        await page.close()
