"""The 好差评 columns of a year's report: python -m bench.stats_ratings [--days 365].

Fills one SQLite file of the demo hall with a year of ticket and service rows (1,650 a
day over 15 windows, the demo hall's volume) and some 7,000 ratings (the seed hall's
6,841 a year), then times `stats.ratings.for_report` — the rating figures `queue-server
report` adds to each row — by month, by month and window, by day and by item (each the
median of 3 runs). The reference in the same run is the bare scan the figures cannot do
without: `SELECT count(*)` of the period's served services.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import func, insert, select

from queue_server import cli
from queue_server.stats import Period
from queue_server.stats import ratings as rating_figures
from queue_server.stats.compute import halls
from queue_server.store.engine import make_engine, read_only
from queue_server.store.tables import RatingRow, ServiceRow, TicketRow

PER_DAY = 1650
WINDOWS = 15
RATED_EVERY = 87  # ~19 ratings a day: ~7,000 a year
ITEMS = ("社保卡申领", "养老保险转移", "医保报销", None)


def fill(url: str, start: date, days: int) -> None:
    engine = make_engine(url)
    with read_only(engine).connect() as connection:
        [hall] = halls(connection)
    rating_id = 0
    for d in range(days):
        day = start + timedelta(days=d)
        at = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)
        tickets, services, ratings = [], [], []
        for n in range(PER_DAY):
            ticket = f"{day:%Y%m%d}-C{n:04d}"
            window = 1 + n % WINDOWS
            item = ITEMS[n % len(ITEMS)]
            tickets.append(
                {
                    "hall_id": hall.id,
                    "id": ticket,
                    "day": day.isoformat(),
                    "number": f"C{n:04d}",
                    "category": "SW",
                    "item": item,
                    "state": "done",
                    "issued_at": at,
                    "queued_at": at,
                    "call_times": "[]",
                    "transfers": "[]",
                    "chain": "[]",
                }
            )
            services.append(
                {
                    "hall_id": hall.id,
                    "ticket": ticket,
                    "day": day.isoformat(),
                    "category": "SW",
                    "window": window,
                    "staff": f"ck{window:02d}",
                    "called_at": at,
                    "started_at": at,
                    "ended_at": at,
                    "outcome": "done",
                }
            )
            if n % RATED_EVERY == 0:
                rating_id += 1
                ratings.append(
                    {
                        "hall_id": hall.id,
                        "id": rating_id,
                        "ticket": ticket,
                        "day": day.isoformat(),
                        "number": f"C{n:04d}",
                        "step": 0,
                        "category": "SW",
                        "item": item,
                        "window": window,
                        "staff": f"ck{window:02d}",
                        "channel": "pad",
                        "level": 1 + n % 3,
                        "reasons": "[]",
                        "rated_at": at,
                    }
                )
        with engine.begin() as connection:
            connection.execute(insert(TicketRow), tickets)
            connection.execute(insert(ServiceRow), services)
            connection.execute(insert(RatingRow), ratings)
    engine.dispose()


def median_ms(run: Callable[[], object]) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    start = date(2025, 1, 1)
    period = Period(start, start + timedelta(days=args.days - 1))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'year.db'}"
        assert cli.main(["init", "--demo", "--db", url]) == 0
        began = time.perf_counter()
        fill(url, start, args.days)
        filled = time.perf_counter() - began
        print(f"{args.days} days x {PER_DAY} services filled in {filled:.0f} s")
        engine = make_engine(url)
        with read_only(engine).connect() as connection:
            found = halls(connection)

        def scan() -> object:
            with read_only(engine).connect() as connection:
                return connection.execute(
                    select(func.count()).where(
                        ServiceRow.hall_id == found[0].id,  # type: ignore[arg-type]
                        ServiceRow.day >= period.start.isoformat(),  # type: ignore[arg-type]
                        ServiceRow.day <= period.end.isoformat(),  # type: ignore[arg-type]
                        ServiceRow.outcome == "done",  # type: ignore[arg-type]
                    )
                ).scalar()

        reference = median_ms(scan)
        print(f"reference, same run: count(*) of the period's services {reference:.0f} ms")
        now = datetime.now(UTC)
        for by in (("month",), ("month", "window"), ("day",), ("item",)):
            took = median_ms(partial(rating_figures.for_report, engine, found, period, by, now))
            print(f"ratings by {','.join(by)}: {took:.0f} ms ({took / reference:.1f}x the scan)")
        engine.dispose()


if __name__ == "__main__":
    main()
