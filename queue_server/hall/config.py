"""Configuration: the supervisors' verbs (set_window_profile, set_notice) on the writer's
path, and the `queue-server` CLI's changes (import, staff, devices, windows).

The CLI's changes are rare and touch what the live state does not model (staff accounts,
device tokens, the hall's tables), so each runs as ORM changes in one transaction of its
own, under the hall's lock, with a `config_changed` event; the hall's state is rebuilt
from the database afterwards. A running server in another process picks the event up from
the event table and passes it on to its clients.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from queue_protocol.codec import encode
from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    AddDevice,
    AddStaff,
    ConfigChanged,
    ConfigReply,
    DeviceListReply,
    DeviceReply,
    DeviceTokenReply,
    DeviceView,
    GetConfig,
    HallConfigReply,
    ListStaff,
    RevokeDevice,
    Role,
    SetConfig,
    SetNotice,
    SetWindowProfile,
    StaffListReply,
    StaffReply,
    StaffRole,
    StaffView,
    UpdateStaff,
    WindowChanged,
    WindowReply,
    WindowState,
    WindowView,
)
from queue_server import hallconfig, security
from queue_server.hall import loading
from queue_server.hall.core import Hall
from queue_server.hall.work import Work
from queue_server.hallconfig import HallConfig, load_config
from queue_server.roles import CONFIG_READS, Principal
from queue_server.store import notify
from queue_server.store.tables import (
    DeviceRow,
    EventRow,
    HallRow,
    RequestRow,
    StaffRow,
    TicketRow,
    WindowRow,
)

ACCOUNT = re.compile(r"[A-Za-z0-9_.-]{1,64}")

# -- the supervisors' verbs (on the writer's path) ---------------------------------------


def set_window_profile(w: Work, p: Principal, r: SetWindowProfile) -> WindowReply:
    window = w.window(r.window)
    check_profile(w.config, r.profile)
    window.profile = tuple(r.profile)
    w.emit_window(window)
    config_changed(w, f"window {window.number} profile")
    return WindowReply(re=r.id, window=w.window_view(window))


def set_notice(w: Work, p: Principal, r: SetNotice) -> ConfigReply:
    w.hall["notice"] = r.notice
    config_changed(w, "notice")
    return ConfigReply(re=r.id, config_version=w.config_version)


def config_changed(w: Work, what: str) -> None:
    w.hall["config_version"] = w.config_version + 1
    w.emit(ConfigChanged, config_version=w.config_version, what=what)


def check_profile(config: HallConfig, profile: list[str]) -> None:
    for code in profile:
        if code not in config.categories:
            known = ", ".join(config.categories)
            raise ProtocolError(
                ErrorCode.NOT_FOUND, f"no category {code!r} (known: {known})", reason="category"
            )
    if len(set(profile)) != len(profile):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "a category is listed twice")


# -- the CLI's changes (ORM, one transaction each) ---------------------------------------


@dataclass
class Change:
    """One CLI change: its session, the hall row and the events it records."""

    session: Session
    hall: HallRow
    config: HallConfig
    now: datetime
    by: str  # whose change (the audit trail): cli:USER, or a supervisor's staff:ACCOUNT

    @property
    def hall_id(self) -> int:
        assert self.hall.id is not None
        return self.hall.id

    def emit(self, event_type: type[BaseModel], **fields: Any) -> None:
        self.hall.last_seq += 1
        event = event_type(seq=self.hall.last_seq, at=self.now, by=self.by, **fields)
        name: str = getattr(event, "name")  # noqa: B009  (every event model has one)
        about = fields.get("window")
        window, zone = (about.number, about.zone) if isinstance(about, WindowView) else (None, None)
        self.session.add(
            EventRow(
                hall_id=self.hall_id,
                seq=self.hall.last_seq,
                at=self.now,
                name=name,
                payload=encode(event),
                window=window,
                zone=zone,
                by=self.by,
            )
        )

    def config_changed(self, what: str) -> None:
        self.hall.config_version += 1
        self.emit(ConfigChanged, config_version=self.hall.config_version, what=what)

    def window_changed(self, row: WindowRow) -> None:
        self.session.add(row)
        ticket = self.session.get(TicketRow, (self.hall_id, row.ticket)) if row.ticket else None
        number = ticket.number if ticket is not None else None
        self.emit(WindowChanged, window=window_view(self.config, row, number))

    def window(self, number: int) -> WindowRow:
        row = self.session.get(WindowRow, (self.hall_id, number))
        if row is None:
            raise ProtocolError(
                ErrorCode.NOT_FOUND,
                f"window {number} does not exist",
                reason="window",
                window=number,
            )
        return row

    def staff(self, account: str) -> StaffRow:
        staff = self.session.get(StaffRow, (self.hall_id, account))
        if staff is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"no staff account {account!r}")
        return staff


def cli_user() -> str:
    """Who makes a change through the `queue-server` command, as the audit names them."""
    return f"cli:{getpass.getuser()}"


@contextmanager
def change(hall: Hall, by: str | None = None) -> Iterator[Change]:
    """A configuration change in one transaction (`by`: whose; none: the CLI's user); the
    hall's state is rebuilt after it."""
    with hall.lock:
        with Session(hall.engine, expire_on_commit=False) as session, session.begin():
            # Locked for the transaction, as in hallconfig.import_hall.
            row = session.exec(
                select(HallRow).where(HallRow.code == hall.code).with_for_update()
            ).first()
            if row is None or row.id is None:
                raise ProtocolError(ErrorCode.INTERNAL, f"the hall {hall.code!r} is not configured")
            yield Change(session, row, load_config(session, row.id), hall.clock(), by or cli_user())
            session.add(row)
            notify.announce(session.connection(), notify.CHANGE, row.id, row.last_seq)
        hall.invalidate()


def import_config(hall: Hall, data: dict[str, Any]) -> int:
    """Import a hall's configuration file into `hall`. A hall not named yet takes the code
    the file gives, or is the database's one hall, or is made as "main"."""
    code = hall.given_code or hallconfig.file_code(data)
    if code is None:
        try:
            code = hall.code
        except hallconfig.ConfigError:  # no hall yet (several halls: the error stands)
            if loading.hall_count(hall.engine):
                raise
            code = hallconfig.FIRST_HALL_CODE
    with hall.lock:
        with Session(hall.engine, expire_on_commit=False) as session, session.begin():
            hall_id, version = hallconfig.import_hall(session, code, data)
            row = session.get(HallRow, hall_id)
            assert row is not None
            ch = Change(session, row, load_config(session, hall_id), hall.clock(), cli_user())
            ch.emit(ConfigChanged, config_version=version, what="hall configuration imported")
            session.add(row)
            notify.announce(session.connection(), notify.CHANGE, hall_id, row.last_seq)
        hall.named(code)
        hall.invalidate()
    return version


def export_config(hall: Hall) -> dict[str, Any]:
    with Session(hall.engine) as session:
        return hallconfig.export_hall(session, hall.code)


def add_staff(hall: Hall, account: str, name: str, role: StaffRole, password: str) -> None:
    password_hash = _account_and_hash(account, password)
    with change(hall) as ch:
        new_staff(ch, account, name, role, password_hash)


def new_staff(ch: Change, account: str, name: str, role: StaffRole, password_hash: str) -> StaffRow:
    if ch.session.get(StaffRow, (ch.hall_id, account)) is not None:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, f"staff account {account} exists", reason="exists"
        )
    row = StaffRow(
        hall_id=ch.hall_id, account=account, name=name, role=role.value, password_hash=password_hash
    )
    ch.session.add(row)
    ch.config_changed(f"staff {account} added")
    return row


