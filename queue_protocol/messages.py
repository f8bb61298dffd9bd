"""Every request, reply and event of the Yichuang protocol (SPEC §5).

Requests are strict (unknown or mistyped fields are refused); replies and events are
lenient on the client side (unknown fields are ignored) so a newer server does not break
an older client within one protocol version.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from queue_protocol.errors import ErrorCode
from queue_protocol.version import PROTOCOL_VERSION

# ---------------------------------------------------------------------------
# Shared vocabulary


class Role(StrEnum):
    WINDOW = "window"  # staff working at one service window
    DISPLAY = "display"  # call screen (device token)
    KIOSK = "kiosk"  # ticket kiosk (device token)
    ADMIN = "admin"  # supervisor or administrator
    RATER = "rater"  # 评价器: the rating pad facing the citizen at one window (device token)
    # A ticket's status page on the citizen's phone (the slip's QR: ticket id + secret):
    # read-only, and told only about that one ticket (queue_server/citizen.py).
    CITIZEN = "citizen"


class StaffRole(StrEnum):
    STAFF = "staff"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Priority(StrEnum):
    NORMAL = "normal"
    APPOINTMENT = "appointment"  # 预约
    GREEN = "green"  # 绿色通道: elderly, disabled, military, pregnant
    ASSISTED = "assisted"  # 帮办代办


class TicketState(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # still open when its day was closed out


class WindowState(StrEnum):
    CLOSED = "closed"
    IDLE = "idle"
    CALLING = "calling"
    SERVING = "serving"
    PAUSED = "paused"


class Policy(StrEnum):
    WEIGHTED_WAIT = "weighted_wait"  # SPEC §4 default
    PROFILE_ORDER = "profile_order"  # strict work-profile order, then first-come


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Transfer(_View):
    at: datetime
    from_category: str
    to_category: str
    from_window: int | None = None
    to_window: int | None = None
    reason: str


class TicketView(_View):
    id: str = Field(description="Hall-unique id: local date + number, e.g. 20261125-A001")
    number: str = Field(description="What the citizen sees and hears, e.g. A001")
    category: str
    item: str | None = None
    priority: Priority = Priority.NORMAL
    state: TicketState
    issued_at: datetime
    queued_at: datetime | None = Field(
        None,
        description="When it (re)entered the queue: its issue time, kept on transfer and"
        " reinstatement, reset when it goes on to a one-chain step. Calls go by this time.",
    )
    call_times: list[datetime] = []
    started_at: datetime | None = None
    finished_at: datetime | None = None
    no_show_at: datetime | None = None
    window: int | None = Field(None, description="Window that called or serves it")
    staff: str | None = None
    recall_count: int = 0
    transfers: list[Transfer] = []
    chain_step: int = Field(0, description="Index of the current one-chain step (0 = first)")
    steps: int = Field(1, description="Steps of its one-chain item (1 = no chain)")
    step: str | None = Field(None, description="Name of the current one-chain step")
    target_window: int | None = Field(None, description="Only this window may call it")
    appointment_at: datetime | None = None


class WindowView(_View):
    number: int
    name: str
    zone: str = ""
    profile: list[str] = Field(description="Category codes in the order served; [] = 全科")
    state: WindowState
    staff: str | None = None
    staff_name: str | None = None
    pause_reason: str | None = None
    ticket: str | None = Field(None, description="Id of the ticket called or being served")
    ticket_number: str | None = Field(
        None, description="That ticket's number (what a screen above the window shows)"
    )
    connected: bool = Field(
        False, description="A window client is connected for it now (false: offline or closed)"
    )
    since: datetime | None = Field(
        None, description="When it entered its state, or went offline or online (time in state)"
    )


class CategoryView(_View):
    code: str
    name: str
    prefix: str
    target_wait_minutes: int
    daily_capacity: int | None = None
    issuing_paused: bool = Field(
        False, description="A supervisor paused issuing (pause_issuing): kiosks are refused"
    )
    issuing_paused_reason: str | None = None


class ServiceItemView(_View):
    name: str
    category: str
    time_limit_days: int = Field(0, description="Promised processing limit; 0 = 即办件")
    materials: list[str] = []
    appointment: bool = False
    chain: list[str] = Field([], description="Steps of a one-chain (一链办理) item, in order")


class QueueStat(_View):
    category: str
    waiting: int
    oldest_queued_at: datetime | None = Field(
        None, description="Since when the longest-waiting ticket has been queued"
    )
    estimated_wait_minutes: float = 0.0


class CallView(_View):
    seq: int
    at: datetime
    ticket: str
    number: str
    category: str
    window: int
    window_name: str
    zone: str = ""
    recall: bool = False
    chain_step: int = Field(0, description="One-chain: the step called (0 = first)")
    steps: int = Field(1, description="One-chain: the ticket's number of steps (1 = none)")
    step: str | None = Field(None, description="One-chain: the name of the step called")


class HallView(_View):
    code: str = Field("", description="The hall's code, as a hello names it")
    name: str
    timezone: str
    notice: str = ""
    policy: Policy = Policy.WEIGHTED_WAIT
    open_now: bool = True
    no_show_after_recalls: int = Field(
        3,
        description="Recalls a called ticket may have; the next recall marks it a no-show "
        "(a window warns before the last and asks before that one)",
    )


class WindowStat(_View):
    """A window's figures for today (hall local day)."""

    window: int
    served: int = Field(
        description="Services finished at this window today: each one-chain step counts where"
        " it was given, a transfer does not"
    )
    no_shows: int
    mean_service_minutes: float | None = Field(None, description="None before the first finish")


