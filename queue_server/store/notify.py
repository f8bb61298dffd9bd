"""Events committed by another process, announced on PostgreSQL with LISTEN/NOTIFY.

Every transaction that writes events to the hall (the writer's batch, a CLI change) also
sends `NOTIFY yichuang_events, '<writer>:<hall id>:<last seq>'` (PostgreSQL delivers it
at commit, never for a rolled-back transaction). A server LISTENs on a connection of its
own and, told of a seq of a hall it serves beyond what it has published, reads the events
from the event table: the notification carries only where to read up to, never the
events themselves (its payload is limited, and the table is the one truth). A server
ignores its own writer's notifications (`writer` names the Hall object whose batch wrote;
a CLI change names `CHANGE`). SQLite has no such channel: there the server polls the hall
row a few times a second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

CHANNEL = "yichuang_events"
# The writer named by a CLI change's notice (hall/config.py): no server publishes those
# events itself, not even one whose own HallService made the change.
CHANGE = "change"
RECONNECT_SECONDS = 1.0


def announce(connection: Connection, writer: str, hall_id: int, last_seq: int) -> None:
    """Inside a transaction that wrote events of hall `hall_id` up to `last_seq`: tell the
    listeners at its commit (PostgreSQL only; nothing on SQLite)."""
    if connection.dialect.name == "postgresql":  # on the driver: this is the writer's path
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{writer}:{hall_id}:{last_seq}"))
        finally:
            cursor.close()


def can_listen(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


async def listen(
    engine: Engine,
    writers: Collection[str],
    on_seq: Callable[[int, int], Awaitable[None]],
    on_listening: Callable[[bool], None],
) -> None:
    """Until cancelled: LISTEN, then call `on_seq(hall_id, seq)` for every other writer's
    notification. `on_listening(True)` once a connection listens (the caller then catches
    up with what was committed before), `on_listening(False)` when it is lost; it is
    opened again after RECONNECT_SECONDS."""
    import psycopg

    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            connection = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            async with connection:
                await connection.execute(f"LISTEN {CHANNEL}")
                on_listening(True)
                async for note in connection.notifies():
                    source, _, rest = note.payload.partition(":")
                    hall, _, seq = rest.partition(":")
                    if source not in writers and hall.isdigit() and seq.isdigit():
                        await on_seq(int(hall), int(seq))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("listening for other processes' events failed (%r); retrying", exc)
        on_listening(False)
        await asyncio.sleep(RECONNECT_SECONDS)
