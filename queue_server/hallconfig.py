"""Hall configuration: TOML import/export and the in-memory view the service works from.

TOML layout (see queue_server/halls/demo.toml):

    [hall]        name, timezone, policy, max_wait_minutes, no_show_after_recalls,
                  reinstate_grace_minutes, notice, holidays = ["2026-10-01", …] (closed),
                  lock_after_failures (wrong passwords before a lock; 0 = never), lock_minutes,
                  close_out_grace_minutes (the day closes this long after closing time),
                  window_offline_minutes (a window without its client this long is closed),
                  staff_multiple_windows (may one account hold two windows; default false)
    [hall.hours]  mon … sun = ["08:30", "18:00"]  (a missing day is closed)
    [calendar]    the working days deadlines count in (domain/calendar.py): holidays =
                  [...] (法定节假日 off), workdays = [...] (调休: weekend days worked; a hall
                  closed that weekday opens with its Monday–Friday hours)
    [[categories]] code, name, prefix, target_wait_minutes, daily_capacity, service_minutes
    [[items]]     name, category, time_limit_days, materials = […], appointment,
                  chain = ["企业登记", …]  (one-chain steps: one visit, one service per step)
    [[windows]]   number, name, zone, profile = "全科" | ["QY", …]
    [[staff]]     account, name, role, password_hash (or password, hashed on import)
    [[devices]]   name, kind, token_hash (or token, hashed on import), zone, windows
    [appointments] check_in_before_minutes = 15, check_in_after_minutes = 15
    [[appointments.slots]] category, times = ["09:00", "09:30", …], capacity (per slot)
    [alerts]      the supervisors' alerts (hall/alerts.py): idle_minutes, paused_minutes,
                  service_factor, service_min_minutes, no_show_count, no_show_minutes,
                  device_offline_seconds, bad_rating_from, case_due_working_days,
                  off = ["window_idle", …]
    [ratings]     好差评 (hall/ratings.py): reasons = [...] (a 差评's reasons to choose from),
                  pad_seconds (a rating pad waits this long), qr_working_days (a slip's QR
                  code rates this long after the service), case_working_days (a 差评's
                  follow-up case is due in this many working days), case_owner (the
                  supervisor responsible), case_owners = {zone = account} (by the zone of
                  the window that served: 谁办理、谁负责)
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete
from sqlmodel import Session, col, select

from queue_protocol.messages import Policy, StaffRole, WindowState
from queue_server import security
from queue_server.domain.appointments import AppointmentRules, SlotPlan, parse_rules
from queue_server.domain.model import (
    Category,
    HallRules,
    OpeningHours,
    ServiceItem,
    Window,
    WorkCalendar,
)
from queue_server.store.tables import (
    AppointmentRulesRow,
    CategoryRow,
    DeviceRow,
    HallRow,
    ServiceItemRow,
    StaffRow,
    TicketRow,
    WindowRow,
)

DEVICE_KINDS = ("display", "kiosk", "rater")  # rater: a rating pad (评价器) at one window
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_SUBJECTS = "全科"


class ConfigError(ValueError):
    """A hall configuration that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class HallConfig:
    """What the scheduler needs, loaded once per config_version."""

    version: int
    rules: HallRules
    categories: dict[str, Category]  # in hall order
    items: dict[str, ServiceItem]
    appointments: AppointmentRules = field(default_factory=AppointmentRules)
    staff_names: dict[str, str] = field(default_factory=dict)  # account -> display name
    alerts: AlertRules = field(default_factory=lambda: AlertRules())
    ratings: RatingRules = field(default_factory=lambda: RatingRules())


@dataclass(frozen=True)
class AlertRules:
    """When the hall's alerts are raised (hall/alerts.py); `[alerts]` in the TOML file."""

    idle_minutes: int = 3  # a window idle this long while tickets it may call wait
    paused_minutes: int = 30  # a window paused this long
    service_factor: float = 3.0  # a service this many times its category's usual …
    service_min_minutes: int = 10  # … and at least this long
    no_show_count: int = 5  # this many no-shows …
    no_show_minutes: int = 15  # … within this many minutes
    device_offline_seconds: int = 60  # a display or kiosk gone this long
    # Ratings at this level or worse are 差评 (1 非常满意 … 4 不满意, 5 非常不满意).
    bad_rating_from: int = 4
    case_due_working_days: int = 1  # a follow-up case due within this many working days
    off: frozenset[str] = frozenset()  # kinds not raised at all


DEFAULT_REASONS = (
    "服务态度不好",
    "等候时间过长",
    "业务不熟练",
    "一次性告知不清",
    "办事效率低",
    "系统故障",
)


