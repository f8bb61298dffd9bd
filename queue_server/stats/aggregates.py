"""The statistics kept: cells of final figures per hall, day and grouping key (stats_cell),
and how far the event log has been folded into them (stats_fold).

`refresh` folds the events after the last one folded, in chunks of its own transactions
(so a long history never holds the hall's writer up for long), adding each chunk's final
figures to the stored cells and keeping the fold's open part. A report then reads only
the cells of its period and dimension, plus the open part counted as at its moment: the
same figures as folding the whole log (the property test holds them equal), read in time
proportional to the days and keys asked for, not to the history.

`rebuild` drops a hall's cells and folds its whole log again (`queue-server stats
rebuild`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)

from queue_server.stats.cells import Cell, Cells, merge_into
from queue_server.stats.compute import HallInfo, events, halls
from queue_server.stats.figures import Period, Report, build_report, dimension_of
from queue_server.stats.fold import Fold
from queue_server.store.engine import read_only
from queue_server.store.tables import HallRow, StatsCellRow, StatsFoldRow

CELL: Table = StatsCellRow.__table__  # type: ignore[attr-defined]
FOLD: Table = StatsFoldRow.__table__  # type: ignore[attr-defined]
HALL: Table = HallRow.__table__  # type: ignore[attr-defined]
CHUNK_EVENTS = 20_000  # events folded per write of the cells


def refresh(engine: Engine, hall: HallInfo, chunk: int = CHUNK_EVENTS) -> int:
    """Fold the hall's events not folded yet; returns how many were folded. When there are
    none it only reads (no write lock: a report never makes the hall's writer wait)."""
    with read_only(engine).connect() as connection:
        last = connection.execute(select(HALL.c.last_seq).where(HALL.c.id == hall.id)).scalar()
        seen = connection.execute(select(FOLD.c.seq).where(FOLD.c.hall_id == hall.id)).scalar()
    if last is not None and last == (seen or 0):
        return 0
    folded = 0
    while True:
        done = _refresh_chunk(engine, hall, chunk)
        if done < 0:
            continue  # another refresh got there first: fold from where it left off
        folded += done
        if done < chunk:
            return folded


STATS_LOCK = 0x5954_5354  # pg_advisory_xact_lock(STATS_LOCK, hall id): one writer of the cells


def _refresh_chunk(engine: Engine, hall: HallInfo, chunk: int) -> int:
    """Fold up to `chunk` events after the kept ones and add their figures. The events are
    read and folded in a read-only transaction; only the writing of the cells takes the
    write lock (SQLite's file, a PostgreSQL advisory lock per hall — never the hall row),
    so the hall's writer waits for a refresh no longer than for a few hundred rows.
    Returns how many events were folded, or -1 if another refresh wrote meanwhile."""
    with read_only(engine).connect() as connection:
        row = connection.execute(
            select(FOLD.c.seq, FOLD.c.state).where(FOLD.c.hall_id == hall.id)
        ).first()
        fold = Fold(hall.timezone, None if row is None else _state(row.state))
        start = fold.seq
        cells: Cells = {}
        taken = 0

        def limited() -> Iterator[tuple[int, str]]:
            nonlocal taken
            for item in events(connection, hall.id, start):
                yield item
                taken += 1
                if taken >= chunk:
                    return

        fold.feed(limited(), cells)
    if taken == 0:
        return 0
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(STATS_LOCK, hall.id)))
        kept = connection.execute(select(FOLD.c.seq).where(FOLD.c.hall_id == hall.id)).scalar()
        if (kept or 0) != start or (kept is None) != (row is None):
            return -1
        _add_cells(connection, hall.id, cells)
        values = {"seq": fold.seq, "state": fold.state_json(), "at": datetime.now(UTC)}
        if row is None:
            connection.execute(insert(FOLD).values(hall_id=hall.id, **values))
        else:
            connection.execute(update(FOLD).where(FOLD.c.hall_id == hall.id).values(**values))
    return taken


def _state(text: str) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(text)
    return state


