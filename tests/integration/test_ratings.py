"""好差评 and 评必反馈 against the real server on its test clock: the window's rating pad, the
slip's QR code and paper forms each rate only what they may, once per service; a 差评
needs a reason and opens a case due in working days (holidays and 调休 counted); a case
walks through every state, an appeal is reviewed by another supervisor, and deadlines
raise alerts (issue 15)."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from queue_protocol.client import QueueClient
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    AlertKind,
    CallNext,
    CaseAction,
    CaseState,
    EndChain,
    FinishService,
    GetCase,
    GetSnapshot,
    IssueTicket,
    ListCases,
    ListRatings,
    NoRating,
    Rate,
    RatingChannel,
    StartService,
    TicketReply,
    TicketState,
    UpdateCase,
)
from tests.citizen import StatusPage
from tests.conftest import Clock, Connect
from tests.integration.test_hall_day import events_until, refused
from tests.integration.test_supervision import alert_of

pytestmark = [pytest.mark.hall_clock, pytest.mark.both_stores]

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEDNESDAY_10H = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 25 Nov, 10:00 local
PADS = {1: "test-rater-1-token", 3: "test-rater-3-token", 5: "test-rater-5-token"}
REASON = "服务态度不好"
# Five working days after Wednesday 25 November, with Friday 27 a holiday and Sunday 29 a
# 调休 working day (a made-up calendar): Thursday 26, Sunday 29, Monday 30, Tuesday 1 and
# Wednesday 2 December. The answer is due before Thursday 3 December, 00:00 local.
DUE = datetime(2026, 12, 3, 0, 0, tzinfo=SHANGHAI)


@pytest.fixture
def hall_config(demo_config: dict[str, Any]) -> dict[str, Any]:
    config = copy.deepcopy(demo_config)
    config["hall"].pop("hours", None)  # open around the clock
    config["devices"] += [
        {"name": f"{n}号评价器", "kind": "rater", "windows": [n], "token": token}
        for n, token in PADS.items()
    ]
    config["ratings"] = {"case_owner": "zhuren", "case_working_days": 5, "qr_working_days": 5}
    config["calendar"] = {"holidays": ["2026-11-27"], "workdays": ["2026-11-29"]}
    return config


@pytest.fixture
def clock() -> Clock:
    return Clock(WEDNESDAY_10H)


async def served(
    kiosk: QueueClient, window: QueueClient, category: str = "SW", item: str | None = None
) -> TicketReply:
    """A ticket issued and served to its end at `window`."""
    issued: TicketReply = await kiosk.request(IssueTicket, category=category, item=item)
    await window.request(CallNext)
    await window.request(StartService)
    await window.request(FinishService)
    return issued


async def pad(connect: Connect, window: int) -> QueueClient:
    return await connect("rater", token=PADS[window])


async def test_the_pad_rates_the_service_just_finished_at_its_window_once(
    connect: Connect,
) -> None:
    admin = await connect("admin")
    kiosk = await connect("kiosk")
    window = await connect("window", window=1)
    pad1, pad3 = await pad(connect, 1), await pad(connect, 3)
    before = (await pad1.request(GetSnapshot)).snapshot
    assert before.last_service is None
    assert before.rating is not None and REASON in before.rating.reasons
    assert before.rating.pad_seconds == 60
    issued = await served(kiosk, window)
    finished = await events_until(pad1, "service_finished")
    assert finished[-1].ticket.number == issued.ticket.number

    rated = (await pad1.request(Rate, ticket=issued.ticket.id, level=1)).rating
    assert (rated.channel, rated.window, rated.staff, rated.staff_name) == (
        RatingChannel.PAD,
        1,
        "ck01",
        "王芳",
    )
    assert (rated.level, rated.bad, rated.case, rated.step) == (1, False, None, 0)
    again = await refused(
        pad1.request(Rate, ticket=issued.ticket.id, level=2), ErrorCode.INVALID_STATE
    )
    assert again.reply.reason == "rated"
    other = await refused(pad3.request(Rate, ticket=issued.ticket.id, level=2), ErrorCode.FORBIDDEN)
    assert other.reply.reason == "not_last_service"
    for client in (window, admin):
        [*_, seen] = await events_until(client, "ticket_rated")
        assert seen.rating.id == rated.id
    listed = (await admin.request(ListRatings)).ratings
    assert [(r.ticket, r.level, r.channel) for r in listed] == [
        (issued.ticket.id, 1, RatingChannel.PAD)
    ]
    # A reconnecting pad is told what it would rate, already rated.
    again_pad = await pad(connect, 1)
    last = (await again_pad.request(GetSnapshot)).snapshot.last_service
    assert last is not None and last.rated and last.number == issued.ticket.number


async def test_a_pad_rates_only_the_last_service_and_only_while_the_citizen_is_there(
    connect: Connect, clock: Clock
) -> None:
    kiosk = await connect("kiosk")
    window = await connect("window", window=1)
    pad1 = await pad(connect, 1)
    first = await served(kiosk, window)
    second = await served(kiosk, window)
    earlier = await refused(
        pad1.request(Rate, ticket=first.ticket.id, level=1), ErrorCode.FORBIDDEN
    )
    assert (earlier.reply.reason, earlier.reply.window) == ("not_last_service", 1)
    clock.advance(seconds=60 + 121)  # the pad's wait and its grace are over
    late = await refused(
        pad1.request(Rate, ticket=second.ticket.id, level=1), ErrorCode.INVALID_STATE
    )
    assert late.reply.reason == "rating_closed"
    # The slip still may: it has its working days.
    rated = await kiosk.request(Rate, ticket=second.ticket.id, level=2, secret=second.secret)
    assert rated.rating.channel is RatingChannel.QR


async def test_a_bad_rating_needs_a_reason_and_opens_a_case_due_in_working_days(
    connect: Connect,
) -> None:
    admin = await connect("admin")
    kiosk = await connect("kiosk")
    window = await connect("window", window=3)
    pad3 = await pad(connect, 3)
    issued = await served(kiosk, window)
    bare = await refused(
        pad3.request(Rate, ticket=issued.ticket.id, level=5), ErrorCode.BAD_REQUEST
    )
    assert (bare.reply.reason, bare.reply.field) == ("reason_required", "reasons")
    assert (await admin.request(ListRatings)).ratings == []  # nothing was recorded

    rated = (
        await pad3.request(
            Rate, ticket=issued.ticket.id, level=4, reasons=[REASON, " "], phone="13812345678"
        )
    ).rating
    assert (rated.bad, rated.reasons, rated.phone) == (True, [REASON], "138****5678")
    assert rated.case == 1
    seen = await events_until(admin, "alert_raised")
    opened = next(e for e in seen if e.name == "case_opened").case
    assert (opened.id, opened.state, opened.owner, opened.owner_name) == (
        1,
        CaseState.OPEN,
        "zhuren",
        "邓主任",
    )
    assert opened.due_at == DUE and not opened.overdue
    assert [s.action for s in opened.steps] == ["opened"]
    alert = seen[-1].alert
    assert (alert.kind, alert.case, alert.window, alert.ticket, alert.value) == (
        AlertKind.BAD_RATING,
        1,
        3,
        issued.ticket.number,
        4,
    )
    # The phone never leaves the server whole, in no reply and no event.
    assert "13812345678" not in str(seen) and "13812345678" not in str(rated)


async def bad_case(connect: Connect, window_number: int = 1) -> tuple[QueueClient, int]:
    kiosk = await connect("kiosk")
    window = await connect("window", window=window_number)
    issued = await served(kiosk, window)
    rated = await kiosk.request(
        Rate, ticket=issued.ticket.id, level=5, reasons=["等候时间过长"], secret=issued.secret
    )
    assert rated.rating.case is not None
    return window, rated.rating.case


async def test_a_case_walks_through_every_state_and_keeps_every_step(connect: Connect) -> None:
    admin = await connect("admin")
    window, case = await bad_case(connect)
    forbidden = await refused(
        window.request(UpdateCase, case=case, action=CaseAction.VERIFY, text="x"),
        ErrorCode.FORBIDDEN,
    )
    assert forbidden.code is ErrorCode.FORBIDDEN
    early = await refused(
        admin.request(UpdateCase, case=case, action=CaseAction.CLOSE), ErrorCode.INVALID_STATE
    )
    assert (early.reply.reason, early.reply.state) == ("case_state", "open")
    blank = await refused(
        admin.request(UpdateCase, case=case, action=CaseAction.VERIFY, text="  "),
        ErrorCode.BAD_REQUEST,
    )
    assert blank.reply.field == "text"
    steps = [
        (CaseAction.VERIFY, "调取录像：窗口人员离岗十分钟", CaseState.VERIFIED, {}),
        (CaseAction.RECTIFY, "约谈当事人，纳入月度考核", CaseState.RECTIFYING, {}),
        (CaseAction.RECTIFY, "增设午间弹性窗口", CaseState.RECTIFYING, {}),
        (CaseAction.ANSWER, "已致电群众说明整改情况并致歉", CaseState.ANSWERED, {}),
        (CaseAction.CALL_BACK, "群众表示满意", CaseState.CALLED_BACK, {"level": 2}),
        (CaseAction.CLOSE, "", CaseState.CLOSED, {}),
    ]
    no_level = None
    for action, text, state, extra in steps:
        if action is CaseAction.CALL_BACK:
            no_level = await refused(
                admin.request(UpdateCase, case=case, action=action, text=text),
                ErrorCode.BAD_REQUEST,
            )
        reply = await admin.request(UpdateCase, case=case, action=action, text=text, **extra)
        assert reply.case.state is state
        [*_, event] = await events_until(admin, "case_updated")
        assert (event.case.state, event.action, event.by) == (state, action, "staff:zhuren")
    assert no_level is not None and no_level.reply.field == "level"
    done = (await admin.request(GetCase, case=case)).case
    assert [s.action for s in done.steps] == ["opened"] + [a.value for a, *_ in steps]
    assert [s.text for s in done.steps][1:] == [t for _, t, *_ in steps]
    assert (done.callback_level, done.answered_on_time, done.overdue) == (2, True, False)
    assert done.closed_at is not None
    assert all(s.by == "staff:zhuren" for s in done.steps[1:])
    # Closed: out of the open list, still in the whole list, and moved no further.
    assert (await admin.request(ListCases)).cases == []
    assert [c.id for c in (await admin.request(ListCases, open_only=False)).cases] == [case]
    closed = await refused(
        admin.request(UpdateCase, case=case, action=CaseAction.RECTIFY, text="再次整改"),
        ErrorCode.INVALID_STATE,
    )
    assert closed.reply.state == "closed"
    missing = await refused(admin.request(GetCase, case=99), ErrorCode.NOT_FOUND)
    assert missing.reply.reason == "case"


async def test_an_appeal_is_reviewed_by_another_supervisor(connect: Connect) -> None:
    zhuren = await connect("admin")
    admin = await connect("admin", user="admin")
    _, upheld = await bad_case(connect, 1)
    _, excluded = await bad_case(connect, 3)

    await zhuren.request(UpdateCase, case=upheld, action=CaseAction.VERIFY, text="属实")
    await zhuren.request(UpdateCase, case=upheld, action=CaseAction.APPEAL, text="评价人误操作")
    own = await refused(
        zhuren.request(UpdateCase, case=upheld, action=CaseAction.UPHOLD, text="维持"),
        ErrorCode.FORBIDDEN,
    )
    assert own.reply.reason == "own_appeal"
    back = (
        await admin.request(UpdateCase, case=upheld, action=CaseAction.UPHOLD, text="录像显示属实")
    ).case
    assert back.state is CaseState.VERIFIED and not back.rating.excluded

    await zhuren.request(
        UpdateCase, case=excluded, action=CaseAction.APPEAL, text="同一人恶意连续差评"
    )
    gone = (
        await admin.request(
            UpdateCase, case=excluded, action=CaseAction.EXCLUDE, text="经核实为恶意评价"
        )
    ).case
    assert gone.state is CaseState.EXCLUDED and gone.rating.excluded and not gone.overdue
    ratings = {r.case: r for r in (await admin.request(ListRatings, bad_only=True)).ratings}
    assert ratings[excluded].excluded and not ratings[upheld].excluded
    assert [c.id for c in (await admin.request(ListCases)).cases] == [upheld]


async def test_the_slip_rates_within_its_working_days_and_not_after(
    connect: Connect, clock: Clock
) -> None:
    """Served on Wednesday 25 November: the QR code rates until the end of Wednesday
    2 December (5 working days, the holiday Friday left out, the 调休 Sunday counted),
    across the day's close-out: the ticket is then an earlier day's."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=1)
    first = await served(kiosk, window)
    second = await served(kiosk, window)
    clock.now = datetime(2026, 12, 2, 23, 59, tzinfo=SHANGHAI).astimezone(UTC)
    kiosk2 = await connect("kiosk")
    ok = await kiosk2.request(Rate, ticket=first.ticket.id, level=3, secret=first.secret)
    assert (ok.rating.channel, ok.rating.window, ok.rating.staff) == (RatingChannel.QR, 1, "ck01")
    clock.now = DUE.astimezone(UTC)
    late = await refused(
        kiosk2.request(Rate, ticket=second.ticket.id, level=3, secret=second.secret),
        ErrorCode.INVALID_STATE,
    )
    assert (late.reply.reason, late.reply.at) == ("rating_closed", DUE)
    wrong = await refused(
        kiosk2.request(Rate, ticket=first.ticket.id, level=3, secret=second.secret),
        ErrorCode.FORBIDDEN,
    )
    assert wrong.reply.reason == "bad_secret"
    bare = await refused(kiosk2.request(Rate, ticket=first.ticket.id, level=3), ErrorCode.FORBIDDEN)
    assert bare.reply.reason == "secret_required"


