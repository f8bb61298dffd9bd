"""Appointments over the real protocol: booking, slot capacity, cancellation, check-in."""

from __future__ import annotations

import asyncio
import copy
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from sqlalchemy import Engine

from queue_protocol.client import QueueClient, ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    AppointmentListReply,
    AppointmentSlots,
    BookAppointment,
    CallNext,
    CancelAppointment,
    CheckIn,
    IssueTicket,
    ListAppointments,
    Priority,
    Role,
    TicketStatus,
)
from queue_server import cli
from queue_server.service import HallService, Principal
from queue_server.store.engine import make_engine
from tests.conftest import Clock, Connect

TODAY = date(2026, 11, 25)  # the clock fixture starts at 10:00 Shanghai on this Wednesday
PHONE = "13812345678"


pytestmark = [pytest.mark.hall_clock, pytest.mark.both_stores]  # test clock; both stores


@pytest.fixture
def hall_config(demo_config: dict[str, Any]) -> dict[str, Any]:
    """The demo hall with its real opening hours (08:30-18:30 on weekdays)."""
    return copy.deepcopy(demo_config)


async def book(client: QueueClient, slot: str = "10:30", category: str = "QY", **extra: Any) -> Any:
    fields: dict[str, Any] = {"name": "张三", "phone": PHONE, "day": TODAY, **extra}
    return await client.request(BookAppointment, category=category, slot=slot, **fields)


async def error_of(awaitable: Any) -> ServerError:
    with pytest.raises(ServerError) as caught:
        await awaitable
    return caught.value


async def test_booking_returns_a_code_and_masks_the_phone(connect: Connect) -> None:
    """A booking answers with a short unambiguous code and shows the phone only masked."""
    kiosk = await connect("kiosk")
    reply = await book(kiosk)
    a = reply.appointment
    assert len(a.code) == 6 and set(a.code) <= set("ACDEFHJKMNPQRTUVWXY3479")
    assert a.phone == "138****5678"
    assert (a.state, a.slot, a.day, a.category) == ("booked", "10:30", TODAY, "QY")
    admin = await connect("admin")
    listing = await admin.request(ListAppointments, day=TODAY)
    assert isinstance(listing, AppointmentListReply)
    assert [x.code for x in listing.appointments] == [a.code]
    assert PHONE not in listing.model_dump_json()
    slot = next(s for s in listing.slots if (s.category, s.slot) == ("QY", "10:30"))
    assert (slot.booked, slot.capacity) == (1, 2)


async def test_twenty_concurrent_bookings_for_the_last_place(connect: Connect) -> None:
    """Twenty citizens booking the last place of a slot at once: exactly one gets it."""
    first = await connect("kiosk")
    await book(first, slot="11:00")  # capacity 2: one place left
    kiosks = await asyncio.gather(*(connect("kiosk") for _ in range(20)))
    results = await asyncio.gather(
        *(book(k, slot="11:00", name=f"市民{i}") for i, k in enumerate(kiosks)),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, ServerError)]
    assert len(won) == 1 and len(lost) == 19
    assert {e.code for e in lost} == {ErrorCode.CAPACITY_REACHED}
    admin = await connect("admin")
    listing = await admin.request(ListAppointments, day=TODAY, category="QY")
    assert sum(1 for a in listing.appointments if a.slot == "11:00") == 2


def test_capacity_holds_across_processes_sharing_the_database(
    clocked_service: HallService, db_url: str, clock: Clock
) -> None:
    """Twenty services on their own engines (as separate processes would be) book one place."""
    principal = Principal(role=Role.KIOSK, key="device:test")
    engines: list[Engine] = [make_engine(db_url) for _ in range(20)]
    services = [HallService(e, clock=clock) for e in engines]
    first = BookAppointment(
        id="first", category="BB", day=TODAY, slot="14:30", name="甲", phone=PHONE
    )
    assert '"type":"ok"' in clocked_service.execute(principal, first).reply.replace(" ", "")
    start = threading.Barrier(20)
    replies: list[str] = []

    def attempt(i: int) -> None:
        request = BookAppointment(
            id=f"r{i}", category="BB", day=TODAY, slot="15:30", name=f"市民{i}", phone=PHONE
        )
        start.wait()
        replies.append(services[i].execute(principal, request).reply)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for e in engines:
        e.dispose()
    assert len(replies) == 20
    assert sum('"type":"ok"' in r for r in replies) == 1
    assert sum("capacity_reached" in r for r in replies) == 19