class AlertKind(StrEnum):
    WAIT_PAST_TARGET = "wait_past_target"  # tickets of a category waiting past its target
    WAIT_AT_CAP = "wait_at_cap"  # a ticket at the hard cap and no open window may take it
    WINDOW_IDLE = "window_idle"  # a window idle while tickets it may call are waiting
    WINDOW_PAUSED_LONG = "window_paused_long"
    SERVICE_LONG = "service_long"  # a service running N× the category's usual
    NO_SHOW_BURST = "no_show_burst"
    DEVICE_OFFLINE = "device_offline"  # a display or kiosk that was connected is gone
    VOICE_FAILING = "voice_failing"  # a call screen reports its voice failing
    BAD_RATING = "bad_rating"  # 差评: a rating at [alerts] bad_rating_from or worse
    CASE_DUE = "case_due"  # a 差评's follow-up case near its deadline, not yet answered
    CASE_OVERDUE = "case_overdue"  # … past its deadline, not yet answered


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertView(_View):
    id: int = Field(description="Hall-wide, from 1")
    kind: AlertKind
    severity: AlertSeverity
    raised_at: datetime
    category: str | None = None
    window: int | None = None
    ticket: str | None = Field(None, description="The ticket's number (the longest waiting…)")
    device: str | None = None
    case: int | None = Field(None, description="The follow-up case (差评, case_due, overdue)")
    value: float | None = Field(
        None,
        description="What was measured when raised: minutes (waits, pauses, services, idle),"
        " a count (no-shows), seconds offline, a rating, working days left (case_due),"
        " hours past due (case_overdue)",
    )
    limit: float | None = Field(None, description="The hall's threshold it passed")
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    cleared_at: datetime | None = Field(None, description="When its condition ended")


# ---------------------------------------------------------------------------
# Ratings (好差评) and their follow-up cases (评必反馈)

LEVEL_NAMES = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}
BAD_FROM = 4  # 差评: 不满意 and 非常不满意, which need a reason and open a follow-up case


class RatingChannel(StrEnum):
    PAD = "pad"  # the rating pad (评价器) at the window
    QR = "qr"  # the slip's QR code (its secret): the status page, or a kiosk scanning it
    PAPER = "paper"  # a paper form, entered by the window's staff or a supervisor


class RatingSettings(_View):
    reasons: list[str] = Field(description="The hall's reasons a 差评 is chosen from")
    pad_seconds: int = Field(description="A rating pad waits this long, then: not rated")
    qr_working_days: int = Field(description="A slip's QR code rates within this many working days")


class LastService(_View):
    """What a rating pad asks the rating of: a service finished at its window."""

    ticket: str = Field(description="The ticket's id")
    number: str
    step: int = Field(description="The one-chain step served (0 = the first)")
    step_name: str | None = None
    category: str
    item: str | None = None
    staff: str | None = None
    staff_name: str | None = None
    ended_at: datetime
    rated: bool = False


class RatingView(_View):
    id: int = Field(description="Hall-wide, from 1")
    ticket: str = Field(description="The ticket's id")
    number: str
    step: int | None = Field(
        None, description="The one-chain step rated (0 = the first); none: the visit as a whole"
    )
    step_name: str | None = None
    category: str
    item: str | None = None
    window: int | None = Field(None, description="Where the step was served (none: a visit)")
    staff: str | None = None
    staff_name: str | None = None
    channel: RatingChannel
    level: int = Field(description="1 非常满意 … 5 非常不满意")
    bad: bool = Field(description="差评: 不满意 or 非常不满意 (a follow-up case was opened)")
    reasons: list[str] = []
    comment: str | None = None
    phone: str | None = Field(None, description="The citizen's phone, masked (138****5678)")
    rated_at: datetime
    excluded: bool = Field(False, description="Excluded from the figures after an appeal")
    case: int | None = Field(None, description="Its follow-up case (a 差评)")


class CaseState(StrEnum):
    OPEN = "open"  # opened by the 差评, not yet looked into
    VERIFIED = "verified"  # 核实: what happened, by whom
    RECTIFYING = "rectifying"  # 整改: actions taken
    ANSWERED = "answered"  # 反馈: the answer given to the citizen
    CALLED_BACK = "called_back"  # 回访: the citizen's view of the answer taken
    CLOSED = "closed"
    APPEALED = "appealed"  # 申诉: the rating is said to be mistaken or malicious
    EXCLUDED = "excluded"  # the appeal was granted: the rating no longer counts (closed)


class CaseAction(StrEnum):
    VERIFY = "verify"  # open -> verified
    RECTIFY = "rectify"  # verified | rectifying -> rectifying
    ANSWER = "answer"  # verified | rectifying -> answered
    CALL_BACK = "call_back"  # answered -> called_back (with the citizen's level)
    CLOSE = "close"  # called_back -> closed
    APPEAL = "appeal"  # open | verified | rectifying -> appealed
    UPHOLD = "uphold"  # appealed -> back where it was: the rating stands
    EXCLUDE = "exclude"  # appealed -> excluded: the rating is left out of the figures
    ASSIGN = "assign"  # any unfinished state: another supervisor is responsible


