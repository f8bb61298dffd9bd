"""`queue-server report`: what the command does once its arguments are read (cli.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from queue_server.stats import export
from queue_server.stats import ratings as rating_figures
from queue_server.stats.aggregates import report
from queue_server.stats.compute import from_scratch, halls
from queue_server.stats.figures import Period, Report, StatsError
from queue_server.store.engine import read_only


def run(
    engine: Engine,
    *,
    codes: Sequence[str] | None,
    period: Period,
    by: tuple[str, ...],
    fmt: str,
    output: Path | None,
    now: datetime,
    from_events: bool = False,
) -> str:
    """The report in `fmt`: returned as text, or written to `output` (then a line saying
    so is returned). XLSX needs `output`."""
    if fmt not in export.FORMATS:
        raise StatsError(f"no format {fmt!r} (known: {', '.join(export.FORMATS)})")
    make = from_scratch if from_events else report

    def get(grouping: tuple[str, ...]) -> Report:
        return make(engine, period, grouping, now, codes)

    main = get(by)
    with read_only(engine).connect() as connection:
        found = halls(connection, codes or None)
    ratings = rating_figures.for_report(engine, found, period, by, now)
    if fmt == "xlsx":
        if output is None:
            raise StatsError("--format xlsx writes a file: give --output FILE.xlsx")
        export.write_xlsx(main, output, ratings)
        return f"wrote {output}\n"
    if fmt == "table":
        text = export.table(main, ratings)
    elif fmt == "csv":
        text = export.to_csv(main, ratings)
    else:
        targets = {c: s // 60 for h in found for c, s in h.targets.items()}
        # The page shows the period's totals only, the same by any grouping that has them.
        whole = ratings or rating_figures.for_report(engine, found, period, (), now)
        text = export.html_page(
            main, get(("day",)), get(("hour",)), get(("window",)), get(("staff",)), targets, whole
        )
    if output is None:
        return text
    output.write_text(text, encoding="utf-8")
    return f"wrote {output}\n"
