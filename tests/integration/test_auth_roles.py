"""Authentication and roles against the real server (SPEC §5, §9): hello, credentials,
window log-ins, what each role may do, and requests the state of a window does not allow.
Every refusal is an error reply with the request id; the connection and the state stay."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from queue_protocol.errors import CLOSE_LOGGED_IN_ELSEWHERE, ErrorCode
from queue_server import server as server_module
from queue_server.service import HallService
from tests.conftest import DEMO_PASSWORD, DISPLAY_TOKEN, KIOSK_TOKEN
from tests.integration.test_bad_input import (
    KIOSK_HELLO,
    TIMEOUT,
    ask,
    assert_alive,
    closed_code,
    dump_db,
    next_reply,
    session,
)

pytestmark = pytest.mark.both_stores  # SQLite and a real PostgreSQL

DISPLAY_HELLO = {"type": "hello", "id": "h1", "role": "display", "token": DISPLAY_TOKEN}


def staff_hello(
    user: str, window: Any = None, *, role: str = "window", rid: str = "h1", **extra: Any
) -> dict[str, Any]:
    """A hello frame for a staff member (at a window, or as admin without one)."""
    hello = {"type": "hello", "id": rid, "role": role, "user": user, "password": DEMO_PASSWORD}
    if window is not None:
        hello["window"] = window
    return {**hello, **extra}


def window_hello(window: int) -> dict[str, Any]:
    return staff_hello(f"ck{window:02d}", window)


SUPERVISOR_HELLO = staff_hello("zhuren", role="admin")


async def expect_error(
    ws: ClientConnection, frame: dict[str, Any], code: ErrorCode
) -> dict[str, Any]:
    """Send a request and assert it is refused with `code`, answering its id."""
    reply = await ask(ws, frame)
    assert reply["type"] == "error", reply
    assert (reply["code"], reply["re"]) == (code, frame.get("id")), reply
    assert reply["message"]
    return reply


async def expect_ok(ws: ClientConnection, frame: dict[str, Any]) -> dict[str, Any]:
    reply = await ask(ws, frame)
    assert (reply["type"], reply["re"]) == ("ok", frame["id"]), reply
    return reply


async def issue(url: str, category: str = "SW", rid: str = "issue-1") -> dict[str, Any]:
    """Issue one ticket from the kiosk; the ticket view."""
    async with session(url) as kiosk:
        reply = await expect_ok(kiosk, {"type": "issue_ticket", "id": rid, "category": category})
    return reply["ticket"]


# -- before and during hello -----------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "snapshot", "id": "s1"},
        {"type": "issue_ticket", "id": "s2", "category": "SW"},
        {"type": "call_next", "id": "s3", "window": 1},
        {"type": "set_notice", "id": "s4", "notice": "hacked"},
    ],
    ids=lambda f: f["type"],
)
async def test_request_before_hello_is_not_authenticated(
    url: str, service: HallService, frame: dict[str, Any]
) -> None:
    """A request before hello gets not_authenticated; a hello afterwards is still accepted."""
    before = dump_db(service.engine)
    async with connect(url) as ws:
        await expect_error(ws, frame, ErrorCode.NOT_AUTHENTICATED)
        await expect_ok(ws, KIOSK_HELLO)
        await assert_alive(ws)
    assert dump_db(service.engine) == before


async def test_bad_frames_before_hello_get_their_codes(url: str) -> None:
    """Before hello, bad frames get their own codes (bad_json, unknown_verb, bad_request)."""
    async with connect(url) as ws:
        reply = await ask(ws, "{not json")
        assert (reply["code"], reply["re"]) == (ErrorCode.BAD_JSON, None)
        await expect_error(ws, {"type": "sing", "id": "x1"}, ErrorCode.UNKNOWN_VERB)
        await expect_error(ws, {"type": "hello", "id": "x2"}, ErrorCode.BAD_REQUEST)  # no role
        await expect_error(
            ws, {**KIOSK_HELLO, "id": "x3", "role": "janitor"}, ErrorCode.BAD_REQUEST
        )
        await expect_ok(ws, KIOSK_HELLO)


async def test_hello_twice_is_already_authenticated(url: str, service: HallService) -> None:
    """A second hello is refused and does not change who the connection is."""
    async with session(url) as ws:
        before = dump_db(service.engine)
        await expect_error(ws, {**SUPERVISOR_HELLO, "id": "h2"}, ErrorCode.ALREADY_AUTHENTICATED)
        await expect_error(ws, {**KIOSK_HELLO, "id": "h3"}, ErrorCode.ALREADY_AUTHENTICATED)
        # Still the kiosk, not the supervisor of the second hello.
        await expect_error(
            ws, {"type": "set_notice", "id": "n1", "notice": "x"}, ErrorCode.FORBIDDEN
        )
        await assert_alive(ws)
        assert dump_db(service.engine) == before


@pytest.mark.parametrize(
    ("version", "code"),
    [
        (2, ErrorCode.VERSION_MISMATCH),
        (0, ErrorCode.VERSION_MISMATCH),
        ("1", ErrorCode.BAD_REQUEST),
    ],
)
async def test_wrong_protocol_version(url: str, version: Any, code: ErrorCode) -> None:
    """A hello with another protocol version is refused; the right one then succeeds."""
    async with connect(url) as ws:
        await expect_error(ws, {**KIOSK_HELLO, "version": version}, code)
        reply = await expect_ok(ws, {**KIOSK_HELLO, "id": "h2"})
        assert reply["version"] == 1


FAILED_HELLOS: list[tuple[str, dict[str, Any], ErrorCode]] = [
    ("wrong password", staff_hello("ck01", 1, password="wrong"), ErrorCode.AUTH_FAILED),
    ("unknown user", staff_hello("nobody", 1), ErrorCode.AUTH_FAILED),
    (
        "password of another case",
        staff_hello("ck01", 1, password="YICHUANG"),
        ErrorCode.AUTH_FAILED,
    ),
    ("no password", staff_hello("ck01", 1, password=None), ErrorCode.BAD_REQUEST),
    ("empty password", staff_hello("ck01", 1, password=""), ErrorCode.BAD_REQUEST),
    ("window login without window", staff_hello("ck01"), ErrorCode.BAD_REQUEST),
    ("window that does not exist", staff_hello("ck01", 99), ErrorCode.NOT_FOUND),
    ("window number zero", staff_hello("ck01", 0), ErrorCode.BAD_REQUEST),
    ("window number as text", staff_hello("ck01", "1"), ErrorCode.BAD_REQUEST),
    ("staff asks for admin", staff_hello("ck01", role="admin"), ErrorCode.FORBIDDEN),
    ("unknown device token", {**KIOSK_HELLO, "token": "guessed-token"}, ErrorCode.AUTH_FAILED),
    ("display token as kiosk", {**KIOSK_HELLO, "token": DISPLAY_TOKEN}, ErrorCode.AUTH_FAILED),
    ("kiosk token as display", {**DISPLAY_HELLO, "token": KIOSK_TOKEN}, ErrorCode.AUTH_FAILED),
    ("kiosk without token", {**KIOSK_HELLO, "token": None}, ErrorCode.BAD_REQUEST),
    (
        "device role with a password",
        {**staff_hello("ck01"), "role": "kiosk"},
        ErrorCode.BAD_REQUEST,
    ),
    ("extra field", {**KIOSK_HELLO, "admin": True}, ErrorCode.BAD_REQUEST),
]


@pytest.mark.parametrize(
    ("hello", "code"),
    [pytest.param(hello, code, id=name) for name, hello, code in FAILED_HELLOS],
)
async def test_failed_hello_is_refused_and_connection_stays(
    url: str, service: HallService, hello: dict[str, Any], code: ErrorCode
) -> None:
    """A refused hello gets its code and the request id; a good hello may follow."""
    before = dump_db(service.engine)
    async with connect(url) as ws:
        await expect_error(ws, {k: v for k, v in hello.items() if v is not None}, code)
        await expect_ok(ws, {**KIOSK_HELLO, "id": "h2"})
        await assert_alive(ws)
    assert dump_db(service.engine) == before


async def test_auth_failure_does_not_say_which_part_was_wrong(url: str) -> None:
    """A wrong password and an unknown account get the same message."""
    async with connect(url) as ws:
        wrong = await expect_error(
            ws, staff_hello("ck01", 1, password="nope"), ErrorCode.AUTH_FAILED
        )
        unknown = await expect_error(ws, staff_hello("ck99", 1), ErrorCode.AUTH_FAILED)
        assert wrong["message"] == unknown["message"]
        assert "nope" not in wrong["message"]


async def test_disabled_staff_cannot_log_in(url: str, service: HallService) -> None:
    """A disabled account is refused with auth_failed, saying so (reason account_disabled)
    only to its right password; enabled again, it logs in."""
    service.set_staff_disabled("ck04", True)
    async with connect(url) as ws:
        before = dump_db(service.engine)
        refused = await expect_error(ws, window_hello(4), ErrorCode.AUTH_FAILED)
        assert refused["reason"] == "account_disabled"
        assert dump_db(service.engine) == before
    async with connect(url) as ws:
        wrong = staff_hello("ck04", 4, password="not-the-password")
        refused = await expect_error(ws, wrong, ErrorCode.AUTH_FAILED)
        assert refused["reason"] is None  # a wrong password learns nothing of the account
    service.set_staff_disabled("ck04", False)
    async with session(url, window_hello(4)) as ws:
        await assert_alive(ws)


async def test_revoked_device_token_is_refused(url: str, service: HallService) -> None:
    """A revoked kiosk token is refused with auth_failed; other devices still log in."""
    service.revoke_device("一号取号机")
    async with connect(url) as ws:
        await expect_error(ws, KIOSK_HELLO, ErrorCode.AUTH_FAILED)
        await expect_ok(ws, {**DISPLAY_HELLO, "id": "h2"})


async def test_five_failed_hellos_close_the_connection(url: str, service: HallService) -> None:
    """After five failed hellos the server closes the connection (1008) and serves others."""
    before = dump_db(service.engine)
    async with connect(url) as ws:
        for n in range(5):
            await expect_error(
                ws,
                {**staff_hello("ck01", 1, password=f"guess{n}"), "id": f"g{n}"},
                ErrorCode.AUTH_FAILED,
            )
        assert await closed_code(ws) == 1008
    async with session(url) as other:
        await assert_alive(other)
    assert dump_db(service.engine) == before


async def test_four_failed_hellos_then_a_good_one(url: str) -> None:
    """Failures of any kind count; after four the fifth hello may still succeed."""
    async with connect(url) as ws:
        await expect_error(ws, {"type": "snapshot", "id": "a"}, ErrorCode.NOT_AUTHENTICATED)
        await expect_error(ws, {**KIOSK_HELLO, "id": "b", "version": 9}, ErrorCode.VERSION_MISMATCH)
        await expect_error(ws, {**KIOSK_HELLO, "id": "c", "token": "x"}, ErrorCode.AUTH_FAILED)
        await expect_error(ws, staff_hello("ck01", 77, rid="d"), ErrorCode.NOT_FOUND)
        await expect_ok(ws, {**KIOSK_HELLO, "id": "e"})
        await assert_alive(ws)


async def test_silent_connection_is_closed_after_hello_timeout(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that never says hello is closed (1008) when the hello time runs out."""
    monkeypatch.setattr(server_module, "HELLO_TIMEOUT", 0.5)
    async with connect(url) as ws:
        assert await closed_code(ws) == 1008