class CaseStepView(_View):
    at: datetime
    by: str | None
    action: str = Field(description="opened, or a CaseAction")
    state: CaseState = Field(description="The case's state after it")
    text: str = ""
    level: int | None = Field(None, description="call_back: the citizen's rating of the answer")
    owner: str | None = Field(None, description="assign: the supervisor now responsible")


class CaseView(_View):
    id: int = Field(description="Hall-wide, from 1: the case (工单) number")
    rating: RatingView
    state: CaseState
    opened_at: datetime
    due_at: datetime = Field(
        description="The answer is due before this instant: the end of the hall's N-th working"
        " day after the rating ([ratings] case_working_days)"
    )
    owner: str | None = Field(None, description="The responsible supervisor (谁办理、谁负责)")
    owner_name: str | None = None
    overdue: bool = Field(description="Not answered and past due now (or answered late)")
    answered_at: datetime | None = None
    answered_on_time: bool | None = Field(None, description="Once answered: before due_at")
    callback_level: int | None = Field(None, description="回访: the citizen's level, 1 … 5")
    closed_at: datetime | None = None
    steps: list[CaseStepView] = Field(description="Every step, oldest first; nothing deleted")


class Snapshot(_View):
    seq: int = Field(description="Last event included; events after it follow")
    now: datetime | None = Field(
        None, description="The server's clock when it was taken (times in state, trends)"
    )
    hall: HallView
    categories: list[CategoryView]
    items: list[ServiceItemView] = []
    windows: list[WindowView]
    queues: list[QueueStat]
    recent_calls: list[CallView] = []
    tickets: list[TicketView] = Field(
        [], description="Active tickets the role may see (window: its own; admin: all)"
    )
    window_stats: list[WindowStat] = Field(
        [], description="Today's figures (window: its own; admin: every window)"
    )
    alerts: list[AlertView] = Field(
        [],
        description="Admin only: the open alerts (not cleared, or a bad rating not yet"
        " acknowledged), oldest first",
    )
    rating: RatingSettings | None = Field(
        None, description="How the hall rates its services (rating pads, kiosks, admin)"
    )
    last_service: LastService | None = Field(
        None, description="Rater: the last service finished at its window today, if any"
    )


# ---------------------------------------------------------------------------
# Requests


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    id: str = Field(min_length=1, max_length=64, description="Client request id")


TicketRef = Annotated[
    str,
    Field(min_length=1, max_length=40, description="Ticket id (20261125-A001) or today's number"),
]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class Hello(_Request):
    type: Literal["hello"] = "hello"
    version: int = PROTOCOL_VERSION
    role: Role
    user: str | None = Field(None, max_length=64)
    password: str | None = Field(None, max_length=256)
    token: str | None = Field(None, max_length=256)
    window: int | None = Field(None, ge=1, le=9999)
    hall: str | None = Field(
        None,
        min_length=1,
        max_length=32,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="The hall's code (`[hall] code`, e.g. donghu). May be left out where the "
        "server serves one hall, and by a device (its token names its hall)",
    )
    ticket: str | None = Field(
        None,
        min_length=1,
        max_length=40,
        description="citizen: the id of the ticket its slip's QR code names",
    )
    secret: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="citizen: the slip's secret (the QR code's `k`); never logged",
    )
    since_seq: int | None = Field(None, ge=0)
    client: str | None = Field(None, max_length=100, description="Program name, for logs")
    batch_events: bool = Field(
        False,
        description="The client takes several events in one frame (an EventBatch, type "
        "`events`); without it every event comes in a frame of its own",
    )


class IssueTicket(_Request):
    type: Literal["issue_ticket"] = "issue_ticket"
    category: str = Field(min_length=1, max_length=32)
    item: str | None = Field(None, max_length=200)
    priority: Priority = Priority.NORMAL


class CancelTicket(_Request):
    type: Literal["cancel_ticket"] = "cancel_ticket"
    ticket: TicketRef
    reason: str = Field("", max_length=200, description="Why (a supervisor gives one)")


class TicketStatus(_Request):
    type: Literal["ticket_status"] = "ticket_status"
    ticket: TicketRef


class _WindowRequest(_Request):
    window: int | None = Field(
        None, ge=1, le=9999, description="Defaults to the caller's window; admin must give it"
    )


class CallNext(_WindowRequest):
    type: Literal["call_next"] = "call_next"


class CallTicket(_WindowRequest):
    type: Literal["call_ticket"] = "call_ticket"
    ticket: TicketRef


class Recall(_WindowRequest):
    type: Literal["recall"] = "recall"


class StartService(_WindowRequest):
    type: Literal["start_service"] = "start_service"


class FinishService(_WindowRequest):
    type: Literal["finish_service"] = "finish_service"


class EndChain(_WindowRequest):
    """Finish the service and end the ticket's one-chain visit at this step."""

    type: Literal["end_chain"] = "end_chain"
    reason: ShortText


class MarkNoShow(_WindowRequest):
    type: Literal["mark_no_show"] = "mark_no_show"