async def test_a_one_chain_visit_is_rated_per_step_and_as_a_whole(connect: Connect) -> None:
    kiosk = await connect("kiosk")
    zone = await connect("window", window=5)
    pad5 = await pad(connect, 5)
    issued = await served(kiosk, zone, category="QY", item="企业设立登记")
    step0 = (await pad5.request(Rate, ticket=issued.ticket.id, level=1)).rating
    assert (step0.step, step0.step_name) == (0, "企业登记")
    early = await refused(
        kiosk.request(Rate, ticket=issued.ticket.id, level=1, visit=True, secret=issued.secret),
        ErrorCode.INVALID_STATE,
    )
    assert early.reply.reason == "not_served"
    await zone.request(CallNext)
    await zone.request(StartService)
    await zone.request(EndChain, reason="申请人材料不全，改日再办")
    step1 = (await pad5.request(Rate, ticket=issued.ticket.id, level=2)).rating
    assert (step1.step, step1.step_name) == (1, "印章刻制")
    visit = await kiosk.request(
        Rate, ticket=issued.ticket.id, level=3, visit=True, secret=issued.secret
    )
    assert (visit.rating.step, visit.rating.window) == (None, None)
    twice = await refused(
        kiosk.request(Rate, ticket=issued.ticket.id, level=1, step=0, secret=issued.secret),
        ErrorCode.INVALID_STATE,
    )
    assert twice.reply.reason == "rated"
    plain = await served(kiosk, await connect("window", window=1))
    not_chain = await refused(
        kiosk.request(Rate, ticket=plain.ticket.id, level=1, visit=True, secret=plain.secret),
        ErrorCode.BAD_REQUEST,
    )
    assert (not_chain.reply.reason, not_chain.reply.field) == ("not_a_chain", "visit")


