"""Kiosk printing end to end: slips through a Dummy printer, and printer faults."""

from __future__ import annotations

from typing import Any

import pytest
from escpos.printer import Dummy

from kiosk.app import make_app
from kiosk.printing import TicketPrinter
from queue_protocol.messages import IssueTicket
from tests.conftest import KIOSK_TOKEN, Clock, Connect
from tests.tui.test_kiosk import SIZE, ready, text_of, ticket_shown, until

pytestmark = pytest.mark.hall_clock  # the server runs on the test clock


class FlakyPrinter(Dummy):
    """A Dummy printer that fails every write while `broken` is set (offline, no paper)."""

    broken = True

    def _raw(self, msg: bytes) -> None:
        if FlakyPrinter.broken:
            raise OSError("out of paper")
        super()._raw(msg)


async def test_printed_ticket_goes_through_escpos(url: str, clock: Clock) -> None:
    """The issued ticket is printed: number, hall name and QR code reach the printer."""
    paper = Dummy()
    app = make_app(url, KIOSK_TOKEN, printer=TicketPrinter(lambda: paper, "dummy"), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("1", "n")
        screen = await ticket_shown(pilot)
        await until(pilot, lambda: "请取走" in text_of(app, "#print-status"))
        number = screen.issued.reply.ticket.number
    assert number.encode() in paper.output
    assert "东湖区政务服务大厅".encode("gb18030") in paper.output
    assert b"\x1d(k" in paper.output and screen.issued.reply.ticket.id.encode() in paper.output


async def test_printer_fault_still_issues_one_ticket(
    url: str, clock: Clock, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing printer leaves one issued ticket, says so on screen, and reprint issues none."""
    FlakyPrinter.broken = True
    paper = FlakyPrinter()
    app = make_app(url, KIOSK_TOKEN, printer=TicketPrinter(lambda: paper, "flaky"), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("1", "n")
        screen = await ticket_shown(pilot)
        await until(pilot, lambda: "打印失败" in text_of(app, "#print-status"))
        assert "out of paper" in text_of(app, "#print-status")
        assert "A001" in text_of(app, "#number-text")
        assert not app.screen.query_one("#reprint").has_class("-hidden")
        FlakyPrinter.broken = False  # paper loaded: print again
        await pilot.click("#reprint")
        await until(pilot, lambda: "请取走" in text_of(app, "#print-status"))
        assert screen.issued.reply.ticket.number == "A001"
    assert b"A001" in paper.output
    assert "printing ticket A001 on flaky failed: out of paper" in caplog.text
    probe = await connect("kiosk")
    reply: Any = await probe.request(IssueTicket, category="QY")
    assert reply.ticket.number == "A002"  # exactly one ticket was issued before
