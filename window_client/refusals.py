"""The staff member's words for an error reply: the shared translation (staff_tui.refusals)
in the desk's own words."""

from __future__ import annotations

from queue_protocol.messages import ErrorReply
from staff_tui import refusals
from staff_tui.refusals import Asked
from window_client.i18n import t

__all__ = ["Asked", "describe"]


def describe(error: ErrorReply, *, asked: Asked | None = None, timezone: str) -> str:
    """One sentence in the desk's language for `error`."""
    return refusals.describe(error, t, asked=asked, timezone=timezone)
