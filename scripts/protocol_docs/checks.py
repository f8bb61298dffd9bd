"""Miscellaneous claims of the docs, checked on a real server.

Refused hellos (no such window, staff as admin, a kiosk token as a display), requests
refused for their window, ticket or appointment slot, a frame that races the disabling of
its account, an injected fault (`internal`), the client library on a fatal hello error;
then, on a hall that allows it, one staff member at two windows; and the slots of a holiday.
Run by `python -m scripts.protocol_docs`; on its own: `python -m
scripts.protocol_docs.checks OUT.json`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from queue_protocol.client import Credentials, LoginFailed, QueueClient
from queue_protocol.messages import Role
from queue_server.server import running

from .lib import PASSWORD, Clock, Conn, demo_config, hall_service, record, run

clock = Clock(datetime(2026, 11, 25, 2, 0, 0, tzinfo=UTC))


def hello_window(rid: str, user: str, window: int) -> dict[str, Any]:
    return {
        "type": "hello",
        "id": rid,
        "role": "window",
        "user": user,
        "password": PASSWORD,
        "window": window,
    }


def book(rid: str, category: str, day: str, slot: str) -> dict[str, Any]:
    return {
        "type": "book_appointment",
        "id": rid,
        "category": category,
        "day": day,
        "slot": slot,
        "name": "甲",
        "phone": "13800000000",
    }


async def demo_hall(work: Path) -> None:
    service = hall_service(f"sqlite:///{work}/hall.db", clock, demo_config())
    async with running(service, port=0) as srv:
        url = f"ws://127.0.0.1:{srv.port}"
        c = await Conn("x", url).open()
        await c.req(hello_window("x-1", "ck01", 99), "no window 99")
        await c.req(
            {"type": "hello", "id": "x-2", "role": "admin", "user": "ck01", "password": PASSWORD},
            "staff as admin",
        )
        await c.req(
            {"type": "hello", "id": "x-3", "role": "display", "token": "demo-kiosk-token"},
            "kiosk token as display",
        )
        await c.close()
        adm = await Conn("adm", url).open()
        await adm.req(
            {"type": "hello", "id": "a-1", "role": "admin", "user": "admin", "password": PASSWORD}
        )
        await adm.req({"type": "call_next", "id": "a-2"}, "admin without window")
        k = await Conn("k", url).open()
        await k.req({"type": "hello", "id": "k-1", "role": "kiosk", "token": "demo-kiosk-token"})
        await k.req({"type": "issue_ticket", "id": "k-2", "category": "GC"})
        await k.req({"type": "issue_ticket", "id": "k-3", "category": "SW"})
        w14 = await Conn("w14", url).open()
        await w14.req(hello_window("w14-1", "ck14", 14))
        await w14.req({"type": "call_next", "id": "w14-2", "window": 13}, "other window")
        await w14.req({"type": "call_ticket", "id": "w14-3", "ticket": "B001"}, "outside profile")
        w11 = await Conn("w11", url).open()
        await w11.req(hello_window("w11-1", "ck11", 11))
        await w11.req({"type": "call_next", "id": "w11-2"})
        await w11.req({"type": "close_window", "id": "w11-3"}, "close while calling")
        await w11.req({"type": "mark_no_show", "id": "w11-4"})
        clock.advance(minutes=31)
        await w11.req({"type": "reinstate", "id": "w11-5", "ticket": "C001"}, "after grace")
        await adm.req(
            {"type": "end_chain", "id": "a-3", "window": 11, "reason": "x"},
            "end_chain on idle window",
        )
        await adm.req(book("a-4", "QY", "2026-11-25", "09:00"), "slot begun")
        await adm.req(book("a-5", "QY", "2026-11-28", "09:00"), "saturday 09:00")
        await adm.req(book("a-6", "SW", "2026-11-26", "09:00"), "no appointments")
        for n in range(3):
            await adm.req(book(f"a-{7 + n}", "BB", "2026-11-26", "09:30"), "full slot?")
        await w14.req({"type": "call_next", "id": "w14-4"}, "nothing waiting")
        pre = await Conn("pre", url).open()
        await pre.send_raw('{"type": "snapshot", "id": "big-1", "pad": "' + "x" * 70000 + '"}')
        await asyncio.sleep(0.5)
        record("note", "pre", {"unmatched": pre.unmatched})
        await pre.close()
        # a request racing the disable of its account
        service.set_staff_disabled("ck14", True)
        await w14.send_raw('{"type": "snapshot", "id": "w14-5"}')
        await w14.closed_event.wait()

        # an injected fault: the service looks its handlers up on the instance
        def boom(*args: object, **kwargs: object) -> NoReturn:
            raise RuntimeError("injected fault")

        service._do_ticket_status = boom
        await k.req({"type": "ticket_status", "id": "k-4", "ticket": "B001"}, "injected fault")
        # the client library on a fatal hello error
        creds = Credentials(role=Role.WINDOW, user="ck11", password=PASSWORD, window=12)
        client = QueueClient(url, creds)
        try:
            await client.start()
            record("note", "lib", {"staff_elsewhere": "connected?!"})
        except LoginFailed as exc:
            record(
                "note", "lib", {"staff_elsewhere": [exc.code, exc.reply.reason, exc.reply.window]}
            )
        finally:
            await client.close()


async def multiple_windows(work: Path) -> None:
    config = demo_config()
    config["hall"]["staff_multiple_windows"] = True
    service = hall_service(f"sqlite:///{work}/multi.db", clock, config)
    async with running(service, port=0) as srv:
        url = f"ws://127.0.0.1:{srv.port}"
        a = await Conn("m11", url).open()
        await a.req(hello_window("m-1", "ck11", 11))
        b = await Conn("m12", url).open()
        await b.req(hello_window("m-2", "ck11", 12), "multi windows allowed")


async def holiday(work: Path) -> None:
    config = demo_config()
    config["hall"]["holidays"] = ["2026-11-26"]
    service = hall_service(f"sqlite:///{work}/holiday.db", clock, config)
    async with running(service, port=0) as srv:
        k = await Conn("hk", f"ws://127.0.0.1:{srv.port}").open()
        await k.req({"type": "hello", "id": "h-1", "role": "kiosk", "token": "demo-kiosk-token"})
        await k.req(
            {"type": "appointment_slots", "id": "h-2", "day": "2026-11-26", "category": "QY"},
            "holiday",
        )


async def main(work: Path) -> None:
    await demo_hall(work)
    await multiple_windows(work)
    await holiday(work)


if __name__ == "__main__":
    run(main, __doc__)