def _add_cells(connection: Connection, hall_id: int, day_cells: Cells) -> None:
    """Merge `day_cells` into the stored ones, and into their months' (read those that
    exist, write the sums)."""
    cells: Cells = dict(day_cells)
    for (day, dim, value), cell in day_cells.items():
        month = cells.get((day[:7], dim, value))
        if month is None:
            cells[(day[:7], dim, value)] = month = Cell()
        month.merge(cell)
    keys = list(cells)
    existing: dict[tuple[str, str, str], str] = {}
    for i in range(0, len(keys), 500):
        part = keys[i : i + 500]
        found = connection.execute(
            select(CELL.c.day, CELL.c.dim, CELL.c.key, CELL.c.cell).where(
                CELL.c.hall_id == hall_id,
                tuple_(CELL.c.day, CELL.c.dim, CELL.c.key).in_(part),
            )
        ).all()
        existing.update({(d, m, k): c for d, m, k, c in found})
    new, changed = [], []
    for key, cell in cells.items():
        day, dim, value = key
        stored = existing.get(key)
        if stored is None:
            new.append(
                {"hall_id": hall_id, "dim": dim, "day": day, "key": value, "cell": cell.to_json()}
            )
            continue
        merged = Cell.from_json(stored)
        merged.merge(cell)
        changed.append({"d": day, "m": dim, "k": value, "c": merged.to_json()})
    if new:
        connection.execute(insert(CELL), new)
    if changed:
        connection.execute(
            update(CELL)
            .where(
                and_(
                    CELL.c.hall_id == hall_id,
                    CELL.c.day == bindparam("d"),
                    CELL.c.dim == bindparam("m"),
                    CELL.c.key == bindparam("k"),
                )
            )
            .values(cell=bindparam("c")),
            changed,
        )


def rebuild(engine: Engine, hall: HallInfo) -> int:
    """Forget the hall's statistics kept and fold its whole event log again."""
    with engine.begin() as connection:
        connection.execute(delete(CELL).where(CELL.c.hall_id == hall.id))
        connection.execute(delete(FOLD).where(FOLD.c.hall_id == hall.id))
    return refresh(engine, hall)


def stored_cells(
    connection: Connection,
    hall: HallInfo,
    period: Period,
    dims: Sequence[str],
    now: datetime,
    *,
    months: bool = False,
) -> Cells:
    """The kept cells of the period for `dims`, with the open part counted as at `now`.
    With `months`, a month the period covers whole comes as one cell keyed "YYYY-MM" (the
    sum of its days) instead of its days."""
    whole = period.whole_months() if months else []
    clauses = [
        and_(
            CELL.c.day >= period.start.isoformat(),
            CELL.c.day <= period.end.isoformat(),
            func.length(CELL.c.day) == 10,
        )
    ]
    if whole:
        clauses.append(CELL.c.day.in_(whole))
    rows = connection.execute(
        select(CELL.c.day, CELL.c.dim, CELL.c.key, CELL.c.cell).where(
            CELL.c.hall_id == hall.id, CELL.c.dim.in_(list(dims)), or_(*clauses)
        )
    ).all()
    cells: Cells = {}
    for d, m, k, c in rows:
        if len(d) == 10 and d[:7] in whole:
            continue  # in its month's cell
        cells[(d, m, k)] = Cell.from_json(c)
    state = connection.execute(select(FOLD.c.state).where(FOLD.c.hall_id == hall.id)).scalar()
    fold = Fold(hall.timezone, None if state is None else _state(state))
    open_part: Cells = {}
    for (d, m, k), cell in fold.provisional(now).items():
        if m in dims and d in period:
            key = (d[:7] if d[:7] in whole else d, m, k)
            merge_into(open_part, {key: cell})
    merge_into(cells, open_part)
    return cells


def report(
    engine: Engine,
    period: Period,
    by: tuple[str, ...],
    now: datetime,
    codes: Sequence[str] | None = None,
) -> Report:
    """The report from the statistics kept, brought up to date first."""
    with read_only(engine).connect() as connection:
        found = halls(connection, codes)
    for hall in found:
        refresh(engine, hall)
    dims = sorted({dimension_of(by), "hall"})
    # Rows need a cell per day only when grouped by day, week or weekday; the total never.
    by_days = any(g in ("day", "week", "weekday") for g in by)
    with read_only(engine).connect() as connection:
        cells = {
            h.code: stored_cells(connection, h, period, dims, now, months=not by_days)
            for h in found
        }
        totals = {
            h.code: stored_cells(connection, h, period, ["hall"], now, months=True) for h in found
        }
    return build_report(cells, {h.code: h.targets for h in found}, period, by, totals)