@dataclass(frozen=True)
class RatingRules:
    """How the hall's services are rated and its 差评 followed up; `[ratings]`."""

    reasons: tuple[str, ...] = DEFAULT_REASONS
    pad_seconds: int = 60  # a rating pad waits this long for the citizen, then: not rated
    qr_working_days: int = 5  # a slip's QR code (or a paper form) rates within this period
    case_working_days: int = 5  # a 差评's case must be answered within this many
    case_owner: str | None = None  # the supervisor responsible, by default
    case_owners: tuple[tuple[str, str], ...] = ()  # (zone, account): by the serving window

    def owner_for(self, zone: str | None) -> str | None:
        return dict(self.case_owners).get(zone or "", self.case_owner)


ALERT_KINDS = frozenset(
    {
        "wait_past_target",
        "wait_at_cap",
        "window_idle",
        "window_paused_long",
        "service_long",
        "no_show_burst",
        "device_offline",
        "voice_failing",
        "bad_rating",
        "case_due",
        "case_overdue",
    }
)


def demo_hall_path() -> Path:
    return Path(str(resources.files("queue_server.halls").joinpath("demo.toml")))


# ---------------------------------------------------------------------------
# Reading the configuration the service works from


def load_config(session: Session, hall_id: int) -> HallConfig:
    hall = session.get(HallRow, hall_id)
    if hall is None:
        raise ConfigError("the database holds no such hall; run `queue-server init` first")
    categories = session.exec(
        select(CategoryRow)
        .where(CategoryRow.hall_id == hall_id)
        .order_by(col(CategoryRow.position))
    ).all()
    items = session.exec(
        select(ServiceItemRow)
        .where(ServiceItemRow.hall_id == hall_id)
        .order_by(col(ServiceItemRow.id))  # as the file lists them
    ).all()
    staff = session.exec(select(StaffRow).where(StaffRow.hall_id == hall_id)).all()
    return HallConfig(
        version=hall.config_version,
        rules=rules_of(hall),
        categories={c.code: category_of(c) for c in categories},
        items={i.name: item_of(i) for i in items},
        appointments=load_rules(session, hall_id),
        staff_names={s.account: s.name for s in staff},
        alerts=alert_rules(json.loads(hall.alerts or "{}")),
        ratings=rating_rules(json.loads(hall.ratings or "{}")),
    )


def alert_rules(data: dict[str, Any], where: str = "alerts") -> AlertRules:
    """The `[alerts]` table, validated (ConfigError says which field is wrong)."""
    _check(data, dict, where)
    unknown = set(data) - {*AlertRules.__dataclass_fields__}
    if unknown:
        raise ConfigError(f"{where}: unknown setting {sorted(unknown)[0]!r}")
    off = _str_list(data.get("off", []), f"{where}.off")
    for kind in off:
        if kind not in ALERT_KINDS:
            raise ConfigError(
                f"{where}.off: {kind!r} is not an alert ({', '.join(sorted(ALERT_KINDS))})"
            )
    factor = float(_opt(data, "service_factor", (int, float), where, 3.0))
    if factor < 1:
        raise ConfigError(f"{where}.service_factor: must be at least 1")
    level = _positive(data, "bad_rating_from", where, 4)
    if not 2 <= level <= 5:
        raise ConfigError(
            f"{where}.bad_rating_from: must be 2-5 (ratings are 1 非常满意 … 5 非常不满意)"
        )
    return AlertRules(
        idle_minutes=_positive(data, "idle_minutes", where, 3),
        paused_minutes=_positive(data, "paused_minutes", where, 30),
        service_factor=factor,
        service_min_minutes=_positive(data, "service_min_minutes", where, 10, zero=True),
        no_show_count=_positive(data, "no_show_count", where, 5),
        no_show_minutes=_positive(data, "no_show_minutes", where, 15),
        device_offline_seconds=_positive(data, "device_offline_seconds", where, 60),
        bad_rating_from=level,
        case_due_working_days=_positive(data, "case_due_working_days", where, 1, zero=True),
        off=frozenset(off),
    )


MOST_WORKING_DAYS = 60  # a hall's periods in working days stay within a quarter


def rating_rules(data: dict[str, Any], where: str = "ratings") -> RatingRules:
    """The `[ratings]` table, validated (ConfigError says which field is wrong)."""
    _check(data, dict, where)
    unknown = set(data) - {*RatingRules.__dataclass_fields__}
    if unknown:
        raise ConfigError(f"{where}: unknown setting {sorted(unknown)[0]!r}")
    reasons = _str_list(data.get("reasons", list(DEFAULT_REASONS)), f"{where}.reasons")
    if not reasons or any(not r.strip() or len(r) > 100 for r in reasons):
        raise ConfigError(f"{where}.reasons: give at least one reason of 1-100 characters")
    if len(set(reasons)) != len(reasons):
        raise ConfigError(f"{where}.reasons: a reason is listed twice")
    periods = {}
    for name, default in (("qr_working_days", 5), ("case_working_days", 5)):
        periods[name] = _positive(data, name, where, default)
        if periods[name] > MOST_WORKING_DAYS:
            raise ConfigError(f"{where}.{name}: at most {MOST_WORKING_DAYS} working days")
    pad = _positive(data, "pad_seconds", where, 60)
    if not 10 <= pad <= 600:
        raise ConfigError(f"{where}.pad_seconds: must be 10-600")
    owner = data.get("case_owner")
    if owner is not None:
        _check(owner, str, f"{where}.case_owner")
    owners = _check(data.get("case_owners", {}), dict, f"{where}.case_owners")
    for zone, account in owners.items():
        _check(account, str, f"{where}.case_owners.{zone}")
    return RatingRules(
        reasons=tuple(reasons),
        pad_seconds=pad,
        qr_working_days=periods["qr_working_days"],
        case_working_days=periods["case_working_days"],
        case_owner=owner,
        case_owners=tuple(sorted(owners.items())),
    )