async def test_cancellation_frees_the_place(connect: Connect) -> None:
    """A cancelled booking gives its place back; the cancelled code cannot check in."""
    kiosk = await connect("kiosk")
    a = (await book(kiosk, category="BB", slot="10:30")).appointment  # capacity 1
    full = await error_of(book(kiosk, category="BB", slot="10:30", name="李四"))
    assert full.code is ErrorCode.CAPACITY_REACHED
    cancelled = await kiosk.request(CancelAppointment, code=a.code.lower())
    assert cancelled.appointment.state == "cancelled"
    again = await book(kiosk, category="BB", slot="10:30", name="李四")
    assert again.appointment.state == "booked"
    refused = await error_of(kiosk.request(CheckIn, code=a.code))
    assert refused.code is ErrorCode.INVALID_STATE and "cancelled" in refused.message


async def test_booking_refuses_unknown_full_or_past_slots(connect: Connect) -> None:
    """Slots that do not exist, have begun, or fall on a closed hour are refused plainly."""
    kiosk = await connect("kiosk")
    assert (await error_of(book(kiosk, slot="10:15"))).code is ErrorCode.NOT_FOUND
    assert (await error_of(book(kiosk, slot="09:00"))).code is ErrorCode.BAD_REQUEST
    assert (await error_of(book(kiosk, category="SB"))).code is ErrorCode.NOT_FOUND
    not_by_appointment = await error_of(book(kiosk, category="BT", item="契税申报"))
    assert not_by_appointment.code is ErrorCode.BAD_REQUEST
    ok = await book(kiosk, category="BT", item="不动产登记（二手房转移）")
    assert ok.appointment.item == "不动产登记（二手房转移）"


async def test_on_time_check_in_is_served_first_once_the_slot_begins(
    connect: Connect, clock: Clock
) -> None:
    """Checking in on time yields an appointment ticket that a window calls before others."""
    kiosk = await connect("kiosk")
    a = (await book(kiosk, slot="10:30")).appointment
    normal = await kiosk.request(IssueTicket, category="QY")
    clock.advance(minutes=20)  # 10:20, inside 10:15-10:45
    reply = await kiosk.request(CheckIn, code=a.code)
    assert reply.on_time and reply.ticket.priority is Priority.APPOINTMENT
    assert reply.ticket.number == "A002" and reply.people_ahead == 0
    assert reply.estimated_wait_minutes >= 10  # the slot begins in ten minutes
    window = await connect("window", window=5)
    clock.advance(minutes=10)  # 10:30: the slot has begun
    called = await window.request(CallNext)
    assert called.ticket.id == reply.ticket.id
    status = await kiosk.request(TicketStatus, ticket=normal.ticket.id)
    assert status.ticket.state == "waiting"


async def test_early_check_in_says_when_to_come_back(connect: Connect) -> None:
    """Checking in before the window opens issues nothing and names the time to return."""
    kiosk = await connect("kiosk")
    a = (await book(kiosk, slot="11:00")).appointment
    early = await error_of(kiosk.request(CheckIn, code=a.code))
    assert early.code is ErrorCode.TOO_EARLY and "10:45" in early.message
    admin = await connect("admin")
    assert not (await admin.request(ListAppointments, day=TODAY)).appointments[0].ticket


async def test_late_check_in_yields_a_normal_ticket(connect: Connect, clock: Clock) -> None:
    """After the check-in window a normal ticket is issued and the reply says so."""
    kiosk = await connect("kiosk")
    a = (await book(kiosk, slot="10:30")).appointment
    clock.advance(minutes=46)  # 10:46, one minute past 10:30 + 15
    reply = await kiosk.request(CheckIn, code=a.code)
    assert not reply.on_time and reply.ticket.priority is Priority.NORMAL
    assert reply.note and reply.ticket.appointment_at is None