# -- window log-ins ---------------------------------------------------------------------------


async def test_window_taken_by_another_staff_member(url: str, service: HallService) -> None:
    """A second staff member cannot log in at a window someone else is logged in at."""
    async with session(url, window_hello(1)) as first, connect(url) as second:
        before = dump_db(service.engine)
        reply = await expect_error(second, staff_hello("ck02", 1), ErrorCode.WINDOW_TAKEN)
        assert "王芳" in reply["message"]  # who is logged in there
        assert dump_db(service.engine) == before
        await assert_alive(first)
        reply = await expect_ok(second, {**staff_hello("ck02", 2), "id": "h2"})
        assert reply["window"] == 2
    windows = {row[1]: row for row in dump_db(service.engine)["window"]}  # (hall_id, number, …)
    assert "ck01" in windows[1] and "ck02" in windows[2]


async def test_same_staff_member_again_replaces_the_older_connection(
    url: str, service: HallService
) -> None:
    """The same staff member logging in again at the window keeps the ticket in hand;
    the older connection is closed."""
    ticket = await issue(url)
    async with session(url, window_hello(11)) as old:
        called = await expect_ok(old, {"type": "call_next", "id": "c1"})
        assert called["ticket"]["id"] == ticket["id"]
        async with connect(url) as new:
            reply = await expect_ok(new, window_hello(11))
            assert reply["window"] == 11
            in_hand = [t["id"] for t in reply["snapshot"]["tickets"]]
            assert in_hand == [ticket["id"]]
            assert await closed_code(old) == CLOSE_LOGGED_IN_ELSEWHERE
            assert old.close_reason == "logged in elsewhere"
            started = await expect_ok(new, {"type": "start_service", "id": "st1"})
            assert started["ticket"]["state"] == "serving"


