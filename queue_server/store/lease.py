"""Hall leases: on PostgreSQL each hall is owned by exactly one server process at a time.

Several `queue-server serve` processes may share a district's database. Each hall's writer
(hall/core.py) must be its only writer, so a process serves a hall only while it holds the
hall's lease: a session advisory lock `pg_try_advisory_lock(LEASE, hall id)` on a
connection of the process's own. PostgreSQL lets go of the lock when that session ends —
the process stopped, was killed, or lost the database — and another process, trying every
`RETRY_SECONDS`, takes the hall over and rebuilds it from its log. The owner writes where
it listens into `hall_owner`, so that the other processes forward the hall's connections
to it. On SQLite there is one server process per database and no lease.

The batch's `FOR UPDATE` of the hall row and the conditional update of `last_seq` stay as
the second guard (journal.py): a process that lost its lease without noticing yet cannot
write over the new owner's changes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text

if TYPE_CHECKING:  # imported when used: a SQLite server never loads the driver
    import psycopg

log = logging.getLogger(__name__)

LEASE = 0x59434C53  # the advisory lock class of hall leases ("YCLS"); the hall id is the key
RETRY_SECONDS = 0.5  # how often a process tries to take the halls it does not own


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Leases:
    """This process's hall leases, held on one connection of its own (PostgreSQL)."""

    def __init__(self, engine: Engine, address: str) -> None:
        self.engine = engine
        self.address = address
        self.process = process_name()
        self.held: set[int] = set()
        self._connection: psycopg.AsyncConnection[Any] | None = None

    async def _open(self) -> psycopg.AsyncConnection[Any]:
        import psycopg

        if self._connection is None:
            url = self.engine.url.set(drivername="postgresql")
            conninfo = url.render_as_string(hide_password=False)
            self._connection = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            self.held = set()
        return self._connection

    async def take(self, hall_id: int) -> bool:
        """Try to take the lease of `hall_id` (at once: never waits); on success, say
        where this process listens."""
        connection = await self._open()
        cursor = await connection.execute("SELECT pg_try_advisory_lock(%s, %s)", (LEASE, hall_id))
        row = await cursor.fetchone()
        if not row or not row[0]:
            return False
        await connection.execute(
            "INSERT INTO hall_owner (hall_id, address, process, since) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (hall_id) DO UPDATE SET address = excluded.address, "
            "process = excluded.process, since = excluded.since",
            (hall_id, self.address, self.process, datetime.now(UTC).replace(tzinfo=None)),
        )
        self.held.add(hall_id)
        log.info("took the lease of hall %d", hall_id)
        return True

    async def give_up(self, hall_id: int) -> None:
        """Let go of one hall's lease (the hall was retired)."""
        if self._connection is not None and hall_id in self.held:
            await self._connection.execute("SELECT pg_advisory_unlock(%s, %s)", (LEASE, hall_id))
            self.held.discard(hall_id)

    async def alive(self) -> bool:
        """Whether the leases are still held (their connection answers)."""
        import psycopg

        if self._connection is None:
            return False
        try:
            await self._connection.execute("SELECT 1")
            return True
        except psycopg.Error:
            log.error("the connection holding the hall leases is lost: %s", sorted(self.held))
            await self.close()
            return False

    async def close(self) -> None:
        """Let every lease go (ending the session lets go of its locks)."""
        import psycopg

        connection, self._connection = self._connection, None
        self.held = set()
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                await connection.close()


def owner_of(engine: Engine, hall_id: int) -> str | None:
    """Where the owner of `hall_id` listens, as it last said (None: never owned)."""
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT address FROM hall_owner WHERE hall_id = :hall"), {"hall": hall_id}
        ).scalar()