class Reinstate(_WindowRequest):
    type: Literal["reinstate"] = "reinstate"
    ticket: TicketRef


class TransferTicket(_WindowRequest):
    type: Literal["transfer"] = "transfer"
    to_category: str | None = Field(None, min_length=1, max_length=32)
    to_window: int | None = Field(None, ge=1, le=9999)
    reason: ShortText


class PauseWindow(_WindowRequest):
    type: Literal["pause_window"] = "pause_window"
    reason: ShortText


class ResumeWindow(_WindowRequest):
    type: Literal["resume_window"] = "resume_window"


class CloseWindow(_WindowRequest):
    type: Literal["close_window"] = "close_window"
    requeue: bool = Field(
        False,
        description="Admin only: close it even while it serves a ticket, which goes back to"
        " its place in the queue (a called ticket always does)",
    )


class GetSnapshot(_Request):
    type: Literal["snapshot"] = "snapshot"


class BookAppointment(_Request):
    type: Literal["book_appointment"] = "book_appointment"
    category: str = Field(min_length=1, max_length=32)
    item: str | None = Field(None, max_length=200)
    day: date
    slot: str = Field(pattern=r"^\d{2}:\d{2}$", description="Slot start, hall local time")
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(pattern=r"^\+?[0-9 -]{5,20}$")


class CheckIn(_Request):
    type: Literal["check_in"] = "check_in"
    code: str = Field(min_length=1, max_length=32)


class CancelAppointment(_Request):
    type: Literal["cancel_appointment"] = "cancel_appointment"
    code: str = Field(min_length=1, max_length=32, description="Check-in code from the booking")


class ListAppointments(_Request):
    type: Literal["list_appointments"] = "list_appointments"
    day: date
    category: str | None = Field(None, min_length=1, max_length=32)


class AppointmentSlots(_Request):
    """The slots of a day that can still be booked and their free places (kiosks): the
    places only, nothing about who booked them."""

    type: Literal["appointment_slots"] = "appointment_slots"
    day: date
    category: str | None = Field(None, min_length=1, max_length=32)


Reason = Annotated[str, Field(min_length=1, max_length=100)]


class Rate(_Request):
    """One rating of one service (一次一评): by the window's rating pad, by the slip's QR
    code (its secret), or a paper form entered by the window's staff or a supervisor."""

    type: Literal["rate"] = "rate"
    ticket: TicketRef
    level: int = Field(ge=1, le=5, description="1 非常满意 … 5 非常不满意")
    step: int | None = Field(
        None,
        ge=0,
        le=99,
        description="The one-chain step rated (0 = the first); omitted: "
        "the ticket's last service (a rating pad: the last service at its window)",
    )
    visit: bool = Field(
        False, description="A one-chain ticket's visit as a whole, once its chain has ended"
    )
    reasons: list[Reason] = Field(
        [], max_length=10, description="Required for 不满意 and 非常不满意: chosen or typed"
    )
    comment: str | None = Field(None, max_length=500)
    phone: str | None = Field(
        None, pattern=r"^\+?[0-9 -]{5,20}$", description="The citizen's, if given (kept masked)"
    )
    secret: str | None = Field(
        None, max_length=64, description="The ticket's secret (slip QR); kiosks must give it"
    )


class NoRating(_Request):
    """A rating pad's time-out: the citizen left without rating the service (recorded as
    not rated, never as a rating; the slip's QR code may still rate it)."""

    type: Literal["no_rating"] = "no_rating"
    ticket: TicketRef
    step: int | None = Field(None, ge=0, le=99, description="Omitted: its last service")


class ListRatings(_Request):
    type: Literal["list_ratings"] = "list_ratings"
    since: date | None = Field(None, description="From this hall-local day (default: today)")
    until: date | None = Field(None, description="Up to this day, included (default: since)")
    bad_only: bool = False
    limit: int = Field(200, ge=1, le=1000)


class ListCases(_Request):
    type: Literal["list_cases"] = "list_cases"
    open_only: bool = Field(True, description="Only cases not closed nor excluded")
    limit: int = Field(200, ge=1, le=1000)


class GetCase(_Request):
    type: Literal["get_case"] = "get_case"
    case: int = Field(ge=1)


class UpdateCase(_Request):
    """A step of a follow-up case (supervisors): what was found, done or answered."""

    type: Literal["update_case"] = "update_case"
    case: int = Field(ge=1)
    action: CaseAction
    text: str = Field(
        "",
        max_length=2000,
        description="What was found, done, answered; the appeal's grounds"
        " or the review's reason (required but for close and assign)",
    )
    level: int | None = Field(None, ge=1, le=5, description="call_back: the citizen's level")
    owner: str | None = Field(None, min_length=1, max_length=64, description="assign: account")


class SetWindowProfile(_Request):
    type: Literal["set_window_profile"] = "set_window_profile"
    window: int = Field(ge=1, le=9999)
    profile: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        max_length=64, description="Category codes in order; [] = 全科"
    )


class SetNotice(_Request):
    type: Literal["set_notice"] = "set_notice"
    notice: str = Field(max_length=500)


class MoveTicket(_Request):
    """A supervisor moves a waiting ticket to another category and/or reserves it for a
    named window; it keeps its place in time."""

    type: Literal["move_ticket"] = "move_ticket"
    ticket: TicketRef
    to_category: str | None = Field(None, min_length=1, max_length=32)
    to_window: int | None = Field(None, ge=1, le=9999)
    reason: ShortText


