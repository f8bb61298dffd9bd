"""Kiosk printing end to end: slips through a Dummy printer, and printer faults."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from escpos.printer import Dummy
from textual.widgets import Static

from kiosk.app import make_app
from kiosk.printing import TicketPrinter
from queue_protocol.messages import BookAppointment, CheckIn, IssueTicket
from tests.conftest import KIOSK_TOKEN, Clock, Connect
from tests.tui.test_kiosk import (
    SIZE,
    TODAY,
    notice_shown,
    ready,
    text_of,
    ticket_shown,
    until,
)

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


async def test_slip_qr_code_carries_the_ticket_secret(
    url: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """The QR holds yichuang:t/<id>?k=<secret>, shown nowhere else; a chain slip names steps."""
    caplog.set_level(logging.DEBUG, logger="kiosk")
    caplog.set_level(logging.DEBUG, logger="queue_protocol")
    paper = Dummy()
    app = make_app(url, KIOSK_TOKEN, printer=TicketPrinter(lambda: paper, "dummy"), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.click("#cat-QY")
        await until(pilot, lambda: bool(app.screen.query("#item-0")))
        await pilot.click("#item-0")  # 企业设立登记, a five-step chain
        await pilot.click("#prio-normal")
        screen = await ticket_shown(pilot)
        await until(pilot, lambda: "请取走" in text_of(app, "#print-status"))
        on_screen = [str(w.render()) for w in app.screen.query(Static)]
    reply = screen.issued.reply
    assert reply.secret
    qr_data = b"1P0" + f"yichuang:t/{reply.ticket.id}?k={reply.secret}".encode()
    assert qr_data in paper.output
    assert reply.secret.encode() not in paper.output.replace(qr_data, b"")
    assert "一链办理 共5步，第1步：企业登记".encode("gb18030") in paper.output
    assert not any(reply.secret in text for text in on_screen)
    ours = [r for r in caplog.records if r.name.startswith(("kiosk", "queue_protocol"))]
    assert ours and not any(reply.secret in r.getMessage() for r in ours)


async def test_used_check_in_code_prints_nothing(url: str, clock: Clock, connect: Connect) -> None:
    """A check-in code used again after its ticket expired is refused, and nothing prints."""
    booker = await connect("kiosk")
    code = (
        await booker.request(
            BookAppointment,
            category="QY",
            day=TODAY,
            slot="10:30",
            name="张三",
            phone="13812345678",
        )
    ).appointment.code
    clock.advance(minutes=20)
    await booker.request(CheckIn, code=code)
    clock.now = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 09:00 next day: closed out
    paper = Dummy()
    app = make_app(url, KIOSK_TOKEN, printer=TicketPrinter(lambda: paper, "dummy"), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("c", *code.lower(), "enter")
        message = await notice_shown(pilot)
        assert "已经签到办理过" in message and "已过期" in message
        await pilot.pause()
    assert paper.output == b""