async def test_the_status_page_rates_the_last_step_then_the_visit_on_a_later_day(
    connect: Connect, url: str, clock: Clock
) -> None:
    """The slip's page of a one-chain visit done on Wednesday, opened the next working day:
    expired but done, it stays open and asks for what is left to rate (the last step,
    then the visit as a whole) until the slip's time ends; then nothing is left."""
    kiosk = await connect("kiosk")
    zone = await connect("window", window=5)
    pad5 = await pad(connect, 5)
    plain = await served(kiosk, await connect("window", window=1))  # not rated in time
    issued = await served(kiosk, zone, category="QY", item="企业设立登记")
    await pad5.request(Rate, ticket=issued.ticket.id, level=1)  # step 0, at the window
    await zone.request(CallNext)
    await zone.request(StartService)
    await zone.request(EndChain, reason="申请人材料不全，改日再办")
    today = await StatusPage.open(url, issued.ticket.id, issued.secret)
    assert today.status is not None
    assert (today.status.steps, today.status.rated, today.status.visit_rated) == (5, False, False)
    assert today.status.rating_until == DUE
    await today.close()
    clock.now = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI).astimezone(UTC)
    page = await StatusPage.open(url, issued.ticket.id, issued.secret)
    assert page.status is not None and page.status.expired
    assert (page.status.state, page.status.rating_until) == (TicketState.DONE, DUE)
    rate = {"type": "rate", "ticket": issued.ticket.id, "secret": issued.secret}
    step = await page.ask({**rate, "id": "r1", "level": 2})
    assert (step["type"], step["rating"]["step"], step["rating"]["channel"]) == ("ok", 1, "qr")
    after_step = await page.until(lambda s: s.rated)
    assert (after_step.visit_rated, after_step.rating_until) == (False, DUE)
    visit = await page.ask({**rate, "id": "r2", "level": 1, "visit": True})
    assert (visit["type"], visit["rating"]["step"]) == ("ok", None)
    done = await page.until(lambda s: s.visit_rated)
    assert (done.rated, done.rating_until) == (True, None)
    await page.close()
    clock.now = DUE.astimezone(UTC)  # the slip's five working days are over
    late = await StatusPage.open(url, plain.ticket.id, plain.secret)
    assert late.status is not None and (late.status.rated, late.status.rating_until) == (
        False,
        None,
    )
    await asyncio.wait_for(late.ws.wait_closed(), 10)  # an earlier day's, nothing to rate