class PauseIssuing(_Request):
    """Stop issuing tickets of a category (e.g. its day's capacity is reached early)."""

    type: Literal["pause_issuing"] = "pause_issuing"
    category: str = Field(min_length=1, max_length=32)
    reason: ShortText


class ResumeIssuing(_Request):
    type: Literal["resume_issuing"] = "resume_issuing"
    category: str = Field(min_length=1, max_length=32)


class AcknowledgeAlert(_Request):
    type: Literal["acknowledge_alert"] = "acknowledge_alert"
    alert: int = Field(ge=1)


class VoiceState(StrEnum):
    ON = "on"
    OFF = "off"  # silenced on purpose (无声叫号)
    ENGINE_MISSING = "engine_missing"
    PLAYBACK_FAILING = "playback_failing"


class DeviceStatus(_Request):
    """A call screen reports the true state of its voice (on start and on every change)."""

    type: Literal["device_status"] = "device_status"
    voice: VoiceState


class Audit(_Request):
    """Who did what when: the hall's events that a request made, and its logins."""

    type: Literal["audit"] = "audit"
    since: datetime | None = None
    until: datetime | None = None
    account: str | None = Field(
        None, max_length=80, description="staff:ACCOUNT, device:NAME, cli:USER, or a bare account"
    )
    window: int | None = Field(None, ge=1, le=9999)
    ticket: str | None = Field(None, max_length=40, description="A ticket's id or number")
    limit: int = Field(500, ge=1, le=5000)


class GetConfig(_Request):
    """The hall's configuration as its TOML file has it (`queue-server export`), without
    the staff and devices (their own verbs: no password or token hashes leave)."""

    type: Literal["get_config"] = "get_config"


class SetConfig(_Request):
    """Replace the hall's configuration (all but staff and devices, which are kept), checked
    by the rules of the TOML import; `config_version` is the one it was read at."""

    type: Literal["set_config"] = "set_config"
    config: dict[str, Any]
    config_version: int = Field(ge=1)


AccountName = Annotated[str, Field(min_length=1, max_length=64)]
Password = Annotated[str, Field(min_length=6, max_length=200)]


class ListStaff(_Request):
    type: Literal["list_staff"] = "list_staff"


class AddStaff(_Request):
    type: Literal["add_staff"] = "add_staff"
    account: AccountName
    name: str = Field(min_length=1, max_length=50)
    role: StaffRole = StaffRole.STAFF
    password: Password


class UpdateStaff(_Request):
    """Change an account: any of its name, role, password, disabled (at least one)."""

    type: Literal["update_staff"] = "update_staff"
    account: AccountName
    name: str | None = Field(None, min_length=1, max_length=50)
    role: StaffRole | None = None
    password: Password | None = None
    disabled: bool | None = None


class ListDevices(_Request):
    type: Literal["list_devices"] = "list_devices"


class AddDevice(_Request):
    type: Literal["add_device"] = "add_device"
    name: str = Field(min_length=1, max_length=64)
    kind: Role = Field(description="display or kiosk")
    zone: str | None = Field(None, max_length=32, description="A display's zone filter")
    windows: list[Annotated[int, Field(ge=1, le=9999)]] = Field(
        [], max_length=200, description="A display's window filter ([] = every window)"
    )


class RevokeDevice(_Request):
    type: Literal["revoke_device"] = "revoke_device"
    name: str = Field(min_length=1, max_length=64)


AnyRequest = Annotated[
    Hello
    | IssueTicket
    | CancelTicket
    | TicketStatus
    | CallNext
    | CallTicket
    | Recall
    | StartService
    | FinishService
    | EndChain
    | MarkNoShow
    | Reinstate
    | TransferTicket
    | PauseWindow
    | ResumeWindow
    | CloseWindow
    | GetSnapshot
    | BookAppointment
    | CheckIn
    | CancelAppointment
    | ListAppointments
    | AppointmentSlots
    | Rate
    | NoRating
    | ListRatings
    | ListCases
    | GetCase
    | UpdateCase
    | SetWindowProfile
    | SetNotice
    | MoveTicket
    | PauseIssuing
    | ResumeIssuing
    | AcknowledgeAlert
    | DeviceStatus
    | Audit
    | GetConfig
    | SetConfig
    | ListStaff
    | AddStaff
    | UpdateStaff
    | ListDevices
    | AddDevice
    | RevokeDevice,
    Field(discriminator="type"),
]

WINDOW_REQUESTS: tuple[type[_WindowRequest], ...] = (
    CallNext,
    CallTicket,
    Recall,
    StartService,
    FinishService,
    EndChain,
    MarkNoShow,
    Reinstate,
    TransferTicket,
    PauseWindow,
    ResumeWindow,
    CloseWindow,
)

# ---------------------------------------------------------------------------
# Replies


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    type: Literal["ok"] = "ok"
    re: str


class OkReply(_Reply):
    """A plain acknowledgement (device_status)."""


class HelloReply(_Reply):
    version: int = PROTOCOL_VERSION
    role: Role
    window: int | None = None
    staff_name: str | None = None
    device: str | None = None
    snapshot: Snapshot