async def test_window_free_again_after_close_window(url: str) -> None:
    """After close_window (log-out) another staff member may log in at that window."""
    async with session(url, window_hello(1)) as first:
        closed = await expect_ok(first, {"type": "close_window", "id": "x1"})
        assert closed["window"]["state"] == "closed"
        async with connect(url) as second:
            reply = await expect_ok(second, staff_hello("ck02", 1))
            assert reply["window"] == 1


# -- roles ------------------------------------------------------------------------------------

TICKET = "C001"
ALL_ACTIONS: dict[str, dict[str, Any]] = {
    "issue_ticket": {"category": "SW"},
    "cancel_ticket": {"ticket": TICKET},
    "call_next": {"window": 1},
    "call_ticket": {"window": 1, "ticket": TICKET},
    "recall": {"window": 1},
    "start_service": {"window": 1},
    "finish_service": {"window": 1},
    "mark_no_show": {"window": 1},
    "reinstate": {"window": 1, "ticket": TICKET},
    "transfer": {"window": 1, "to_category": "GC", "reason": "wrong queue"},
    "pause_window": {"window": 1, "reason": "break"},
    "resume_window": {"window": 1},
    "close_window": {"window": 1},
    "book_appointment": {
        "category": "QY",
        "day": "2026-11-26",
        "slot": "09:00",
        "name": "张三",
        "phone": "13800000000",
    },
    "check_in": {"code": "ABC123"},
    "cancel_appointment": {"code": "ABC123"},
    "list_appointments": {"day": "2026-11-26"},
    "rate": {"ticket": TICKET, "level": 1},
    "no_rating": {"ticket": TICKET},
    "list_ratings": {},
    "list_cases": {},
    "get_case": {"case": 1},
    "update_case": {"case": 1, "action": "verify", "text": "核实"},
    "set_window_profile": {"window": 1, "profile": ["SW"]},
    "set_notice": {"notice": "今日休息"},
}
KIOSK_FORBIDDEN = [
    "cancel_ticket",  # a ticket number is no secret: a kiosk must not cancel anyone's ticket
    "list_appointments",
    "call_next",
    "call_ticket",
    "recall",
    "start_service",
    "finish_service",
    "mark_no_show",
    "reinstate",
    "transfer",
    "pause_window",
    "resume_window",
    "close_window",
    "set_window_profile",
    "set_notice",
    "no_rating",
    "list_ratings",
    "list_cases",
    "get_case",
    "update_case",
]
WINDOW_FORBIDDEN = [
    "issue_ticket",
    "book_appointment",
    "check_in",
    "cancel_appointment",
    "list_appointments",
    "set_window_profile",
    "set_notice",
    "no_rating",  # a rating pad's alone
    "list_ratings",  # the follow-up of 差评 is the supervisors'
    "list_cases",
    "get_case",
    "update_case",
]
# A rating pad rates, or says the citizen gave no rating; nothing else.
RATER_FORBIDDEN = [v for v in ALL_ACTIONS if v not in ("rate", "no_rating")]
RATER_HELLO = {"type": "hello", "id": "h1", "role": "rater", "token": "demo-rater-1-token"}