async def test_the_page_shows_a_pad_s_rating(connect: Connect, url: str) -> None:
    """Rated at the window's pad while its page is open: the page says so at once (and
    asks nothing more of a one-step ticket)."""
    kiosk = await connect("kiosk")
    window = await connect("window", window=1)
    pad1 = await pad(connect, 1)
    issued = await served(kiosk, window)
    page = await StatusPage.open(url, issued.ticket.id, issued.secret)
    assert page.status is not None and page.status.rating_until is not None
    await pad1.request(Rate, ticket=issued.ticket.id, level=1)
    shown = await page.until(lambda s: s.rated)
    assert (shown.steps, shown.rating_until) == (1, None)
    await page.close()


async def test_paper_forms_are_entered_at_the_window_that_served(connect: Connect) -> None:
    kiosk = await connect("kiosk")
    one, three = await connect("window", window=1), await connect("window", window=3)
    issued = await served(kiosk, one)
    elsewhere = await refused(
        three.request(Rate, ticket=issued.ticket.id, level=1), ErrorCode.FORBIDDEN
    )
    assert (elsewhere.reply.reason, elsewhere.reply.window) == ("not_served_here", 3)
    paper = (await one.request(Rate, ticket=issued.ticket.id, level=2)).rating
    assert (paper.channel, paper.window) == (RatingChannel.PAPER, 1)


