"""Figures of a simulated day (SPEC §8): waits per category, target share, utilisation, and
the error of the estimated wait printed on the ticket."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from queue_server.sim.engine import DayResult, TicketRecord


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation between order statistics."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else math.nan


@dataclass(frozen=True)
class WaitStats:
    """Waits from issue to first call, in minutes."""

    tickets: int
    mean: float
    p90: float
    longest: float
    within_target: float  # share called within the category's target wait
    estimate_mae: float  # mean |estimate shown at issue - actual wait|
    estimate_bias: float  # mean (estimate - actual): > 0 means the ticket promised too much


def wait_stats(records: Sequence[TicketRecord], targets: dict[str, int]) -> WaitStats:
    called = [r for r in records if r.first_call is not None]
    waits = [r.first_call - r.issued for r in called if r.first_call is not None]
    within = sum(
        1
        for r in called
        if r.first_call is not None and r.first_call - r.issued <= targets[r.category]
    )
    errors = [
        r.estimate - (r.first_call - r.issued)
        for r in called
        if r.estimate is not None and r.first_call is not None
    ]
    return WaitStats(
        tickets=len(records),
        mean=mean(waits),
        p90=percentile(waits, 0.9),
        longest=max(waits, default=math.nan),
        within_target=within / len(called) if called else math.nan,
        estimate_mae=mean(abs(e) for e in errors),
        estimate_bias=mean(errors),
    )


@dataclass(frozen=True)
class DaySummary:
    scenario: str
    policy: str
    seed: int
    tickets: int
    windows: int
    overall: WaitStats
    by_category: dict[str, WaitStats]
    utilisation: float  # busy minutes over staffed minutes, all windows
    by_window: dict[int, float]
    no_shows: int
    chain_step_wait: float  # mean wait before later steps of one-chain items
    chain_overtake_share: float  # later-step calls that went ahead of an earlier-queued ticket
    chain_overtake_minutes: float  # by how much, on average, when they did
    chain_visit: float  # mean issue-to-done minutes of one-chain visits
    end_minutes: float


def summarize(result: DayResult) -> DaySummary:
    targets = {c: cat.target_wait_minutes for c, cat in result.categories.items()}
    by_category = {
        code: wait_stats([r for r in result.tickets if r.category == code], targets)
        for code in result.categories
        if any(r.category == code for r in result.tickets)
    }
    busy = sum(w.busy for w in result.windows)
    staffed = sum(w.staffed for w in result.windows)
    steps = [w for r in result.tickets for w in r.step_waits]
    overtakes = [m for r in result.tickets for m in r.step_overtakes]
    ahead = [m for m in overtakes if m > 0]
    visits = [r.done - r.issued for r in result.tickets if r.steps > 1 and r.done is not None]
    return DaySummary(
        scenario=result.scenario,
        policy=result.policy,
        seed=result.seed,
        tickets=len(result.tickets),
        windows=len(result.windows),
        overall=wait_stats(result.tickets, targets),
        by_category=by_category,
        utilisation=busy / staffed if staffed else math.nan,
        by_window={w.number: (w.busy / w.staffed if w.staffed else 0.0) for w in result.windows},
        no_shows=sum(1 for r in result.tickets if r.no_show),
        chain_step_wait=mean(steps),
        chain_overtake_share=len(ahead) / len(overtakes) if overtakes else math.nan,
        chain_overtake_minutes=mean(ahead),
        chain_visit=mean(visits),
        end_minutes=result.end,
    )


def format_report(summary: DaySummary, names: dict[str, str] | None = None) -> str:
    names = names or {}
    hours, minutes = divmod(round(summary.end_minutes), 60)
    lines = [
        f"scenario {summary.scenario}  policy {summary.policy}  seed {summary.seed}",
        f"{summary.tickets} tickets, {summary.windows} windows, {summary.no_shows} no-shows;"
        f" the last window closed {hours}h{minutes:02d} after opening",
        "",
        f"{'category':<18}{'tickets':>8}{'mean':>8}{'p90':>8}{'longest':>9}"
        f"{'in target':>11}{'est. MAE':>10}{'est. bias':>11}",
    ]

    def row(label: str, s: WaitStats) -> str:
        return (
            f"{label:<18}{s.tickets:>8}{s.mean:>8.1f}{s.p90:>8.1f}{s.longest:>9.1f}"
            f"{s.within_target:>10.0%} {s.estimate_mae:>9.1f}{s.estimate_bias:>+11.1f}"
        )

    for code, stats in summary.by_category.items():
        lines.append(row(code, stats))
    lines.append(row("overall", summary.overall))
    lines.append("(waits in minutes, issue to first call; est. = the wait printed at issue)")
    if names:
        lines.append("  ".join(f"{c} {names[c]}" for c in summary.by_category if c in names))
    if not math.isnan(summary.chain_step_wait):
        lines.append(
            f"one-chain visits: {summary.chain_visit:.1f} min from issue to done; later steps"
            f" waited {summary.chain_step_wait:.1f} min on average and"
            f" {summary.chain_overtake_share:.0%} of their calls went ahead of a ticket of"
            " their category queued before them"
        )
    lines.append("")
    lines.append(f"window utilisation {summary.utilisation:.0%}:")
    lines.append("  " + "  ".join(f"{n}:{u:.0%}" for n, u in sorted(summary.by_window.items())))
    return "\n".join(lines)


# Student's t 97.5% quantiles for 1..30 degrees of freedom
# fmt: off
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


@dataclass(frozen=True)
class Interval:
    mean: float
    half: float  # half-width of the 95% confidence interval

    @property
    def low(self) -> float:
        return self.mean - self.half

    @property
    def high(self) -> float:
        return self.mean + self.half

    def show(self, digits: int = 1, percent: bool = False) -> str:
        if percent:
            return f"{self.mean:.0%} ± {self.half * 100:.0f}"
        return f"{self.mean:.{digits}f} ± {self.half:.{digits}f}"


def interval(values: Iterable[float]) -> Interval:
    """Mean and 95% confidence half-width (Student's t) of independent replications."""
    items = [v for v in values if not math.isnan(v)]
    if len(items) < 2:
        return Interval(items[0] if items else math.nan, math.nan)
    t = _T975[len(items) - 2] if len(items) - 1 <= len(_T975) else 1.96
    return Interval(statistics.fmean(items), t * statistics.stdev(items) / math.sqrt(len(items)))