def export_rating_rules(rules: RatingRules) -> dict[str, Any]:
    out: dict[str, Any] = {
        "reasons": list(rules.reasons),
        "pad_seconds": rules.pad_seconds,
        "qr_working_days": rules.qr_working_days,
        "case_working_days": rules.case_working_days,
        "case_owners": dict(rules.case_owners),
    }
    if rules.case_owner is not None:
        out["case_owner"] = rules.case_owner
    return out


def export_alert_rules(rules: AlertRules) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: getattr(rules, name) for name in AlertRules.__dataclass_fields__ if name != "off"
    }
    out["off"] = sorted(rules.off)
    return out


def rules_of(hall: HallRow) -> HallRules:
    stored = json.loads(hall.calendar or "{}")
    calendar = WorkCalendar(
        holidays=frozenset(date.fromisoformat(d) for d in stored.get("holidays", [])),
        workdays=frozenset(date.fromisoformat(d) for d in stored.get("workdays", [])),
    )
    hours = {
        WEEKDAYS.index(day): (time.fromisoformat(a), time.fromisoformat(b))
        for day, (a, b) in json.loads(hall.hours).items()
    }
    return HallRules(
        code=hall.code,
        name=hall.name,
        timezone=hall.timezone,
        policy=Policy(hall.policy),
        max_wait_minutes=hall.max_wait_minutes,
        rank_penalty=hall.rank_penalty,
        no_show_after_recalls=hall.no_show_after_recalls,
        reinstate_grace_minutes=hall.reinstate_grace_minutes,
        hours=OpeningHours(
            days=hours,
            holidays=frozenset(date.fromisoformat(d) for d in json.loads(hall.holidays)),
            workdays=calendar.workdays,
        ),
        calendar=calendar,
        notice=hall.notice,
        close_out_grace_minutes=hall.close_out_grace_minutes,
        window_offline_minutes=hall.window_offline_minutes,
        staff_multiple_windows=hall.staff_multiple_windows,
    )


def item_of(row: ServiceItemRow) -> ServiceItem:
    return ServiceItem(
        name=row.name,
        category=row.category,
        time_limit_days=row.time_limit_days,
        materials=tuple(json.loads(row.materials)),
        appointment=row.appointment,
        chain=tuple(json.loads(row.chain)),
    )


def category_of(row: CategoryRow) -> Category:
    return Category(
        code=row.code,
        name=row.name,
        prefix=row.prefix,
        target_wait_minutes=row.target_wait_minutes,
        daily_capacity=row.daily_capacity,
        service_minutes=row.service_minutes,
        issuing_paused_reason=row.issuing_paused_reason,
    )


def window_of(row: WindowRow) -> Window:
    return Window(
        number=row.number,
        name=row.name,
        zone=row.zone,
        profile=tuple(json.loads(row.profile)),
        state=WindowState(row.state),
        staff=row.staff,
        pause_reason=row.pause_reason,
        ticket=row.ticket,
    )


# ---------------------------------------------------------------------------
# TOML import


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def demo_district_path() -> Path:
    return Path(str(resources.files("queue_server.halls").joinpath("district.toml")))


DISTRICT_HALL_KEYS = {"file", "code", "name", "hours", "notice"}