async def test_a_pad_time_out_is_recorded_as_not_rated(connect: Connect) -> None:
    admin = await connect("admin")
    kiosk = await connect("kiosk")
    window = await connect("window", window=1)
    pad1 = await pad(connect, 1)
    issued = await served(kiosk, window)
    await pad1.request(NoRating, ticket=issued.ticket.id)
    [*_, event] = await events_until(admin, "rating_not_given")
    assert (event.ticket, event.step, event.window, event.by) == (
        issued.ticket.id,
        0,
        1,
        "device:1号评价器",
    )
    assert (await admin.request(ListRatings)).ratings == []  # not a rating
    later = await kiosk.request(Rate, ticket=issued.ticket.id, level=1, secret=issued.secret)
    assert later.rating.channel is RatingChannel.QR
    # Rated now: a pad's late time-out (its rating's reply lost, say) records nothing.
    rated = await refused(pad1.request(NoRating, ticket=issued.ticket.id), ErrorCode.INVALID_STATE)
    assert rated.reply.reason == "rated"


async def test_cases_near_and_past_their_deadline_raise_alerts(
    connect: Connect, clock: Clock
) -> None:
    admin = await connect("admin")
    _, case = await bad_case(connect)
    at_first = (await admin.request(GetSnapshot)).snapshot.alerts
    assert not [a for a in at_first if a.kind is AlertKind.CASE_DUE]  # 5 working days left
    clock.now = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)  # 1 day left
    due = await alert_of(admin, "alert_raised", AlertKind.CASE_DUE, timeout=20)
    assert (due.case, due.value, due.limit) == (case, 1, 1)
    clock.now = datetime(2026, 12, 3, 1, 0, tzinfo=SHANGHAI).astimezone(UTC)
    late = await alert_of(admin, "alert_raised", AlertKind.CASE_OVERDUE, timeout=20)
    assert (late.case, late.value) == (case, 1.0)  # an hour past due
    view = (await admin.request(GetCase, case=case)).case
    assert view.overdue
    await admin.request(UpdateCase, case=case, action=CaseAction.VERIFY, text="属实")
    answered = (
        await admin.request(UpdateCase, case=case, action=CaseAction.ANSWER, text="已答复")
    ).case
    assert answered.overdue and answered.answered_on_time is False  # answered late
    cleared = await alert_of(admin, "alert_cleared", AlertKind.CASE_OVERDUE, timeout=20)
    assert cleared.case == case
    snapshot = (await admin.request(GetSnapshot)).snapshot
    assert not [a for a in snapshot.alerts if a.case == case and a.kind is not AlertKind.BAD_RATING]
