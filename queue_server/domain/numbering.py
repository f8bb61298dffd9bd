"""Ticket numbers: category prefix + zero-padded daily sequence (A001), reset per local day."""

from __future__ import annotations

from datetime import date


def ticket_number(prefix: str, sequence: int) -> str:
    """A001 … A999, then A1000: the number grows rather than wrapping, so none is reused."""
    if sequence < 1:
        raise ValueError("ticket sequence starts at 1")
    return f"{prefix}{sequence:03d}"


def ticket_id(day: date, number: str) -> str:
    """Hall-unique id carried by the QR code: local date + number."""
    return f"{day:%Y%m%d}-{number}"


def day_of_ticket_id(ticket_id_: str) -> str:
    return ticket_id_.split("-", 1)[0]
