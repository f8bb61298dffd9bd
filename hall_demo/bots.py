"""Simulated citizens and window staff that act only through the real protocol.

Their pace runs on an accelerated clock: with `speed` 5, a 10-minute service takes two
real minutes. The server itself keeps real time, so waits on every screen are real.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from queue_protocol.client import Credentials, QueueClient, ServerError
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CallNext,
    CategoryView,
    FinishService,
    IssueTicket,
    MarkNoShow,
    PauseWindow,
    Priority,
    Recall,
    ResumeWindow,
    Role,
    StartService,
    TransferTicket,
)

log = logging.getLogger(__name__)

# Share of the day's arrivals per demo category (SW and SB are the busy, quick ones).
ARRIVAL_MIX = {"QY": 14, "GC": 7, "SW": 20, "BT": 14, "SB": 20, "BB": 4, "CJ": 21}
# Expected service minutes per category, for pacing the staff bots.
SERVICE_MINUTES = {"QY": 12, "GC": 20, "SW": 8, "BT": 15, "SB": 7, "BB": 25, "CJ": 3}
GREEN_SHARE = 0.05
ASSISTED_SHARE = 0.03
NO_SHOW_SHARE = 0.05
TRANSFER_SHARE = 0.03
ITEM_SHARE = 0.5


LOGIN_WAIT = 90.0  # seconds the demo waits for its kiosk and staff to be logged in


@dataclass
class Tally:
    """What the bots did, for the report printed at the end."""

    issued: int = 0
    called: int = 0
    finished: int = 0
    no_shows: int = 0
    transfers: int = 0
    refused: dict[str, int] = field(default_factory=dict)

    def refuse(self, code: ErrorCode) -> None:
        self.refused[code.value] = self.refused.get(code.value, 0) + 1


Say = Callable[[str], None]


class Hall:
    """Runs the citizens and the staff of the demo hall until stopped."""

    def __init__(
        self,
        url: str,
        *,
        windows: list[int],
        speed: float,
        arrivals_per_hour: float,
        seed: int = 1,
        say: Say = lambda line: None,
    ) -> None:
        self.url = url
        self.windows = windows
        self.speed = speed
        self.arrivals_per_hour = arrivals_per_hour
        self.random = random.Random(seed)
        self.say = say
        self.tally = Tally()
        self._categories: dict[str, CategoryView] = {}
        self._items: dict[str, list[str]] = {}  # category -> its service items
        self._clients: list[QueueClient] = []

    async def run(self, stop: asyncio.Event, prefill: int = 20) -> None:
        kiosk = QueueClient(
            self.url, Credentials(role=Role.KIOSK, token="demo-kiosk-token", client="demo")
        )
        self._clients.append(kiosk)
        staff = [self._staff_client(n) for n in self.windows]
        try:
            # Generous: fifteen password checks at once take a while on a busy machine, and
            # the demo waits for its staff rather than giving up.
            hello = await kiosk.start(timeout=LOGIN_WAIT)
            self._categories = {c.code: c for c in hello.snapshot.categories}
            for item in hello.snapshot.items:
                self._items.setdefault(item.category, []).append(item.name)
            await asyncio.gather(*(c.start(timeout=LOGIN_WAIT) for c in staff))
            for _ in range(prefill):
                await self._issue(kiosk)
            tasks = [asyncio.create_task(self._citizens(kiosk, stop))]
            tasks += [
                asyncio.create_task(self._staff(client, number, stop))
                for client, number in zip(staff, self.windows, strict=True)
            ]
            await stop.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await asyncio.gather(*(c.close() for c in self._clients), return_exceptions=True)

    def _staff_client(self, window: int) -> QueueClient:
        """A window's connection; it is closed when the hall stops."""
        client = QueueClient(
            self.url,
            Credentials(
                role=Role.WINDOW,
                user=f"ck{window:02d}",
                password="yichuang",
                window=window,
                client="demo",
            ),
        )
        self._clients.append(client)
        return client

    # -- pacing -------------------------------------------------------------------------

    def _minutes(self, simulated: float) -> float:
        """Real seconds for `simulated` minutes of hall time."""
        return simulated * 60.0 / self.speed

    def _service_minutes(self, category: str) -> float:
        mean = SERVICE_MINUTES.get(category, 10)
        sigma = 0.5  # lognormal spread: most services near the mean, a few long ones
        return self.random.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)

    # -- citizens -------------------------------------------------------------------------

    async def _citizens(self, kiosk: QueueClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            gap = self.random.expovariate(self.arrivals_per_hour / 60.0)
            await asyncio.sleep(self._minutes(gap))
            await self._issue(kiosk)

    async def _issue(self, kiosk: QueueClient) -> None:
        codes = [c for c in ARRIVAL_MIX if c in self._categories] or list(self._categories)
        category = self.random.choices(codes, weights=[ARRIVAL_MIX.get(c, 1) for c in codes])[0]
        roll = self.random.random()
        priority = Priority.NORMAL
        if roll < GREEN_SHARE:
            priority = Priority.GREEN
        elif roll < GREEN_SHARE + ASSISTED_SHARE:
            priority = Priority.ASSISTED
        # Half the citizens say which service item they come for (企业设立登记 is the
        # five-step one-chain company opening).
        items = self._items.get(category, [])
        item = self.random.choice(items) if items and self.random.random() < ITEM_SHARE else None
        try:
            reply = await kiosk.request(
                IssueTicket, category=category, priority=priority, item=item
            )
        except ServerError as exc:
            self.tally.refuse(exc.code)
            return
        self.tally.issued += 1
        chain = f" 一链办理{reply.ticket.steps}步" if reply.ticket.steps > 1 else ""
        self.say(
            f"取号 {reply.ticket.number} {self._categories[category].name}{chain}"
            f" (前面 {reply.people_ahead} 人, 预计 {reply.estimated_wait_minutes:.0f} 分钟)"
        )

    # -- staff ----------------------------------------------------------------------------

    async def _staff(self, client: QueueClient, window: int, stop: asyncio.Event) -> None:
        # Stagger the first calls so the screen does not get thirteen calls at once.
        await asyncio.sleep(self.random.uniform(0, self._minutes(2)))
        served = 0
        while not stop.is_set():
            try:
                served += await self._serve_one(client, window)
            except ServerError as exc:  # e.g. queue_empty: look again in a minute
                self.tally.refuse(exc.code)
                await asyncio.sleep(self._minutes(1))
                if exc.code is ErrorCode.WINDOW_TAKEN:  # closed at midnight: log in again
                    await client.close()
                    client = self._staff_client(window)
                    await client.start()
                continue
            if served and served % 12 == 0:  # a short staggered break (错时休息)
                await client.request(PauseWindow, reason="短暂休息")
                await asyncio.sleep(self._minutes(10))
                await client.request(ResumeWindow)

    async def _serve_one(self, client: QueueClient, window: int) -> int:
        """Call the next citizen and serve them; 1 if someone was served."""
        reply = await client.request(CallNext)
        self.tally.called += 1
        ticket = reply.ticket
        step = f" 第{ticket.chain_step + 1}/{ticket.steps}步" if ticket.steps > 1 else ""
        self.say(f"叫号 {ticket.number}{step} → {window}号窗口")
        await asyncio.sleep(self._minutes(self.random.uniform(0.3, 1.0)))  # walking over
        if self.random.random() < NO_SHOW_SHARE:
            await client.request(Recall)
            await asyncio.sleep(self._minutes(1))
            await client.request(MarkNoShow)
            self.tally.no_shows += 1
            return 0
        await client.request(StartService)
        await asyncio.sleep(self._minutes(self._service_minutes(ticket.category)))
        if self.random.random() < TRANSFER_SHARE and len(self._categories) > 1:
            others = [c for c in self._categories if c != ticket.category]
            await client.request(
                TransferTicket, to_category=self.random.choice(others), reason="需转其他业务"
            )
            self.tally.transfers += 1
        else:
            await client.request(FinishService)
            self.tally.finished += 1
        return 1
