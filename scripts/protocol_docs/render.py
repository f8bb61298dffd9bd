"""Render docs/protocol.md from protocol.tmpl.md and the recorded frames.

A template line that holds nothing but `<<expr>>` (indentation allowed) is replaced by what
the Python expression `expr` returns, indented like the placeholder; every other line,
HTML comments included, is copied as it is. The expressions call the helpers of `Captures`
(`req`, `rep`, `err_full`, `ev`, `raw_req`, `healthz`) and `snap`. `src` picks the capture:
`"S"` scenario (the default), `"E"` edges, `"C"` checks.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .fmt import dumps, trim

# The capture scripts, by the letter the template uses for them.
SOURCES = {"S": "scenario", "E": "edges", "C": "checks"}
PLACEHOLDER = re.compile(r"^([ \t]*)<<(.*)>>$", re.MULTILINE)

Frame = dict[str, Any]


def _block(tag: str, frame: Any) -> str:
    """An example as the doc (and tests/unit/test_protocol_schema.py) expects it."""
    return f"<!-- example: {tag} -->\n```json\n{dumps(frame)}\n```"


def snap(
    windows: list[int] | None = None,
    cats: int = 3,
    items: int = 2,
    queues: int | list[str] = 3,
    calls: int = 2,
    stats: list[int] | None = None,
    tickets: int | None = None,
) -> Callable[[Frame], None]:
    """An edit for `rep` that shortens a snapshot's long lists (as the doc says it does).

    Ints keep the first few entries; lists keep the entries of those windows or categories.
    """

    def edit(frame: Frame) -> None:
        s = frame["snapshot"]
        s["categories"] = s["categories"][:cats]
        s["items"] = s["items"][:items]
        if windows is not None:
            s["windows"] = [w for w in s["windows"] if w["number"] in windows]
        if isinstance(queues, int):
            s["queues"] = s["queues"][:queues]
        else:
            s["queues"] = [q for q in s["queues"] if q["category"] in queues]
        s["recent_calls"] = s["recent_calls"][:calls]
        if stats is not None:
            s["window_stats"] = [w for w in s["window_stats"] if w["window"] in stats]
        if tickets is not None:
            s["tickets"] = s["tickets"][:tickets]

    return edit


def short_config(frame: Frame) -> None:
    """An edit for `req`/`rep` that keeps the first entries of a configuration's lists (as
    the doc says it does): a hall's whole configuration is hundreds of lines."""
    config = frame["config"]
    for key, keep in (("categories", 2), ("items", 1), ("windows", 2)):
        config[key] = config[key][:keep]
    config["appointments"]["slots"] = config["appointments"]["slots"][:1]
    config["hall"]["holidays"] = config["hall"]["holidays"][:2]


class Captures:
    """The records of one run of the capture scripts, and the template's helpers."""

    def __init__(self, directory: Path) -> None:
        self.logs: dict[str, list[dict[str, Any]]] = {
            src: json.loads((directory / f"{name}.json").read_text("utf-8"))
            for src, name in SOURCES.items()
        }
        # The verb of each request id, to tag its reply.
        self.verbs = {
            (src, e["frame"]["id"]): e["frame"]["type"]
            for src, log in self.logs.items()
            for e in log
            if e["kind"] == "request"
        }

    def _find(self, src: str, kind: str, rid: str | None, nth: int = 0) -> Frame:
        """A copy of the `nth` request with this `id` (or reply with this `re`)."""
        key = "id" if kind == "request" else "re"
        found = [e for e in self.logs[src] if e["kind"] == kind and e["frame"].get(key) == rid]
        if nth >= len(found):
            raise KeyError((src, kind, rid, nth))
        return copy.deepcopy(found[nth]["frame"])

    def req(
        self, rid: str, src: str = "S", nth: int = 0, edit: Callable[[Frame], None] | None = None
    ) -> str:
        """The request `rid`, whole (after `edit` if given)."""
        frame = self._find(src, "request", rid, nth)
        if edit is not None:
            edit(frame)
        return _block(f"request {frame['type']}", frame)

    def rep(
        self,
        rid: str | None,
        src: str = "S",
        full: bool = False,
        keep: tuple[str, ...] = (),
        edit: Callable[[Frame], None] | None = None,
        nth: int = 0,
    ) -> str:
        """The reply to `rid`, trimmed (`full`: its ticket whole), after `edit` if given."""
        frame = self._find(src, "reply", rid, nth)
        if edit is not None:
            edit(frame)
        shown = trim(frame, full_ticket=full, keep=frozenset(keep))
        if frame["type"] == "error":
            return _block(f"error {frame['code']}", shown)
        return _block(f"reply {self.verbs[(src, rid)]}", shown)

    def err_full(self, rid: str, src: str = "S", nth: int = 0) -> str:
        """The error reply to `rid`, untrimmed (its `null` fields shown)."""
        frame = self._find(src, "reply", rid, nth)
        return _block(f"error {frame['code']}", frame)

    def ev(self, seq: int, conn: str = "admin", src: str = "S", keep: tuple[str, ...] = ()) -> str:
        """The event `seq` as connection `conn` received it, trimmed."""
        for e in self.logs[src]:
            if e["kind"] == "event" and e["conn"] == conn and e["frame"]["seq"] == seq:
                return _block(f"event {e['frame']['name']}", trim(e["frame"], keep=frozenset(keep)))
        raise KeyError((src, conn, seq))

    def raw_req(self, rid: str, src: str = "S") -> str:
        """A request sent as a raw frame (no reply awaited), found by its id."""
        for e in self.logs[src]:
            if e["kind"] == "raw" and isinstance(e["frame"], str) and f'"{rid}"' in e["frame"]:
                frame = json.loads(e["frame"])
                return _block(f"request {frame['type']}", frame)
        raise KeyError((src, rid))

    def healthz(self, src: str = "S") -> str:
        """The body of the `GET /healthz` answer."""
        for e in self.logs[src]:
            if e["kind"] == "http" and e["note"] == "GET /healthz":
                return str(e["frame"]).strip()
        raise KeyError((src, "healthz"))

    def namespace(self) -> dict[str, Any]:
        """What the template's expressions can call."""
        helpers = (
            self.req, self.rep, self.err_full, self.ev, self.raw_req, self.healthz, snap,
            short_config,
        )  # fmt: skip
        return {f.__name__: f for f in helpers}


def render(template: str, captures: Captures) -> str:
    """`template` with each `<<expr>>` line replaced by its value."""
    namespace = captures.namespace()

    def substitute(m: re.Match[str]) -> str:
        indent, expr = m[1], m[2]
        # The template is ours and trusted; eval is what lets it pass edits (lambdas) inline.
        text = str(eval(expr, namespace))
        return "\n".join(indent + line if line else line for line in text.split("\n"))

    return PLACEHOLDER.sub(substitute, template)