def set_password(hall: Hall, account: str, password: str) -> None:
    password_hash = _hash_or_refuse(password)
    with change(hall) as ch:
        staff = ch.staff(account)
        staff.password_hash = password_hash
        ch.session.add(staff)
        ch.config_changed(f"staff {account} password changed")


def set_staff_disabled(hall: Hall, account: str, disabled: bool) -> None:
    with change(hall) as ch:
        staff = ch.staff(account)
        staff.disabled = disabled
        ch.session.add(staff)
        ch.config_changed(f"staff {account} {'disabled' if disabled else 'enabled'}")


def list_staff(hall: Hall) -> list[StaffRow]:
    hall_id = hall.state().hall_id
    with Session(hall.engine) as session:
        query = select(StaffRow).where(StaffRow.hall_id == hall_id)
        return list(session.exec(query.order_by(col(StaffRow.account))).all())


def add_device(hall: Hall, name: str, kind: Role, zone: str | None, windows: list[int]) -> str:
    """Register a display, kiosk or rating pad; returns its token, which is shown only this once."""
    with change(hall) as ch:
        return new_device(ch, name, kind, zone, windows)[1]


def new_device(
    ch: Change, name: str, kind: Role, zone: str | None, windows: list[int]
) -> tuple[DeviceRow, str]:
    """A display, kiosk or rating pad registered; its row and its token."""
    if kind not in (Role.DISPLAY, Role.KIOSK, Role.RATER):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            "a device is a display, a kiosk or a rating pad",
            reason="device_kind",
        )
    if kind is Role.RATER and len(windows) != 1:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            "a rating pad serves exactly one window",
            reason="device_windows",
            field="windows",
        )
    if ch.session.get(DeviceRow, (ch.hall_id, name)) is not None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"device {name!r} exists", reason="exists")
    for number in windows:
        ch.window(number)
    token = security.new_token()
    row = DeviceRow(
        hall_id=ch.hall_id,
        name=name,
        kind=kind.value,
        token_hash=security.hash_token(token),
        zone=zone,
        windows=json.dumps(windows),
    )
    ch.session.add(row)
    ch.config_changed(f"device {name} added")
    return row, token


