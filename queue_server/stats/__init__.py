"""Statistics and reports computed from the event log (issue 16; definitions in
docs/statistics.md).

The read API for programs (the CLI's `report`, the supervisor console):

- `report(engine, period, by, now, halls)`: the figures through the incremental
  aggregates (fast; brings them up to date first);
- `from_scratch(...)`: the same figures folded from the whole event log (the reference);
- `Period.day/week/month/year(...)` or `Period(start, end)`; `parse_grouping("month,window")`;
- a `Report` has `rows` (`Row.key`, `Row.figures`) and the period's `total` (`Figures`).
"""

from queue_server.stats.aggregates import rebuild, refresh, report
from queue_server.stats.compute import from_scratch
from queue_server.stats.figures import (
    FIGURE_NAMES,
    GROUPINGS,
    Figures,
    Period,
    Report,
    Row,
    StatsError,
    parse_grouping,
)

__all__ = [
    "FIGURE_NAMES",
    "GROUPINGS",
    "Figures",
    "Period",
    "Report",
    "Row",
    "StatsError",
    "from_scratch",
    "parse_grouping",
    "rebuild",
    "refresh",
    "report",
]