def read_district(path: Path) -> list[dict[str, Any]]:
    """The hall configurations of a district file: each `[[halls]]` entry's hall file
    (relative to the district file), its `code`, `name`, `hours` and `notice` given over
    the file's `[hall]` values, and "{code}" in the file's strings replaced by the hall's
    code. Every hall is checked as an import would check it; codes and device tokens must
    differ between halls. Nothing is written."""
    data = read_toml(path)
    entries = data.get("halls")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: a district file lists its halls as [[halls]]")
    halls: list[dict[str, Any]] = []
    codes: set[str] = set()
    tokens: dict[str, str] = {}
    for i, entry in enumerate(entries):
        where = f"halls[{i}]"
        _check(entry, dict, where)
        unknown = sorted(set(entry) - DISTRICT_HALL_KEYS)
        if unknown:
            raise ConfigError(
                f"{where}: unknown keys {unknown} (known: {sorted(DISTRICT_HALL_KEYS)})"
            )
        hall = read_toml(path.parent / _need(entry, "file", str, where))
        hall_t = _check(hall.setdefault("hall", {}), dict, f"{where}: hall")
        hall_t.update({k: v for k, v in entry.items() if k != "file"})
        code = file_code(hall)
        if code is None:
            raise ConfigError(f"{where}: the hall has no code (give `code`)")
        if code in codes:
            raise ConfigError(f"{where}.code: the hall {code!r} is listed twice")
        codes.add(code)
        hall = _with_code(hall, code)
        try:
            rows = _validate(hall)
        except ConfigError as exc:
            raise ConfigError(f"{where} ({code}): {exc}") from exc
        for device in rows["devices"]:
            other = tokens.setdefault(device.token_hash, code)
            if other != code:
                raise ConfigError(
                    f"{where} ({code}): device {device.name!r} has the token of a device "
                    f"of {other!r}; each device's token is its own"
                )
        halls.append(hall)
    return halls


def _with_code(value: Any, code: str) -> Any:
    if isinstance(value, str):
        return value.replace("{code}", code)
    if isinstance(value, list):
        return [_with_code(v, code) for v in value]
    if isinstance(value, dict):
        return {k: _with_code(v, code) for k, v in value.items()}
    return value


def _need(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}: '{key}' is missing")
    return _check(table[key], kind, f"{where}.{key}")


def _opt(
    table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any
) -> Any:
    return _check(table[key], kind, f"{where}.{key}") if key in table else default


def _check(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}: expected {names}, got {value!r}")
    return value


def _str_list(value: Any, where: str) -> list[str]:
    _check(value, list, where)
    for i, v in enumerate(value):
        _check(v, str, f"{where}[{i}]")
    return list(value)


def parse_profile(value: Any, categories: set[str], where: str) -> list[str]:
    """ "全科" (or an empty list) means every category; otherwise known category codes."""
    if value == ALL_SUBJECTS or value == "all":
        return []
    profile = _str_list(value, where)
    unknown = [c for c in profile if c not in categories]
    if unknown:
        raise ConfigError(f"{where}: unknown categories {unknown}; known: {sorted(categories)}")
    if len(set(profile)) != len(profile):
        raise ConfigError(f"{where}: a category is listed twice")
    return profile


FIRST_HALL_CODE = "main"  # the hall of a database not told otherwise
HALL_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
# The settings of a hall's row that a configuration file gives (not its code, counters or
# close-out, which an import keeps).
HALL_SETTINGS = (
    "name",
    "timezone",
    "policy",
    "max_wait_minutes",
    "rank_penalty",
    "no_show_after_recalls",
    "reinstate_grace_minutes",
    "notice",
    "hours",
    "holidays",
    "calendar",
    "lock_after_failures",
    "lock_minutes",
    "close_out_grace_minutes",
    "window_offline_minutes",
    "staff_multiple_windows",
    "alerts",
    "ratings",
)


def file_code(data: dict[str, Any]) -> str | None:
    """The hall code a configuration file names (`[hall] code`), checked; None if none."""
    hall = data.get("hall")
    code = hall.get("code") if isinstance(hall, dict) else None
    if code is None:
        return None
    if not isinstance(code, str) or not HALL_CODE.fullmatch(code):
        raise ConfigError(
            "hall.code: 1-32 lower-case letters, digits or '-', starting with a letter or digit"
        )
    return code