def revoke_device(hall: Hall, name: str) -> None:
    with change(hall) as ch:
        revoke(ch, name)


def revoke(ch: Change, name: str) -> DeviceRow:
    device = ch.session.get(DeviceRow, (ch.hall_id, name))
    if device is None:
        raise ProtocolError(ErrorCode.NOT_FOUND, f"no device {name!r}", reason="device")
    device.revoked = True
    ch.session.add(device)
    ch.config_changed(f"device {name} revoked")
    return device


def list_devices(hall: Hall) -> list[DeviceRow]:
    hall_id = hall.state().hall_id
    with Session(hall.engine) as session:
        query = select(DeviceRow).where(DeviceRow.hall_id == hall_id)
        return list(session.exec(query.order_by(col(DeviceRow.name))).all())


def add_window(hall: Hall, number: int, name: str, zone: str, profile: list[str]) -> None:
    if not 1 <= number <= 9999:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "a window number is 1..9999")
    with change(hall) as ch:
        if ch.session.get(WindowRow, (ch.hall_id, number)) is not None:
            raise ProtocolError(ErrorCode.BAD_REQUEST, f"window {number} exists")
        check_profile(ch.config, profile)
        ch.window_changed(
            WindowRow(
                hall_id=ch.hall_id,
                number=number,
                name=name,
                zone=zone,
                profile=json.dumps(profile),
            )
        )
        ch.config_changed(f"window {number} added")


def set_profile(hall: Hall, number: int, profile: list[str]) -> None:
    with change(hall) as ch:
        row = ch.window(number)
        check_profile(ch.config, profile)
        row.profile = json.dumps(profile)
        ch.window_changed(row)
        ch.config_changed(f"window {number} profile")