class TicketReply(_Reply):
    ticket: TicketView
    people_ahead: int = 0
    estimated_wait_minutes: float = 0.0
    secret: str | None = Field(
        None,
        description="issue_ticket and check_in only: the ticket's secret for its slip's QR code"
        " (rating, status page); sent to the issuing device only, never in an event",
    )


class CitizenTicketView(_View):
    """What a ticket's status page shows: that one ticket and the figures about it, never
    another ticket's number nor any person's name (queue_server/citizen.py)."""

    ticket: str = Field(description="The ticket's id, e.g. 20261125-A001")
    number: str
    category: str = Field(description="The category's code")
    category_name: str
    hall_name: str
    state: TicketState
    expired: bool = Field(
        False, description="The ticket is of a past day (or its day was closed out)"
    )
    people_ahead: int = Field(0, description="Waiting: people before it in its queue")
    estimated_wait_minutes: float = 0.0
    window: int | None = Field(None, description="Called or being served: at this window")
    window_name: str | None = None
    called_at: datetime | None = Field(None, description="Its last call (or recall)")
    recall_count: int = 0
    rated: bool = Field(False, description="Done: its last service was rated")
    steps: int = Field(1, description="A one-chain visit (一链办理): its number of steps")
    visit_rated: bool = Field(
        False, description="Done one-chain visit: rated as a whole (always false for one step)"
    )
    rating_until: datetime | None = Field(
        None,
        description="Done: the slip may rate what is left (its last service, then a one-chain "
        "visit as a whole) until then; null when nothing is left or the time is over",
    )


class CitizenHelloReply(_Reply):
    """The reply to a citizen's hello: its ticket as the status page shows it (no
    snapshot); `ticket_update` frames follow whenever that changes."""

    version: int = PROTOCOL_VERSION
    role: Literal[Role.CITIZEN] = Role.CITIZEN
    status: CitizenTicketView
    rating_reasons: list[str] = Field([], description="The hall's reasons for a 差评")


class TicketUpdate(BaseModel):
    """Pushed to a citizen connection when its ticket's status page changes: the whole
    view again (no seq: a reconnecting page says hello and gets the view as of now)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    type: Literal["ticket_update"] = "ticket_update"
    status: CitizenTicketView


class WindowReply(_Reply):
    window: WindowView
    ticket: TicketView | None = Field(None, description="The ticket the action was about")


class SnapshotReply(_Reply):
    snapshot: Snapshot


class AppointmentView(_View):
    code: str
    category: str
    item: str | None = None
    day: date
    slot: str
    name: str
    phone: str = Field(description="Masked, e.g. 138****5678")
    state: str = Field(description="booked | cancelled | checked_in | missed")
    ticket: str | None = Field(None, description="Id of the ticket issued at check-in")


class SlotView(_View):
    category: str
    slot: str = Field(description="Slot start, hall local time HH:MM")
    capacity: int
    booked: int = Field(description="Appointments holding a place (booked or checked in)")
    free: int = Field(description="Places left: capacity - booked (0 when full)")


class AppointmentReply(_Reply):
    appointment: AppointmentView


class CheckInReply(TicketReply):
    on_time: bool = True
    note: str = Field("", description="For operators' logs; clients use the fields")
    already_checked_in: bool = Field(
        False, description="The code was used before: the same ticket, with a new secret"
    )


class AppointmentListReply(_Reply):
    day: date
    appointments: list[AppointmentView]
    slots: list[SlotView] = Field([], description="Every configured slot of the day and its use")


class AppointmentSlotsReply(_Reply):
    day: date
    slots: list[SlotView] = Field(
        description="The day's slots still open to booking (not begun, within the opening "
        "hours), full ones included, by category and time"
    )


class ConfigReply(_Reply):
    config_version: int


class AlertReply(_Reply):
    alert: AlertView


class RatingReply(_Reply):
    rating: RatingView


class RatingListReply(_Reply):
    ratings: list[RatingView] = Field(description="Newest first")


class CaseReply(_Reply):
    case: CaseView


class CaseListReply(_Reply):
    cases: list[CaseView] = Field(description="By due time, soonest first")


class AuditEntry(_View):
    seq: int = Field(description="The event's seq (0: a login, which is no event)")
    at: datetime
    by: str | None
    action: str = Field(description="The event's name, or session_opened / login_refused")
    window: int | None = None
    ticket: str | None = Field(None, description="The ticket's number")
    detail: str = Field("", description="A line for people: reasons, what changed")


class AuditReply(_Reply):
    entries: list[AuditEntry] = Field(description="Newest first")


class HallConfigReply(_Reply):
    config_version: int
    config: dict[str, Any] = Field(
        description="As the hall's TOML file, staff and devices left out"
    )


class StaffView(_View):
    account: str
    name: str
    role: StaffRole
    disabled: bool = False


class StaffListReply(_Reply):
    staff: list[StaffView]


class StaffReply(_Reply):
    staff: StaffView


class DeviceView(_View):
    name: str
    kind: Role
    zone: str | None = None
    windows: list[int] = []
    revoked: bool = False
    connected: bool = Field(False, description="A connection of it is open now")


class DeviceListReply(_Reply):
    devices: list[DeviceView]


class DeviceReply(_Reply):
    device: DeviceView


class DeviceTokenReply(DeviceReply):
    token: str = Field(description="The device's token: shown this once, stored only hashed")


class ErrorReply(BaseModel):
    """An error. `message` is for logs and operators; clients show their own text built from
    `code` and the structured fields, which docs/protocol.md lists per code."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    type: Literal["error"] = "error"
    re: str | None = None
    code: ErrorCode
    message: str
    reason: str | None = Field(None, description="A finer machine code, e.g. past_closing")
    retry_after_seconds: float | None = Field(None, description="rate_limited: retry after")
    at: datetime | None = Field(
        None, description="The time the error is about: lock end, check-in opening, closing"
    )
    window: int | None = Field(None, description="The window the error is about")
    staff_name: str | None = Field(None, description="window_taken: who holds the window")
    ticket: str | None = Field(None, description="The ticket the error is about (its number)")
    state: str | None = Field(None, description="invalid_state: the state it is in now")
    estimated_wait_minutes: float | None = Field(None, description="hall_closed past_closing")
    hall: str | None = Field(None, description="not_found reason hall: the hall asked for")
    halls: list[str] | None = Field(
        None, description="bad_request reason hall_needed: the halls this server serves"
    )
    field: str | None = Field(
        None,
        description="bad_request reason invalid_config: the configuration field that is"
        " wrong, e.g. categories[2].prefix",
    )


