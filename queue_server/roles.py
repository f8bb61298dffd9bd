"""Who may do what, and who is sent which events (SPEC §5: roles are enforced on the server)."""

from __future__ import annotations

from dataclasses import dataclass

from queue_protocol.messages import Role, StaffRole

CALL_EVENTS = frozenset({"ticket_called", "ticket_recalled"})

# What each role is sent. Supervisors see every event. A window is sent what its staff app
# shows: the queues, the configuration, the day's close-out, reinstated tickets, and the ticket
# and window events about its own window (OWN_WINDOW_EVENTS) — not every ticket and window of
# the hall (the other windows' names, for a transfer, come with the snapshot).
VISIBLE_EVENTS: dict[Role, frozenset[str] | None] = {
    Role.DISPLAY: frozenset(
        {
            *CALL_EVENTS,
            "ticket_requeued",  # a called ticket whose window went away: no longer called
            "window_changed",
            "queue_changed",
            "config_changed",
            "day_closed",
        }
    ),
    Role.KIOSK: frozenset({"queue_changed", "config_changed", "day_closed"}),
    # A rating pad: its own window's staff and services (OWN_WINDOW_EVENTS), and its ratings.
    Role.RATER: frozenset(
        {
            "service_started",
            "service_finished",
            "window_changed",
            "ticket_rated",
            "rating_not_given",
            "config_changed",
            "day_closed",
        }
    ),
    Role.WINDOW: frozenset(
        {
            *CALL_EVENTS,
            "service_started",
            "service_finished",
            "ticket_no_show",
            "ticket_requeued",
            "ticket_transferred",
            "ticket_reinstated",
            "window_changed",
            "ticket_rated",
            "rating_not_given",
            "queue_changed",
            "config_changed",
            "day_closed",
        }
    ),
    Role.ADMIN: None,
    # None of the hall's events: a status page is sent `ticket_update` frames about its own
    # ticket only, made by queue_server/citizen.py from the events.
    Role.CITIZEN: frozenset(),
}
# Of those, the events a window receives only when they are about that window (for a
# transfer: the window it left, or the window it was sent to by name).
OWN_WINDOW_EVENTS = frozenset(
    {
        *CALL_EVENTS,
        "window_changed",
        "service_started",
        "service_finished",
        "ticket_no_show",
        "ticket_requeued",
        "ticket_transferred",
        "ticket_rated",
        "rating_not_given",
    }
)
# What a display's zone or window filter applies to.
FILTERED_FOR_DISPLAYS = frozenset({*CALL_EVENTS, "window_changed", "ticket_requeued"})

# The roles of the hall's own staff and devices: a citizen's status page is none of them.
HALL_ROLES = frozenset({Role.WINDOW, Role.DISPLAY, Role.KIOSK, Role.ADMIN, Role.RATER})

