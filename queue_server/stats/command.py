"""`queue-server report`: what the command does once its arguments are read (cli.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from queue_server.stats import export
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
    if fmt == "xlsx":
        if output is None:
            raise StatsError("--format xlsx writes a file: give --output FILE.xlsx")
        export.write_xlsx(main, output)
        return f"wrote {output}\n"
    if fmt == "table":
        text = export.table(main)
    elif fmt == "csv":
        text = export.to_csv(main)
    else:
        with read_only(engine).connect() as connection:
            targets = {
                c: s // 60 for h in halls(connection, codes or None) for c, s in h.targets.items()
            }
        text = export.html_page(
            main, get(("day",)), get(("hour",)), get(("window",)), get(("staff",)), targets
        )
    if output is None:
        return text
    output.write_text(text, encoding="utf-8")
    return f"wrote {output}\n"