def import_hall(session: Session, code: str, data: dict[str, Any]) -> tuple[int, int]:
    """Replace the configuration of the hall `code` with `data`, making the hall if the
    database has none of that code. Tickets and events are kept.

    Validates everything before writing anything; returns the hall's id and its new
    config_version.
    """
    named = file_code(data)
    if named is not None and named != code:
        raise ConfigError(f"hall.code: this file is hall {named!r}'s, not {code!r}'s")
    if not HALL_CODE.fullmatch(code):
        raise ConfigError(f"hall code {code!r}: 1-32 lower-case letters, digits or '-'")
    rows = _validate(data)
    # Locked for the transaction (PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the
    # whole database): the hall's writer in a server waits, then finds last_seq moved.
    hall = session.exec(select(HallRow).where(HallRow.code == code).with_for_update()).first()
    settings: HallRow = rows["hall"]
    if hall is None:
        hall, version = settings, 1
        hall.code = code
        session.add(hall)
        session.flush()  # its id
    else:
        version = hall.config_version + 1
        for name in HALL_SETTINGS:
            setattr(hall, name, getattr(settings, name))
        hall.config_version = version
        session.add(hall)
    assert hall.id is not None
    hall_id = hall.id
    _check_live_state(session, hall_id, rows)
    hashes = [d.token_hash for d in rows["devices"]]
    taken = session.exec(
        select(DeviceRow.name, HallRow.code)
        .join(HallRow, col(HallRow.id) == col(DeviceRow.hall_id))
        .where(col(DeviceRow.token_hash).in_(hashes), DeviceRow.hall_id != hall_id)
    ).first()
    if taken is not None:
        raise ConfigError(
            f"devices: a token is already the token of {taken[1]!r}'s device {taken[0]!r}; "
            "each device's token is its own"
        )
    for model in (ServiceItemRow, DeviceRow, StaffRow, AppointmentRulesRow):
        session.exec(delete(model).where(col(model.hall_id) == hall_id))
    # Windows keep their live state when they survive the import.
    live = {
        w.number: w
        for w in session.exec(select(WindowRow).where(WindowRow.hall_id == hall_id)).all()
    }
    # A category's paused issuing (a supervisor's act of the day) survives an import.
    paused = {
        c.code: c.issuing_paused_reason
        for c in session.exec(select(CategoryRow).where(CategoryRow.hall_id == hall_id)).all()
    }
    session.exec(delete(CategoryRow).where(col(CategoryRow.hall_id) == hall_id))
    session.flush()
    for category in rows["categories"]:
        category.issuing_paused_reason = paused.get(category.code)
    for row in (*rows["categories"], *rows["items"], *rows["windows"], *rows["staff"]):
        row.hall_id = hall_id
    for row in (*rows["devices"], rows["appointments"]):
        row.hall_id = hall_id
    session.add_all(rows["categories"])
    session.flush()
    session.add_all(rows["items"])
    numbers = set()
    for window in rows["windows"]:
        numbers.add(window.number)
        old = live.get(window.number)
        if old is not None:
            old.name, old.zone, old.profile = window.name, window.zone, window.profile
            session.add(old)
        else:
            session.add(window)
    for number, old in live.items():
        if number not in numbers:
            session.delete(old)
    session.add_all(rows["staff"])
    session.add_all(rows["devices"])
    session.add(rows["appointments"])
    session.flush()
    return hall_id, version


def _check_live_state(session: Session, hall_id: int, rows: dict[str, Any]) -> None:
    """Refuse an import that would strand citizens or staff: a category that still has
    tickets in the hall, or a window that is open, must survive it."""
    codes = {c.code for c in rows["categories"]}
    active = session.exec(
        select(TicketRow.category, TicketRow.number).where(
            TicketRow.hall_id == hall_id,
            col(TicketRow.state).in_(["waiting", "called", "serving"]),
        )
    ).all()
    stranded = sorted({category for category, _ in active if category not in codes})
    if stranded:
        raise ConfigError(
            f"categories: {', '.join(stranded)} still have tickets waiting or being served; "
            "keep them until those tickets are done or cancelled"
        )
    numbers = {w.number for w in rows["windows"]}
    for window in session.exec(select(WindowRow).where(WindowRow.hall_id == hall_id)).all():
        if window.number not in numbers and (window.state != "closed" or window.ticket):
            raise ConfigError(
                f"windows: window {window.number} is {window.state}; close it before "
                "removing it from the configuration"
            )


def _dates(table: dict[str, Any], key: str, where: str) -> list[str]:
    days = _str_list(_opt(table, key, list, where, []), f"{where}.{key}")
    for d in days:
        try:
            date.fromisoformat(d)
        except ValueError as exc:
            raise ConfigError(f"{where}.{key}: {d!r} is not a date (YYYY-MM-DD)") from exc
    return sorted(days)


