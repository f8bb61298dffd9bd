"""A ticket's status page as the tests see it: a raw websocket client of the `citizen` role
(the page's own script is tested in a real browser, tests/browser/)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from queue_protocol.messages import CitizenHelloReply, CitizenTicketView, TicketUpdate


class StatusPage:
    """One open status page: every frame it received, and its ticket's newest view."""

    def __init__(self, ws: ClientConnection, hello: dict[str, Any]) -> None:
        self.ws = ws
        self.frames: list[str] = []  # everything received, for "nothing else leaks" checks
        self.hello = hello
        self.status: CitizenTicketView | None = None
        self.replies: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, url: str, ticket: str, secret: str | None) -> StatusPage:
        ws = await connect(url)
        hello = {"type": "hello", "id": "h1", "role": "citizen", "ticket": ticket}
        if secret is not None:
            hello["secret"] = secret
        await ws.send(json.dumps(hello))
        frame = str(await asyncio.wait_for(ws.recv(), 10))
        page = cls(ws, json.loads(frame))
        page.frames.append(frame)
        if page.hello.get("type") == "ok":
            page.status = CitizenHelloReply.model_validate(page.hello).status
        return page

    async def until(
        self, condition: Callable[[CitizenTicketView], bool], timeout: float = 10.0
    ) -> CitizenTicketView:
        """Read frames until the newest view satisfies `condition`."""
        async with asyncio.timeout(timeout):
            while self.status is None or not condition(self.status):
                await self.read()
        assert self.status is not None
        return self.status

    async def read(self) -> dict[str, Any]:
        frame = str(await self.ws.recv())
        self.frames.append(frame)
        raw = json.loads(frame)
        if raw.get("type") == "ticket_update":
            self.status = TicketUpdate.model_validate(raw).status
        else:
            self.replies.append(raw)
        return dict(raw)

    async def ask(self, request: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send a request and wait for its reply (updates that come first are kept)."""
        await self.ws.send(json.dumps(request))
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.read()
                if raw.get("re") == request["id"]:
                    return raw

    async def close(self) -> None:
        await self.ws.close()