def remove_window(hall: Hall, number: int) -> None:
    with change(hall) as ch:
        row = ch.window(number)
        if row.state != WindowState.CLOSED:
            raise ProtocolError(
                ErrorCode.INVALID_STATE, f"window {number} is {row.state}; close it first"
            )
        ch.session.delete(row)
        ch.config_changed(f"window {number} removed")


def window_view(config: HallConfig, row: WindowRow, ticket_number: str | None) -> WindowView:
    return WindowView(
        number=row.number,
        name=row.name,
        zone=row.zone,
        profile=json.loads(row.profile),
        state=WindowState(row.state),
        staff=row.staff,
        staff_name=config.staff_names.get(row.staff, row.staff) if row.staff else None,
        pause_reason=row.pause_reason,
        ticket=row.ticket,
        ticket_number=ticket_number,
        connected=row.connected,
        since=row.since,
    )


def _account_and_hash(account: str, password: str) -> str:
    if not ACCOUNT.fullmatch(account):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            "an account is 1-64 letters, digits, '_', '.' or '-'",
            reason="account",
        )
    return _hash_or_refuse(password)


def _hash_or_refuse(password: str) -> str:
    try:
        return security.hash_password(password)
    except ValueError as exc:
        raise ProtocolError(ErrorCode.BAD_REQUEST, str(exc)) from exc


# -- the live configuration: a supervisor's console (each verb one transaction, like the CLI) --

LIVE_SECTIONS = ("hall", "categories", "items", "windows", "appointments", "alerts")
CONFIG_FIELD = re.compile(r"^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*)(?: \([^)]*\))?: ")


def configure(
    hall: Hall, p: Principal, request: Any, connected: frozenset[str] = frozenset()
) -> str:
    """A configuration verb (roles.CONFIG_VERBS) from a supervisor's console: the reply. A
    change runs as the CLI's do, in one transaction of its own with its request-log row,
    so a retried id gets the first answer (a device's token included) and changes nothing
    again. Reading is for supervisors; changing for administrators only. `connected`: the
    devices with a connection open now (list_devices)."""
    verb = request.type
    if verb in CONFIG_READS:
        return encode(_read(hall, request, connected))
    if p.staff_role is not StaffRole.ADMIN:
        raise ProtocolError(
            ErrorCode.FORBIDDEN,
            f"{p.staff} is a supervisor; only an administrator changes the configuration",
            reason="admin_only",
        )
    key = (p.key, request.id)
    fingerprint = request_fingerprint(request)
    hall_id = hall.state().hall_id
    with Session(hall.engine) as session:
        known = session.get(RequestRow, (hall_id, *key))
        if known is not None:
            if known.fingerprint != fingerprint:
                raise ProtocolError(
                    ErrorCode.ID_REUSED, f"request id {request.id!r} was used for another request"
                )
            return known.reply
    # Hashed before the hall is locked: a password check's cost is not the hall's.
    password_hash = (
        _account_and_hash(request.account, request.password)
        if isinstance(request, AddStaff)
        else _hash_or_refuse(request.password)
        if isinstance(request, UpdateStaff) and request.password is not None
        else None
    )
    with change(hall, by=p.key) as ch:
        reply = encode(_change(ch, p, request, password_hash))
        ch.session.add(
            RequestRow(
                hall_id=ch.hall_id,
                principal=key[0],
                request_id=key[1],
                fingerprint=fingerprint,
                reply=reply,
                at=ch.now,
            )
        )
    return reply


def request_fingerprint(request: BaseModel) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


