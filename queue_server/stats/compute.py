"""Statistics read from the database: the halls, their targets, their event log.

`from_scratch` folds each hall's whole event log (the reference, and what the property test
compares the aggregates against); `report` is the fast path through the incremental
aggregates (aggregates.py). Both give the same `Report` for the same database and moment.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, Table, case, literal, select

from queue_server.stats.cells import Cells, merge_into
from queue_server.stats.figures import Period, Report, StatsError, build_report
from queue_server.stats.fold import FOLDED, Fold
from queue_server.store.engine import read_only
from queue_server.store.tables import CategoryRow, EventRow, HallRow

EVENT_BATCH = 5000
HALL: Table = HallRow.__table__  # type: ignore[attr-defined]
CATEGORY: Table = CategoryRow.__table__  # type: ignore[attr-defined]
EVENT: Table = EventRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class HallInfo:
    id: int
    code: str
    timezone: str
    targets: dict[str, int]  # target wait in seconds per category code


def halls(connection: Connection, codes: Sequence[str] | None = None) -> list[HallInfo]:
    """The halls asked for by code (None: every hall of the database, retired ones too —
    their rows stay for the statistics)."""
    rows = connection.execute(
        select(HALL.c.id, HALL.c.code, HALL.c.timezone).order_by(HALL.c.id)
    ).all()
    known = {code: (hall_id, tz) for hall_id, code, tz in rows}
    wanted = list(codes) if codes else list(known)
    missing = [c for c in wanted if c not in known]
    if missing:
        raise StatsError(
            f"no hall {missing[0]!r} in the database (known: {', '.join(known) or 'none'})"
        )
    out = []
    for code in wanted:
        hall_id, tz = known[code]
        targets = connection.execute(
            select(CATEGORY.c.code, CATEGORY.c.target_wait_minutes).where(
                CATEGORY.c.hall_id == hall_id
            )
        ).all()
        out.append(HallInfo(hall_id, code, tz, {c: m * 60 for c, m in targets}))
    return out


def events(connection: Connection, hall_id: int, after: int = 0) -> Iterator[tuple[int, str]]:
    """The hall's events after seq `after`, in seq order, read in batches by key; the
    payload of an event the statistics do not read (queue_changed, …) is not fetched."""
    wanted = case((EVENT.c.name.in_(FOLDED), EVENT.c.payload), else_=literal(""))
    while True:
        batch = connection.execute(
            select(EVENT.c.seq, wanted)
            .where(EVENT.c.hall_id == hall_id, EVENT.c.seq > after)
            .order_by(EVENT.c.seq)
            .limit(EVENT_BATCH)
        ).all()
        yield from ((seq, payload) for seq, payload in batch)
        if len(batch) < EVENT_BATCH:
            return
        after = batch[-1][0]


def fold_from_scratch(connection: Connection, hall: HallInfo, now: datetime) -> Cells:
    """Every cell of the hall from its whole event log, with the open part as at `now`."""
    fold = Fold(hall.timezone)
    cells: Cells = {}
    fold.feed(events(connection, hall.id), cells)
    merge_into(cells, fold.provisional(now))
    return cells


def from_scratch(
    engine: Engine,
    period: Period,
    by: tuple[str, ...],
    now: datetime,
    codes: Sequence[str] | None = None,
) -> Report:
    with read_only(engine).connect() as connection:
        found = halls(connection, codes)
        cells = {h.code: fold_from_scratch(connection, h, now) for h in found}
    return build_report(cells, {h.code: h.targets for h in found}, period, by)