def _validate(data: dict[str, Any]) -> dict[str, Any]:
    hall_t = _need(data, "hall", dict, "config")
    name = _need(hall_t, "name", str, "hall")
    tz = _opt(hall_t, "timezone", str, "hall", "Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"hall.timezone: unknown time zone {tz!r}") from exc
    policy = _opt(hall_t, "policy", str, "hall", Policy.WEIGHTED_WAIT.value)
    if policy not in {p.value for p in Policy}:
        raise ConfigError(f"hall.policy: {policy!r} is not one of {[p.value for p in Policy]}")
    hours: dict[str, list[str]] = {}
    for day, span in _opt(hall_t, "hours", dict, "hall", {}).items():
        if day not in WEEKDAYS:
            raise ConfigError(f"hall.hours: {day!r} is not a weekday ({', '.join(WEEKDAYS)})")
        span = _str_list(span, f"hall.hours.{day}")
        try:
            opens, closes = (time.fromisoformat(s) for s in span)
        except ValueError as exc:
            raise ConfigError(f'hall.hours.{day}: expected ["HH:MM", "HH:MM"]') from exc
        if not opens < closes:
            raise ConfigError(f"hall.hours.{day}: opening must be before closing")
        hours[day] = [opens.isoformat("minutes"), closes.isoformat("minutes")]
    holidays = _dates(hall_t, "holidays", "hall")
    calendar_t = _opt(data, "calendar", dict, "config", {})
    unknown = sorted(set(calendar_t) - {"holidays", "workdays"})
    if unknown:
        raise ConfigError(f"calendar: unknown setting {unknown[0]!r} (holidays, workdays)")
    calendar = {k: _dates(calendar_t, k, "calendar") for k in ("holidays", "workdays")}
    both = sorted(set(calendar["holidays"]) & set(calendar["workdays"]))
    if both:
        raise ConfigError(f"calendar.workdays: {both[0]} is also a holiday")
    for d in calendar["workdays"]:
        if date.fromisoformat(d).weekday() < 5:
            raise ConfigError(f"calendar.workdays: {d} is a weekday (调休 days are weekend days)")
    rank_penalty = float(_opt(hall_t, "rank_penalty", (int, float), "hall", 0.5))
    if rank_penalty < 0:  # a negative penalty divides by zero in the weighted-wait score
        raise ConfigError("hall.rank_penalty: must be zero or more")
    hall = HallRow(
        code="",  # the hall's code and the rows' hall_id are import_hall's to give
        name=name,
        timezone=tz,
        policy=policy,
        max_wait_minutes=_positive(hall_t, "max_wait_minutes", "hall", 60),
        rank_penalty=rank_penalty,
        no_show_after_recalls=_positive(hall_t, "no_show_after_recalls", "hall", 3, zero=True),
        reinstate_grace_minutes=_positive(hall_t, "reinstate_grace_minutes", "hall", 30, zero=True),
        notice=_opt(hall_t, "notice", str, "hall", ""),
        lock_after_failures=_positive(hall_t, "lock_after_failures", "hall", 10, zero=True),
        lock_minutes=_positive(hall_t, "lock_minutes", "hall", 15),
        close_out_grace_minutes=_positive(hall_t, "close_out_grace_minutes", "hall", 30, zero=True),
        window_offline_minutes=_positive(hall_t, "window_offline_minutes", "hall", 5),
        staff_multiple_windows=_opt(hall_t, "staff_multiple_windows", bool, "hall", False),
        hours=json.dumps(hours),
        holidays=json.dumps(holidays),
        calendar=json.dumps(calendar),
        alerts=json.dumps(
            export_alert_rules(alert_rules(_opt(data, "alerts", dict, "config", {})))
        ),
        ratings=json.dumps(
            export_rating_rules(rating_rules(_opt(data, "ratings", dict, "config", {}))),
            ensure_ascii=False,
        ),
    )

    categories: list[CategoryRow] = []
    codes: set[str] = set()
    prefixes: set[str] = set()
    for i, c in enumerate(_opt(data, "categories", list, "config", [])):
        where = f"categories[{i}]"
        _check(c, dict, where)
        code = _need(c, "code", str, where)
        prefix = _need(c, "prefix", str, where)
        if not code or code in codes:
            raise ConfigError(f"{where}.code: {code!r} is empty or used twice")
        if not (prefix.isascii() and prefix.isalpha() and prefix.isupper() and len(prefix) <= 2):
            raise ConfigError(f"{where}.prefix: {prefix!r} must be one or two capital letters")
        if prefix in prefixes:
            raise ConfigError(f"{where}.prefix: {prefix!r} is used by another category")
        codes.add(code)
        prefixes.add(prefix)
        if "chain" in c:
            raise ConfigError(
                f"{where}.chain: a one-chain belongs to the service items that form it; "
                "move `chain` to those [[items]]"
            )
        capacity = _opt(c, "daily_capacity", int, where, None)
        if capacity is not None and capacity < 1:
            raise ConfigError(f"{where}.daily_capacity: must be at least 1")
        service_minutes = float(_opt(c, "service_minutes", (int, float), where, 10.0))
        if service_minutes <= 0:
            raise ConfigError(f"{where}.service_minutes: must be more than 0")
        categories.append(
            CategoryRow(
                code=code,
                name=_need(c, "name", str, where),
                prefix=prefix,
                position=i,
                target_wait_minutes=_positive(c, "target_wait_minutes", where, 15),
                daily_capacity=capacity,
                service_minutes=service_minutes,
            )
        )
    if not categories:
        raise ConfigError("config: at least one [[categories]] entry is needed")

    items: list[ServiceItemRow] = []
    for i, it in enumerate(_opt(data, "items", list, "config", [])):
        where = f"items[{i}]"
        _check(it, dict, where)
        category = _need(it, "category", str, where)
        if category not in codes:
            raise ConfigError(f"{where}.category: unknown category {category!r}")
        items.append(
            ServiceItemRow(
                hall_id=0,
                name=_need(it, "name", str, where),
                category=category,
                time_limit_days=_positive(it, "time_limit_days", where, 0, zero=True),
                materials=json.dumps(
                    _str_list(_opt(it, "materials", list, where, []), f"{where}.materials")
                ),
                appointment=_opt(it, "appointment", bool, where, False),
                chain=json.dumps(_chain(it, where), ensure_ascii=False),
            )
        )
    if len({i.name for i in items}) != len(items):
        raise ConfigError("items: two service items have the same name")

    windows: list[WindowRow] = []
    for i, w in enumerate(_opt(data, "windows", list, "config", [])):
        where = f"windows[{i}]"
        _check(w, dict, where)
        number = _need(w, "number", int, where)
        if not 1 <= number <= 9999 or any(x.number == number for x in windows):
            raise ConfigError(f"{where}.number: {number} is out of 1..9999 or used twice")
        windows.append(
            WindowRow(
                number=number,
                name=_opt(w, "name", str, where, f"{number}号窗口"),
                zone=_opt(w, "zone", str, where, ""),
                profile=json.dumps(
                    parse_profile(w.get("profile", ALL_SUBJECTS), codes, f"{where}.profile")
                ),
            )
        )

    staff: list[StaffRow] = []
    for i, s in enumerate(_opt(data, "staff", list, "config", [])):
        where = f"staff[{i}]"
        _check(s, dict, where)
        account = _need(s, "account", str, where)
        role = _opt(s, "role", str, where, StaffRole.STAFF.value)
        if role not in {r.value for r in StaffRole}:
            raise ConfigError(f"{where}.role: {role!r} is not one of staff, supervisor, admin")
        if "password_hash" in s:
            password_hash = _need(s, "password_hash", str, where)
        elif "password" in s:
            password = _need(s, "password", str, where)
            try:
                password_hash = security.hash_password(password)
            except ValueError as exc:
                raise ConfigError(f"{where}.password: {exc}") from exc
        else:
            raise ConfigError(f"{where}: needs password_hash (or password, hashed on import)")
        staff.append(
            StaffRow(
                account=account,
                name=_opt(s, "name", str, where, account),
                role=role,
                password_hash=password_hash,
                disabled=_opt(s, "disabled", bool, where, False),
            )
        )
    if len({s.account for s in staff}) != len(staff):
        raise ConfigError("staff: an account is listed twice")

    devices: list[DeviceRow] = []
    for i, d in enumerate(_opt(data, "devices", list, "config", [])):
        where = f"devices[{i}]"
        _check(d, dict, where)
        kind = _need(d, "kind", str, where)
        if kind not in DEVICE_KINDS:
            raise ConfigError(f"{where}.kind: must be display, kiosk or rater")
        if "token_hash" in d:
            token_hash = _need(d, "token_hash", str, where)
        elif "token" in d:
            token_hash = security.hash_token(_need(d, "token", str, where))
        else:
            raise ConfigError(f"{where}: needs token_hash (or token, hashed on import)")
        device_windows = _opt(d, "windows", list, where, [])
        for n in device_windows:
            _check(n, int, f"{where}.windows")
            if not any(w.number == n for w in windows):
                raise ConfigError(f"{where}.windows: no window {n}")
        if kind == "rater" and len(device_windows) != 1:
            raise ConfigError(f"{where}.windows: a rating pad (rater) serves exactly one window")
        device_name = _need(d, "name", str, where)
        if any(x.name == device_name for x in devices):
            raise ConfigError(f"{where}.name: {device_name!r} is used by another device")
        if any(x.token_hash == token_hash for x in devices):
            raise ConfigError(f"{where}.token: the same token is given to another device")
        devices.append(
            DeviceRow(
                name=device_name,
                kind=kind,
                token_hash=token_hash,
                zone=_opt(d, "zone", str, where, None),
                windows=json.dumps(device_windows),
                revoked=_opt(d, "revoked", bool, where, False),
            )
        )
    try:
        appointment_rules = parse_rules(_opt(data, "appointments", dict, "config", None), codes)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return {
        "hall": hall,
        "categories": categories,
        "items": items,
        "windows": windows,
        "staff": staff,
        "devices": devices,
        "appointments": rules_row(appointment_rules),
    }


def _chain(item: dict[str, Any], where: str) -> list[str]:
    steps = _str_list(_opt(item, "chain", list, where, []), f"{where}.chain")
    if len(steps) == 1:
        raise ConfigError(f"{where}.chain: a one-chain has at least two steps")
    if any(not step.strip() for step in steps) or len(set(steps)) != len(steps):
        raise ConfigError(f"{where}.chain: steps must be named, each once")
    return steps


def _positive(table: dict[str, Any], key: str, where: str, default: int, zero: bool = False) -> int:
    value: int = _opt(table, key, int, where, default)
    if value < 0 or (value == 0 and not zero):
        raise ConfigError(f"{where}.{key}: must be {'zero or more' if zero else 'at least 1'}")
    return value


# ---------------------------------------------------------------------------
# TOML export (no plaintext secrets: only hashes leave the database)


def export_hall(session: Session, code: str) -> dict[str, Any]:
    hall = session.exec(select(HallRow).where(HallRow.code == code)).first()
    if hall is None or hall.id is None:
        raise ConfigError(f"the database holds no hall {code!r}; run `queue-server init` first")
    hall_id = hall.id
    out: dict[str, Any] = {
        "hall": {
            "code": hall.code,
            "name": hall.name,
            "timezone": hall.timezone,
            "policy": hall.policy,
            "max_wait_minutes": hall.max_wait_minutes,
            "rank_penalty": hall.rank_penalty,
            "no_show_after_recalls": hall.no_show_after_recalls,
            "reinstate_grace_minutes": hall.reinstate_grace_minutes,
            "notice": hall.notice,
            "lock_after_failures": hall.lock_after_failures,
            "lock_minutes": hall.lock_minutes,
            "close_out_grace_minutes": hall.close_out_grace_minutes,
            "window_offline_minutes": hall.window_offline_minutes,
            "staff_multiple_windows": hall.staff_multiple_windows,
            "holidays": json.loads(hall.holidays),
            "hours": json.loads(hall.hours),
        },
        "categories": [],
        "items": [],
        "windows": [],
        "staff": [],
        "devices": [],
    }
    for c in session.exec(
        select(CategoryRow)
        .where(CategoryRow.hall_id == hall_id)
        .order_by(col(CategoryRow.position))
    ).all():
        entry: dict[str, Any] = {
            "code": c.code,
            "name": c.name,
            "prefix": c.prefix,
            "target_wait_minutes": c.target_wait_minutes,
            "service_minutes": c.service_minutes,
        }
        if c.daily_capacity is not None:
            entry["daily_capacity"] = c.daily_capacity
        out["categories"].append(entry)
    for it in session.exec(
        select(ServiceItemRow)
        .where(ServiceItemRow.hall_id == hall_id)
        .order_by(col(ServiceItemRow.id))
    ).all():
        out["items"].append(
            {
                "name": it.name,
                "category": it.category,
                "time_limit_days": it.time_limit_days,
                "materials": json.loads(it.materials),
                "appointment": it.appointment,
                "chain": json.loads(it.chain),
            }
        )
    for w in session.exec(
        select(WindowRow).where(WindowRow.hall_id == hall_id).order_by(col(WindowRow.number))
    ).all():
        profile = json.loads(w.profile)
        out["windows"].append(
            {"number": w.number, "name": w.name, "zone": w.zone, "profile": profile or ALL_SUBJECTS}
        )
    for s in session.exec(
        select(StaffRow).where(StaffRow.hall_id == hall_id).order_by(StaffRow.account)
    ).all():
        out["staff"].append(
            {
                "account": s.account,
                "name": s.name,
                "role": s.role,
                "password_hash": s.password_hash,
                "disabled": s.disabled,
            }
        )
    for d in session.exec(
        select(DeviceRow).where(DeviceRow.hall_id == hall_id).order_by(DeviceRow.name)
    ).all():
        entry = {
            "name": d.name,
            "kind": d.kind,
            "token_hash": d.token_hash,
            "windows": json.loads(d.windows),
            "revoked": d.revoked,
        }
        if d.zone is not None:
            entry["zone"] = d.zone
        out["devices"].append(entry)
    out["appointments"] = export_rules(load_rules(session, hall_id))
    out["alerts"] = json.loads(hall.alerts or "{}") or export_alert_rules(AlertRules())
    out["ratings"] = json.loads(hall.ratings or "{}") or export_rating_rules(RatingRules())
    out["calendar"] = json.loads(hall.calendar or "{}") or {"holidays": [], "workdays": []}
    return out


# ---------------------------------------------------------------------------
# The `[appointments]` table as stored


def rules_row(rules: AppointmentRules) -> AppointmentRulesRow:
    return AppointmentRulesRow(
        check_in_before_minutes=rules.check_in_before_minutes,
        check_in_after_minutes=rules.check_in_after_minutes,
        slots=json.dumps(
            [
                {"category": s.category, "times": list(s.times), "capacity": s.capacity}
                for s in rules.slots
            ],
            ensure_ascii=False,
        ),
    )


def load_rules(session: Session, hall_id: int) -> AppointmentRules:
    row = session.get(AppointmentRulesRow, hall_id)
    if row is None:
        return AppointmentRules()
    return AppointmentRules(
        check_in_before_minutes=row.check_in_before_minutes,
        check_in_after_minutes=row.check_in_after_minutes,
        slots=tuple(
            SlotPlan(category=s["category"], times=tuple(s["times"]), capacity=s["capacity"])
            for s in json.loads(row.slots)
        ),
    )


def export_rules(rules: AppointmentRules) -> dict[str, Any]:
    return {
        "check_in_before_minutes": rules.check_in_before_minutes,
        "check_in_after_minutes": rules.check_in_after_minutes,
        "slots": [
            {"category": s.category, "times": list(s.times), "capacity": s.capacity}
            for s in rules.slots
        ],
    }
