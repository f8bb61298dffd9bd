"""The hall's command dispatcher: role check, idempotency, then the verb's handler in the
file named after its hall area (SPEC §3, §5, §7).

    hall/tickets.py       issue_ticket, cancel_ticket, ticket_status
    hall/calling.py       call_next, call_ticket, recall, start_service, finish_service,
                          end_chain, mark_no_show, reinstate, transfer
    hall/windows.py       hello (log in), pause, resume, close; windows without a client
    hall/appointments.py  book_appointment, cancel_appointment, check_in, list_appointments,
                          appointment_slots
    hall/ratings.py       rate, no_rating, list_ratings
    hall/cases.py         list_cases, get_case, update_case; a 差评's case opened
    hall/config.py        set_window_profile, set_notice; the CLI's configuration changes
    hall/supervision.py   move_ticket, pause_issuing, resume_issuing
    hall/audit.py         audit
    hall/alerts.py        acknowledge_alert; the alerts raised and cleared as the hall runs
    hall/views.py         snapshot; queue and window figures, estimates
    hall/day.py           the day's close-out

Every handler runs over one unit of work (hall/work.py) in the hall's one writer
(hall/core.py), which commits a batch of commands at once and returns their replies and
events only after that commit. `HallService` is synchronous: the server calls it from its
one database thread; the CLI and tests call it directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from queue_protocol.codec import encode
from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    AnyRequest,
    AppointmentListReply,
    AppointmentView,
    AuditEntry,
    Hello,
    Role,
    SnapshotReply,
    StaffRole,
    WindowView,
)
from queue_protocol.messages import Audit as AuditQuery
from queue_server.clock import Clock, utc_now
from queue_server.hall import (
    alerts,
    appointments,
    audit,
    calling,
    cases,
    config,
    day,
    loading,
    ratings,
    supervision,
    tickets,
    views,
    windows,
)
from queue_server.hall.core import Batch, Hall, Outcome, Request, Staged, Step, refused
from queue_server.hall.state import HallState
from queue_server.hall.work import Published, Work
from queue_server.hallconfig import HallConfig
from queue_server.roles import READ_ONLY_VERBS, VERB_ROLES, VISIBLE_EVENTS, Principal
from queue_server.store.tables import DeviceRow, StaffRow

__all__ = [
    "VERB_ROLES",
    "VISIBLE_EVENTS",
    "Batch",
    "HallService",
    "Outcome",
    "Principal",
    "Published",
]

Handler = Callable[[Work, Principal, Any], Any]
T = TypeVar("T")

HANDLERS: dict[str, Handler] = {
    "issue_ticket": tickets.issue_ticket,
    "cancel_ticket": tickets.cancel_ticket,
    "ticket_status": tickets.ticket_status,
    "call_next": calling.call_next,
    "call_ticket": calling.call_ticket,
    "recall": calling.recall,
    "start_service": calling.start_service,
    "finish_service": calling.finish_service,
    "end_chain": calling.end_chain,
    "mark_no_show": calling.mark_no_show,
    "reinstate": calling.reinstate,
    "transfer": calling.transfer,
    "pause_window": windows.pause_window,
    "resume_window": windows.resume_window,
    "close_window": windows.close_window,
    "book_appointment": appointments.book_appointment,
    "cancel_appointment": appointments.cancel_appointment,
    "check_in": appointments.check_in,
    "list_appointments": appointments.list_appointments,
    "appointment_slots": appointments.appointment_slots,
    "rate": ratings.rate,
    "no_rating": ratings.no_rating,
    "list_ratings": ratings.list_ratings,
    "list_cases": cases.listed,
    "get_case": cases.get,
    "update_case": cases.update,
    "set_window_profile": config.set_window_profile,
    "set_notice": config.set_notice,
    "move_ticket": supervision.move_ticket,
    "pause_issuing": supervision.pause_issuing,
    "resume_issuing": supervision.resume_issuing,
    "acknowledge_alert": alerts.acknowledge,
    "audit": audit.audit,
    "snapshot": lambda w, p, r: SnapshotReply(re=r.id, snapshot=views.snapshot(w, p)),
}


class HallService:
    def __init__(self, engine: Any, clock: Clock = utc_now, hall: str | None = None) -> None:
        """The service of the hall coded `hall` (None: the database's one hall, or the hall
        the first `import_config` makes)."""
        self.engine = engine
        self.clock = clock
        self.hall = Hall(engine, clock, hall)

    @property
    def code(self) -> str:
        return self.hall.code

    def hall_id(self) -> int:
        """The hall's row id (store/tables.py), as the database holds it."""
        return self.hall.state().hall_id

    # -- state ----------------------------------------------------------------------------

    def config(self) -> HallConfig:
        return self.hall.state().config

    @property
    def cached_config(self) -> HallConfig | None:
        """The configuration as of the last batch (no database work)."""
        state = self.hall.cached
        return state.config if state is not None else None

    def last_seq(self) -> int:
        """The hall's last event seq, as the database holds it (another process may have
        written since: the state is then rebuilt)."""
        return self.hall.state().last_seq

    # -- commands -------------------------------------------------------------------------

    def execute(self, p: Principal, request: AnyRequest) -> Outcome:
        """Carry out one request (a batch of one); an error changes nothing. The outcome
        carries every event of its batch (a close-out owed, the queue figures)."""
        batch = self.execute_batch([(p, request)])
        outcome = batch.outcomes[0]
        outcome.events = batch.events
        return outcome

    def execute_batch(self, requests: Sequence[tuple[Principal, AnyRequest]]) -> Batch:
        """Carry out requests in order, committed together (the server's group commit)."""
        return self.hall.run(self._requests(requests))

    def stage_batch(self, requests: Sequence[tuple[Principal, AnyRequest]]) -> Staged:
        """`execute_batch` up to its commit (core.Hall.stage): the server commits on a
        thread of its own while its event loop goes on."""
        return self.hall.stage(self._requests(requests))

    def _requests(self, requests: Sequence[tuple[Principal, AnyRequest]]) -> list[Request]:
        return [Request(r.id, self._step(p, r)) for p, r in requests]

    def _step(self, p: Principal, request: AnyRequest) -> Step:
        verb = request.type

        def step(w: Work) -> str:
            if verb == "hello":
                raise ProtocolError(ErrorCode.ALREADY_AUTHENTICATED, "hello was already sent")
            if p.role not in VERB_ROLES.get(verb, frozenset()):
                raise ProtocolError(ErrorCode.FORBIDDEN, f"role {p.role.value} may not {verb}")
            handler = HANDLERS.get(verb)
            if handler is None:
                raise ProtocolError(
                    ErrorCode.NOT_SUPPORTED, f"{verb} is not offered by this server yet"
                )
            check_still_allowed(w.state, p)
            w.by = p.key
            if verb in READ_ONLY_VERBS:
                return encode(handler(w, p, request))
            return self._once(w, p, request, handler)

        return step

    def _once(self, w: Work, p: Principal, request: AnyRequest, handler: Handler) -> str:
        """A changing request runs once per id: a retry gets the first answer again."""
        key = (p.key, request.id)
        fingerprint = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
        known = w.state.requests.fingerprints.get(key)
        if known is not None:
            if known != fingerprint:
                raise ProtocolError(
                    ErrorCode.ID_REUSED, f"request id {request.id!r} was used for another request"
                )
            kept = w.state.requests.replies.get(key) or loading.fetch_reply(
                self.engine, w.state.hall_id, key
            )
            if kept is not None:
                return kept
        # The reply is kept whole for the request log's days, a slip's secret included: a
        # retried issue_ticket must get the identical answer (its first never arrived, so
        # nothing was printed).
        reply = encode(handler(w, p, request))
        w.request = (key, fingerprint, reply)
        return reply

    def open_session(
        self,
        p: Principal,
        hello: Hello,
        *,
        takeover: bool,
        live_windows: frozenset[int] = frozenset(),
        address: str = "",
    ) -> Outcome:
        """A hello: log a window in (hall/windows.py) and build the snapshot. A refusal is
        raised as the ProtocolError the hello is answered with."""

        def step(w: Work) -> Callable[[], str]:
            w.by = p.key
            reply = windows.log_in(
                w, p, hello, takeover=takeover, live_windows=live_windows, address=address
            )
            return lambda: encode(reply())

        return self._one(hello.id, step)

    def logins_refused(self, refused: Sequence[tuple[Hello, str, ProtocolError]]) -> Outcome:
        """Hellos refused for their credentials (hello, address, error): for the audit."""

        def record(w: Work) -> None:
            for hello, address, error in refused:
                windows.refused_login(w, hello, address, error)

        return self._do(record)[1]

    def _one(self, rid: str | None, step: Step) -> Outcome:
        batch = self.hall.run([Request(rid, step)])
        outcome = batch.outcomes[0]
        if outcome.refusal is not None:
            raise outcome.refusal
        outcome.events = batch.events
        return outcome

    def _do(self, fn: Callable[[Work], T]) -> tuple[T, Outcome]:
        """Run `fn` over the hall as a batch of its own (after a close-out that is owed);
        returns what it returned and the batch's outcome. A refusal is raised."""
        result: list[T] = []

        def step(w: Work) -> str:
            result.append(fn(w))
            return ""

        outcome = self._one(None, step)
        return result[0], outcome

    # -- the day's close-out and windows without their client -----------------------------

    def close_out_if_due(self) -> Outcome:
        """Carry out a close-out that is owed (the server asks a few times a second and at
        start-up); idempotent. Costs no database work when none is owed."""
        state = self.hall.cached
        if state is not None and day.owed(Work(state, self.clock())) is None:
            return Outcome("")
        batch = self.hall.run([])
        return Outcome("", batch.events)

    def configure(
        self, p: Principal, request: AnyRequest, connected: frozenset[str] = frozenset()
    ) -> Outcome:
        """A live configuration verb (roles.CONFIG_VERBS), in a transaction of its own
        (hall/config.py); the server runs it on its database thread, not the writer."""
        try:
            if p.role not in VERB_ROLES.get(request.type, frozenset()):
                raise ProtocolError(
                    ErrorCode.FORBIDDEN, f"role {p.role.value} may not {request.type}"
                )
            check_still_allowed(self.hall.state(), p)
            return Outcome(config.configure(self.hall, p, request, connected))
        except ProtocolError as exc:
            return refused(request.id, exc)

    def check_alerts(self, devices: alerts.DeviceFacts) -> Outcome:
        """Raise and clear the hall's alerts (hall/alerts.py) as its state and devices stand
        now; a batch only when something changed."""
        with self.hall.lock:
            state = self.hall.cached
            if state is None or not alerts.differs(
                state, alerts.conditions(state, self.clock(), devices)
            ):
                return Outcome("")
        return self._do(lambda w: alerts.sync(w, alerts.conditions(w.state, w.now, devices)))[1]

    def window_disconnected(self, number: int) -> Outcome:
        return self._do(lambda w: windows.disconnected(w, number))[1]

    def windows_disconnected(self) -> Outcome:
        return self._do(windows.all_disconnected)[1]

    def close_offline_window(self, number: int) -> Outcome:
        return self._do(lambda w: windows.close_offline(w, number))[1]

    def close_window_now(self, number: int, *, requeue: bool) -> WindowView:
        """`queue-server window close N` (hall/windows.py)."""
        return self._do(lambda w: windows.close_now(w, number, requeue=requeue))[0]

    def open_windows(self) -> list[int]:
        return windows.open_windows(Work(self.hall.state(), self.clock()))

    def list_windows(self) -> list[WindowView]:
        """`queue-server window list` (after a close-out that is owed, like every batch)."""
        return self._do(lambda w: [w.window_view(x) for _, x in sorted(w.state.windows.items())])[0]

    def still_allowed(self, principals: list[Principal]) -> list[bool]:
        """For each principal: is its device token or staff account still valid?"""
        state = self.hall.state()
        return [allowed(state, p) for p in principals]

    # -- appointments for the CLI ---------------------------------------------------------

    def list_appointments(self, day_: date, category: str | None = None) -> AppointmentListReply:
        """For the `queue-server appointments list` command."""

        def listing(w: Work) -> AppointmentListReply:
            if category is not None:
                w.category(category)
            return appointments.listing(w, "cli", day_, category)

        return self._do(listing)[0]

    def cancel_appointment(self, code: str) -> AppointmentView:
        """For the `queue-server appointments cancel` command; the event reaches clients
        through the server's store poller."""
        return self._do(lambda w: appointments.cancel(w, code))[0]

    def audit(self, query: AuditQuery) -> list[AuditEntry]:
        """For `queue-server audit` (hall/audit.py)."""
        return self._do(lambda w: audit.entries(w, query))[0]

    def as_cli(self, request: AnyRequest) -> Any:
        """A verb as `queue-server` runs it (its ratings commands): as a supervisor named
        cli:USER in the audit; returns the reply, or raises the refusal."""
        p = Principal(role=Role.ADMIN, key=config.cli_user(), staff_role=StaffRole.ADMIN)
        handler = HANDLERS[request.type]

        def fn(w: Work) -> Any:
            w.by = p.key
            return handler(w, p, request)

        return self._do(fn)[0]

    # -- the CLI's configuration changes (hall/config.py) ---------------------------------

    def import_config(self, data: dict[str, Any]) -> int:
        return config.import_config(self.hall, data)

    def export_config(self) -> dict[str, Any]:
        return config.export_config(self.hall)

    def add_staff(self, account: str, name: str, role: StaffRole, password: str) -> None:
        config.add_staff(self.hall, account, name, role, password)

    def set_password(self, account: str, password: str) -> None:
        config.set_password(self.hall, account, password)

    def set_staff_disabled(self, account: str, disabled: bool) -> None:
        config.set_staff_disabled(self.hall, account, disabled)

    def list_staff(self) -> list[StaffRow]:
        return config.list_staff(self.hall)

    def add_device(self, name: str, kind: Role, zone: str | None, windows_: list[int]) -> str:
        return config.add_device(self.hall, name, kind, zone, windows_)

    def revoke_device(self, name: str) -> None:
        config.revoke_device(self.hall, name)

    def list_devices(self) -> list[DeviceRow]:
        return config.list_devices(self.hall)

    def add_window(self, number: int, name: str, zone: str, profile: list[str]) -> None:
        config.add_window(self.hall, number, name, zone, profile)

    def set_profile(self, number: int, profile: list[str]) -> None:
        config.set_profile(self.hall, number, profile)

    def remove_window(self, number: int) -> None:
        config.remove_window(self.hall, number)


def allowed(state: HallState, p: Principal) -> bool:
    if p.device is not None:
        return p.device in state.devices and p.device not in state.revoked_devices
    if p.staff is not None:
        return p.staff in state.config.staff_names and p.staff not in state.disabled_staff
    return True


def check_still_allowed(state: HallState, p: Principal) -> None:
    """A revoked device or a disabled account loses its live connections too."""
    if not allowed(state, p):
        what = "this device's token was revoked" if p.device else f"{p.staff} was disabled"
        raise ProtocolError(ErrorCode.AUTH_FAILED, what)