async def test_second_check_in_returns_the_same_ticket(connect: Connect, clock: Clock) -> None:
    """Checking in twice with one code (new request ids) returns the first ticket."""
    kiosk = await connect("kiosk")
    a = (await book(kiosk, slot="10:30")).appointment
    clock.advance(minutes=25)
    first = await kiosk.request(CheckIn, code=a.code)
    second = await kiosk.request(CheckIn, code=f" {a.code.lower()} ")
    assert second.ticket.id == first.ticket.id and second.on_time
    admin = await connect("admin")
    listing = await admin.request(ListAppointments, day=TODAY)
    assert listing.appointments[0].state == "checked_in"
    assert listing.appointments[0].ticket == first.ticket.id


async def test_wrong_code_and_closed_hall(connect: Connect, clock: Clock) -> None:
    """An unknown code is not found; a check-in after closing time is refused as closed."""
    kiosk = await connect("kiosk")
    assert (await error_of(kiosk.request(CheckIn, code="XXXXXX"))).code is ErrorCode.NOT_FOUND
    a = (await book(kiosk, slot="16:00")).appointment
    clock.advance(hours=9)  # 19:00, the hall closed at 18:30
    closed = await error_of(kiosk.request(CheckIn, code=a.code))
    assert closed.code is ErrorCode.HALL_CLOSED


async def test_appointment_events_reach_supervisors_not_kiosks(connect: Connect) -> None:
    """Supervisors see appointment events (phone masked); kiosks and displays do not."""
    admin = await connect("admin")
    display = await connect("display")
    kiosk = await connect("kiosk")
    a = (await book(kiosk, slot="14:00")).appointment
    await kiosk.request(CancelAppointment, code=a.code)

    async def names(client: QueueClient, until: str | None) -> list[str]:
        seen: list[str] = []
        while until not in seen:
            notice = await client.next_notice(timeout=5)
            event = getattr(notice, "event", None)
            if event is not None:
                seen.append(event.name)
                assert PHONE not in event.model_dump_json()
        return seen

    assert (await names(admin, "appointment_cancelled"))[-2:] == [
        "appointment_booked",
        "appointment_cancelled",
    ]
    probe = await kiosk.request(IssueTicket, category="SB")  # a queue_changed for everyone
    assert probe.ticket.number == "E001"
    for client in (kiosk, display):
        seen = await names(client, "queue_changed")
        assert not [n for n in seen if n.startswith("appointment_")]


async def test_only_supervisors_list_appointments(connect: Connect) -> None:
    """Listing appointments is for the admin role; a kiosk is refused."""
    kiosk = await connect("kiosk")
    refused = await error_of(kiosk.request(ListAppointments, day=TODAY))
    assert refused.code is ErrorCode.FORBIDDEN


async def test_kiosks_see_the_free_places_of_a_days_slots(connect: Connect) -> None:
    """appointment_slots gives a kiosk each slot still to come with its places taken and free."""
    kiosk = await connect("kiosk")
    await book(kiosk, slot="10:30")
    await book(kiosk, slot="10:30", name="李四")
    await book(kiosk, slot="14:00")
    cancelled = (await book(kiosk, slot="14:00", name="王五")).appointment
    await kiosk.request(CancelAppointment, code=cancelled.code)
    reply = await kiosk.request(AppointmentSlots, day=TODAY, category="QY")
    slots = {s.slot: (s.capacity, s.booked, s.free) for s in reply.slots}
    # 10:00: 09:00, 09:30 and 10:00 have begun and are not offered.
    assert list(slots) == ["10:30", "11:00", "14:00", "14:30", "15:00", "15:30", "16:00"]
    assert slots["10:30"] == (2, 2, 0) and slots["14:00"] == (2, 1, 1)
    assert slots["11:00"] == (2, 0, 2)
    every = await kiosk.request(AppointmentSlots, day=TODAY + timedelta(days=1))
    assert {s.category for s in every.slots} == {"QY", "GC", "BT", "BB"}
    assert all(s.free == s.capacity for s in every.slots) and len(every.slots) == 30
    unknown = await error_of(kiosk.request(AppointmentSlots, day=TODAY, category="XX"))
    assert unknown.code is ErrorCode.NOT_FOUND