async def _refused(url: str, service: HallService, hello: dict[str, Any], verbs: list[str]) -> None:
    """Each verb is refused with forbidden for this role; the state does not change."""
    await issue(url)  # C001 exists, so refusals are about the role, not a missing ticket
    async with session(url, hello) as ws:
        before = dump_db(service.engine)
        for verb in verbs:
            await expect_error(
                ws, {"type": verb, "id": f"r-{verb}", **ALL_ACTIONS[verb]}, ErrorCode.FORBIDDEN
            )
        await expect_ok(ws, {"type": "ticket_status", "id": "ts", "ticket": TICKET})
        await assert_alive(ws)
        assert dump_db(service.engine) == before


async def test_display_may_only_look(url: str, service: HallService) -> None:
    """A call screen may read snapshot and ticket_status but do nothing else."""
    await _refused(url, service, DISPLAY_HELLO, list(ALL_ACTIONS))


async def test_kiosk_cannot_call_or_configure(url: str, service: HallService) -> None:
    """A kiosk cannot call, serve, pause or configure."""
    await _refused(url, service, KIOSK_HELLO, KIOSK_FORBIDDEN)


async def test_rating_pad_may_only_rate(url: str, service: HallService) -> None:
    """A rating pad can neither call, issue, book nor read the hall's ratings and cases."""
    await _refused(url, service, RATER_HELLO, RATER_FORBIDDEN)


