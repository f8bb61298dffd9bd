"""Ticket and appointment slips on ESC/POS receipt printers, through python-escpos.

    --printer none                 show the ticket on screen only (default)
    --printer network:HOST:PORT    a network printer (port 9100 on most)
    --printer usb:VID:PID          a USB printer, ids in hex (e.g. usb:0416:5011)
    --printer file:PATH            a device or file, e.g. file:/dev/usb/lp0

Chinese text is sent as GB18030 after `FS &` (Chinese character mode), which is what the
thermal printers sold in China expect; the QR code is rendered by the printer itself
(`GS ( k`) and carries the ticket id with the ticket's secret (see `slip_qr_text`): only
the holder of the slip can use it, so the secret is never printed as text.

An appointment slip carries the check-in code as text (the citizen types it at check-in)
and the phone number only masked, as the server sends it.

A printer fault never stops a ticket: the ticket is issued first, printing comes after,
and a failure is reported on screen and to the log as a `PrintResult`. Nor a booking.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kiosk.i18n import Texts

log = logging.getLogger(__name__)

CHINESE_MODE = b"\x1c\x26"  # FS &: select Chinese character mode
NETWORK_TIMEOUT = 5.0  # seconds; a kiosk must not hang on a printer that vanished

Connect = Callable[[], Any]  # returns an escpos printer (escpos.escpos.Escpos)


class PrinterSpecError(ValueError):
    """A --printer value that cannot be understood."""


@dataclass(frozen=True)
class TicketSlip:
    """What goes on paper; every text already in the kiosk's language."""

    hall: str
    number: str
    category: str
    people_ahead: int
    wait_minutes: float
    issued_at: datetime  # hall-local time
    ticket_id: str
    item: str | None = None
    note: str = ""
    chain: str = ""  # the one-chain note ("一链办理 共5步，第1步：企业登记"), or nothing
    state: str = ""  # the ticket's state when it is not simply waiting (a lost slip again)
    lang: str = "zh"
    # The ticket's secret for the QR code; kept out of reprs so it never reaches a log.
    secret: str | None = field(default=None, repr=False)
    # The server's status pages (http://HOST:8765): the QR code is the ticket's page there.
    page: str | None = None


@dataclass(frozen=True)
class AppointmentSlip:
    """A booking on paper: the check-in code and when to come; every text in `lang`."""

    hall: str
    code: str
    category: str
    day: date
    slot: str  # HH:MM, hall-local
    phone: str  # masked (138****5678), as the server sent it back
    item: str | None = None
    lang: str = "zh"

    def __repr__(self) -> str:  # the code checks the booking in: keep it out of logs
        return f"appointment slip {self.category} {self.day} {self.slot}"


Slip = TicketSlip | AppointmentSlip


@dataclass(frozen=True)
class PrintResult:
    printed: bool
    error: str | None = None  # what went wrong, for the screen and the log


def slip_qr_text(ticket_id: str, secret: str | None, page: str | None = None) -> str:
    """What the slip's QR code says: the ticket and the secret that proves holding its slip
    — with `page` (the server's http address), the address of the ticket's status page
    (queue_server/citizen.py), which a phone's camera opens."""
    if page and secret:
        return f"{page.rstrip('/')}/t/{ticket_id}?k={secret}"
    text = f"yichuang:t/{ticket_id}"
    return f"{text}?k={secret}" if secret else text


def status_page_base(server: str) -> str:
    """The status pages' address of the server at websocket URL `server`: the same host and
    port over http (https for wss)."""
    scheme, sep, rest = server.partition("://")
    if not sep or scheme not in ("ws", "wss"):
        raise ValueError(f"not a ws:// or wss:// address: {server!r}")
    return ("https" if scheme == "wss" else "http") + "://" + rest.split("/", 1)[0]


def write_slip(printer: Any, slip: TicketSlip) -> None:
    """Send one ticket slip to an escpos printer (any python-escpos printer class)."""
    t = Texts(slip.lang)

    def cjk(text: str) -> None:
        printer._raw(text.encode("gb18030", errors="replace") + b"\n")

    printer.hw("INIT")
    printer._raw(CHINESE_MODE)
    printer.set(align="center", bold=True, double_height=True, double_width=True)
    cjk(slip.hall)
    printer.set(align="center", bold=True, custom_size=True, width=4, height=4)
    printer.textln(slip.number)
    printer.set(align="center", bold=False, normal_textsize=True)
    cjk(slip.category if not slip.item else f"{slip.category} · {slip.item}")
    if slip.chain:
        cjk(slip.chain)
    if slip.state:
        cjk(slip.state)
    else:
        cjk(t("ticket_ahead", n=slip.people_ahead))
        cjk(t("ticket_wait", m=f"{slip.wait_minutes:.0f}"))
    cjk(t("ticket_time", t=slip.issued_at.strftime("%Y-%m-%d %H:%M")))
    if slip.note:
        cjk(slip.note)
    printer.qr(slip_qr_text(slip.ticket_id, slip.secret, slip.page), size=6, native=True)
    printer.ln()
    cjk(t("ticket_hint"))
    printer.cut()


