"""The doc's hall day on a real server: Wednesday 2026-11-25 in the demo hall.

The demo hall, with the daily capacity of 综合出件 (CJ) set to 1, from 09:59 in Shanghai
through the 19:00 close-out and midnight into Thursday morning: kiosk tickets, calls, a
rating, no-shows, transfers, chains, appointments, a call screen that resumes with
`since_seq`, window clients that vanish, `queue-server window` commands, revoked devices.
Run by `python -m scripts.protocol_docs`; on its own: `python -m
scripts.protocol_docs.scenario OUT.json`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from queue_server import hallconfig
from queue_server.server import running

from .lib import PASSWORD, SHANGHAI, Clock, Conn, demo_config, hall_service, record, run

clock = Clock(datetime(2026, 11, 25, 1, 59, 0, tzinfo=UTC))


def wed(h: int, m: int = 0, s: int = 0) -> None:
    """Set the clock to this time on Wednesday 2026-11-25 in Shanghai."""
    clock.set_local(2026, 11, 25, h, m, s)


def cli(db: str, *args: str) -> None:
    """Run `queue-server ARGS --db DB` at the clock's time and record its output."""
    env = dict(os.environ)
    env["YICHUANG_CLOCK"] = clock.now.astimezone(SHANGHAI).isoformat()
    p = subprocess.run(
        [sys.executable, "-m", "queue_server", *args, "--db", db],
        capture_output=True,
        text=True,
        env=env,
    )
    out = f"$ queue-server {' '.join(args)}\n{p.stdout}{p.stderr}(exit {p.returncode})"
    record("cli", "cli", out, env["YICHUANG_CLOCK"])


def hello_window(rid: str, user: str, window: int) -> dict[str, Any]:
    return {
        "type": "hello",
        "id": rid,
        "version": 1,
        "role": "window",
        "user": user,
        "password": PASSWORD,
        "window": window,
        "client": "queue-window",
    }


async def window(url: str, name: str, rid: str, user: str, number: int) -> Conn:
    """A window client, logged in."""
    c = await Conn(name, url).open()
    r = await c.req(hello_window(rid, user, number))
    assert r["type"] == "ok", r
    return c


async def settle() -> None:
    """Let the events of what just happened reach every connection."""
    await asyncio.sleep(0.6)


def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
    return body.decode()