async def test_window_cannot_issue_or_configure(url: str, service: HallService) -> None:
    """A staff member at a window cannot issue tickets or change configuration."""
    await _refused(url, service, window_hello(1), WINDOW_FORBIDDEN)


async def test_window_cannot_act_for_another_window(url: str, service: HallService) -> None:
    """A window request naming another window is forbidden, even when that window is idle."""
    await issue(url)
    async with session(url, window_hello(2)) as other, session(url, window_hello(1)) as ws:
        before = dump_db(service.engine)
        for verb in ("call_next", "call_ticket", "pause_window", "close_window", "reinstate"):
            frame = {"type": verb, "id": f"o-{verb}", **ALL_ACTIONS[verb], "window": 2}
            await expect_error(ws, frame, ErrorCode.FORBIDDEN)
        await expect_error(
            ws, {"type": "call_next", "id": "o-none", "window": 15}, ErrorCode.FORBIDDEN
        )
        assert dump_db(service.engine) == before
        # Naming its own window is fine.
        reply = await expect_ok(ws, {"type": "call_next", "id": "own", "window": 1})
        assert reply["ticket"]["number"] == TICKET
        await assert_alive(other)


@pytest.mark.parametrize("account", ["zhuren", "admin"])
async def test_supervisor_may_configure_but_staff_may_not(
    url: str, service: HallService, account: str
) -> None:
    """set_window_profile and set_notice: forbidden to staff, done for a supervisor/admin."""
    profile = {"type": "set_window_profile", "id": "p1", "window": 11, "profile": ["SB"]}
    notice = {"type": "set_notice", "id": "n1", "notice": "系统维护"}
    async with session(url, window_hello(11)) as staff, session(url, DISPLAY_HELLO) as display:
        before = dump_db(service.engine)
        await expect_error(staff, profile, ErrorCode.FORBIDDEN)
        await expect_error(staff, notice, ErrorCode.FORBIDDEN)
        assert dump_db(service.engine) == before

        async with session(url, staff_hello(account, role="admin")) as boss:
            changed = await expect_ok(boss, profile)
            assert changed["window"]["profile"] == ["SB"]
            version = (await expect_ok(boss, notice))["config_version"]
        snapshot = (await expect_ok(staff, {"type": "snapshot", "id": "s"}))["snapshot"]
        assert snapshot["hall"]["notice"] == "系统维护"
        assert next(w for w in snapshot["windows"] if w["number"] == 11)["profile"] == ["SB"]

        # The call screen hears of both changes.
        seen: list[int] = []
        while version not in seen:
            event = json.loads(await asyncio.wait_for(display.recv(), TIMEOUT))
            if event.get("name") == "config_changed":
                seen.append(event["config_version"])
        assert seen == [version - 1, version]