async def test_appointment_slots_hold_no_personal_data(connect: Connect) -> None:
    """The slots reply names no citizen: no name, phone (masked or not) or check-in code."""
    kiosk = await connect("kiosk")
    a = (await book(kiosk, slot="11:00", name="欧阳娜娜")).appointment
    reply = await kiosk.request(AppointmentSlots, day=TODAY)
    text = reply.model_dump_json()
    for private in ("欧阳娜娜", PHONE, a.phone, a.code, "5678"):
        assert private not in text
    assert set(reply.slots[0].model_dump()) == {"category", "slot", "capacity", "booked", "free"}


@pytest.mark.parametrize(
    ("closed", "holidays", "day", "reason"),
    [
        (["sat"], [], date(2026, 11, 28), "closed_day"),
        ([], ["2026-11-26"], date(2026, 11, 26), "holiday"),
    ],
    ids=["closed_day", "holiday"],
)
async def test_a_closed_day_has_no_slots(
    clocked_service: HallService,
    connect: Connect,
    closed: list[str],
    holidays: list[str],
    day: date,
    reason: str,
) -> None:
    """A day the hall does not open is answered hall_closed with its reason, not with slots."""
    data = clocked_service.export_config()
    for weekday in closed:
        del data["hall"]["hours"][weekday]
    data["hall"]["holidays"] = holidays
    clocked_service.import_config(data)
    kiosk = await connect("kiosk")
    closed = await error_of(kiosk.request(AppointmentSlots, day=day, category="QY"))
    assert closed.code is ErrorCode.HALL_CLOSED and closed.reply.reason == reason
    assert (await kiosk.request(AppointmentSlots, day=TODAY)).slots  # other days are open


@pytest.mark.parametrize("role", ["window", "display"])
async def test_windows_and_displays_may_not_ask_for_slots(connect: Connect, role: str) -> None:
    """appointment_slots is for kiosks and supervisors; a window or a display is forbidden."""
    client = await connect(role, window=3) if role == "window" else await connect(role)
    refused = await error_of(client.request(AppointmentSlots, day=TODAY))
    assert refused.code is ErrorCode.FORBIDDEN
    admin = await connect("admin")
    assert (await admin.request(AppointmentSlots, day=TODAY, category="BB")).slots


def test_cli_lists_and_cancels_a_days_appointments(
    clocked_service: HallService,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    clock: Clock,
) -> None:
    """`queue-server appointments list/cancel` show masked phones and free the place."""
    monkeypatch.setenv("YICHUANG_CLOCK", clock.now.isoformat())  # the CLI on the hall's day
    principal = Principal(role=Role.KIOSK, key="device:test")
    request = BookAppointment(
        id="b1", category="GC", day=TODAY, slot="15:00", name="王五", phone=PHONE
    )
    clocked_service.execute(principal, request)
    listing = clocked_service.list_appointments(TODAY)
    code = listing.appointments[0].code
    assert cli.main(["appointments", "list", "--day", "2026-11-25", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert code in out and "138****5678" in out and PHONE not in out and "GC   15:00 1/2" in out
    assert cli.main(["appointments", "cancel", code, "--db", db_url]) == 0
    assert "cancelled" in capsys.readouterr().out
    assert clocked_service.list_appointments(TODAY).appointments[0].state == "cancelled"
    assert cli.main(["appointments", "cancel", code, "--db", db_url]) == 1


def test_appointment_configuration_round_trips(
    clocked_service: HallService, tmp_path: Path, hall_config: dict[str, Any]
) -> None:
    """`[appointments]` is exported as imported, and a bad slot entry is refused on import."""
    exported = clocked_service.export_config()
    assert exported["appointments"] == hall_config["appointments"]
    bad = copy.deepcopy(hall_config)
    bad["appointments"]["slots"][0]["times"] = ["9:00"]
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(bad), encoding="utf-8")
    with pytest.raises(ValueError, match=r"appointments\.slots\[0\]\.times"):
        clocked_service.import_config(bad)
    assert clocked_service.export_config()["appointments"] == hall_config["appointments"]
