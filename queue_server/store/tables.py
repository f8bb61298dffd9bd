"""Table models. Times are stored in UTC (SPEC §9); lists are stored as JSON text.

A database holds one hall or a district's several (SPEC §7): every table but `hall` is
scoped by `hall_id`, which leads each primary key and index, so each hall's rows, numbers
and event `seq` are its own and no query of one hall reads another's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the backend keeps."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utc_column(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def json_column() -> Any:
    return Field(default="[]", sa_column=Column(Text, nullable=False))


def hall_key() -> Any:
    """The hall a row belongs to: the first part of every hall-scoped key."""
    return Field(foreign_key="hall.id", primary_key=True)


class HallRow(SQLModel, table=True):
    __tablename__ = "hall"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)  # how programs name the hall (--hall), e.g. "donghu"
    name: str
    timezone: str = "Asia/Shanghai"
    policy: str = "weighted_wait"
    max_wait_minutes: int = 60
    rank_penalty: float = 0.5
    no_show_after_recalls: int = 3
    reinstate_grace_minutes: int = 30
    notice: str = ""
    hours: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # {"mon": [..]}
    holidays: str = json_column()
    # The working days deadlines count in (domain/calendar.py): {"holidays", "workdays"}.
    calendar: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    lock_after_failures: int = 10  # wrong passwords before an account is locked (0 = never)
    lock_minutes: int = 15
    close_out_grace_minutes: int = 30
    window_offline_minutes: int = 5
    staff_multiple_windows: bool = False
    config_version: int = 1
    last_seq: int = 0  # the hall-wide event counter; bumped inside each command's transaction
    # The last day close-out moment carried out (domain.day): tickets issued before it are
    # never open. Kept across imports, like last_seq.
    closed_out_at: datetime | None = utc_column()
    retired: bool = False  # no longer served; its rows stay for the statistics
    alerts: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # thresholds
    ratings: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # [ratings]


class CategoryRow(SQLModel, table=True):
    __tablename__ = "category"
    __table_args__ = (UniqueConstraint("hall_id", "prefix", name="uq_category_prefix"),)
    hall_id: int = hall_key()
    code: str = Field(primary_key=True)
    name: str
    prefix: str
    position: int = 0
    target_wait_minutes: int = 15
    daily_capacity: int | None = None
    service_minutes: float = 10.0
    # Set while a supervisor has paused issuing for the category: why (kiosks are refused).
    issuing_paused_reason: str | None = None


class ServiceItemRow(SQLModel, table=True):
    __tablename__ = "service_item"
    __table_args__ = (
        UniqueConstraint("hall_id", "name", name="uq_service_item_name"),
        ForeignKeyConstraint(["hall_id", "category"], ["category.hall_id", "category.code"]),
    )
    id: int | None = Field(default=None, primary_key=True)
    hall_id: int = Field(foreign_key="hall.id")
    name: str
    category: str
    time_limit_days: int = 0
    materials: str = json_column()
    appointment: bool = False
    chain: str = json_column()  # one-chain (一链办理) steps, in order


class WindowRow(SQLModel, table=True):
    __tablename__ = "window"
    hall_id: int = hall_key()
    number: int = Field(primary_key=True)
    name: str
    zone: str = ""
    profile: str = json_column()  # [] = 全科
    state: str = "closed"
    staff: str | None = None
    pause_reason: str | None = None
    ticket: str | None = None
    connected: bool = False  # a window client is connected for it (set by the server)
    since: datetime | None = utc_column()  # when it entered its state


class StaffRow(SQLModel, table=True):
    __tablename__ = "staff"
    hall_id: int = hall_key()
    account: str = Field(primary_key=True)
    name: str
    role: str = "staff"
    password_hash: str
    disabled: bool = False


class DeviceRow(SQLModel, table=True):
    __tablename__ = "device"
    hall_id: int = hall_key()
    name: str = Field(primary_key=True)
    kind: str  # display | kiosk
    token_hash: str = Field(unique=True)  # sha256 of the token; the token itself is shown once
    zone: str | None = None
    windows: str = json_column()  # [] = every window
    revoked: bool = False


class TicketRow(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (
        Index("ix_ticket_waiting", "hall_id", "state", "category", "queued_at"),
        Index("ix_ticket_day_number", "hall_id", "day", "number", unique=True),
        Index("ix_ticket_done", "hall_id", "category", "state", "finished_at"),
    )
    hall_id: int = hall_key()
    id: str = Field(primary_key=True)  # numbering.ticket_id: local date + number
    day: str  # hall-local date, YYYY-MM-DD
    number: str
    category: str
    item: str | None = None
    priority: str = "normal"
    state: str = "waiting"
    issued_at: datetime = utc_column(nullable=False)
    queued_at: datetime = utc_column(nullable=False)  # its place in the queue counts from here
    call_times: str = json_column()
    started_at: datetime | None = utc_column()
    finished_at: datetime | None = utc_column()
    no_show_at: datetime | None = utc_column()
    window: int | None = None
    staff: str | None = None
    recall_count: int = 0
    transfers: str = json_column()
    chain_step: int = 0
    chain: str = json_column()  # the item's one-chain steps at issue
    target_window: int | None = None
    appointment_at: datetime | None = utc_column()
    secret_hash: str | None = None  # sha256 of the slip's secret (rating, status page)


class ServiceRow(SQLModel, table=True):
    """One service: a ticket (at one one-chain step) served at one window, from its call to
    its end. A window's figures count these, so each chain step counts where it was served."""

    __tablename__ = "service"
    __table_args__ = (
        Index("ix_service_window_day", "hall_id", "day", "window"),
        Index("ix_service_ticket", "hall_id", "ticket"),
    )
    id: int | None = Field(default=None, primary_key=True)
    hall_id: int = Field(foreign_key="hall.id")
    ticket: str
    day: str  # the ticket's hall-local date
    step: int = 0
    step_name: str | None = None
    category: str
    window: int
    staff: str | None = None
    called_at: datetime = utc_column(nullable=False)
    started_at: datetime = utc_column(nullable=False)
    ended_at: datetime = utc_column(nullable=False)
    outcome: str  # done | next_step | chain_ended | transferred