def write_appointment_slip(printer: Any, slip: AppointmentSlip) -> None:
    """Send one appointment slip to an escpos printer."""
    t = Texts(slip.lang)

    def cjk(text: str) -> None:
        printer._raw(text.encode("gb18030", errors="replace") + b"\n")

    printer.hw("INIT")
    printer._raw(CHINESE_MODE)
    printer.set(align="center", bold=True, double_height=True, double_width=True)
    cjk(slip.hall)
    printer.set(align="center", bold=True, normal_textsize=True)
    cjk(t("slip_title"))
    printer.set(align="center", bold=False, normal_textsize=True)
    cjk(t("code_label"))
    printer.set(align="center", bold=True, custom_size=True, width=3, height=3)
    printer.textln(slip.code)
    printer.set(align="center", bold=False, normal_textsize=True)
    cjk(slip.category if not slip.item else f"{slip.category} · {slip.item}")
    cjk(f"{t.day(slip.day)} {slip.slot}")
    cjk(t("booked_phone", phone=slip.phone))
    printer.ln()
    cjk(t("booked_hint"))
    printer.cut()


class TicketPrinter:
    """Opens the printer for each slip (a printer switched off and on again is found
    again) and turns every fault into a PrintResult."""

    def __init__(self, connect: Connect | None, description: str = "none") -> None:
        self._connect = connect
        self.description = description

    @property
    def enabled(self) -> bool:
        return self._connect is not None

    def print_slip(self, slip: Slip) -> PrintResult:
        if self._connect is None:
            return PrintResult(printed=False)
        what = f"ticket {slip.number}" if isinstance(slip, TicketSlip) else repr(slip)
        printer: Any = None
        try:
            printer = self._connect()
            _check_paper(printer)
            if isinstance(slip, TicketSlip):
                write_slip(printer, slip)
            else:
                write_appointment_slip(printer, slip)
        except Exception as exc:  # escpos, socket and USB errors all mean "not printed"
            error = _describe(exc)
            log.error("printing %s on %s failed: %s", what, self.description, error)
            return PrintResult(printed=False, error=error)
        finally:
            if printer is not None:
                try:
                    printer.close()
                except Exception:
                    log.debug("closing printer %s failed", self.description, exc_info=True)
        log.info("printed %s on %s", what, self.description)
        return PrintResult(printed=True)


def _check_paper(printer: Any) -> None:
    """Ask a printer that can answer (network, USB) whether it has paper."""
    from escpos.printer import Network, Usb

    if not isinstance(printer, Network | Usb):
        return
    try:
        status = printer.paper_status()
    except Exception:  # a printer that does not answer status queries may still print
        log.debug("paper status unknown", exc_info=True)
        return
    if status == 0:
        raise PrinterFault("out of paper")


class PrinterFault(Exception):
    """The printer said it cannot print (e.g. out of paper)."""


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def printer_from_spec(spec: str) -> TicketPrinter:
    """Build a TicketPrinter from a --printer value (see the module docstring)."""
    kind, _, rest = spec.partition(":")
    if kind == "none" and not rest:
        return TicketPrinter(None, "none")
    from escpos.printer import Dummy, File, Network, Usb

    if kind == "network":
        host, _, port = rest.rpartition(":")
        if not host or not port.isdigit():
            raise PrinterSpecError(f"expected network:HOST:PORT, got {spec!r}")
        return TicketPrinter(
            lambda: Network(host, int(port), timeout=NETWORK_TIMEOUT), f"network {host}:{port}"
        )
    if kind == "usb":
        vid, _, pid = rest.partition(":")
        try:
            vendor, product = int(vid, 16), int(pid, 16)
        except ValueError as exc:
            raise PrinterSpecError(f"expected usb:VID:PID in hex, got {spec!r}") from exc
        return TicketPrinter(lambda: Usb(vendor, product), f"usb {vid}:{pid}")
    if kind == "file" and rest:
        return TicketPrinter(lambda: File(rest), f"file {rest}")
    if kind == "dummy" and not rest:  # renders and discards: for trying the kiosk out
        return TicketPrinter(Dummy, "dummy")
    raise PrinterSpecError(
        f"unknown printer {spec!r}: use none, network:HOST:PORT, usb:VID:PID or file:PATH"
    )