async def main(work: Path) -> None:
    db = f"sqlite:///{work}/hall.db"
    config = demo_config()
    for c in config["categories"]:
        if c["code"] == "CJ":
            c["daily_capacity"] = 1
    # Alerts depend on the real time at which the server checks them: off for the day's
    # capture (its events' seqs stay put), on for the supervisors' part at the end.
    everything = sorted(hallconfig.ALERT_KINDS)
    config["alerts"] = {"off": everything}
    service = hall_service(db, clock, config)
    async with running(service, port=0) as srv:
        url = f"ws://127.0.0.1:{srv.port}"
        wed(9, 59, 0)
        admin = await Conn("admin", url).open()
        await admin.req(
            {
                "type": "hello",
                "id": "admin-1",
                "version": 1,
                "role": "admin",
                "user": "zhuren",
                "password": PASSWORD,
            }
        )
        wed(10, 0, 0)
        w11 = await Conn("w11", url).open()
        await w11.req(hello_window("w11-2", "ck11", 11))
        display = await Conn("display", url).open()
        await display.req(
            {
                "type": "hello",
                "id": "display-3",
                "version": 1,
                "role": "display",
                "token": "demo-display-token",
                "client": "queue-display",
            }
        )
        display_b = await Conn("displayB", url).open()
        await display_b.req(
            {
                "type": "hello",
                "id": "displayB-4",
                "version": 1,
                "role": "display",
                "token": "demo-display-b-token",
            }
        )
        kiosk = await Conn("kiosk", url).open()
        await kiosk.req(
            {
                "type": "hello",
                "id": "kiosk-5",
                "version": 1,
                "role": "kiosk",
                "token": "demo-kiosk-token",
                "client": "queue-kiosk",
            }
        )
        w5 = await window(url, "w5", "w5-6", "ck05", 5)

        # C001 and E001: called, recalled, served, rated
        wed(10, 1, 6)
        c001 = await kiosk.req(
            {"type": "issue_ticket", "id": "kiosk-7", "category": "SW", "item": "食品经营许可"}
        )
        wed(10, 1, 46)
        e001 = await kiosk.req(
            {"type": "issue_ticket", "id": "kiosk-8", "category": "SB", "priority": "green"}
        )
        wed(10, 2, 6)
        await kiosk.req({"type": "ticket_status", "id": "kiosk-9", "ticket": "C001"})
        wed(10, 3, 51)
        await w11.req({"type": "call_next", "id": "w11-10"})
        wed(10, 4, 36)
        await w11.req({"type": "recall", "id": "w11-11"})
        wed(10, 5, 6)
        await w11.req({"type": "start_service", "id": "w11-12"})
        wed(10, 12, 6)
        await w11.req({"type": "finish_service", "id": "w11-13"})
        wed(10, 12, 16)
        await kiosk.req(
            {"type": "rate", "id": "kiosk-14", "ticket": "E001", "level": 1}, "no secret"
        )
        await kiosk.req(
            {
                "type": "rate",
                "id": "kiosk-15",
                "ticket": "E001",
                "level": 1,
                "secret": c001["secret"],
            },
            "C001's secret for E001",
        )
        await kiosk.req(
            {
                "type": "rate",
                "id": "kiosk-16",
                "ticket": "E001",
                "level": 1,
                "comment": "很快，谢谢",
                "secret": e001["secret"],
            }
        )
        await w11.req(
            {"type": "rate", "id": "w11-17", "ticket": "E001", "level": 2}, "already rated"
        )
        await w5.req(
            {"type": "rate", "id": "w5-18", "ticket": "E001", "level": 2}, "not served here"
        )
        # C001: a no-show, reinstated, served, transferred
        wed(10, 12, 36)
        await w11.req({"type": "call_next", "id": "w11-19"})
        wed(10, 13, 36)
        await w11.req({"type": "recall", "id": "w11-20"})
        wed(10, 14, 36)
        await w11.req({"type": "mark_no_show", "id": "w11-21"})
        wed(10, 18, 36)
        await w11.req({"type": "reinstate", "id": "w11-22", "ticket": "C001"})
        wed(10, 18, 56)
        await w11.req({"type": "call_ticket", "id": "w11-23", "ticket": "C001"})
        wed(10, 19, 46)
        await w11.req({"type": "start_service", "id": "w11-24"})
        wed(10, 20, 16)
        await w11.req(
            {"type": "end_chain", "id": "w11-25", "reason": "其余事项下次再办"}, "no chain"
        )
        await admin.req(
            {"type": "rate", "id": "admin-26", "ticket": "C001", "level": 3}, "not done"
        )
        wed(10, 22, 46)
        await w11.req(
            {"type": "transfer", "id": "w11-27", "to_category": "BT", "reason": "需办理不动产登记"}
        )
        await w11.req(
            {"type": "transfer", "id": "w11-28", "to_category": "BT", "reason": "需办理不动产登记"},
            "idle window",
        )
        wed(10, 23, 16)
        await w11.req({"type": "pause_window", "id": "w11-29", "reason": "午间轮休"})
        wed(10, 38, 16)
        await w11.req({"type": "resume_window", "id": "w11-30"})

        # idempotency: the same id again, then the same id for another request
        wed(10, 40, 0)
        first = await kiosk.req({"type": "issue_ticket", "id": "kiosk-0001", "category": "SB"})
        again = await kiosk.req({"type": "issue_ticket", "id": "kiosk-0001", "category": "SB"})
        record("note", "-", {"same_reply": first == again})
        await kiosk.req({"type": "issue_ticket", "id": "kiosk-0001", "category": "SW"})

        # a chain of two steps (A001), daily capacity, cancelling
        wed(10, 53, 46)
        await kiosk.req(
            {"type": "issue_ticket", "id": "kiosk-31", "category": "QY", "item": "企业设立登记"}
        )
        wed(10, 54, 46)
        await w5.req({"type": "call_next", "id": "w5-32"})
        wed(10, 55, 16)
        await w5.req({"type": "start_service", "id": "w5-33"})
        wed(11, 10, 16)
        await w5.req({"type": "finish_service", "id": "w5-34"})
        wed(11, 11, 16)
        await kiosk.req({"type": "issue_ticket", "id": "kiosk-35", "category": "CJ"})
        await kiosk.req({"type": "issue_ticket", "id": "kiosk-36", "category": "CJ"}, "capacity")
        wed(11, 12, 16)
        await kiosk.req({"type": "cancel_ticket", "id": "kiosk-37", "ticket": "G001"})
        await w5.req({"type": "cancel_ticket", "id": "w5-38", "ticket": "G001"})
        # the supervisor
        wed(11, 12, 21)
        await admin.req({"type": "snapshot", "id": "admin-39"})
        await admin.req(
            {"type": "set_notice", "id": "admin-40", "notice": "今日17:00后仅办理出件业务"}
        )
        await admin.req(
            {
                "type": "set_window_profile",
                "id": "admin-41",
                "window": 15,
                "profile": ["CJ", "SW", "SB"],
            }
        )
        await admin.req({"type": "call_next", "id": "admin-42", "window": 9})
        await settle()
        # the main screen goes away
        display_last = display.events[-1]["seq"]
        await display.close()
        # appointments
        wed(11, 12, 31)
        zhang_san = await kiosk.req(
            {
                "type": "book_appointment",
                "id": "kiosk-43",
                "category": "QY",
                "item": "企业设立登记",
                "day": "2026-11-25",
                "slot": "14:00",
                "name": "张三",
                "phone": "13812345678",
            }
        )
        li_si = await kiosk.req(
            {
                "type": "book_appointment",
                "id": "kiosk-44",
                "category": "BT",
                "day": "2026-11-26",
                "slot": "09:30",
                "name": "李四",
                "phone": "13912341234",
            }
        )
        await kiosk.req(
            {"type": "cancel_appointment", "id": "kiosk-45", "code": "PLACEHOLDER"},
            "placeholder: not found",
        )
        code_li_si = li_si["appointment"]["code"]
        await kiosk.req({"type": "cancel_appointment", "id": "kiosk-46", "code": code_li_si})
        code_zhang_san = zhang_san["appointment"]["code"]
        await kiosk.req({"type": "check_in", "id": "kiosk-47", "code": code_zhang_san}, "too early")
        wang_wu = await kiosk.req(
            {
                "type": "book_appointment",
                "id": "kiosk-48",
                "category": "BT",
                "day": "2026-11-25",
                "slot": "14:30",
                "name": "王五",
                "phone": "13711111111",
            }
        )
        zhao_liu = await kiosk.req(
            {
                "type": "book_appointment",
                "id": "kiosk-49",
                "category": "BB",
                "day": "2026-11-25",
                "slot": "15:30",
                "name": "赵六",
                "phone": "13666666666",
            }
        )
        await kiosk.req(
            {"type": "appointment_slots", "id": "kiosk-49s", "day": "2026-11-25", "category": "BB"}
        )
        # window 1 calls the transferred C001 while the main screen is away
        w1 = await window(url, "w1", "w1-50", "ck01", 1)
        wed(11, 12, 41)
        await w1.req({"type": "call_next", "id": "w1-51"})
        wed(11, 13, 11)
        await w1.req({"type": "start_service", "id": "w1-52"})
        wed(11, 14, 0)
        await kiosk.req({"type": "issue_ticket", "id": "kiosk-53", "category": "SW"})
        await settle()
        # the screen is back and resumes
        wed(11, 14, 30)
        display = await Conn("display", url).open()
        await display.req(
            {
                "type": "hello",
                "id": "display-54",
                "version": 1,
                "role": "display",
                "token": "demo-display-token",
                "client": "queue-display",
                "since_seq": display_last,
            }
        )
        await settle()

        # the second step of A001, ended early
        wed(11, 20, 16)
        await w5.req({"type": "call_next", "id": "w5-55"})
        wed(11, 20, 46)
        await w5.req({"type": "start_service", "id": "w5-56"})
        wed(11, 31, 16)
        await w5.req(
            {"type": "end_chain", "id": "w5-57", "reason": "发票已线上申领，其余事项另行预约"}
        )
        await w1.req({"type": "finish_service", "id": "w1-58"})
        await w1.req({"type": "close_window", "id": "w1-59"})

        # logins: window taken, staff elsewhere, moved
        wed(11, 40, 0)
        c = await Conn("w11b", url).open()
        await c.req(hello_window("w11-60", "ck12", 11), "ck12 at 11 while ck11 is there")
        await c.close()
        c = await Conn("w12x", url).open()
        await c.req(hello_window("w12-61", "ck11", 12), "ck11 at 12 while connected at 11")
        await c.close()
        w6 = await window(url, "w6", "w6-62", "ck06", 6)
        await w6.close()
        wed(11, 40, 5)
        await window(url, "w8", "w8-63", "ck06", 8)  # moved from 6
        await settle()
        # window clients that go away with a ticket called (9) and in service (7)
        await kiosk.req(
            {"type": "issue_ticket", "id": "kiosk-64", "category": "GC", "item": "投资项目备案"}
        )
        await kiosk.req({"type": "issue_ticket", "id": "kiosk-65", "category": "GC"})
        w9 = await window(url, "w9", "w9-66", "ck09", 9)
        wed(11, 41, 0)
        await w9.req({"type": "call_next", "id": "w9-67"})
        w7 = await window(url, "w7", "w7-68", "ck07", 7)
        await w7.req({"type": "call_next", "id": "w7-69"})
        wed(11, 41, 30)
        await w7.req({"type": "start_service", "id": "w7-70"})
        # both clients vanish (network gone)
        w9.ws.transport.abort()
        w7.ws.transport.abort()
        await asyncio.sleep(0.5)
        wed(11, 41, 35)
        c = await Conn("w9b", url).open()
        await c.req(hello_window("w9-71", "ck10", 9), "ck10 at 9: holds ticket")
        await c.close()
        c = await Conn("w8b", url).open()
        await c.req(hello_window("w8-72", "ck07", 13), "ck07 at 13: holds ticket at 7")
        await c.close()
        wed(11, 41, 45)  # 10 s after the abort: offline
        await admin.wait_event("window_changed", window=7, reason="offline")
        await admin.wait_event("window_changed", window=9, reason="offline")
        await settle()
        cli(db, "window", "list")
        wed(11, 46, 31)  # 5 minutes
        await admin.wait_event("ticket_requeued", reason="offline")
        await settle()
        cli(db, "window", "list")
        cli(db, "window", "close", "7")
        cli(db, "window", "close", "7", "--requeue")
        await admin.wait_event("ticket_requeued", reason="closed_by_supervisor")
        await settle()
        cli(db, "window", "list")
        # 4001: ck11 logs in at 11 again from another PC
        wed(11, 50, 0)
        w11n = await window(url, "w11n", "w11-73", "ck11", 11)
        await w11.closed_event.wait()
        w11 = w11n

        # appointments in the afternoon
        wed(13, 52, 30)
        await kiosk.req({"type": "check_in", "id": "kiosk-74", "code": code_zhang_san})
        wed(13, 53, 0)
        await kiosk.req({"type": "check_in", "id": "kiosk-75", "code": code_zhang_san.lower()})
        wed(14, 50, 0)
        await kiosk.req(
            {"type": "check_in", "id": "kiosk-76", "code": wang_wu["appointment"]["code"]}
        )
        await admin.req(
            {"type": "list_appointments", "id": "admin-77", "day": "2026-11-25", "category": "QY"}
        )
        await admin.req({"type": "list_appointments", "id": "admin-78", "day": "2026-11-25"})

        # the evening: GC up to its cut-off, then the hall closed to new tickets
        wed(18, 20, 0)
        for n in range(6):
            r = await kiosk.req({"type": "issue_ticket", "id": f"kiosk-{79 + n}", "category": "GC"})
            if r["type"] == "error":
                break
        wed(18, 40, 0)
        await kiosk.req({"type": "issue_ticket", "id": "kiosk-91", "category": "SW"}, "closed")
        wed(18, 45, 0)
        await w11.req({"type": "call_next", "id": "w11-92"})
        no_show = await w11.req({"type": "mark_no_show", "id": "w11-93"})
        await w11.req({"type": "call_next", "id": "w11-94"})
        await admin.req({"type": "snapshot", "id": "admin-95"})
        await settle()
        # the close-out at 19:00
        wed(19, 0, 0)
        t0 = time.monotonic()
        await admin.wait_event("day_closed")
        record("note", "-", {"close_out_after_s": time.monotonic() - t0})
        await kiosk.wait_event("day_closed")
        await display.wait_event("day_closed")
        await settle()
        wed(19, 5, 0)
        await kiosk.req({"type": "issue_ticket", "id": "kiosk-96", "category": "SW"})
        await kiosk.req({"type": "check_in", "id": "kiosk-97", "code": "ZZZZZZ"})
        await w11.req({"type": "call_next", "id": "w11-98"}, "logged out by close-out")
        w11 = await window(url, "w11", "w11-99", "ck11", 11)
        await w11.req({"type": "reinstate", "id": "w11-100", "ticket": no_show["ticket"]["number"]})
        await display.req({"type": "snapshot", "id": "display-101"})
        await settle()
        # midnight
        clock.set_local(2026, 11, 26, 0, 0, 1)
        await asyncio.sleep(1.0)
        # Thursday morning
        clock.set_local(2026, 11, 26, 9, 0, 0)
        code_zhao_liu = zhao_liu["appointment"]["code"]
        await kiosk.req({"type": "check_in", "id": "kiosk-102", "code": code_zhao_liu})
        await kiosk.req({"type": "cancel_appointment", "id": "kiosk-103", "code": code_zhao_liu})
        await kiosk.req({"type": "check_in", "id": "kiosk-104", "code": code_li_si})
        await settle()
        # revoked display: a request races the close
        t0 = time.monotonic()
        service.revoke_device("一楼B区屏")
        await display_b.send_raw(json.dumps({"type": "snapshot", "id": "displayB-105"}))
        await display_b.closed_event.wait()
        record("note", "-", {"revoked_closed_after_s": time.monotonic() - t0})
        # disabled staff member, no request: closed at once
        t0 = time.monotonic()
        service.set_staff_disabled("ck05", True)
        await w5.closed_event.wait()
        record("note", "-", {"disabled_closed_after_s": time.monotonic() - t0})
        c = await Conn("w5b", url).open()
        await c.req(hello_window("w5-106", "ck05", 5), "disabled")
        await c.close()
        await settle()  # its login_refused, for the audit
        # the supervisors: alerts (a display's voice, a 差评), acts for the hall, the audit
        clock.set_local(2026, 11, 26, 9, 10, 0)
        config["alerts"] = {
            "off": [k for k in everything if k not in ("voice_failing", "bad_rating")]
        }
        service.import_config(config)
        await settle()
        await display.req(
            {"type": "device_status", "id": "display-107", "voice": "playback_failing"}
        )
        await admin.wait_event("alert_raised")
        await display.req({"type": "device_status", "id": "display-108", "voice": "on"})
        await admin.wait_event("alert_cleared")
        await admin.req(
            {"type": "pause_issuing", "id": "admin-109", "category": "SW", "reason": "今日号已取完"}
        )
        await kiosk.req({"type": "issue_ticket", "id": "kiosk-110", "category": "SW"}, "paused")
        await admin.req({"type": "resume_issuing", "id": "admin-111", "category": "SW"})
        first = await kiosk.req({"type": "issue_ticket", "id": "kiosk-112", "category": "SB"})
        second = await kiosk.req({"type": "issue_ticket", "id": "kiosk-113", "category": "SB"})
        await admin.req(
            {
                "type": "move_ticket",
                "id": "admin-114",
                "ticket": second["ticket"]["number"],
                "to_category": "SW",
                "reason": "取错号",
            }
        )
        await admin.req(
            {
                "type": "move_ticket",
                "id": "admin-115",
                "ticket": first["ticket"]["number"],
                "to_window": 11,
                "reason": "专人办理",
            }
        )
        await admin.req(
            {
                "type": "cancel_ticket",
                "id": "admin-116",
                "ticket": second["ticket"]["number"],
                "reason": "市民已离开",
            }
        )
        wed_thursday = functools.partial(clock.set_local, 2026, 11, 26)
        wed_thursday(9, 11, 0)
        w11 = await window(url, "w11", "w11-117", "ck11", 11)  # closed at midnight
        await w11.req({"type": "call_next", "id": "w11-118"})
        await w11.req({"type": "start_service", "id": "w11-119"})
        wed_thursday(9, 20, 0)
        await w11.req({"type": "finish_service", "id": "w11-120"})
        await kiosk.req(
            {
                "type": "rate",
                "id": "kiosk-121",
                "ticket": first["ticket"]["number"],
                "level": 5,
                "reasons": ["等候时间过长"],
                "secret": first["secret"],
            }
        )
        await admin.req({"type": "acknowledge_alert", "id": "admin-122", "alert": 2})
        await admin.req({"type": "acknowledge_alert", "id": "admin-123", "alert": 2}, "again")
        await settle()
        await admin.req({"type": "audit", "id": "admin-124", "account": "zhuren", "limit": 4})
        # the administrator: live configuration, staff and devices; a ghost window closed
        adm = await Conn("adm", url).open()
        await adm.req(
            {
                "type": "hello",
                "id": "adm-125",
                "version": 1,
                "role": "admin",
                "user": "admin",
                "password": PASSWORD,
                "client": "queue-admin",
            }
        )
        got = await adm.req({"type": "get_config", "id": "adm-126"})
        live = got["config"]
        live["hall"]["notice"] = "今日延时服务至19:00"
        for c in live["categories"]:
            if c["code"] == "CJ":
                c["target_wait_minutes"] = 5
        version = got["config_version"]
        await adm.req(
            {"type": "set_config", "id": "adm-127", "config": live, "config_version": version}
        )
        await adm.req(
            {"type": "set_config", "id": "adm-128", "config": live, "config_version": version},
            "stale",
        )
        bad = json.loads(json.dumps(live))
        bad["categories"][1]["prefix"] = "b1"
        await adm.req(
            {"type": "set_config", "id": "adm-129", "config": bad, "config_version": version + 1},
            "bad prefix",
        )
        await adm.req({"type": "list_staff", "id": "adm-130"})
        await adm.req(
            {
                "type": "add_staff",
                "id": "adm-131",
                "account": "ck31",
                "name": "孙丽",
                "role": "staff",
                "password": "first-pass-31",
            }
        )
        await adm.req(
            {"type": "update_staff", "id": "adm-132", "account": "ck31", "disabled": True}
        )
        await adm.req({"type": "list_devices", "id": "adm-133"})
        await adm.req(
            {
                "type": "add_device",
                "id": "adm-134",
                "name": "二楼屏",
                "kind": "display",
                "zone": "二楼",
                "windows": [],
            }
        )
        await adm.req({"type": "revoke_device", "id": "adm-135", "name": "二楼屏"})
        await admin.req(
            {"type": "set_config", "id": "admin-136", "config": live, "config_version": version},
            "a supervisor",
        )
        await kiosk.req({"type": "issue_ticket", "id": "kiosk-137", "category": "SW"})
        await w11.req({"type": "call_next", "id": "w11-138"})
        w11.ws.transport.abort()  # the window's PC is gone with a ticket called
        await adm.req({"type": "close_window", "id": "adm-139", "window": 11})
        await settle()
        body = await asyncio.to_thread(http_get, f"http://127.0.0.1:{srv.port}/healthz")
        record("http", "-", body, "GET /healthz")
        # A citizen's status page (issue 18): the slip of a ticket behind one other.
        ahead = await kiosk.req({"type": "issue_ticket", "id": "kiosk-140", "category": "BT"})
        slip = await kiosk.req({"type": "issue_ticket", "id": "kiosk-141", "category": "BT"})
        page_body = await asyncio.to_thread(
            http_get, f"http://127.0.0.1:{srv.port}/t/{slip['ticket']['id']}?k={slip['secret']}"
        )
        record("http", "-", f"{len(page_body.encode())} bytes", "GET /t/")
        page = await Conn("page", url).open()
        hello_page = {
            "type": "hello",
            "id": "page-142",
            "version": 1,
            "role": "citizen",
            "ticket": slip["ticket"]["id"],
            "secret": slip["secret"],
            "client": "status-page",
        }
        await page.req(hello_page)
        wrong = await Conn("page-wrong", url).open()
        await wrong.req({**hello_page, "id": "page-143", "secret": ahead["secret"]}, "bad")
        await wrong.close()
        await adm.req(
            {
                "type": "cancel_ticket",
                "id": "adm-144",
                "ticket": ahead["ticket"]["number"],
                "reason": "市民离开",
            }
        )
        await settle()  # the page's ticket_update: nobody ahead now
        await page.req({"type": "snapshot", "id": "page-145"}, "not for a page")
        # 好差评 (issue 15): window 5's rating pad, a 差评 and its case, a pad's time-out.
        wed_thursday(10, 0, 0)
        w5 = await window(url, "w5", "w5-146", "ck05", 5)  # closed at midnight
        pad = await Conn("pad", url).open()
        await pad.req(
            {
                "type": "hello",
                "id": "pad-147",
                "version": 1,
                "role": "rater",
                "token": "demo-rater-5-token",
                "client": "queue-rate",
            }
        )
        rated = await kiosk.req({"type": "issue_ticket", "id": "kiosk-148", "category": "QY"})
        await w5.req({"type": "call_next", "id": "w5-149"})
        await w5.req({"type": "start_service", "id": "w5-150"})
        wed_thursday(10, 12, 0)
        await w5.req({"type": "finish_service", "id": "w5-151"})
        await settle()
        number = rated["ticket"]["id"]
        await pad.req({"type": "rate", "id": "pad-152", "ticket": number, "level": 5}, "no reason")
        await pad.req(
            {
                "type": "rate",
                "id": "pad-153",
                "ticket": number,
                "level": 4,
                "reasons": ["一次性告知不清"],
                "comment": "材料要求没有一次说清",
                "phone": "13912345678",
            }
        )
        await pad.req({"type": "rate", "id": "pad-154", "ticket": number, "level": 1}, "rated")
        await settle()
        await admin.req({"type": "list_cases", "id": "admin-155"})
        case = 2  # the first was opened by kiosk-121's 差评
        for rid, action, text, extra in (
            ("admin-156", "verify", "调阅录像：未告知需股东会决议原件", {}),
            ("admin-157", "rectify", "窗口补充一次性告知单，全员学习", {}),
            ("admin-158", "answer", "已电话致歉并说明补正材料", {}),
            ("admin-159", "call_back", "群众表示认可", {"level": 2}),
        ):
            await admin.req(
                {"type": "update_case", "id": rid, "case": case, "action": action, "text": text}
                | extra
            )
        await admin.req(
            {
                "type": "update_case",
                "id": "admin-160",
                "case": case,
                "action": "verify",
                "text": "x",
            },
            "wrong state",
        )
        await admin.req({"type": "update_case", "id": "admin-161", "case": case, "action": "close"})
        await admin.req({"type": "get_case", "id": "admin-162", "case": case})
        await admin.req(
            {
                "type": "update_case",
                "id": "admin-163",
                "case": 1,
                "action": "appeal",
                "text": "同一号码当日连续差评，疑为误评",
            }
        )
        await admin.req(
            {"type": "update_case", "id": "admin-164", "case": 1, "action": "exclude", "text": "x"},
            "own appeal",
        )
        await adm.req(
            {
                "type": "update_case",
                "id": "adm-165",
                "case": 1,
                "action": "uphold",
                "text": "录像显示等候确实超过一小时，维持评价",
            }
        )
        skipped = await kiosk.req({"type": "issue_ticket", "id": "kiosk-166", "category": "QY"})
        await w5.req({"type": "call_next", "id": "w5-167"})
        await w5.req({"type": "start_service", "id": "w5-168"})
        await w5.req({"type": "finish_service", "id": "w5-169"})
        await settle()
        await pad.req({"type": "no_rating", "id": "pad-170", "ticket": skipped["ticket"]["id"]})
        await pad.req({"type": "rate", "id": "pad-171", "ticket": number, "level": 1}, "not last")
        await pad.req({"type": "snapshot", "id": "pad-172"})
        await admin.req({"type": "list_ratings", "id": "admin-173", "since": "2026-11-26"})
        await settle()
        still_open = [admin, kiosk, display, page, pad]
    # after shutdown: how the server closed the connections still open
    await asyncio.sleep(0.5)
    for k in still_open:
        record("note", k.name, {"closed": k.closed})


if __name__ == "__main__":
    run(main, __doc__)
