"""The server address a login form's text names."""

from __future__ import annotations

from websockets.exceptions import InvalidURI
from websockets.uri import parse_uri


def server_address(text: str) -> str | None:
    """The websocket address the form's text names (ws:// when no scheme is given), or None
    when it is not one. Checked here, before connecting: the connection would only report
    a bad address as a generic bad request."""
    address = text.strip()
    if "://" not in address:
        address = f"ws://{address}"
    try:
        parsed = parse_uri(address)
    except (InvalidURI, ValueError):  # ValueError: a port that is not a number 0-65535
        return None
    if not parsed.host or any(c.isspace() for c in parsed.host):
        return None
    return address
