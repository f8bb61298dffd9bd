"""The event log folded into cells (docs/statistics.md gives the definitions in words).

`Fold.feed` takes a hall's events in `seq` order and counts every figure that has become
final into cells: a wait when it ends, a service when it ends, a stretch of window time
when the window's state changes, a ticket when its outcome can no longer change, an
appointment when it is checked in, cancelled or missed. What is still open (tickets
waiting, windows open now, appointments to come) stays in the fold's state, which is
plain JSON so the incremental aggregates can keep it between runs; `Fold.provisional`
counts that open part as it stands at a given moment, without changing the state.

Times are taken to the whole second (fractions dropped) before anything is computed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from queue_server.stats.cells import Cell, Cells

# The dimensions each kind of figure is counted by ("hall" always).
TICKET_DIMS = ("category", "item", "window", "staff", "priority", "hour")
WAIT_DIMS = TICKET_DIMS
SERVICE_DIMS = TICKET_DIMS
WINDOW_DIMS = ("window", "staff", "hour")
APPOINTMENT_DIMS = ("category", "item", "priority", "hour")
VISIT_DIMS = ("category", "item", "priority", "hour")

FINAL_TICKET = {"done": "served", "cancelled": "cancelled", "expired": "expired"}


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def whole_seconds(start: datetime, end: datetime) -> int:
    """A duration as the statistics count it (docs/statistics.md): whole seconds between
    the two moments taken to the second. The window's own figures (window_stats) use it
    too."""
    return int(end.timestamp()) - int(start.timestamp())


def ticket_day(ticket_id: str) -> str:
    raw = ticket_id.split("-", 1)[0]
    return f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"


class Fold:
    """One hall's event log, folded in seq order."""

    def __init__(self, timezone: str, state: dict[str, Any] | None = None) -> None:
        self.tz = ZoneInfo(timezone)
        state = state or {}
        self.seq: int = state.get("seq", 0)
        self.tickets: dict[str, dict[str, Any]] = state.get("tickets", {})
        self.windows: dict[str, dict[str, Any]] = state.get("windows", {})
        self.appointments: dict[str, dict[str, Any]] = state.get("appointments", {})
        self._local: dict[int, tuple[str, int, int]] = {}

    def state(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "tickets": self.tickets,
            "windows": self.windows,
            "appointments": self.appointments,
        }

    def state_json(self) -> str:
        return json.dumps(self.state(), separators=(",", ":"), ensure_ascii=False)

    # -- local time ------------------------------------------------------------------------

    def local(self, t: int) -> tuple[str, int, int]:
        """(hall-local date, hour, epoch of the next local hour) of epoch second `t`."""
        hour_start = t - t % 3600  # the zone's offsets are whole hours in the halls served
        cached = self._local.get(hour_start)
        if cached is None:
            here = datetime.fromtimestamp(hour_start, self.tz)
            top = here.replace(minute=0, second=0)
            following = int((top + timedelta(hours=1)).timestamp())
            if len(self._local) > 100_000:
                self._local.clear()
            cached = self._local[hour_start] = (here.date().isoformat(), here.hour, following)
            if int(top.timestamp()) != hour_start:  # a zone with a half-hour offset
                del self._local[hour_start]
                return here.date().isoformat(), here.hour, following
        return cached

    # -- counting ----------------------------------------------------------------------------

    def _cells(self, out: Cells, day: str, keys: dict[str, str]) -> list[Cell]:
        found = []
        for dim, key in (("hall", ""), *keys.items()):
            ref = (day, dim, key)
            cell = out.get(ref)
            if cell is None:
                cell = out[ref] = Cell()
            found.append(cell)
        return found

    def _keys(self, tk: dict[str, Any], dims: Iterable[str], hour: int) -> dict[str, str]:
        values = {
            "category": tk["cat"],
            "item": tk.get("item") or "",
            "window": str(tk["win"]) if tk.get("win") is not None else "",
            "staff": tk.get("staff") or "",
            "priority": tk["prio"],
            "hour": f"{hour:02d}",
        }
        return {d: values[d] for d in dims}

    def _ticket_final(self, out: Cells, tid: str, outcome: str, at: int | None = None) -> None:
        tk = self.tickets.pop(tid)
        self._ticket(out, tk, outcome)
        if outcome == "served" and tk["steps"] > 1 and at is not None:
            hour = self.local(tk["issued"])[1]
            keys = self._keys(tk, VISIT_DIMS, hour)
            keys["category"] = tk["cat0"]
            for cell in self._cells(out, tk["day"], keys):
                cell.n["visits"] += 1
                cell.s["visit"] += at - tk["issued"]
                if tk.get("chain_ended"):
                    cell.n["chains_ended"] += 1

    def _ticket(self, out: Cells, tk: dict[str, Any], outcome: str) -> None:
        hour = self.local(tk["issued"])[1]
        keys = self._keys(tk, TICKET_DIMS, hour)
        keys["category"] = tk["cat0"]  # a ticket counts in the category it was issued in
        for cell in self._cells(out, tk["day"], keys):
            cell.n["issued"] += 1
            cell.n[outcome] += 1
            if tk.get("transfers"):
                cell.n["transferred"] += 1
            if tk.get("moves"):
                cell.n["moved"] += 1

    def _end_wait(self, out: Cells, tk: dict[str, Any], t: int, window: int | None) -> None:
        since = tk.pop("wait", None)
        if since is None:
            return
        hour = self.local(since)[1]
        keys = self._keys({**tk, "win": window}, WAIT_DIMS, hour)
        for cell in self._cells(out, tk["day"], keys):
            cell.n["waits"] += 1
            cell.s["wait"] += t - since
            cell.wait(tk["cat"], t - since)

    def _service(self, out: Cells, tk: dict[str, Any], t: int, window: int, how: str) -> None:
        started = tk.pop("started", None)
        if started is None:
            return
        hour = self.local(started)[1]
        keys = self._keys({**tk, "win": window}, SERVICE_DIMS, hour)
        for cell in self._cells(out, tk["day"], keys):
            if how == "transferred":
                cell.n["transfers"] += 1
            else:
                cell.n["services"] += 1
                cell.s["service"] += t - started
                cell.services[t - started] += 1

    def _window_time(
        self, out: Cells, number: str, w: dict[str, Any], until: int, *, closed_ok: bool
    ) -> None:
        """The window's time in its current state from `w["since"]` to `until`, split at
        every local hour (and so at midnight)."""
        state, start = w["state"], w["since"]
        if state == "closed" and not closed_ok:
            return
        reason = w.get("reason") or ""
        while start < until:
            day, hour, following = self.local(start)
            end = min(until, following)
            keys = {"window": number, "staff": w.get("staff") or "", "hour": f"{hour:02d}"}
            for cell in self._cells(out, day, keys):
                cell.s[f"t_{state}"] += end - start
                if state == "paused":
                    cell.paused[reason] += end - start
            start = end

    def _appointment(self, out: Cells, a: dict[str, Any], outcome: str | None) -> None:
        keys = {
            "category": a["cat"],
            "item": a.get("item") or "",
            "priority": "appointment",
            "hour": a["slot"][:2],
        }
        for cell in self._cells(out, a["day"], keys):
            cell.n["appt_booked"] += 1
            if outcome is not None:
                cell.n[f"appt_{outcome}"] += 1

    # -- events ------------------------------------------------------------------------------

    def feed(self, events: Iterable[tuple[int, str]], out: Cells) -> None:
        """Fold events given as (seq, payload JSON), in seq order, counting into `out`."""
        for seq, payload in events:
            if seq <= self.seq:
                continue  # already folded (a second run over the same events)
            self.seq = seq
            if not payload:
                continue  # an event the statistics do not read (compute.events)
            event = json.loads(payload)
            handler = _HANDLERS.get(event["name"])
            if handler is not None:
                handler(self, event, epoch(event["at"]), out)

    def _issued(self, e: dict[str, Any], t: int, out: Cells) -> None:
        v = e["ticket"]
        self.tickets[v["id"]] = {
            "day": ticket_day(v["id"]),
            "issued": epoch(v["issued_at"]),
            "cat0": v["category"],
            "cat": v["category"],
            "item": v.get("item"),
            "prio": v.get("priority", "normal"),
            "steps": v.get("steps", 1),
            "wait": t,
            "state": "waiting",
        }

    def _track(self, e: dict[str, Any]) -> dict[str, Any] | None:
        return self.tickets.get(e["ticket"]["id"])

    def _called(self, e: dict[str, Any], t: int, out: Cells) -> None:
        tk = self._track(e)
        if tk is None:
            return
        tk["staff"] = e["ticket"].get("staff")
        self._end_wait(out, tk, t, e["window"])
        tk["win"], tk["state"] = e["window"], "called"

    def _recalled(self, e: dict[str, Any], t: int, out: Cells) -> None:
        tk = self._track(e)
        if tk is None:
            return
        for cell in self._cells(out, tk["day"], self._keys(tk, WINDOW_DIMS, self.local(t)[1])):
            cell.n["recalls"] += 1

    def _started(self, e: dict[str, Any], t: int, out: Cells) -> None:
        tk = self._track(e)
        if tk is not None:
            tk["started"], tk["state"] = t, "serving"

    def _finished(self, e: dict[str, Any], t: int, out: Cells) -> None:
        tk = self._track(e)
        if tk is None:
            return
        self._service(out, tk, t, e["window"], "done")
        if e["ticket"]["state"] == "waiting":  # on to the next one-chain step
            tk["wait"], tk["state"] = t, "waiting"
            return
        if e.get("chain_ended"):
            tk["chain_ended"] = True
        self._ticket_final(out, e["ticket"]["id"], "served", t)

    def _transferred(self, e: dict[str, Any], t: int, out: Cells) -> None:
        tk = self._track(e)
        if tk is None:
            return
        transfer = e["transfer"]
        if tk["state"] == "waiting":
            # A supervisor moved a waiting ticket (move_ticket): its wait goes on, now in
            # the category moved to; not a transfer of a service.
            tk["moves"] = tk.get("moves", 0) + 1
            tk["cat"] = e["ticket"]["category"]
            return
        self._service(out, tk, t, transfer.get("from_window") or tk.get("win") or 0, "transferred")
        tk["transfers"] = tk.get("transfers", 0) + 1
        tk["cat"] = e["ticket"]["category"]
        tk["wait"], tk["state"] = t, "waiting"

    def _no_show(self, e: dict[str, Any], t: int, out: Cells) -> None:
        tk = self._track(e)
        if tk is not None:
            tk["state"], tk["win"] = "no_show", e["window"]
            tk.pop("started", None)

    def _back(self, e: dict[str, Any], t: int, out: Cells) -> None:
        """Reinstated or requeued: waiting again, a new wait from now."""
        tk = self._track(e)
        if tk is not None:
            tk.pop("started", None)  # a requeued service was not given
            tk["wait"], tk["state"] = t, "waiting"

    def _ended(self, e: dict[str, Any], t: int, out: Cells) -> None:
        tk = self._track(e)
        if tk is not None:
            self._ticket_final(out, e["ticket"]["id"], FINAL_TICKET[e["ticket"]["state"]])

    def _day_closed(self, e: dict[str, Any], t: int, out: Cells) -> None:
        """A no-show of a closed day can no longer be reinstated; a booked appointment of a
        closed day was missed."""
        day = e["day"]
        for tid in [k for k, tk in self.tickets.items() if tk["day"] <= day]:
            if self.tickets[tid]["state"] == "no_show":
                self._ticket_final(out, tid, "no_show")
        for code in [k for k, a in self.appointments.items() if a["day"] <= day]:
            self._appointment(out, self.appointments.pop(code), "missed")

    def _window_changed(self, e: dict[str, Any], t: int, out: Cells) -> None:
        view = e["window"]
        number = str(view["number"])
        w = self.windows.get(number)
        state = view["state"]
        same_day = w is not None and self.local(w["since"])[0] == self.local(t)[0]
        if w is not None:
            # Closed time counts only between two opening stretches of the same day.
            closed_ok = w["state"] == "closed" and state != "closed" and same_day and w["opened"]
            self._window_time(out, number, w, t, closed_ok=closed_ok)
        opened_today = w is not None and (w["state"] != "closed" or (w["opened"] and same_day))
        self.windows[number] = {
            "state": state,
            "reason": view.get("pause_reason"),
            "staff": view.get("staff"),
            "since": t,
            "opened": state != "closed" or opened_today,
        }

    def _appointment_booked(self, e: dict[str, Any], t: int, out: Cells) -> None:
        a = e["appointment"]
        self.appointments[a["code"]] = {
            "cat": a["category"],
            "item": a.get("item"),
            "day": a["day"],
            "slot": a["slot"],
        }

    def _appointment_done(self, e: dict[str, Any], t: int, out: Cells) -> None:
        a = self.appointments.pop(e["appointment"]["code"], None)
        if a is not None:
            outcome = "checked_in" if e["name"] == "appointment_checked_in" else "cancelled"
            self._appointment(out, a, outcome)

    # -- what is still open ------------------------------------------------------------------

    def provisional(self, now: datetime) -> Cells:
        """The open part counted as it stands at `now` (the state is not changed): open
        tickets count as issued (and a no-show not yet final as a no-show), open windows'
        time up to `now`, appointments to come as booked."""
        out: Cells = {}
        t = int(now.astimezone(UTC).timestamp())
        for tk in self.tickets.values():
            self._ticket(out, tk, "no_show" if tk["state"] == "no_show" else "open")
        for number, w in self.windows.items():
            if w["since"] < t:
                self._window_time(out, number, w, t, closed_ok=False)
        for a in self.appointments.values():
            self._appointment(out, a, None)
        return out


_HANDLERS = {
    "ticket_issued": Fold._issued,
    "ticket_called": Fold._called,
    "ticket_recalled": Fold._recalled,
    "service_started": Fold._started,
    "service_finished": Fold._finished,
    "ticket_transferred": Fold._transferred,
    "ticket_no_show": Fold._no_show,
    "ticket_reinstated": Fold._back,
    "ticket_requeued": Fold._back,
    "ticket_cancelled": Fold._ended,
    "ticket_expired": Fold._ended,
    "day_closed": Fold._day_closed,
    "window_changed": Fold._window_changed,
    "appointment_booked": Fold._appointment_booked,
    "appointment_checked_in": Fold._appointment_done,
    "appointment_cancelled": Fold._appointment_done,
}

FOLDED: tuple[str, ...] = tuple(_HANDLERS)  # the events the statistics read