def _read(hall: Hall, r: Any, connected: frozenset[str]) -> BaseModel:
    with Session(hall.engine) as session:
        hall_id = hall.state().hall_id
        if isinstance(r, GetConfig):
            data = hallconfig.export_hall(session, hall.code)
            row = session.get(HallRow, hall_id)
            assert row is not None
            return HallConfigReply(
                re=r.id,
                config_version=row.config_version,
                config={k: v for k, v in data.items() if k in LIVE_SECTIONS},
            )
        if isinstance(r, ListStaff):
            rows = session.exec(
                select(StaffRow).where(StaffRow.hall_id == hall_id).order_by(col(StaffRow.account))
            ).all()
            return StaffListReply(re=r.id, staff=[staff_view(s) for s in rows])
        rows_ = session.exec(
            select(DeviceRow).where(DeviceRow.hall_id == hall_id).order_by(col(DeviceRow.name))
        ).all()
        return DeviceListReply(re=r.id, devices=[device_view(d, connected) for d in rows_])


def _change(ch: Change, p: Principal, r: Any, password_hash: str | None) -> BaseModel:
    if isinstance(r, SetConfig):
        return _set_config(ch, r)
    if isinstance(r, AddStaff):
        assert password_hash is not None
        return StaffReply(
            re=r.id, staff=staff_view(new_staff(ch, r.account, r.name, r.role, password_hash))
        )
    if isinstance(r, UpdateStaff):
        return StaffReply(re=r.id, staff=staff_view(_update_staff(ch, p, r, password_hash)))
    if isinstance(r, AddDevice):
        row, token = new_device(ch, r.name, r.kind, r.zone, r.windows)
        return DeviceTokenReply(re=r.id, device=device_view(row), token=token)
    assert isinstance(r, RevokeDevice)
    return DeviceReply(re=r.id, device=device_view(revoke(ch, r.name)))


def _set_config(ch: Change, r: SetConfig) -> ConfigReply:
    if r.config_version != ch.hall.config_version:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"the configuration changed meanwhile (version {ch.hall.config_version}, not "
            f"{r.config_version}); read it again",
            reason="config_version",
        )
    current = hallconfig.export_hall(ch.session, ch.hall.code)
    data = {k: v for k, v in r.config.items() if k not in ("staff", "devices")}
    data |= {"staff": current["staff"], "devices": current["devices"]}
    try:
        _, version = hallconfig.import_hall(ch.session, ch.hall.code, data)
    except hallconfig.ConfigError as exc:
        found = CONFIG_FIELD.match(str(exc))
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            str(exc),
            reason="invalid_config",
            field=found.group(1) if found else None,
        ) from exc
    changed = [k for k in LIVE_SECTIONS if current.get(k) != data.get(k)]
    ch.emit(
        ConfigChanged,
        config_version=version,
        what=f"configuration: {', '.join(changed) or 'nothing'} changed",
    )
    return ConfigReply(re=r.id, config_version=version)


def _update_staff(ch: Change, p: Principal, r: UpdateStaff, password_hash: str | None) -> StaffRow:
    staff = ch.staff(r.account)
    if r.account == p.staff and (
        r.disabled or (r.role is not None and r.role is not StaffRole.ADMIN)
    ):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            "an administrator cannot disable or demote their own account",
            reason="own_account",
        )
    changed = []
    if r.name is not None:
        staff.name = r.name
        changed.append("name")
    if r.role is not None:
        staff.role = r.role.value
        changed.append(f"role {r.role.value}")
    if password_hash is not None:
        staff.password_hash = password_hash
        changed.append("password")
    if r.disabled is not None:
        staff.disabled = r.disabled
        changed.append("disabled" if r.disabled else "enabled")
    if not changed:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "nothing to change", reason="nothing")
    ch.session.add(staff)
    ch.config_changed(f"staff {r.account}: {', '.join(changed)}")
    return staff


def staff_view(row: StaffRow) -> StaffView:
    return StaffView(
        account=row.account, name=row.name, role=StaffRole(row.role), disabled=row.disabled
    )


def device_view(row: DeviceRow, connected: frozenset[str] = frozenset()) -> DeviceView:
    return DeviceView(
        name=row.name,
        kind=Role(row.kind),
        zone=row.zone,
        windows=json.loads(row.windows),
        revoked=row.revoked,
        connected=row.name in connected,
    )