async def test_supervisor_must_name_the_window(url: str, service: HallService) -> None:
    """A supervisor's window request without `window` is a bad request; naming it works."""
    await issue(url)
    async with session(url, window_hello(11)), session(url, SUPERVISOR_HELLO) as boss:
        before = dump_db(service.engine)
        await expect_error(boss, {"type": "call_next", "id": "c0"}, ErrorCode.BAD_REQUEST)
        await expect_error(
            boss, {"type": "call_next", "id": "c1", "window": 404}, ErrorCode.NOT_FOUND
        )
        assert dump_db(service.engine) == before
        reply = await expect_ok(boss, {"type": "call_next", "id": "c2", "window": 11})
        assert reply["window"]["number"] == 11
        assert reply["ticket"]["number"] == TICKET


# -- requests the window's state does not allow ---------------------------------------------


async def test_call_next_on_empty_queue(url: str, service: HallService) -> None:
    """call_next with nothing waiting for the window gets queue_empty."""
    await issue(url, category="CJ")  # window 11 serves SW and SB only
    async with session(url, window_hello(11)) as ws:
        before = dump_db(service.engine)
        await expect_error(ws, {"type": "call_next", "id": "c1"}, ErrorCode.QUEUE_EMPTY)
        assert dump_db(service.engine) == before
        await assert_alive(ws)


async def test_actions_with_nothing_called_are_invalid(url: str, service: HallService) -> None:
    """start, recall, finish, no-show and transfer with no ticket in hand: invalid_state."""
    async with session(url, window_hello(11)) as ws:
        before = dump_db(service.engine)
        for verb in ("start_service", "recall", "finish_service", "mark_no_show", "transfer"):
            frame = {"type": verb, "id": f"i-{verb}"}
            if verb == "transfer":
                frame |= {"to_category": "SB", "reason": "x"}
            await expect_error(ws, frame, ErrorCode.INVALID_STATE)
        await expect_error(ws, {"type": "resume_window", "id": "r"}, ErrorCode.INVALID_STATE)
        assert dump_db(service.engine) == before
        await assert_alive(ws)