class NumberCounterRow(SQLModel, table=True):
    """Last daily sequence per category and local day: numbers are never reused."""

    __tablename__ = "number_counter"
    hall_id: int = hall_key()
    day: str = Field(primary_key=True)
    category: str = Field(primary_key=True)
    last: int = 0


class EventRow(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (Index("ix_event_by", "hall_id", "by", "seq"),)
    hall_id: int = hall_key()
    seq: int = Field(primary_key=True)  # gapless per hall
    at: datetime = utc_column(nullable=False)
    name: str
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the whole event as JSON
    window: int | None = None  # for display filters
    zone: str | None = None
    by: str | None = None  # the principal whose request made it (audit); none: the server


class RequestRow(SQLModel, table=True):
    """The first answer to each request id, so a retried id changes nothing again."""

    __tablename__ = "request_log"
    __table_args__ = (Index("ix_request_log_at", "hall_id", "at"),)
    hall_id: int = hall_key()
    principal: str = Field(primary_key=True)
    request_id: str = Field(primary_key=True)
    fingerprint: str
    reply: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = utc_column(nullable=False)


class AppointmentRow(SQLModel, table=True):
    """A booked place in an appointment slot (SPEC §3). The phone is kept whole so the hall
    can reach the citizen, but it leaves the database only masked (replies, events, logs)."""

    __tablename__ = "appointment"
    __table_args__ = (Index("ix_appointment_slot", "hall_id", "day", "category", "slot", "state"),)
    hall_id: int = hall_key()
    code: str = Field(primary_key=True)  # the check-in code; random, unambiguous characters
    category: str
    item: str | None = None
    day: str  # hall-local date, YYYY-MM-DD
    slot: str  # slot start, hall-local HH:MM
    slot_at: datetime = utc_column(nullable=False)  # the slot start as a UTC instant
    name: str
    phone: str
    state: str = "booked"  # booked | cancelled | checked_in | missed (never came)
    ticket: str | None = None
    created_at: datetime = utc_column(nullable=False)
    checked_in_at: datetime | None = utc_column()
    cancelled_at: datetime | None = utc_column()


class AppointmentRulesRow(SQLModel, table=True):
    """The hall's `[appointments]` configuration: check-in window and slots per category."""

    __tablename__ = "appointment_rules"
    hall_id: int = hall_key()
    check_in_before_minutes: int = 15
    check_in_after_minutes: int = 15
    slots: str = json_column()  # [{"category": "QY", "times": ["09:00", …], "capacity": 2}]


class HallOwnerRow(SQLModel, table=True):
    """Where the server process owning a hall listens (store/lease.py): the others forward
    the hall's connections there. The lease (an advisory lock) is the truth, this the address."""

    __tablename__ = "hall_owner"
    hall_id: int = Field(foreign_key="hall.id", primary_key=True)
    address: str  # ws:// or wss:// URL of the owner
    process: str  # host:pid, for the operators
    since: datetime = utc_column(nullable=False)


class AlertRow(SQLModel, table=True):
    """An alert of the hall (hall/alerts.py): raised when its condition starts, cleared when
    it ends, acknowledged by a supervisor. Kept, for the audit and the statistics."""

    __tablename__ = "alert"
    __table_args__ = (Index("ix_alert_raised", "hall_id", "raised_at"),)
    hall_id: int = hall_key()
    id: int = Field(primary_key=True)  # per hall, from 1
    kind: str
    subject: str  # what it is about, e.g. "A" (a category), "7" (a window), a device's name
    severity: str
    raised_at: datetime = utc_column(nullable=False)
    cleared_at: datetime | None = utc_column()
    category: str | None = None
    window: int | None = None
    ticket: str | None = None
    device: str | None = None
    case_id: int | None = None
    value: float | None = None
    threshold: float | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = utc_column()


class StatsCellRow(SQLModel, table=True):
    """The statistics kept (queue_server/stats/aggregates.py): one hall's final figures of
    one hall-local day (and the sum of a month's days) for one grouping key, as a mergeable
    cell (stats/cells.py). Rebuilt
    from the event log by `queue-server stats rebuild`; nothing here is a source of truth."""

    __tablename__ = "stats_cell"
    hall_id: int = hall_key()
    dim: str = Field(primary_key=True)  # hall | category | item | window | staff | …
    day: str = Field(primary_key=True)  # hall-local date YYYY-MM-DD, or a month YYYY-MM
    key: str = Field(primary_key=True)  # the grouping value ("" for the hall itself)
    cell: str = Field(sa_column=Column(Text, nullable=False))  # JSON (stats/cells.py)


class StatsFoldRow(SQLModel, table=True):
    """How far the statistics kept have read the hall's event log, and what was still open
    there (waiting tickets, open windows, appointments to come) as JSON (stats/fold.py)."""

    __tablename__ = "stats_fold"
    hall_id: int = Field(foreign_key="hall.id", primary_key=True)
    seq: int = 0  # the last event folded
    state: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = utc_column(nullable=False)  # when it was last brought up to date


class RatingRow(SQLModel, table=True):
    """One rating of one service (好差评, hall/ratings.py): a ticket's one-chain step, or
    (step -1) a one-chain visit as a whole. Never changed but for `excluded` (an appeal
    granted) and `case`. The phone is kept whole; it leaves the database only masked."""

    __tablename__ = "rating"
    __table_args__ = (
        Index("ix_rating_service", "hall_id", "ticket", "step", unique=True),  # 一次一评
        Index("ix_rating_at", "hall_id", "rated_at"),
    )
    hall_id: int = hall_key()
    id: int = Field(primary_key=True)  # per hall, from 1
    ticket: str
    day: str  # the ticket's hall-local date
    number: str
    step: int  # the chain step rated (0 = the first); -1: the visit as a whole
    step_name: str | None = None
    category: str
    item: str | None = None
    window: int | None = None
    staff: str | None = None
    channel: str  # pad | qr | paper
    level: int  # 1 非常满意 … 5 非常不满意
    reasons: str = json_column()
    comment: str | None = None
    phone: str | None = None
    rated_at: datetime = utc_column(nullable=False)
    by: str | None = None  # the principal who entered it (a paper form: the staff)
    excluded: bool = False
    excluded_reason: str | None = None
    case_id: int | None = None


class RatingCaseRow(SQLModel, table=True):
    """A 差评's follow-up case (工单, 评必反馈): its state and what the steps recorded;
    every step is also a `case_step` row and an event."""

    __tablename__ = "rating_case"
    __table_args__ = (Index("ix_rating_case_state", "hall_id", "state", "due_at"),)
    hall_id: int = hall_key()
    id: int = Field(primary_key=True)  # per hall, from 1
    rating: int
    state: str
    opened_at: datetime = utc_column(nullable=False)
    due_at: datetime = utc_column(nullable=False)
    owner: str | None = None
    appealed_from: str | None = None  # the state an appeal came from (upheld: back to it)
    answered_at: datetime | None = utc_column()
    callback_level: int | None = None
    closed_at: datetime | None = utc_column()


class CaseStepRow(SQLModel, table=True):
    __tablename__ = "case_step"
    hall_id: int = hall_key()
    case_id: int = Field(primary_key=True)
    n: int = Field(primary_key=True)  # from 0 (opened)
    at: datetime = utc_column(nullable=False)
    by: str | None = None
    action: str
    state: str
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    level: int | None = None
    owner: str | None = None
