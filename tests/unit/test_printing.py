"""Ticket slips through python-escpos: the bytes sent, faults, and --printer parsing."""

from __future__ import annotations

import socket
from datetime import date, datetime
from typing import Any

import pytest
from escpos.printer import Dummy

from kiosk.printing import (
    AppointmentSlip,
    PrinterSpecError,
    TicketPrinter,
    TicketSlip,
    printer_from_spec,
    slip_qr_text,
    status_page_base,
    write_appointment_slip,
    write_slip,
)

SECRET = "q7Vx-2mK_9pLwT4a"

SLIP = TicketSlip(
    hall="东湖区政务服务大厅",
    number="A001",
    category="企业开办",
    item="企业设立登记",
    people_ahead=3,
    wait_minutes=12.4,
    issued_at=datetime(2026, 11, 25, 10, 0),
    ticket_id="20261125-A001",
    secret=SECRET,
)


def test_slip_carries_number_hall_and_qr_code() -> None:
    """The bytes hold the ticket number, the hall name (GB18030) and a QR code of id+secret."""
    printer = Dummy()
    write_slip(printer, SLIP)
    out = printer.output
    assert b"A001" in out
    assert "东湖区政务服务大厅".encode("gb18030") in out
    assert "企业开办".encode("gb18030") in out
    assert "前面还有 3 人".encode("gb18030") in out
    assert b"2026-11-25 10:00" in out
    assert b"\x1d(k" in out  # GS ( k: the printer's own QR code command
    # QR data: store the ticket id and its secret
    assert b"1P0" + f"yichuang:t/20261125-A001?k={SECRET}".encode() in out
    assert b"\x1dV" in out  # GS V: cut the paper


def test_qr_text_names_the_ticket_and_its_secret() -> None:
    """The QR text is yichuang:t/<ticket id>?k=<secret>; without a secret, the id alone."""
    assert slip_qr_text("20261125-A001", "abc_-9") == "yichuang:t/20261125-A001?k=abc_-9"
    assert slip_qr_text("20261125-A001", None) == "yichuang:t/20261125-A001"


def test_qr_code_is_the_status_page_when_the_kiosk_knows_it() -> None:
    """With the server's page address the QR is the ticket's status page, which a phone's
    camera opens; the address comes from the kiosk's --server unless given."""
    page = "http://10.0.0.5:8765/"
    assert (
        slip_qr_text("20261125-A001", "abc_-9", page)
        == "http://10.0.0.5:8765/t/20261125-A001?k=abc_-9"
    )
    assert slip_qr_text("20261125-A001", None, page) == "yichuang:t/20261125-A001"
    assert status_page_base("ws://10.0.0.5:8765") == "http://10.0.0.5:8765"
    assert status_page_base("wss://hall.example/") == "https://hall.example"
    with pytest.raises(ValueError):
        status_page_base("10.0.0.5:8765")
    printer = Dummy()
    write_slip(printer, TicketSlip(**{**SLIP.__dict__, "page": page}))
    address = f"http://10.0.0.5:8765/t/{SLIP.ticket_id}?k={SECRET}"
    assert b"1P0" + address.encode() in printer.output


def test_secret_is_only_in_the_qr_code() -> None:
    """The secret reaches the printer once, inside the QR data, and never as printed text."""
    printer = Dummy()
    write_slip(printer, SLIP)
    out = printer.output
    qr_data = b"1P0" + slip_qr_text(SLIP.ticket_id, SECRET).encode()
    assert out.count(SECRET.encode()) == 1
    assert SECRET.encode() not in out.replace(qr_data, b"")
    assert SECRET not in repr(SLIP)  # nor in a log line that shows the slip


def test_one_chain_note_on_the_slip() -> None:
    """A one-chain ticket's slip says how many steps the visit has and which one is next."""
    printer = Dummy()
    chain = "一链办理 共5步，第1步：企业登记"
    write_slip(printer, TicketSlip(**{**SLIP.__dict__, "chain": chain}))
    assert chain.encode("gb18030") in printer.output
    plain = Dummy()
    write_slip(plain, SLIP)
    assert "一链办理".encode("gb18030") not in plain.output