async def test_out_of_order_actions_on_a_called_ticket(url: str, service: HallService) -> None:
    """finish before start, close or pause while calling/serving: invalid_state, no change."""
    ticket = await issue(url)
    async with session(url, window_hello(11)) as ws:
        await expect_ok(ws, {"type": "call_next", "id": "c1"})
        before = dump_db(service.engine)
        for verb in ("finish_service", "close_window", "call_next"):
            await expect_error(ws, {"type": verb, "id": f"a-{verb}"}, ErrorCode.INVALID_STATE)
        await expect_error(
            ws, {"type": "pause_window", "id": "a-p", "reason": "tea"}, ErrorCode.INVALID_STATE
        )
        await expect_error(
            ws,
            {"type": "cancel_ticket", "id": "a-x", "ticket": ticket["id"]},
            ErrorCode.INVALID_STATE,
        )
        assert dump_db(service.engine) == before

        await expect_ok(ws, {"type": "start_service", "id": "s1"})
        before = dump_db(service.engine)
        for verb in ("start_service", "recall", "mark_no_show", "close_window", "call_next"):
            await expect_error(ws, {"type": verb, "id": f"b-{verb}"}, ErrorCode.INVALID_STATE)
        assert dump_db(service.engine) == before
        done = await expect_ok(ws, {"type": "finish_service", "id": "f1"})
        assert done["ticket"]["state"] == "done"
        await expect_error(ws, {"type": "finish_service", "id": "f2"}, ErrorCode.INVALID_STATE)


async def test_call_next_while_paused(url: str, service: HallService) -> None:
    """A paused window cannot call; the ticket keeps waiting until the window resumes."""
    ticket = await issue(url)
    async with session(url, window_hello(11)) as ws:
        await expect_ok(ws, {"type": "pause_window", "id": "p1", "reason": "午休"})
        before = dump_db(service.engine)
        await expect_error(ws, {"type": "call_next", "id": "c1"}, ErrorCode.INVALID_STATE)
        await expect_error(
            ws, {"type": "call_ticket", "id": "c2", "ticket": ticket["id"]}, ErrorCode.INVALID_STATE
        )
        await expect_error(
            ws, {"type": "pause_window", "id": "p2", "reason": "again"}, ErrorCode.INVALID_STATE
        )
        assert dump_db(service.engine) == before
        status = await expect_ok(ws, {"type": "ticket_status", "id": "t1", "ticket": ticket["id"]})
        assert status["ticket"]["state"] == "waiting"
        await expect_ok(ws, {"type": "resume_window", "id": "r1"})
        called = await expect_ok(ws, {"type": "call_next", "id": "c3"})
        assert called["ticket"]["id"] == ticket["id"]


async def test_call_ticket_not_for_this_window(url: str, service: HallService) -> None:
    """Calling by number a ticket of a category the window does not serve is forbidden."""
    ticket = await issue(url, category="CJ")
    async with session(url, window_hello(11)) as ws:
        before = dump_db(service.engine)
        await expect_error(
            ws, {"type": "call_ticket", "id": "c1", "ticket": ticket["number"]}, ErrorCode.FORBIDDEN
        )
        await expect_error(
            ws, {"type": "call_ticket", "id": "c2", "ticket": "G999"}, ErrorCode.NOT_FOUND
        )
        assert dump_db(service.engine) == before


async def test_requests_answer_in_order_while_events_flow(url: str) -> None:
    """Replies and events share the connection; every reply still answers its own id."""
    async with session(url, window_hello(11)) as ws, session(url) as kiosk:
        for n in range(5):
            await expect_ok(kiosk, {"type": "issue_ticket", "id": f"k{n}", "category": "SW"})
        for n in range(5):
            await ws.send(json.dumps({"type": "call_next", "id": f"c{n}"}))
            await ws.send(json.dumps({"type": "start_service", "id": f"s{n}"}))
            await ws.send(json.dumps({"type": "finish_service", "id": f"f{n}"}))
        replies = [await next_reply(ws) for _ in range(15)]
        assert [r["re"] for r in replies] == [
            rid for n in range(5) for rid in (f"c{n}", f"s{n}", f"f{n}")
        ]
        assert all(r["type"] == "ok" for r in replies)
        await expect_error(ws, {"type": "call_next", "id": "empty"}, ErrorCode.QUEUE_EMPTY)
