"""The rating pad (评价器) driven by Pilot against a real server on port 0. The server and
the pad share the settable test clock, so the pad's wait (the demo hall's 60 s) and the
server's deadline pass when the test moves the clock, never by waiting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from queue_protocol.client import Backoff, QueueClient
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CallNext,
    CloseWindow,
    ErrorReply,
    FinishService,
    IssueTicket,
    ListRatings,
    RatingChannel,
    RatingView,
    StartService,
    TicketReply,
)
from rating_pad.app import PadOptions, RatingPadApp, make_app
from rating_pad.i18n import Texts
from rating_pad.screens import IdleScreen, MessageScreen, RateScreen, ReasonScreen
from tests.conftest import Clock, Connect
from tests.integration.test_hall_day import events_until
from tests.tui.screens import shows
from tests.tui.test_kiosk import until

pytestmark = pytest.mark.hall_clock  # the server runs on the test clock, as the pad does

SIZE = (80, 24)
PAD_SECONDS = 60  # the demo hall's [ratings] pad_seconds
PAD_GRACE = 120  # the server's grace after it (queue_server/hall/ratings.py)
HALL = "东湖区政务服务大厅"


def pad(url: str, clock: Clock, window: int = 1, **options: Any) -> RatingPadApp:
    """The pad of `window` (the demo hall's pads: windows 1, 2 and 5) on the test clock."""
    return make_app(
        PadOptions(
            server=url,
            token=f"demo-rater-{window}-token",
            clock=lambda: clock.now.timestamp(),
            tick=0.05,
            **options,
        )
    )


async def served(kiosk: QueueClient, window: QueueClient, category: str = "SW") -> TicketReply:
    """A ticket issued, called, served and finished at `window`."""
    issued: TicketReply = await kiosk.request(IssueTicket, category=category)
    await window.request(CallNext)
    await window.request(StartService)
    await window.request(FinishService)
    return issued


@dataclass
class Hall:
    """The hall around the pad: a supervisor (to read the ratings), a kiosk and window 1
    with its staff ck01 (王芳) logged in."""

    admin: QueueClient
    kiosk: QueueClient
    window: QueueClient

    async def serve(self) -> TicketReply:
        return await served(self.kiosk, self.window)

    async def ratings(self) -> list[RatingView]:
        reply = await self.admin.request(ListRatings)
        return list(reply.ratings)


@pytest.fixture(name="hall")
async def hall_fixture(connect: Connect) -> Hall:
    return Hall(await connect("admin"), await connect("kiosk"), await connect("window", window=1))


def text(app: RatingPadApp | Screen[Any], selector: str) -> str:
    """What a line of the screen shown (or of `screen`) says."""
    screen = app.screen if isinstance(app, RatingPadApp) else app
    return str(screen.query_one(selector, Static).render())


def line(app: RatingPadApp | Screen[Any], selector: str) -> str:
    """The same, to wait on: "" while the line is not there (its screen being composed, or
    composed again in the other language)."""
    screen = app.screen if isinstance(app, RatingPadApp) else app
    return "".join(str(shown.render()) for shown in screen.query(selector).results(Static))


def laid_out(app: RatingPadApp, kind: Any) -> bool:
    """`app` shows a screen of `kind`, composed (every pad screen has its #top row) and with
    its buttons laid out."""
    return shows(app, kind) and bool(app.screen.query("#top"))


async def on_screen(pilot: Pilot[Any], kind: Any) -> None:
    await until(pilot, lambda: laid_out(pilot.app, kind))  # type: ignore[arg-type]


async def served_and_asked(pilot: Pilot[Any], hall: Hall) -> TicketReply:
    """A service finished at window 1, and the pad asking for its rating."""
    issued = await hall.serve()
    await asked_about(pilot, issued.ticket.number)
    return issued


async def asked_about(pilot: Pilot[Any], number: str) -> RateScreen:
    """Wait until the pad asks for the rating of ticket `number`."""
    app = pilot.app
    await until(
        pilot,
        lambda: laid_out(app, RateScreen) and app.screen.prompt.number == number,  # type: ignore[arg-type, attr-defined]
    )
    screen = app.screen
    assert isinstance(screen, RateScreen)
    return screen


async def test_one_key_rates_the_service_just_finished(url: str, clock: Clock, hall: Hall) -> None:
    """The welcome names the window and who works there; a finish there asks for the
    rating, one key gives it, the thank-you stays a few seconds and the server recorded the
    rating by the pad's channel, for that window and its staff."""
    app = pad(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: laid_out(app, IdleScreen) and "王芳" in line(app, "#staff"))
        assert "工号 ck01" in text(app, "#staff")
        assert text(app, "#window-name") == "1号窗口  综合受理1号"
        assert text(app, "#hall-name") == HALL and "欢" in text(app, "#welcome")
        assert not app.screen.query_one("#banner").display

        issued = await served_and_asked(pilot, hall)
        assert "请对本次服务进行评价" in text(app, "#rate-title")
        service = text(app, "#rate-service")
        assert "号码 C001" in service and "社会事务" in service and "工号 ck01" in service
        await pilot.press("1")
        await on_screen(pilot, MessageScreen)
        assert text(app, "#message-title") == "感谢您的评价！"

        [rating] = await hall.ratings()
        assert (rating.ticket, rating.level, rating.channel) == (
            issued.ticket.id,
            1,
            RatingChannel.PAD,
        )
        assert (rating.window, rating.staff, rating.reasons) == (1, "ck01", [])
        [*_, seen] = await events_until(hall.window, "ticket_rated")
        assert seen.rating.id == rating.id

        clock.advance(seconds=4)
        app.check_time()
        assert isinstance(app.screen, MessageScreen)  # a few seconds: not yet
        clock.advance(seconds=1)
        await on_screen(pilot, IdleScreen)


async def test_a_bad_rating_needs_a_reason(url: str, clock: Clock, hall: Hall) -> None:
    """非常不满意 asks why: nothing can be sent without a reason; 返回 goes back to the five
    levels; a hall reason and a typed one are recorded with the rating (a 差评: its case)."""
    app = pad(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        issued = await served_and_asked(pilot, hall)
        await pilot.press("5")
        await on_screen(pilot, ReasonScreen)
        assert "非常不满意" in text(app, "#reason-title")
        assert app.screen.query_one("#submit", Button).disabled
        await pilot.click("#reason-typed")
        await pilot.press("space", "enter")  # only a blank typed: still no reason
        assert app.sending is None and app.last_rating is None
        assert "请至少选择或填写一项原因" in text(app, "#say")
        assert app.screen.query_one("#say").has_class("-problem")

        await pilot.press("escape")
        await on_screen(pilot, RateScreen)
        await pilot.press("5")
        await on_screen(pilot, ReasonScreen)
        await pilot.press("1")  # the hall's first reason
        assert app.screen.query_one("#reason-0", Button).has_class("-selected")
        assert not app.screen.query_one("#submit", Button).disabled
        await pilot.click("#reason-typed")
        await pilot.press(*"态度冷淡")
        assert app.screen.query_one("#reason-typed", Input).value == "态度冷淡"
        await pilot.click("#submit")
        await on_screen(pilot, MessageScreen)
        assert "认真核实" in text(app, "#message-text")

    [rating] = await hall.ratings()
    assert (rating.ticket, rating.level, rating.channel) == (
        issued.ticket.id,
        5,
        RatingChannel.PAD,
    )
    assert rating.reasons == ["服务态度不好", "态度冷淡"]
    assert rating.bad and rating.case is not None


async def test_nobody_rates_the_pad_says_no_rating(url: str, clock: Clock, hall: Hall) -> None:
    """After the hall's pad_seconds without a rating the pad goes back to the welcome and
    tells the server, which records the service as not rated: no rating at all."""
    app = pad(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        issued = await served_and_asked(pilot, hall)
        clock.advance(seconds=PAD_SECONDS - 1)
        app.check_time()
        assert isinstance(app.screen, RateScreen)  # still waiting for the citizen
        clock.advance(seconds=1)
        await on_screen(pilot, IdleScreen)
        [*_, given] = await events_until(hall.admin, "rating_not_given")
    assert (given.ticket, given.window, given.step) == (issued.ticket.id, 1, 0)
    assert await hall.ratings() == []


async def test_a_touch_restarts_the_wait_and_a_late_rating_is_told_kindly(
    url: str, clock: Clock, hall: Hall
) -> None:
    """A citizen still touching the pad keeps the question up; when the server's deadline
    for the pad has passed even so, the pad says the time is over (from the error's reason)
    and goes back to the welcome."""
    app = pad(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        await served_and_asked(pilot, hall)
        waited = 0
        while waited <= PAD_SECONDS + PAD_GRACE:  # past the pad's wait and the server's grace
            clock.advance(seconds=50)
            waited += 50
            await pilot.press("x")  # no level: a touch
            app.check_time()
            assert isinstance(app.screen, RateScreen)
        await pilot.press("2")
        await on_screen(pilot, MessageScreen)
        assert text(app, "#message-text") == "本次服务的评价时间已过，谢谢您！"
        clock.advance(seconds=5)
        await on_screen(pilot, IdleScreen)
    assert await hall.ratings() == []


async def test_the_pad_asks_only_about_its_own_window(
    url: str, clock: Clock, connect: Connect, hall: Hall
) -> None:
    """A service finished at window 3 is never offered on window 1's pad; window 1's next
    finish is (the server sends events in order, so had window 3's reached the pad it
    would have been asked about first)."""
    window3 = await connect("window", window=3)
    app = pad(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.online)
        elsewhere = await served(hall.kiosk, window3)
        here = await served_and_asked(pilot, hall)
        assert app.asked == [(here.ticket.id, 0)]
        assert elsewhere.ticket.number not in text(app, "#rate-service")


async def test_a_second_finish_replaces_the_question(url: str, clock: Clock, hall: Hall) -> None:
    """Only the last service at the window can be rated there: a newer finish replaces the
    question (even halfway through a 差评's reasons), and the rating goes to the newer. The
    next citizen's call and start do not: staff cannot cut a 差评 short by moving on."""
    app = pad(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        await served_and_asked(pilot, hall)
        await pilot.press("4")
        await on_screen(pilot, ReasonScreen)
        second = await hall.kiosk.request(IssueTicket, category="SW")
        await hall.window.request(CallNext)
        await hall.window.request(StartService)
        welcome = app.screen_stack[1]  # under the question and the reasons
        await until(pilot, lambda: line(welcome, "#window-state") == "正在为 C002 号办理")
        assert isinstance(app.screen, ReasonScreen)  # still the first citizen's reasons
        await hall.window.request(FinishService)
        await asked_about(pilot, second.ticket.number)
        assert len(app.screen_stack) == 3  # the reasons of the first are gone
        await pilot.press("2")
        await on_screen(pilot, MessageScreen)
    [rating] = await hall.ratings()
    assert (rating.number, rating.level) == (second.ticket.number, 2)


async def test_a_pad_started_after_the_finish_asks_for_the_rest_of_the_wait(
    url: str, clock: Clock, hall: Hall
) -> None:
    """A pad that starts (or restarts) after a finish asks about that service for what is
    left of the wait by the server's clock, then times out as usual."""
    issued = await hall.serve()
    clock.advance(seconds=40)
    app = pad(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        await asked_about(pilot, issued.ticket.number)
        clock.advance(seconds=PAD_SECONDS - 40 - 1)
        app.check_time()
        assert isinstance(app.screen, RateScreen)
        clock.advance(seconds=1)
        await on_screen(pilot, IdleScreen)
        [*_, given] = await events_until(hall.admin, "rating_not_given")
    assert given.ticket == issued.ticket.id


async def welcomed(pilot: Pilot[Any]) -> RatingPadApp:
    """Wait for the welcome with window 1's staff on it."""
    app = pilot.app
    assert isinstance(app, RatingPadApp)
    await until(pilot, lambda: laid_out(app, IdleScreen) and "王芳" in line(app, "#staff"))
    return app


async def test_a_rated_or_old_service_is_not_asked_about_at_start(
    url: str, clock: Clock, hall: Hall
) -> None:
    """At start the pad asks nothing about a service already rated, nor one whose wait is
    over: the welcome."""
    await hall.serve()
    clock.advance(seconds=PAD_SECONDS)
    async with pad(url, clock).run_test(size=SIZE) as pilot:
        assert (await welcomed(pilot)).asked == []

    rated = await hall.serve()
    async with pad(url, clock).run_test(size=SIZE) as pilot:
        await asked_about(pilot, rated.ticket.number)
        await pilot.press("3")
        await on_screen(pilot, MessageScreen)
    async with pad(url, clock).run_test(size=SIZE) as pilot:
        assert (await welcomed(pilot)).asked == []


async def test_the_welcome_follows_the_window(url: str, clock: Clock, connect: Connect) -> None:
    """Nobody at the window: it says so; the staff logs in: name and 工号, and what the
    window does; the window is closed: closed again."""
    app = pad(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.online)
        assert text(app, "#staff") == "本窗口暂停服务"
        window = await connect("window", window=1)
        await until(pilot, lambda: line(app, "#staff") == "服务人员 王芳    工号 ck01")
        await (await connect("kiosk")).request(IssueTicket, category="SW")
        await window.request(CallNext)
        await window.request(StartService)
        await until(pilot, lambda: line(app, "#window-state") == "正在为 C001 号办理")
        await window.request(FinishService)
        await asked_about(pilot, "C001")
        await pilot.press("1")
        await on_screen(pilot, MessageScreen)
        await window.request(CloseWindow)
        clock.advance(seconds=5)
        await on_screen(pilot, IdleScreen)
        await until(pilot, lambda: line(app, "#staff") == "本窗口暂停服务")
        assert text(app, "#window-state") == ""


async def test_a_lost_connection_shows_a_banner_and_the_pad_resumes(
    url: str, clock: Clock, hall: Hall
) -> None:
    """The connection drops (the server stays up): a banner says so; a service finished
    meanwhile is asked about once the pad is back (from the snapshot's last service), and
    rated."""
    # A long first retry: the service below surely finishes while the pad is away.
    app = pad(url, clock, backoff=Backoff(first=3.0, jitter=0.0))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.online)
        assert app.client is not None and app.client._ws is not None
        await app.client._ws.close()
        await until(pilot, lambda: not app.online)
        banner = app.screen.query_one("#banner", Static)
        assert banner.display and "网络连接中断" in str(banner.render())

        issued = await hall.serve()
        assert not app.online  # finished while the pad was away
        await asked_about(pilot, issued.ticket.number)
        assert not app.screen.query_one("#banner").display
        await pilot.press("2")
        await on_screen(pilot, MessageScreen)
    [rating] = await hall.ratings()
    assert (rating.ticket, rating.level) == (issued.ticket.id, 2)


async def test_english_for_one_citizen_then_chinese_again(
    url: str, clock: Clock, hall: Hall
) -> None:
    """The language button switches the question to English; after the thank-you the next
    citizen gets the pad's own language (Chinese) again."""
    app = pad(url, clock)
    async with app.run_test(size=SIZE) as pilot:
        await served_and_asked(pilot, hall)
        await pilot.click("#language")
        await until(pilot, lambda: "Please rate" in line(app, "#rate-title"))
        assert "Very dissatisfied" in str(app.screen.query_one("#level-5", Button).label)
        await pilot.press("1")
        await on_screen(pilot, MessageScreen)
        assert text(app, "#message-title") == "Thank you for your rating!"
        clock.advance(seconds=5)
        await on_screen(pilot, IdleScreen)
        await until(pilot, lambda: line(app, "#welcome") == "欢 迎")


async def test_a_refused_pad_says_so(url: str, clock: Clock) -> None:
    """A wrong (or revoked) token: the banner says the server refused the pad, by its code."""
    app = make_app(PadOptions(server=url, token="not-a-token", clock=lambda: clock.now.timestamp()))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.fatal is not None)
        assert "服务器拒绝了本机（auth_failed）" in text(app, "#banner")


@pytest.mark.parametrize(
    ("code", "reason", "zh", "over"),
    [
        (ErrorCode.INVALID_STATE, "rated", "本次服务已经评价过了，谢谢您！", True),
        (ErrorCode.INVALID_STATE, "rating_closed", "本次服务的评价时间已过，谢谢您！", True),
        (ErrorCode.FORBIDDEN, "not_last_service", "这次服务已不能在本机评价，谢谢您！", True),
        (ErrorCode.BAD_REQUEST, "reason_required", "请至少选择或填写一项原因", False),
        (ErrorCode.RATE_LIMITED, None, "请稍候再试一次。", False),
        (ErrorCode.INTERNAL, None, "暂时无法评价（代码 internal），请联系窗口工作人员。", False),
    ],
)
def test_refusals_are_said_from_their_code_and_reason(
    code: ErrorCode, reason: str | None, zh: str, over: bool
) -> None:
    """What a refused rating tells the citizen, in both languages, and whether the question
    is over; the server's message text is never shown."""
    error = ErrorReply(code=code, message="server text, never shown", reason=reason)
    assert Texts("zh").refusal(error) == (zh, over)
    english, still_over = Texts("en").refusal(error)
    assert still_over is over and "server text" not in english and english != zh
