"""Live configuration by a supervisor through the protocol (issue "Supervisor console"):
the hall's configuration read and changed whole, validated by the same rules as the TOML
import, applied in one transaction and passed on to open clients at once; staff accounts
and devices added, changed and revoked; every change idempotent and in the audit."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from queue_protocol.client import QueueClient, ServerError, Stopped
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    AddDevice,
    AddStaff,
    Audit,
    GetConfig,
    GetSnapshot,
    IssueTicket,
    ListDevices,
    ListStaff,
    RevokeDevice,
    Role,
    SetConfig,
    StaffRole,
    UpdateStaff,
)
from tests.conftest import Connect
from tests.integration.test_hall_day import events_until, refused

pytestmark = pytest.mark.both_stores


async def stopped(client: QueueClient, timeout: float = 10.0) -> ServerError:
    """The error the client stopped with (its connection closed, and the hello refused)."""
    async with asyncio.timeout(timeout):
        while True:
            notice = await client.next_notice()
            if isinstance(notice, Stopped):
                assert notice.error is not None
                return notice.error


async def test_a_supervisor_reads_and_changes_the_hall_configuration(connect: Connect) -> None:
    admin = await connect("admin", user="admin")
    kiosk = await connect("kiosk")
    got = await admin.request(GetConfig)
    config = copy.deepcopy(got.config)
    assert "staff" not in config and "devices" not in config  # no hashes leave the server
    cj = next(c for c in config["categories"] if c["code"] == "CJ")
    cj["target_wait_minutes"] = 5
    cj["name"] = "综合出件（快）"
    config["hall"]["notice"] = "今日延时服务至19:00"
    reply = await admin.request(SetConfig, config=config, config_version=got.config_version)
    assert reply.config_version == got.config_version + 1
    changed = (await events_until(kiosk, "config_changed"))[-1]
    assert (changed.config_version, changed.by) == (reply.config_version, "staff:admin")
    snapshot = (await kiosk.request(GetSnapshot)).snapshot
    cj_now = next(c for c in snapshot.categories if c.code == "CJ")
    assert (cj_now.name, cj_now.target_wait_minutes) == ("综合出件（快）", 5)
    assert snapshot.hall.notice == "今日延时服务至19:00"
    # the hall's staff and devices are kept (the kiosk still works)
    assert (await kiosk.request(IssueTicket, category="CJ")).ticket.category == "CJ"
    again = await admin.request(GetConfig)
    assert again.config == config | {"alerts": again.config["alerts"]}
    trail = (await admin.request(Audit, account="admin")).entries
    assert trail[0].action == "config_changed" and trail[0].detail


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda c: c["categories"][0].update(prefix="a1"), "categories[0].prefix"),
        (lambda c: c["hall"]["hours"].update(mon=["18:00", "08:00"]), "hall.hours.mon"),
        (lambda c: c["windows"][0].update(profile=["NOPE"]), "windows[0].profile"),
        (lambda c: c.update(alerts={"idle_minutes": 0}), "alerts.idle_minutes"),
    ],
)
async def test_a_bad_value_is_refused_by_field_and_changes_nothing(
    connect: Connect, edit: Any, field: str
) -> None:
    admin = await connect("admin", user="admin")
    got = await admin.request(GetConfig)
    config = copy.deepcopy(got.config)
    edit(config)
    error = await refused(
        admin.request(SetConfig, config=config, config_version=got.config_version),
        ErrorCode.BAD_REQUEST,
    )
    assert (error.reply.reason, error.reply.field) == ("invalid_config", field)
    after = await admin.request(GetConfig)
    assert (after.config_version, after.config) == (got.config_version, got.config)


async def test_a_change_made_meanwhile_is_not_overwritten(connect: Connect) -> None:
    admin = await connect("admin", user="admin")
    other = await connect("admin", user="admin")
    got = await admin.request(GetConfig)
    mine = copy.deepcopy(got.config)
    theirs = copy.deepcopy(got.config)
    theirs["hall"]["notice"] = "theirs"
    await other.request(SetConfig, config=theirs, config_version=got.config_version)
    mine["hall"]["notice"] = "mine"
    error = await refused(
        admin.request(SetConfig, config=mine, config_version=got.config_version),
        ErrorCode.INVALID_STATE,
    )
    assert error.reply.reason == "config_version"
    assert (await admin.request(GetConfig)).config["hall"]["notice"] == "theirs"


async def test_staff_accounts_are_added_changed_and_disabled_live(connect: Connect) -> None:
    admin = await connect("admin", user="admin")
    added = (
        await admin.request(
            AddStaff, account="ck31", name="新同事", role=StaffRole.STAFF, password="first-pass"
        )
    ).staff
    assert (added.account, added.name, added.role, added.disabled) == (
        "ck31",
        "新同事",
        StaffRole.STAFF,
        False,
    )
    newcomer = await connect("window", window=3, user="ck31", password="first-pass")
    assert newcomer.hello is not None
    await refused(
        admin.request(
            AddStaff, account="ck31", name="x", role=StaffRole.STAFF, password="pw-pw-pw"
        ),
        ErrorCode.BAD_REQUEST,
    )
    await admin.request(UpdateStaff, account="ck31", password="second-pass", name="王新")
    listed = {s.account: s for s in (await admin.request(ListStaff)).staff}
    assert listed["ck31"].name == "王新"
    await admin.request(UpdateStaff, account="ck31", disabled=True)
    # A disabled account loses its connection, and its hello again is refused.
    assert (await stopped(newcomer)).code is ErrorCode.AUTH_FAILED
    await refused(admin.request(UpdateStaff, account="nobody", disabled=True), ErrorCode.NOT_FOUND)
    window = await connect("window", window=4)
    await refused(window.request(ListStaff), ErrorCode.FORBIDDEN)


async def test_a_device_is_registered_once_and_revoked_live(connect: Connect) -> None:
    admin = await connect("admin", user="admin")
    request = {"name": "二楼屏", "kind": Role.DISPLAY, "zone": "二楼", "windows": []}
    first = await admin.request(AddDevice(id="add-device-1", **request))
    again = await admin.request(AddDevice(id="add-device-1", **request))  # a retry
    assert first.token and again.token == first.token  # the same answer, one device
    devices = {d.name: d for d in (await admin.request(ListDevices)).devices}
    assert devices["二楼屏"].zone == "二楼" and not devices["二楼屏"].revoked
    screen = await connect("display", token=first.token)
    assert (await events_until(admin, "config_changed")) is not None
    revoked = (await admin.request(RevokeDevice, name="二楼屏")).device
    assert revoked.revoked
    assert (await stopped(screen)).code is ErrorCode.AUTH_FAILED
    await refused(
        admin.request(AddDevice, name="x", kind=Role.WINDOW, windows=[]), ErrorCode.BAD_REQUEST
    )


async def test_a_supervisor_reads_the_configuration_but_only_an_administrator_changes_it(
    connect: Connect,
) -> None:
    supervisor = await connect("admin")  # zhuren: 值班主任
    got = await supervisor.request(GetConfig)
    assert {s.account for s in (await supervisor.request(ListStaff)).staff} >= {"zhuren", "ck01"}
    error = await refused(
        supervisor.request(SetConfig, config=got.config, config_version=got.config_version),
        ErrorCode.FORBIDDEN,
    )
    assert error.reply.reason == "admin_only"
    await refused(supervisor.request(RevokeDevice, name="一号取号机"), ErrorCode.FORBIDDEN)