# Who may send each verb (hello is handled before a principal exists).
VERB_ROLES: dict[str, frozenset[Role]] = {
    "issue_ticket": frozenset({Role.KIOSK, Role.ADMIN}),
    # Not kiosks: a ticket number is no secret, so a kiosk could cancel anyone's ticket.
    "cancel_ticket": frozenset({Role.WINDOW, Role.ADMIN}),
    # Not citizens: any ticket by its number, and the whole hall.
    "ticket_status": HALL_ROLES,
    "snapshot": HALL_ROLES,
    "call_next": frozenset({Role.WINDOW, Role.ADMIN}),
    "call_ticket": frozenset({Role.WINDOW, Role.ADMIN}),
    "recall": frozenset({Role.WINDOW, Role.ADMIN}),
    "start_service": frozenset({Role.WINDOW, Role.ADMIN}),
    "finish_service": frozenset({Role.WINDOW, Role.ADMIN}),
    "end_chain": frozenset({Role.WINDOW, Role.ADMIN}),
    "mark_no_show": frozenset({Role.WINDOW, Role.ADMIN}),
    "reinstate": frozenset({Role.WINDOW, Role.ADMIN}),
    "transfer": frozenset({Role.WINDOW, Role.ADMIN}),
    "pause_window": frozenset({Role.WINDOW, Role.ADMIN}),
    "resume_window": frozenset({Role.WINDOW, Role.ADMIN}),
    "close_window": frozenset({Role.WINDOW, Role.ADMIN}),
    "book_appointment": frozenset({Role.KIOSK, Role.ADMIN}),
    "check_in": frozenset({Role.KIOSK, Role.ADMIN}),
    "cancel_appointment": frozenset({Role.KIOSK, Role.ADMIN}),
    # Not kiosks: it holds every citizen's name and check-in code. Kiosks book from
    # appointment_slots, which carries the places only.
    "list_appointments": frozenset({Role.ADMIN}),
    "appointment_slots": frozenset({Role.KIOSK, Role.ADMIN}),
    # A citizen rates from the status page or a kiosk with its slip's secret, at the window
    # on its rating pad; staff and supervisors enter paper forms (hall/ratings.py).
    "rate": frozenset({Role.KIOSK, Role.WINDOW, Role.ADMIN, Role.CITIZEN, Role.RATER}),
    "no_rating": frozenset({Role.RATER}),
    # The follow-up of 差评 (评必反馈) is the supervisors'.
    "list_ratings": frozenset({Role.ADMIN}),
    "list_cases": frozenset({Role.ADMIN}),
    "get_case": frozenset({Role.ADMIN}),
    "update_case": frozenset({Role.ADMIN}),
    "set_window_profile": frozenset({Role.ADMIN}),
    "set_notice": frozenset({Role.ADMIN}),
    "move_ticket": frozenset({Role.ADMIN}),
    "pause_issuing": frozenset({Role.ADMIN}),
    "resume_issuing": frozenset({Role.ADMIN}),
    "acknowledge_alert": frozenset({Role.ADMIN}),
    "audit": frozenset({Role.ADMIN}),
    # Answered by the server itself (its devices' liveness), not the hall's writer.
    "device_status": frozenset({Role.DISPLAY, Role.KIOSK}),
    # The live configuration (hall/config.py): reading is for supervisors and administrators,
    # changing for administrators (staff role admin) only.
    "get_config": frozenset({Role.ADMIN}),
    "set_config": frozenset({Role.ADMIN}),
    "list_staff": frozenset({Role.ADMIN}),
    "add_staff": frozenset({Role.ADMIN}),
    "update_staff": frozenset({Role.ADMIN}),
    "list_devices": frozenset({Role.ADMIN}),
    "add_device": frozenset({Role.ADMIN}),
    "revoke_device": frozenset({Role.ADMIN}),
}
# Run by the server on a thread of their own, each in one transaction of its own, not by
# the hall's writer (hall/config.py).
CONFIG_VERBS = frozenset(
    {
        "get_config",
        "set_config",
        "list_staff",
        "add_staff",
        "update_staff",
        "list_devices",
        "add_device",
        "revoke_device",
    }
)
CONFIG_READS = frozenset({"get_config", "list_staff", "list_devices"})
READ_ONLY_VERBS = frozenset(
    {
        "ticket_status",
        "snapshot",
        "list_appointments",
        "appointment_slots",
        "audit",
        "list_ratings",
        "list_cases",
        "get_case",
    }
)


@dataclass(frozen=True)
class Principal:
    """Who is on the other end of a connection, as established by `hello`."""

    role: Role
    key: str  # namespace of request ids, e.g. "staff:zhangwei" or "device:大厅主屏"
    hall: str = ""  # the code of the hall it is connected to
    staff: str | None = None
    staff_name: str | None = None
    staff_role: StaffRole | None = None
    window: int | None = None
    device: str | None = None
    zone: str | None = None  # display filter
    windows: frozenset[int] = frozenset()  # display filter; empty = every window
    batch_events: bool = False  # its hello asked for several events per frame
    ticket: str | None = None  # a citizen's: the id of the one ticket it may see

    def may_see(
        self, name: str, window: int | None, zone: str | None, also: int | None = None
    ) -> bool:
        """Whether an event goes to this principal. `window` is the window the event is
        about (its zone `zone`); `also` a second window it concerns (a transfer's target)."""
        visible = VISIBLE_EVENTS[self.role]
        if visible is not None and name not in visible:
            return False
        if self.role in (Role.WINDOW, Role.RATER) and name in OWN_WINDOW_EVENTS:
            return self.window is not None and self.window in (window, also)
        if self.role is Role.DISPLAY and name in FILTERED_FOR_DISPLAYS:
            if self.zone is not None and zone != self.zone:
                return False
            if self.windows and window not in self.windows:
                return False
        return True