REPLY_FOR: dict[str, type[_Reply]] = {
    "hello": HelloReply,
    "issue_ticket": TicketReply,
    "cancel_ticket": TicketReply,
    "ticket_status": TicketReply,
    "call_next": WindowReply,
    "call_ticket": WindowReply,
    "recall": WindowReply,
    "start_service": WindowReply,
    "finish_service": WindowReply,
    "end_chain": WindowReply,
    "mark_no_show": WindowReply,
    "reinstate": TicketReply,
    "transfer": WindowReply,
    "pause_window": WindowReply,
    "resume_window": WindowReply,
    "close_window": WindowReply,
    "snapshot": SnapshotReply,
    "book_appointment": AppointmentReply,
    "check_in": CheckInReply,
    "cancel_appointment": AppointmentReply,
    "list_appointments": AppointmentListReply,
    "appointment_slots": AppointmentSlotsReply,
    "rate": RatingReply,
    "no_rating": OkReply,
    "list_ratings": RatingListReply,
    "list_cases": CaseListReply,
    "get_case": CaseReply,
    "update_case": CaseReply,
    "set_window_profile": WindowReply,
    "set_notice": ConfigReply,
    "move_ticket": TicketReply,
    "pause_issuing": ConfigReply,
    "resume_issuing": ConfigReply,
    "acknowledge_alert": AlertReply,
    "device_status": OkReply,
    "audit": AuditReply,
    "get_config": HallConfigReply,
    "set_config": ConfigReply,
    "list_staff": StaffListReply,
    "add_staff": StaffReply,
    "update_staff": StaffReply,
    "list_devices": DeviceListReply,
    "add_device": DeviceTokenReply,
    "revoke_device": DeviceReply,
}

# ---------------------------------------------------------------------------
# Events


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    type: Literal["event"] = "event"
    seq: int
    at: datetime
    by: str | None = Field(
        None,
        description="Whose request made it: staff:ACCOUNT, device:NAME, or cli:USER for the"
        " queue-server command; none for the server's own changes (close-out, a window gone"
        " offline). The audit trail.",
    )


class _TicketEvent(_Event):
    ticket: TicketView


class TicketIssued(_TicketEvent):
    name: Literal["ticket_issued"] = "ticket_issued"


class TicketCalled(_TicketEvent):
    name: Literal["ticket_called"] = "ticket_called"
    window: int
    window_name: str
    zone: str = ""


class TicketRecalled(_TicketEvent):
    name: Literal["ticket_recalled"] = "ticket_recalled"
    window: int
    window_name: str
    zone: str = ""


class ServiceStarted(_TicketEvent):
    name: Literal["service_started"] = "service_started"
    window: int


class ServiceFinished(_TicketEvent):
    name: Literal["service_finished"] = "service_finished"
    window: int
    next_step: str | None = Field(None, description="One-chain: the step the ticket waits for")
    chain_ended: str | None = Field(
        None, description="One-chain ended early at this step (end_chain): the reason given"
    )


class TicketNoShow(_TicketEvent):
    name: Literal["ticket_no_show"] = "ticket_no_show"
    window: int


class TicketReinstated(_TicketEvent):
    name: Literal["ticket_reinstated"] = "ticket_reinstated"


class TicketTransferred(_TicketEvent):
    name: Literal["ticket_transferred"] = "ticket_transferred"
    transfer: Transfer


class TicketCancelled(_TicketEvent):
    name: Literal["ticket_cancelled"] = "ticket_cancelled"
    reason: str = ""


class TicketRequeued(_TicketEvent):
    """A called ticket back in the queue at its old place: its window went offline and was
    closed, or a supervisor closed it."""

    name: Literal["ticket_requeued"] = "ticket_requeued"
    window: int
    reason: str = Field(description="offline | closed_by_supervisor")


class TicketExpired(_TicketEvent):
    """A ticket still open when its day was closed out (SPEC §3)."""

    name: Literal["ticket_expired"] = "ticket_expired"