def test_english_slip() -> None:
    """An English kiosk prints its slip in English."""
    printer = Dummy()
    write_slip(printer, TicketSlip(**{**SLIP.__dict__, "lang": "en"}))
    assert b"3 people ahead of you" in printer.output


BOOKING = AppointmentSlip(
    hall="东湖区政务服务大厅",
    code="A3C7KM",
    category="企业开办",
    item="企业设立登记",
    day=date(2026, 11, 26),
    slot="09:30",
    phone="138****5678",
)


def test_appointment_slip_carries_the_code_and_the_masked_phone() -> None:
    """The appointment slip: hall, check-in code as text, what and when, the masked phone."""
    printer = Dummy()
    write_appointment_slip(printer, BOOKING)
    out = printer.output
    assert b"A3C7KM\n" in out
    for text in (
        "东湖区政务服务大厅",
        "预约凭条",
        "企业开办 · 企业设立登记",
        "11月26日 周四 09:30",
    ):
        assert text.encode("gb18030") in out
    assert "手机 138****5678".encode("gb18030") in out
    assert b"\x1dV" in out  # cut


def test_appointment_slip_keeps_its_code_out_of_the_log(caplog: pytest.LogCaptureFixture) -> None:
    """Printing (or failing to print) an appointment slip logs neither its code nor its phone."""
    assert TicketPrinter(Dummy, "dummy").print_slip(BOOKING).printed
    assert not TicketPrinter(BrokenPrinter, "broken").print_slip(BOOKING).printed
    assert "appointment slip 企业开办 2026-11-26 09:30" in caplog.text
    assert "A3C7KM" not in caplog.text and "5678" not in caplog.text
    assert "A3C7KM" not in repr(BOOKING)


class BrokenPrinter(Dummy):
    """A printer whose every write fails, as one out of paper or switched off does."""

    def _raw(self, msg: bytes) -> None:
        raise OSError("printer offline")


def test_fault_becomes_a_print_result(caplog: pytest.LogCaptureFixture) -> None:
    """A printer that raises on write gives a failed PrintResult and an error in the log."""
    result = TicketPrinter(BrokenPrinter, "broken").print_slip(SLIP)
    assert not result.printed and result.error == "printer offline"
    assert "printing ticket A001 on broken failed" in caplog.text


def test_no_printer_prints_nothing() -> None:
    """--printer none shows tickets on screen only."""
    printer = printer_from_spec("none")
    assert not printer.enabled
    assert printer.print_slip(SLIP).printed is False and printer.print_slip(SLIP).error is None


def test_offline_network_printer_is_reported() -> None:
    """A network printer nobody listens on is reported, not raised."""
    with socket.socket() as sock:  # find a free port, then leave it closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = printer_from_spec(f"network:127.0.0.1:{port}").print_slip(SLIP)
    assert not result.printed and result.error


def test_file_printer_writes_the_slip(tmp_path: Any) -> None:
    """file:PATH writes the same bytes a device file would receive."""
    path = tmp_path / "lp0"
    path.write_bytes(b"")
    assert printer_from_spec(f"file:{path}").print_slip(SLIP).printed
    assert b"A001" in path.read_bytes()


@pytest.mark.parametrize(
    ("spec", "description"),
    [
        ("network:192.168.1.50:9100", "network 192.168.1.50:9100"),
        ("usb:0416:5011", "usb 0416:5011"),
        ("file:/dev/usb/lp0", "file /dev/usb/lp0"),
    ],
)
def test_printer_specs(spec: str, description: str) -> None:
    """Each --printer form builds a printer without touching the device yet."""
    printer = printer_from_spec(spec)
    assert printer.enabled and printer.description == description


@pytest.mark.parametrize("spec", ["network:host", "usb:xyz:1", "serial:/dev/ttyS0", "file:", ""])
def test_bad_printer_specs(spec: str) -> None:
    """A --printer value that cannot be understood is refused with the accepted forms."""
    with pytest.raises(PrinterSpecError):
        printer_from_spec(spec)
