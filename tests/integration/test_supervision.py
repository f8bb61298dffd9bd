"""The supervisors' half of the hall against the real server on its test clock: acts for
the hall (move a ticket, pause issuing, cancel with a reason), the audit trail of who did
what, and the alerts the server raises, clears and lets a supervisor acknowledge (issue
"Supervisor console")."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from queue_protocol.client import LoginFailed, QueueClient
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    AcknowledgeAlert,
    AlertKind,
    Audit,
    CallNext,
    CancelTicket,
    CloseWindow,
    DeviceStatus,
    FinishService,
    GetSnapshot,
    IssueTicket,
    MoveTicket,
    PauseIssuing,
    Rate,
    ResumeIssuing,
    StartService,
    TicketState,
    VoiceState,
    WindowState,
)
from queue_server import hallconfig
from queue_server.hallconfig import ConfigError
from queue_server.server import QueueServer
from tests.conftest import Clock, Connect
from tests.integration.test_hall_day import events_until, refused

pytestmark = [pytest.mark.hall_clock, pytest.mark.both_stores]

TUESDAY_10H = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def hall_config(demo_config: dict[str, Any]) -> dict[str, Any]:
    config = copy.deepcopy(demo_config)
    config["alerts"] = {"idle_minutes": 2, "device_offline_seconds": 30, "no_show_count": 2}
    return config


@pytest.fixture
def clock() -> Clock:
    return Clock(TUESDAY_10H)


async def alert_of(admin: QueueClient, name: str, kind: AlertKind, timeout: float = 10.0) -> Any:
    """The first `name` event (alert_raised / _cleared / _acknowledged) of an alert of `kind`."""
    seen = await events_until(admin, name, timeout=timeout)
    while seen[-1].alert.kind is not kind:
        seen = await events_until(admin, name, timeout=timeout)
    return seen[-1].alert


# -- who did it --------------------------------------------------------------------------


async def test_every_event_names_whose_request_made_it(connect: Connect) -> None:
    admin = await connect("admin")
    kiosk = await connect("kiosk")
    window = await connect("window", window=3)
    await kiosk.request(IssueTicket, category="SW")
    issued = (await events_until(admin, "ticket_issued"))[-1]
    assert issued.by.startswith("device:")
    await window.request(CallNext)
    called = (await events_until(admin, "ticket_called"))[-1]
    assert called.by == "staff:ck03"
    queue = (await events_until(admin, "queue_changed"))[-1]
    assert queue.by is None  # the hall's own figures


async def test_the_audit_lists_who_did_what_filtered(connect: Connect) -> None:
    admin = await connect("admin")
    kiosk = await connect("kiosk")
    three = await connect("window", window=3)
    four = await connect("window", window=4)
    first = (await kiosk.request(IssueTicket, category="SW")).ticket
    second = (await kiosk.request(IssueTicket, category="SW")).ticket
    await three.request(CallNext)
    await four.request(CallNext)
    await admin.request(
        CancelTicket,
        ticket=(await kiosk.request(IssueTicket, category="SW")).ticket.number,
        reason="市民离开",
    )
    by_three = (await admin.request(Audit, account="ck03")).entries
    assert any(e.action == "ticket_called" and e.ticket == first.number for e in by_three)
    assert {e.by for e in by_three} == {"staff:ck03"}
    assert all(e.window in (3, None) for e in by_three)
    seqs = [e.seq for e in by_three]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    about_second = (await admin.request(Audit, ticket=second.number)).entries
    assert [e.action for e in reversed(about_second)] == ["ticket_issued", "ticket_called"]
    assert about_second[0].by == "staff:ck04"
    cancelled = (await admin.request(Audit, account="zhuren")).entries
    assert [(e.action, e.detail) for e in cancelled if e.action != "session_opened"] == [
        ("ticket_cancelled", "市民离开")
    ]
    at_four = (await admin.request(Audit, window=4)).entries
    assert at_four and {e.by for e in at_four} == {"staff:ck04"}
    await refused(three.request(Audit), ErrorCode.FORBIDDEN)


# -- acts for the hall -------------------------------------------------------------------


async def test_a_supervisor_moves_a_waiting_ticket_keeping_its_place(connect: Connect) -> None:
    admin = await connect("admin")
    kiosk = await connect("kiosk")
    early = (await kiosk.request(IssueTicket, category="GC")).ticket
    await kiosk.request(IssueTicket, category="SW")  # issued later, in the category moved to
    moved = (
        await admin.request(MoveTicket, ticket=early.number, to_category="SW", reason="取错号")
    ).ticket
    assert (moved.category, moved.number, moved.queued_at) == ("SW", early.number, early.queued_at)
    assert moved.transfers[-1].reason == "取错号"
    window = await connect("window", window=11)  # SW first
    called = (await window.request(CallNext)).ticket
    assert called is not None and called.number == early.number  # first in time, first called
    await refused(
        admin.request(MoveTicket, ticket=early.number, to_category="GC", reason="x"),
        ErrorCode.INVALID_STATE,
    )
    await refused(
        window.request(MoveTicket, ticket=early.number, to_category="GC", reason="x"),
        ErrorCode.FORBIDDEN,
    )


async def test_a_ticket_moved_to_a_named_window_goes_only_there(connect: Connect) -> None:
    admin = await connect("admin")
    kiosk = await connect("kiosk")
    two = await connect("window", window=2)
    ticket = (await kiosk.request(IssueTicket, category="SW")).ticket
    await admin.request(MoveTicket, ticket=ticket.number, to_window=2, reason="专人办理")
    told = (await events_until(two, "ticket_transferred"))[-1]
    assert told.transfer.to_window == 2
    one = await connect("window", window=1)
    await refused(one.request(CallNext), ErrorCode.QUEUE_EMPTY)  # 全科, but not for it
    assert (await two.request(CallNext)).ticket.number == ticket.number  # type: ignore[union-attr]


async def test_paused_issuing_refuses_kiosks_until_resumed(connect: Connect) -> None:
    admin = await connect("admin")
    kiosk = await connect("kiosk")
    await admin.request(PauseIssuing, category="QY", reason="今日号已满")
    seen = await events_until(kiosk, "config_changed")
    assert seen[-1].by == "staff:zhuren"
    error = await refused(kiosk.request(IssueTicket, category="QY"), ErrorCode.HALL_CLOSED)
    assert error.reply.reason == "issuing_paused"
    await kiosk.request(IssueTicket, category="SW")  # the other categories issue on
    snapshot = (await kiosk.request(GetSnapshot)).snapshot
    qy = next(c for c in snapshot.categories if c.code == "QY")
    assert (qy.issuing_paused, qy.issuing_paused_reason) == (True, "今日号已满")
    await refused(
        admin.request(PauseIssuing, category="QY", reason="again"), ErrorCode.INVALID_STATE
    )
    await admin.request(ResumeIssuing, category="QY")
    assert (await kiosk.request(IssueTicket, category="QY")).ticket.category == "QY"
    await refused(admin.request(ResumeIssuing, category="QY"), ErrorCode.INVALID_STATE)
    await refused(kiosk.request(PauseIssuing, category="QY", reason="x"), ErrorCode.FORBIDDEN)


# -- alerts ------------------------------------------------------------------------------


async def test_a_wait_past_target_is_raised_then_cleared_when_called(
    connect: Connect, clock: Clock
) -> None:
    admin = await connect("admin")
    kiosk = await connect("kiosk")
    ticket = (await kiosk.request(IssueTicket, category="CJ")).ticket  # target 10 min
    clock.advance(minutes=11)
    raised = await alert_of(admin, "alert_raised", AlertKind.WAIT_PAST_TARGET)
    assert (raised.category, raised.ticket, raised.limit) == ("CJ", ticket.number, 10)
    assert raised.value is not None and raised.value >= 11
    snapshot = (await admin.request(GetSnapshot)).snapshot
    assert [a.id for a in snapshot.alerts] == [raised.id]
    acknowledged = (await admin.request(AcknowledgeAlert, alert=raised.id)).alert
    assert acknowledged.acknowledged_by == "staff:zhuren"
    assert acknowledged.cleared_at is None  # seen, but the ticket still waits
    await refused(admin.request(AcknowledgeAlert, alert=raised.id), ErrorCode.INVALID_STATE)
    window = await connect("window", window=14)
    await window.request(CallNext)
    cleared = await alert_of(admin, "alert_cleared", AlertKind.WAIT_PAST_TARGET)
    assert cleared.id == raised.id and cleared.cleared_at is not None
    assert (await admin.request(GetSnapshot)).snapshot.alerts == []
    await refused(admin.request(AcknowledgeAlert, alert=999), ErrorCode.NOT_FOUND)


async def test_an_idle_window_with_callable_tickets_is_alerted(
    connect: Connect, clock: Clock
) -> None:
    admin = await connect("admin")
    kiosk = await connect("kiosk")
    await connect("window", window=14)  # CJ only: idle from its login
    await kiosk.request(IssueTicket, category="SW")  # not one it may call
    clock.advance(minutes=3)
    await kiosk.request(IssueTicket, category="CJ")
    raised = await alert_of(admin, "alert_raised", AlertKind.WINDOW_IDLE)
    assert raised.window == 14 and raised.limit == 2


async def test_a_bad_rating_is_alerted_until_acknowledged(connect: Connect) -> None:
    admin = await connect("admin")
    kiosk = await connect("kiosk")
    window = await connect("window", window=3)
    issued = await kiosk.request(IssueTicket, category="SW")
    await window.request(CallNext)
    await window.request(StartService)
    await window.request(FinishService)
    await kiosk.request(
        Rate, ticket=issued.ticket.number, level=5, reasons=["服务态度不好"], secret=issued.secret
    )
    raised = await alert_of(admin, "alert_raised", AlertKind.BAD_RATING)  # 5: 非常不满意
    assert (raised.ticket, raised.window, raised.value, raised.limit) == (
        issued.ticket.number,
        3,
        5,
        4,
    )
    done = (await admin.request(AcknowledgeAlert, alert=raised.id)).alert
    assert done.cleared_at is not None  # a 差评 closes when a supervisor takes it
    assert (await admin.request(GetSnapshot)).snapshot.alerts == []
    trail = (await admin.request(Audit, account="zhuren")).entries
    assert [(e.action, e.ticket) for e in trail if e.action != "session_opened"] == [
        ("alert_acknowledged", issued.ticket.number)
    ]


async def test_a_display_gone_or_with_failing_voice_is_alerted(
    connect: Connect, clock: Clock, server: QueueServer
) -> None:
    admin = await connect("admin")
    display = await connect("display")
    await display.request(DeviceStatus, voice=VoiceState.PLAYBACK_FAILING)
    failing = await alert_of(admin, "alert_raised", AlertKind.VOICE_FAILING)
    assert failing.device
    await display.request(DeviceStatus, voice=VoiceState.ON)
    assert (await alert_of(admin, "alert_cleared", AlertKind.VOICE_FAILING)).id == failing.id
    await display.close()
    async with asyncio.timeout(10), server.connections_changed:
        await server.connections_changed.wait_for(lambda: server.first.device_gone(failing.device))
    clock.advance(seconds=31)
    offline = await alert_of(admin, "alert_raised", AlertKind.DEVICE_OFFLINE)
    assert offline.device == failing.device and offline.limit == 30
    await connect("display")
    assert (await alert_of(admin, "alert_cleared", AlertKind.DEVICE_OFFLINE)).id == offline.id
    kiosk = await connect("kiosk")
    await refused(kiosk.request(AcknowledgeAlert, alert=offline.id), ErrorCode.FORBIDDEN)
    await refused(admin.request(DeviceStatus, voice=VoiceState.ON), ErrorCode.FORBIDDEN)


async def test_a_ticket_cancelled_by_a_supervisor_carries_the_reason(connect: Connect) -> None:
    admin = await connect("admin")
    kiosk = await connect("kiosk")
    ticket = (await kiosk.request(IssueTicket, category="SW")).ticket
    done = (await admin.request(CancelTicket, ticket=ticket.number, reason="重复取号")).ticket
    assert done.state is TicketState.CANCELLED
    event = (await events_until(admin, "ticket_cancelled"))[-1]
    assert (event.reason, event.by) == ("重复取号", "staff:zhuren")


# -- the hall's alert settings ------------------------------------------------------------


@pytest.mark.parametrize(
    ("alerts", "field"),
    [
        ({"idle_minutes": 0}, "alerts.idle_minutes"),
        ({"service_factor": 0.5}, "alerts.service_factor"),
        ({"off": ["no_such_alert"]}, "alerts.off"),
        ({"bad_rating_from": 1}, "alerts.bad_rating_from"),
        ({"bad_rating_level": 2}, "unknown setting 'bad_rating_level'"),
        ({"idle_minute": 3}, "unknown setting 'idle_minute'"),
    ],
)
def test_bad_alert_settings_are_refused_saying_where(alerts: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        hallconfig.alert_rules(alerts)


def test_alert_settings_survive_export_and_import(demo_config: dict[str, Any]) -> None:
    rules = hallconfig.alert_rules({"idle_minutes": 4, "off": ["window_idle"]})
    again = hallconfig.alert_rules(hallconfig.export_alert_rules(rules))
    assert again == rules and again.off == frozenset({"window_idle"})


async def test_a_supervisor_closes_a_ghost_window_and_its_ticket_waits_again(
    connect: Connect, clock: Clock
) -> None:
    admin = await connect("admin")
    kiosk = await connect("kiosk")
    window = await connect("window", window=3)
    ticket = (await kiosk.request(IssueTicket, category="SW")).ticket
    await window.request(CallNext)
    await window.request(StartService)
    error = await refused(admin.request(CloseWindow, window=3), ErrorCode.INVALID_STATE)
    assert (error.reply.state, error.reply.window) == ("serving", 3)
    closed = (await admin.request(CloseWindow, window=3, requeue=True)).window
    assert (closed.state, closed.staff) == (WindowState.CLOSED, None)
    back = (await events_until(admin, "ticket_requeued"))[-1]
    assert (back.ticket.number, back.ticket.state, back.reason) == (
        ticket.number,
        TicketState.WAITING,
        "closed_by_supervisor",
    )
    assert back.by == "staff:zhuren"
    await refused(window.request(CallNext), ErrorCode.WINDOW_TAKEN)


async def test_the_snapshot_carries_the_servers_clock(connect: Connect, clock: Clock) -> None:
    admin = await connect("admin")
    assert (await admin.request(GetSnapshot)).snapshot.now == TUESDAY_10H
    clock.advance(minutes=7)
    snapshot = (await admin.request(GetSnapshot)).snapshot
    assert snapshot.now is not None and (snapshot.now - TUESDAY_10H).total_seconds() == 420


async def test_logins_and_refused_logins_are_in_the_audit(connect: Connect) -> None:
    admin = await connect("admin")
    await connect("window", window=3)
    with pytest.raises(LoginFailed) as failed:
        await connect("window", window=4, password="not-the-password")
    assert failed.value.code is ErrorCode.AUTH_FAILED
    await events_until(admin, "login_refused")  # written with the server's next poll
    logins = (await admin.request(Audit, account="ck03")).entries
    assert [(e.action, e.window) for e in logins if e.action == "session_opened"] == [
        ("session_opened", 3)
    ]
    refused_ = (await admin.request(Audit, account="ck04")).entries
    assert [(e.action, e.window) for e in refused_] == [("login_refused", 4)]
    assert refused_[0].detail.startswith("auth_failed")
    own = (await admin.request(Audit, account="zhuren")).entries
    assert [e.action for e in own] == ["session_opened"]