class DaySummary(_View):
    issued: int = 0
    done: int = 0
    no_show: int = 0
    cancelled: int = 0
    expired: int = 0
    appointments_missed: int = Field(0, description="Booked and never checked in")


class DayClosed(_Event):
    """The hall's day was closed out: every ticket of it still open has expired, every
    window is closed. Nothing of that day is called, counted or shown as waiting again."""

    name: Literal["day_closed"] = "day_closed"
    day: date = Field(description="The hall-local date closed")
    closed_at: datetime = Field(description="The close-out moment: closing + grace, or midnight")
    summary: DaySummary


class WindowChanged(_Event):
    name: Literal["window_changed"] = "window_changed"
    window: WindowView
    reason: str | None = Field(
        None,
        description="Why, when not by the window's own action: day_closed, offline,"
        " closed_by_supervisor, moved (its staff logged in at another window)",
    )


class QueueChanged(_Event):
    name: Literal["queue_changed"] = "queue_changed"
    queues: list[QueueStat] = Field(description="Only the categories that changed")


class ConfigChanged(_Event):
    name: Literal["config_changed"] = "config_changed"
    config_version: int
    what: str = ""


class AppointmentBooked(_Event):
    name: Literal["appointment_booked"] = "appointment_booked"
    appointment: AppointmentView


class AppointmentCancelled(_Event):
    name: Literal["appointment_cancelled"] = "appointment_cancelled"
    appointment: AppointmentView


class AppointmentCheckedIn(_Event):
    name: Literal["appointment_checked_in"] = "appointment_checked_in"
    appointment: AppointmentView
    on_time: bool = Field(description="False: too late, a normal ticket was issued instead")


class SessionOpened(_Event):
    """A hello was accepted: a window's staff, a supervisor or a device logged in."""

    name: Literal["session_opened"] = "session_opened"
    role: Role
    window: int | None = None
    address: str = Field("", description="The client's IP address")
    client: str | None = Field(None, description="The program, as its hello named it")


class LoginRefused(_Event):
    """A hello was refused for its credentials (wrong password or token, a locked or disabled
    account, a staff account asking for the console); `by` names the account tried."""

    name: Literal["login_refused"] = "login_refused"
    role: Role
    window: int | None = None
    address: str = ""
    code: ErrorCode
    reason: str | None = None


class TicketRated(_Event):
    name: Literal["ticket_rated"] = "ticket_rated"
    rating: RatingView


class RatingNotGiven(_Event):
    """A rating pad timed out: the service was not rated there."""

    name: Literal["rating_not_given"] = "rating_not_given"
    ticket: str = Field(description="The ticket's id")
    number: str
    step: int
    window: int


class CaseOpened(_Event):
    name: Literal["case_opened"] = "case_opened"
    case: CaseView


class CaseUpdated(_Event):
    name: Literal["case_updated"] = "case_updated"
    case: CaseView
    action: CaseAction


class AlertRaised(_Event):
    name: Literal["alert_raised"] = "alert_raised"
    alert: AlertView


class AlertCleared(_Event):
    name: Literal["alert_cleared"] = "alert_cleared"
    alert: AlertView


class AlertAcknowledged(_Event):
    name: Literal["alert_acknowledged"] = "alert_acknowledged"
    alert: AlertView


AnyEvent = Annotated[
    TicketIssued
    | TicketCalled
    | TicketRecalled
    | ServiceStarted
    | ServiceFinished
    | TicketNoShow
    | TicketReinstated
    | TicketTransferred
    | TicketCancelled
    | TicketRequeued
    | TicketExpired
    | DayClosed
    | WindowChanged
    | QueueChanged
    | ConfigChanged
    | AppointmentBooked
    | AppointmentCancelled
    | AppointmentCheckedIn
    | AlertRaised
    | AlertCleared
    | AlertAcknowledged
    | TicketRated
    | RatingNotGiven
    | CaseOpened
    | CaseUpdated
    | SessionOpened
    | LoginRefused,
    Field(discriminator="name"),
]


class EventBatch(BaseModel):
    """Events committed together, in one frame, for a client whose hello said
    `batch_events`: the same events, in seq order, as separate frames would carry."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    type: Literal["events"] = "events"
    events: list[AnyEvent] = Field(min_length=1)


EVENT_NAMES: tuple[str, ...] = (
    "ticket_issued",
    "ticket_called",
    "ticket_recalled",
    "service_started",
    "service_finished",
    "ticket_no_show",
    "ticket_reinstated",
    "ticket_transferred",
    "ticket_cancelled",
    "ticket_requeued",
    "ticket_expired",
    "day_closed",
    "window_changed",
    "queue_changed",
    "config_changed",
    "appointment_booked",
    "appointment_cancelled",
    "appointment_checked_in",
    "alert_raised",
    "alert_cleared",
    "alert_acknowledged",
    "ticket_rated",
    "rating_not_given",
    "case_opened",
    "case_updated",
    "session_opened",
    "login_refused",
)


def event_payload(event: BaseModel) -> dict[str, Any]:
    """The JSON-ready fields of an event other than its envelope (type, seq, at)."""
    return event.model_dump(mode="json", exclude={"type", "seq", "at"})
