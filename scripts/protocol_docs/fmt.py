"""Format recorded frames the way docs/protocol.md shows them.

`trim` leaves out what the doc's introduction says examples leave out (fields holding their
default, `null`s); `dumps` writes JSON on one line when it fits and breaks it up otherwise.
"""

from __future__ import annotations

import json
from typing import Any

# Defaults left out of views after the first full ticket. A ticket's `priority` is always
# shown, default or not.
TICKET_DEFAULTS: dict[str, Any] = {
    "item": None,
    "call_times": [],
    "started_at": None,
    "finished_at": None,
    "no_show_at": None,
    "window": None,
    "staff": None,
    "recall_count": 0,
    "transfers": [],
    "chain_step": 0,
    "steps": 1,
    "step": None,
    "target_window": None,
    "appointment_at": None,
}
WINDOW_DEFAULTS: dict[str, Any] = {
    "zone": "",
    "staff": None,
    "staff_name": None,
    "pause_reason": None,
    "ticket": None,
    "connected": False,
}
TRANSFER_DEFAULTS: dict[str, Any] = {"from_window": None, "to_window": None}

# A top-level line may be this long; nested lines may run a little longer.
TOP_WIDTH = 88
WIDTH = 96


def _defaults(view: dict[str, Any], full_ticket: bool) -> dict[str, Any]:
    """The defaults to leave out of `view`, told by the fields it has."""
    if "issued_at" in view and "number" in view and "state" in view:  # a ticket
        return {} if full_ticket else TICKET_DEFAULTS
    if "profile" in view and "number" in view and "state" in view:  # a window
        return WINDOW_DEFAULTS
    if "from_category" in view:  # a transfer
        return TRANSFER_DEFAULTS
    if "category" in view and "waiting" in view:  # a queue
        return {"oldest_queued_at": None}
    if "code" in view and "prefix" in view:  # a category
        return {"daily_capacity": None}
    if "materials" in view and "category" in view:  # an item
        return {"chain": [], "materials": []}
    if "code" in view and "slot" in view and "phone" in view:  # an appointment
        return {"item": None, "ticket": None}
    if "window_name" in view and "recall" in view:  # a call
        return {"zone": ""}
    return {}


def trim(value: Any, *, full_ticket: bool = False, keep: frozenset[str] = frozenset()) -> Any:
    """Drop defaults inside views and `null`s everywhere, except the fields named in `keep`.

    With `full_ticket`, the top-level `ticket` (or the value itself, if it is a ticket) is
    shown whole, `null`s included.
    """
    if isinstance(value, list):
        return [trim(v, full_ticket=full_ticket, keep=keep) for v in value]
    if not isinstance(value, dict):
        return value
    defaults = _defaults(value, full_ticket)
    out = {}
    for k, v in value.items():
        if k in keep:
            out[k] = trim(v, full_ticket=full_ticket, keep=keep)
        elif (k in defaults and v == defaults[k]) or (v is None and not full_ticket):
            continue
        elif k == "ticket" and isinstance(v, dict):
            out[k] = trim(v, full_ticket=full_ticket, keep=keep)
        else:
            out[k] = trim(v, full_ticket=False, keep=keep)
    return out


def dumps(value: Any, indent: int = 0, prefix: str = "", suffix: str = "") -> str:
    """`value` as JSON, one line if it fits, else one line per member (recursively).

    `prefix` (such as `"key": `) and `suffix` (such as `,`) go around it on its first and
    last line.
    """
    pad = " " * indent
    inline = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    limit = TOP_WIDTH if indent == 0 else WIDTH
    fits = len(pad + prefix + inline + suffix) <= limit
    if fits or not isinstance(value, dict | list) or not value:
        return pad + prefix + inline + suffix
    if isinstance(value, dict):
        opening, closing = "{", "}"
        items = [(json.dumps(k, ensure_ascii=False) + ": ", v) for k, v in value.items()]
    else:
        opening, closing = "[", "]"
        items = [("", v) for v in value]
    lines = [pad + prefix + opening]
    for i, (key, v) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(dumps(v, indent + 2, key, comma))
    lines.append(pad + closing + suffix)
    return "\n".join(lines)
