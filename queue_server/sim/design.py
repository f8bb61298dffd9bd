"""The window-profile designer (`queue-sim design`, issue 17).

Given a hall's demand (a scenario TOML: arrivals per category through the day, service
times), its windows, the staff on duty and what each is trained for, a break plan (the
waves' start times and length) and constraints (categories per window, every category open
in every break wave, a minimum share within target per category), it recommends

- each window's profile (which categories it serves) and the break wave it takes,
- the training list: which staff member sits at which window and must learn which category,
- the expected figures on days the search never saw, with 95% confidence intervals, side
  by side with today's layout and with pooled first-come on the same breaks.

How it searches: every candidate layout is simulated on the same few search seeds (common
random numbers: every layout sees the same citizens with the same service needs), scored
by its mean wait plus a penalty for every category below the minimum share within target.
A hill climb starts from a chain laid out in proportion to each category's offered work
(Jordan & Graves 1995: limited flexibility arranged as a chain captures most of the value
of full flexibility); its moves add, drop or swap a category at a window, or swap two
windows' break waves, tried in the order the last evaluation suggests (categories whose
waits are long relative to their target first). Candidates race: each is simulated on the
first half of the seeds, and only those within 3% of the current layout's score there are
simulated on the rest (most moves are no better, and are dropped at half the cost).
Layouts that starve a category are never simulated: a category with no open window in some
break wave, or a set of categories whose offered work exceeds what the windows serving
them can give in a day (Hall's condition), is refused with the reason. The recommendation
is then evaluated out of sample, on other seeds, against today's layout and the pooled
reference.

Inputs (an optional [design] table in the scenario TOML; the CLI options override it):

    [design]
    staff = 15                       # staff on duty (default: the staffed windows)
    categories_per_window = [2, 3]   # fewest and most categories a window serves
    min_within_target = 0.8          # every category at least this share within target
    waves = ["11:45", "12:45"]       # break waves' starts (default: the [[breaks]] starts)
    break_minutes = 60               # each staff member's break (default: the [[breaks]])
    max_new_per_staff = 2            # optional: most categories one person may learn
    [[design.staff]]                 # optional: who is on duty and what each is trained for
    name = "王芳"                    # (default: the clerk of each window, trained for the
    trained = ["SB", "CJ"]           #  window's profile today; 全科 = every category)
"""

from __future__ import annotations

import math
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from datetime import time as clock
from itertools import combinations
from pathlib import Path
from typing import Any

from queue_protocol.messages import Policy
from queue_server.domain.model import Window
from queue_server.hallconfig import ConfigError, read_toml
from queue_server.sim.engine import simulate
from queue_server.sim.layouts import judged_by, offered_work, pooled_first_come
from queue_server.sim.report import DaySummary, Interval, interval, summarize
from queue_server.sim.scenario import Break, Hall, Scenario, load_scenario

ALL = "全科"
PENALTY = 100.0  # minutes of score per unit (100 points) of share below the minimum
TRAINING_WEIGHT = 0.02  # minutes of score per category someone must learn (a tie-break)
MAX_LOAD = 0.95  # most of a window-day a set of categories may need (Hall's condition)


# ---------------------------------------------------------------------------
# The problem


@dataclass(frozen=True)
class Wave:
    start: float  # minutes after opening
    minutes: float


@dataclass(frozen=True)
class StaffMember:
    name: str
    trained: frozenset[str]


@dataclass(frozen=True)
class Constraints:
    min_categories: int = 2
    max_categories: int = 3
    min_within_target: float = 0.8
    max_new_per_staff: int | None = None


@dataclass(frozen=True)
class Problem:
    """What the designer works from: the hall as it is today and what it may change."""

    hall: Hall  # today's hall (its windows carry today's profiles)
    scenario: Scenario  # today's day, today's breaks
    windows: tuple[Window, ...]  # the windows the designer staffs, in hall order
    staff: tuple[StaffMember, ...]  # as many as windows
    waves: tuple[Wave, ...]  # the break plan: each window takes one wave (none: no breaks)
    constraints: Constraints

    @property
    def codes(self) -> tuple[str, ...]:
        """Categories with demand that day, in hall order."""
        wanted = {d.category for d in self.scenario.demands}
        return tuple(c for c in self.hall.categories if c in wanted)


@dataclass(frozen=True)
class Layout:
    """Each designed window's categories (a set; the profile order is derived) and wave."""

    profiles: tuple[frozenset[str], ...]
    waves: tuple[int, ...]

    def key(self) -> tuple[tuple[tuple[str, ...], ...], tuple[int, ...]]:
        return tuple(tuple(sorted(p)) for p in self.profiles), self.waves

    @property
    def skills(self) -> int:
        return sum(len(p) for p in self.profiles)


class Refused(ValueError):
    """A layout or a problem the designer will not use; the message says why."""


# ---------------------------------------------------------------------------
# Loading


def load_problem(
    path: Path,
    *,
    staff: int | None = None,
    categories: tuple[int, int] | None = None,
    min_within_target: float | None = None,
    waves: Sequence[str] | None = None,
    break_minutes: float | None = None,
) -> Problem:
    """The scenario TOML and its optional [design] table; keyword arguments override it."""
    scenario, hall = load_scenario(path)
    table = read_toml(path).get("design", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [design] must be a table")
    where = f"{path}: [design]"
    staffed = [w for w in hall.windows if scenario.windows is None or w.number in scenario.windows]
    members = _staff_members(table.get("staff"), staffed, hall, where, staff)
    if len(members) > len(staffed):
        raise ConfigError(
            f"{where}: {len(members)} staff on duty but only {len(staffed)} windows to staff"
        )
    if not members:
        raise ConfigError(f"{where}: nobody on duty")
    windows = tuple(staffed[: len(members)])
    low, high = categories or tuple(int(x) for x in table.get("categories_per_window", [2, 3]))
    if not 1 <= low <= high:
        raise ConfigError(
            f"{where}: categories_per_window must be [fewest, most], 1 ≤ fewest ≤ most"
        )
    share = float(
        min_within_target if min_within_target is not None else table.get("min_within_target", 0.8)
    )
    if not 0.0 <= share <= 1.0:
        raise ConfigError(f"{where}: min_within_target must be between 0 and 1")
    limit = table.get("max_new_per_staff")
    constraints = Constraints(
        min_categories=low,
        max_categories=high,
        min_within_target=share,
        max_new_per_staff=None if limit is None else int(limit),
    )
    starts = list(waves) if waves is not None else table.get("waves")
    length = break_minutes if break_minutes is not None else table.get("break_minutes")
    plan = _waves(scenario, starts, length, where)
    return Problem(
        hall=hall,
        scenario=scenario,
        windows=windows,
        staff=tuple(members),
        waves=plan,
        constraints=constraints,
    )


def _staff_members(
    rows: Any, windows: list[Window], hall: Hall, where: str, count: int | None
) -> list[StaffMember]:
    codes = set(hall.categories)
    if rows is None:
        # the clerk of each window today knows that window's profile (全科: every category)
        members = [
            StaffMember(
                name=f"{w.name or w.number}的工作人员",
                trained=frozenset(w.profile) if w.profile else frozenset(codes),
            )
            for w in windows
        ]
        n = len(windows) if count is None else count
        if not 0 < n <= len(windows):
            raise ConfigError(f"{where}: staff must be between 1 and {len(windows)}")
        return members[:n]
    if not isinstance(rows, list):
        raise ConfigError(f"{where}: [[design.staff]] must be a list of tables")
    members = []
    for i, row in enumerate(rows):
        trained_raw = row.get("trained", []) if isinstance(row, dict) else None
        if trained_raw is None:
            raise ConfigError(f"{where}: staff[{i}] must be a table")
        trained = frozenset(codes) if trained_raw == ALL else frozenset(str(c) for c in trained_raw)
        unknown = sorted(trained - codes)
        if unknown:
            raise ConfigError(f"{where}: staff[{i}] trained for unknown categories {unknown}")
        members.append(StaffMember(name=str(row.get("name", f"staff {i + 1}")), trained=trained))
    if count is not None and count != len(members):
        raise ConfigError(f"{where}: staff = {count} but {len(members)} staff are listed")
    return members


def _waves(scenario: Scenario, starts: Any, length: Any, where: str) -> tuple[Wave, ...]:
    if starts is None:
        minutes = {b.minutes for b in scenario.breaks}
        if length is None and len(minutes) > 1:
            raise ConfigError(f"{where}: the [[breaks]] differ in length; give break_minutes")
        default = float(length) if length is not None else (minutes.pop() if minutes else 60.0)
        return tuple(Wave(b.start, default) for b in sorted(scenario.breaks, key=lambda b: b.start))
    if not isinstance(starts, list | tuple):
        raise ConfigError(f"{where}: waves must list start times")
    day = scenario.start
    waves = []
    for text in starts:
        try:
            at = clock.fromisoformat(str(text))
        except ValueError as exc:
            raise ConfigError(f"{where}: wave start {text!r} is not a time like 12:30") from exc
        moment = datetime.combine(day.date(), at, tzinfo=day.tzinfo)
        waves.append(Wave((moment - day) / timedelta(minutes=1), float(length or 60.0)))
    if any(w.start < 0 or w.minutes <= 0 for w in waves):
        raise ConfigError(f"{where}: a wave starts before opening or has no length")
    return tuple(sorted(waves, key=lambda w: w.start))


# ---------------------------------------------------------------------------
# A layout as a hall the simulator runs


def ordered_profile(
    profile: frozenset[str], coverage: dict[str, int], codes: Sequence[str]
) -> tuple[str, ...]:
    """A window's categories in the order it favours them: first the category the fewest
    windows serve (the window is its specialist), then the hall's order."""
    rank = {c: i for i, c in enumerate(codes)}
    return tuple(sorted(profile, key=lambda c: (coverage[c], rank[c])))


def build(problem: Problem, layout: Layout) -> tuple[Hall, Scenario]:
    coverage = {c: sum(c in p for p in layout.profiles) for c in problem.codes}
    windows = tuple(
        w.but(profile=ordered_profile(p, coverage, problem.codes))
        for w, p in zip(problem.windows, layout.profiles, strict=True)
    )
    hall = problem.hall.with_windows(windows).with_policy(Policy.WEIGHTED_WAIT)
    return hall, with_waves(problem, layout.waves)


def with_waves(problem: Problem, waves: Sequence[int]) -> Scenario:
    breaks = tuple(
        Break(
            windows=tuple(w.number for w, k in zip(problem.windows, waves, strict=True) if k == i),
            start=wave.start,
            minutes=wave.minutes,
        )
        for i, wave in enumerate(problem.waves)
    )
    return replace(
        problem.scenario,
        breaks=breaks,
        windows=tuple(w.number for w in problem.windows),
        estimate=False,
    )


# ---------------------------------------------------------------------------
# Constraints


def violations(problem: Problem, layout: Layout) -> list[str]:
    """Why a layout breaks the designer's constraints (empty: it keeps them all)."""
    out = []
    c = problem.constraints
    codes = set(problem.codes)
    if len(layout.profiles) != len(problem.windows) or len(layout.waves) != len(problem.windows):
        return ["the layout does not give every staffed window a profile and a wave"]
    for w, p in zip(problem.windows, layout.profiles, strict=True):
        if not c.min_categories <= len(p) <= c.max_categories:
            out.append(
                f"window {w.number} serves {len(p)} categories, not"
                f" {c.min_categories}–{c.max_categories}"
            )
        if not p <= codes:
            out.append(f"window {w.number} serves {sorted(p - codes)}, which have no demand")
    if any(not 0 <= k < max(1, len(problem.waves)) for k in layout.waves):
        out.append("a window takes a break wave the plan does not have")
    starved = starvation(problem, layout)
    if starved:
        out.append(starved)
    limit = c.max_new_per_staff
    if limit is not None and assign_staff(problem, layout) is None:
        out.append(f"no seating of the staff has each learning at most {limit} categories")
    return out


def starvation(problem: Problem, layout: Layout) -> str | None:
    """The reason a layout would starve a category, or None."""
    for code in problem.codes:
        serving = [i for i, p in enumerate(layout.profiles) if code in p]
        if not serving:
            return f"no window serves {code} {problem.hall.categories[code].name}"
        for k, wave in enumerate(problem.waves):
            if all(layout.waves[i] == k for i in serving):
                return (
                    f"{code} {problem.hall.categories[code].name} has no open window during"
                    f" break wave {k + 1} ({_clock(problem, wave.start)})"
                )
    work = offered_work(problem.hall, problem.scenario)
    day = (
        problem.scenario.close
        if math.isfinite(problem.scenario.close)
        else (problem.scenario.last_ticket)
    )
    capacity = [day - (problem.waves[k].minutes if problem.waves else 0.0) for k in layout.waves]
    codes = problem.codes
    for size in range(1, len(codes) + 1):
        for subset in combinations(codes, size):
            need = sum(work[c] for c in subset)
            reach = [i for i, p in enumerate(layout.profiles) if p & set(subset)]
            have = sum(capacity[i] for i in reach)
            if need > MAX_LOAD * have:
                names = "/".join(subset)
                return (
                    f"{names} would starve: {need:.0f} window-minutes of work a day but the"
                    f" {len(reach)} windows serving them have {have:.0f}"
                    f" (at most {MAX_LOAD:.0%} of it can be used)"
                )
    return None


def _clock(problem: Problem, minute: float) -> str:
    moment = problem.scenario.start + timedelta(minutes=minute)
    return moment.astimezone(problem.hall.rules.tz).strftime("%H:%M")


# ---------------------------------------------------------------------------
# Who sits where and what they must learn


def hungarian(cost: list[list[float]]) -> list[int]:
    """Minimum-cost assignment of rows to columns of a square matrix: result[row] = column
    (the Kuhn–Munkres algorithm with potentials, O(n³))."""
    n = len(cost)
    u = [0.0] * (n + 1)
    v = [0.0] * (n + 1)
    p = [0] * (n + 1)  # p[column] = row matched to it (1-based; 0 = none)
    way = [0] * (n + 1)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = [math.inf] * (n + 1)
        used = [False] * (n + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = p[j0], math.inf, 0
            for j in range(1, n + 1):
                if used[j]:
                    continue
                cur = cost[i0 - 1][j - 1] - u[i0] - v[j]
                if cur < minv[j]:
                    minv[j], way[j] = cur, j0
                if minv[j] < delta:
                    delta, j1 = minv[j], j
            for j in range(n + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    result = [0] * n
    for j in range(1, n + 1):
        result[p[j] - 1] = j - 1
    return result


@dataclass(frozen=True)
class Seat:
    staff: StaffMember
    window: Window
    learns: tuple[str, ...]


def assign_staff(problem: Problem, layout: Layout) -> list[Seat] | None:
    """Seat the staff at the designed windows so that the fewest categories must be learnt
    (None when `max_new_per_staff` cannot be kept)."""
    limit = problem.constraints.max_new_per_staff
    big = 1e6
    cost = []
    for member in problem.staff:
        row = []
        for p in layout.profiles:
            new = len(p - member.trained)
            row.append(big if limit is not None and new > limit else float(new))
        cost.append(row)
    seats = hungarian(cost)
    out = []
    for i, member in enumerate(problem.staff):
        j = seats[i]
        if cost[i][j] >= big:
            return None
        learns = tuple(c for c in problem.codes if c in layout.profiles[j] - member.trained)
        out.append(Seat(staff=member, window=problem.windows[j], learns=learns))
    return sorted(out, key=lambda s: s.window.number)


def training_count(problem: Problem, layout: Layout) -> int:
    seats = assign_staff(problem, layout)
    return sum(len(s.learns) for s in seats) if seats is not None else 10**6


# ---------------------------------------------------------------------------
# Figures of a day, small enough to send between processes


@dataclass(frozen=True)
class Figures:
    mean: float
    p90: float
    longest: float
    within: float
    utilisation: float
    by_category: dict[str, tuple[float, float]]  # code -> (mean wait, share within target)


def figures_of(summary: DaySummary) -> Figures:
    return Figures(
        mean=summary.overall.mean,
        p90=summary.overall.p90,
        longest=summary.overall.longest,
        within=summary.overall.within_target,
        utilisation=summary.utilisation,
        by_category={c: (s.mean, s.within_target) for c, s in summary.by_category.items()},
    )


def run_day(hall: Hall, scenario: Scenario, seed: int, targets: Hall | None = None) -> Figures:
    result = simulate(hall, scenario, seed)
    if targets is not None:  # judged against the hall's own targets (pooled first-come)
        result = judged_by(result, targets)
    return figures_of(summarize(result))


def score(figures: Sequence[Figures], constraints: Constraints) -> float:
    """Mean wait over the seeds plus PENALTY per unit of share below the minimum."""
    mean = statistics.fmean(f.mean for f in figures)
    shortfall = 0.0
    for code in figures[0].by_category:
        share = statistics.fmean(f.by_category[code][1] for f in figures)
        shortfall += max(0.0, constraints.min_within_target - share)
    return mean + PENALTY * shortfall


def objective(problem: Problem, layout: Layout, figures: Sequence[Figures]) -> float:
    """What the search minimises: `score` plus TRAINING_WEIGHT per category to learn."""
    return score(figures, problem.constraints) + TRAINING_WEIGHT * training_count(problem, layout)


# ---------------------------------------------------------------------------
# Parallel evaluation (common random numbers: the same seeds for every layout)

_WORKER: Problem | None = None


def _init(problem: Problem) -> None:
    global _WORKER
    _WORKER = problem


def _task(args: tuple[Layout, int]) -> Figures:
    assert _WORKER is not None
    layout, seed = args
    hall, scenario = build(_WORKER, layout)
    return run_day(hall, scenario, seed)


class Evaluator:
    """Simulates layouts on seeds, in `workers` processes (1: in this process)."""

    def __init__(self, problem: Problem, workers: int) -> None:
        self.problem = problem
        self.workers = max(1, workers)
        self.pool: ProcessPoolExecutor | None = None
        if self.workers > 1:
            self.pool = ProcessPoolExecutor(self.workers, initializer=_init, initargs=(problem,))
        self.days = 0

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *_: object) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def run(self, layouts: Sequence[Layout], seeds: Sequence[int]) -> list[list[Figures]]:
        tasks = [(layout, seed) for layout in layouts for seed in seeds]
        self.days += len(tasks)
        if self.pool is None:
            _init(self.problem)
            flat = [_task(t) for t in tasks]
        else:
            flat = list(self.pool.map(_task, tasks, chunksize=1))
        k = len(seeds)
        return [flat[i * k : (i + 1) * k] for i in range(len(layouts))]


# ---------------------------------------------------------------------------
# The search


def chain_start(problem: Problem, order: Sequence[str] | None = None) -> Layout:
    """A closed chain laid out in proportion to offered work: the categories, in `order`,
    take lengths of a line of n windows in proportion to their work, and each window serves
    the categories its stretch of the line crosses (the last window also the first
    category); then repaired to the constraints. Windows alternate between the waves."""
    codes = list(order or problem.codes)
    n = len(problem.windows)
    k = max(1, len(problem.waves))
    work = offered_work(problem.hall, problem.scenario)
    total = sum(work[c] for c in codes) or 1.0
    edges, at = [], 0.0
    for c in codes:
        edges.append((c, at, at + work[c] / total * n))
        at += work[c] / total * n
    profiles: list[set[str]] = []
    for i in range(n):
        crossed = sorted(
            (
                (min(b, i + 1) - max(a, i), c)
                for c, a, b in edges
                if min(b, i + 1) - max(a, i) > 1e-9
            ),
            reverse=True,
        )
        profiles.append({c for _, c in crossed[: problem.constraints.max_categories]})
    waves = [i % k for i in range(n)]
    return repair(problem, profiles, waves, codes)


def repair(
    problem: Problem, profiles: list[set[str]], waves: list[int], codes: Sequence[str]
) -> Layout:
    """Make a rough layout keep the constraints where it can: every category on a window of
    every wave, every window within the number of categories allowed."""
    c = problem.constraints
    n = len(profiles)
    k = max(1, len(problem.waves))
    chain = list(codes)
    for code in chain:
        for wave in range(k) if problem.waves else [0]:
            if any(code in profiles[i] and waves[i] == wave for i in range(n)):
                continue
            members = [i for i in range(n) if waves[i] == wave] if problem.waves else list(range(n))
            roomy = [i for i in members if len(profiles[i]) < c.max_categories]
            if roomy:
                profiles[min(roomy, key=lambda i: len(profiles[i]))].add(code)
                continue
            # replace a category that other windows of this wave also serve
            for i in members:
                spare = [
                    x
                    for x in sorted(profiles[i])
                    if sum(x in profiles[j] and waves[j] == wave for j in members) > 1
                ]
                if spare:
                    profiles[i].discard(spare[0])
                    profiles[i].add(code)
                    break
    for i in range(n):
        j = 0
        while len(profiles[i]) < c.min_categories and j < len(chain):
            # the next category in the chain after the window's own
            nxt = (
                chain[(chain.index(max(profiles[i], key=chain.index)) + 1 + j) % len(chain)]
                if profiles[i]
                else chain[j]
            )
            profiles[i].add(nxt)
            j += 1
    return Layout(profiles=tuple(frozenset(p) for p in profiles), waves=tuple(waves))


def neighbours(
    problem: Problem, layout: Layout, pressure: dict[str, float], rng: random.Random
) -> list[Layout]:
    """Every layout one move away, most promising first: add a category to a window, drop
    one, swap one for another, or swap two windows' break waves. `pressure` is each
    category's mean wait over its target in the last evaluation."""
    c = problem.constraints
    codes = problem.codes
    moves: list[tuple[float, Layout]] = []

    def put(priority: float, profiles: list[frozenset[str]], waves: tuple[int, ...]) -> None:
        moves.append((priority + rng.random() * 0.3, Layout(tuple(profiles), waves)))

    for i, p in enumerate(layout.profiles):
        others = [x for x in codes if x not in p]
        for new in others:
            if len(p) < c.max_categories:
                profiles = list(layout.profiles)
                profiles[i] = p | {new}
                put(pressure[new] + 0.2, profiles, layout.waves)
            for old in sorted(p):  # sorted: a set's order changes with the hash seed
                profiles = list(layout.profiles)
                profiles[i] = (p - {old}) | {new}
                put(pressure[new] - pressure[old], profiles, layout.waves)
        if len(p) > c.min_categories:
            for old in sorted(p):
                profiles = list(layout.profiles)
                profiles[i] = p - {old}
                put(-pressure[old] - 0.5, profiles, layout.waves)
    if len(problem.waves) > 1:
        for i in range(len(layout.waves)):
            for j in range(i + 1, len(layout.waves)):
                if layout.waves[i] != layout.waves[j] and layout.profiles[i] != layout.profiles[j]:
                    waves = list(layout.waves)
                    waves[i], waves[j] = waves[j], waves[i]
                    put(-0.3, list(layout.profiles), tuple(waves))
    moves.sort(key=lambda m: -m[0])
    return [m[1] for m in moves]


@dataclass
class Search:
    best: Layout
    best_score: float
    best_figures: list[Figures]
    start: Layout
    start_score: float
    evaluated: int = 0
    refused: int = 0
    raced_out: int = 0  # dropped after the first half of the seeds
    climbs: int = 1
    seconds: float = 0.0
    stopped: str = ""
    history: list[float] = field(default_factory=list)


def pressure_of(figures: Sequence[Figures], problem: Problem) -> dict[str, float]:
    out = {}
    for code in problem.codes:
        target = float(problem.hall.categories[code].target_wait_minutes)
        waits = [f.by_category[code][0] for f in figures if code in f.by_category]
        out[code] = (statistics.fmean(waits) if waits else 0.0) / max(1.0, target)
    return out


def search(
    problem: Problem,
    evaluator: Evaluator,
    seeds: Sequence[int],
    *,
    max_evaluations: int = 240,
    budget_seconds: float = 90.0,
    batch: int = 4,
    race_margin: float | None = 0.03,
    rng_seed: int = 17,
    start: Layout | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Search:
    """Hill climb with restarts over layouts, every candidate on the same `seeds`."""
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    seen: dict[object, float] = {}
    initial = start or chain_start(problem)
    problems = violations(problem, initial)
    if problems:
        raise Refused(
            "the designer's starting layout breaks the constraints: " + "; ".join(problems)
        )

    def evaluate(layouts: list[Layout]) -> list[tuple[float, list[Figures]]]:
        results = evaluator.run(layouts, seeds)
        out = []
        for layout, figs in zip(layouts, results, strict=True):
            value = objective(problem, layout, figs)
            seen[layout.key()] = value
            out.append((value, figs))
        return out

    half = len(seeds) // 2 if race_margin is not None and len(seeds) >= 2 else 0

    def race(
        layouts: list[Layout], incumbent: Layout, held: list[Figures]
    ) -> list[tuple[float, list[Figures]]]:
        """Racing: every layout first on the first half of the seeds; only those within
        `race_margin` (relative) of the incumbent there go on to the other half."""
        if not half:
            return evaluate(layouts)
        first = evaluator.run(layouts, seeds[:half])
        bar = objective(problem, incumbent, held[:half]) * (1 + (race_margin or 0.0))
        out: list[tuple[float, list[Figures]]] = [(math.inf, figs) for figs in first]
        going = [i for i, figs in enumerate(first) if objective(problem, layouts[i], figs) <= bar]
        for i in set(range(len(layouts))) - set(going):
            seen[layouts[i].key()] = math.inf
            result.raced_out += 1
        if going:
            rest = evaluator.run([layouts[i] for i in going], seeds[half:])
            for i, more in zip(going, rest, strict=True):
                figs = first[i] + more
                value = objective(problem, layouts[i], figs)
                seen[layouts[i].key()] = value
                out[i] = (value, figs)
        return out

    ((current_score, current_figs),) = evaluate([initial])
    result = Search(
        best=initial,
        best_score=current_score,
        best_figures=current_figs,
        start=initial,
        start_score=current_score,
        evaluated=1,
    )
    current = initial
    result.history.append(current_score)

    def out_of_budget() -> str:
        if result.evaluated >= max_evaluations:
            return f"after {result.evaluated} layouts (the evaluation budget)"
        if time.perf_counter() - started >= budget_seconds:
            return f"after {budget_seconds:.0f} s (the time budget)"
        return ""

    while not (stop := out_of_budget()):
        pressure = pressure_of(current_figs, problem)
        candidates = [n for n in neighbours(problem, current, pressure, rng) if n.key() not in seen]
        improved = False
        tried = 0
        while candidates and not out_of_budget():
            chunk: list[Layout] = []
            while candidates and len(chunk) < batch:
                cand = candidates.pop(0)
                if cand.key() in seen:
                    continue
                if violations(problem, cand):
                    seen[cand.key()] = math.inf
                    result.refused += 1
                    continue
                chunk.append(cand)
            if not chunk:
                continue
            chunk = chunk[: max(1, min(batch, max_evaluations - result.evaluated))]
            scored = race(chunk, current, current_figs)
            result.evaluated += len(chunk)
            tried += len(chunk)
            value, figs = min(scored, key=lambda s: s[0])
            if value < current_score - 1e-9:
                current = chunk[[s[0] for s in scored].index(value)]
                current_score, current_figs = value, figs
                result.history.append(value)
                if on_step:
                    on_step(f"  {result.evaluated:4d} layouts: score {value:.2f}")
                improved = True
                break
        if current_score < result.best_score:
            result.best, result.best_score, result.best_figures = (
                current,
                current_score,
                current_figs,
            )
        if not improved:
            if stop := out_of_budget():
                break
            # a local optimum: restart from a chain in another category order
            fresh = None
            for _ in range(20):
                order = list(problem.codes)
                rng.shuffle(order)
                chain = chain_start(problem, order)
                if chain.key() not in seen and not violations(problem, chain):
                    fresh = chain
                    break
            if fresh is None:
                result.stopped = "at a local optimum (no new chain to restart from)"
                break
            ((current_score, current_figs),) = evaluate([fresh])
            result.evaluated += 1
            result.climbs += 1
            current = fresh
    result.stopped = result.stopped or stop
    result.seconds = time.perf_counter() - started
    return result


# ---------------------------------------------------------------------------
# Out-of-sample figures with confidence intervals


@dataclass(frozen=True)
class Evaluated:
    label: str
    figures: list[Figures]

    def overall(self, pick: Callable[[Figures], float]) -> Interval:
        return interval(pick(f) for f in self.figures)

    def category(self, code: str, index: int) -> Interval:
        return interval(f.by_category[code][index] for f in self.figures if code in f.by_category)


@dataclass
class Design:
    problem: Problem
    search: Search
    layout: Layout
    seats: list[Seat]
    search_seeds: list[int]
    test_seeds: list[int]
    today: Evaluated
    designed: Evaluated
    pooled: Evaluated  # pooled first-come, the designed breaks
    pooled_today: Evaluated  # pooled first-come, today's breaks
    seconds: float
    workers: int
    load: tuple[float, float, float]
    failures: list[str]  # constraints the recommendation misses out of sample


def design(
    problem: Problem,
    *,
    search_seeds: Sequence[int] = (1, 2, 3, 4),
    test_seeds: Sequence[int] = tuple(range(1001, 1011)),
    workers: int | None = None,
    max_evaluations: int = 240,
    budget_seconds: float = 90.0,
    start: Layout | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Design:
    """Search a layout on `search_seeds`, then evaluate it, today's layout and the pooled
    references on `test_seeds` (which the search never saw)."""
    if set(search_seeds) & set(test_seeds):
        raise ValueError("the test seeds must be other than the search seeds")
    started = time.perf_counter()
    load_before = os.getloadavg()
    n_workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    with Evaluator(problem, n_workers) as evaluator:
        found = search(
            problem,
            evaluator,
            list(search_seeds),
            max_evaluations=max_evaluations,
            budget_seconds=budget_seconds,
            start=start,
            on_step=on_step,
        )
        layout = found.best
        designed = evaluator.run([layout], list(test_seeds))[0]
        today_hall = problem.hall.with_policy(problem.hall.rules.policy)
        today_scenario = replace(problem.scenario, estimate=False)
        others = _run_reference(
            [
                (today_hall, today_scenario, None),
                (
                    pooled_first_come(build(problem, layout)[0]),
                    build(problem, layout)[1],
                    problem.hall,
                ),
                (pooled_first_come(today_hall), today_scenario, problem.hall),
            ],
            list(test_seeds),
            evaluator,
        )
    seats = assign_staff(problem, layout) or []
    designed_eval = Evaluated("recommended", designed)
    failures = []
    for code in problem.codes:
        share = designed_eval.category(code, 1).mean
        if share < problem.constraints.min_within_target:
            failures.append(
                f"{code} {problem.hall.categories[code].name}: {share:.0%} within target,"
                f" below the minimum {problem.constraints.min_within_target:.0%}"
            )
    load_after = os.getloadavg()
    return Design(
        problem=problem,
        search=found,
        layout=layout,
        seats=seats,
        search_seeds=list(search_seeds),
        test_seeds=list(test_seeds),
        today=Evaluated("today", others[0]),
        designed=designed_eval,
        pooled=Evaluated("pooled first-come, same breaks", others[1]),
        pooled_today=Evaluated("pooled first-come, today's breaks", others[2]),
        seconds=time.perf_counter() - started,
        workers=n_workers,
        load=(
            max(load_before[0], load_after[0]),
            max(load_before[1], load_after[1]),
            max(load_before[2], load_after[2]),
        ),
        failures=failures,
    )


def _ref_task(args: tuple[Hall, Scenario, Hall | None, int]) -> Figures:
    hall, scenario, targets, seed = args
    return run_day(hall, scenario, seed, targets)


def _run_reference(
    cases: list[tuple[Hall, Scenario, Hall | None]], seeds: list[int], evaluator: Evaluator
) -> list[list[Figures]]:
    tasks = [(h, s, t, seed) for h, s, t in cases for seed in seeds]
    evaluator.days += len(tasks)
    if evaluator.pool is None:
        flat = [_ref_task(t) for t in tasks]
    else:
        flat = list(evaluator.pool.map(_ref_task, tasks))
    k = len(seeds)
    return [flat[i * k : (i + 1) * k] for i in range(len(cases))]


# ---------------------------------------------------------------------------
# The report


def describe_layout(problem: Problem, layout: Layout) -> str:
    hall, _ = build(problem, layout)
    waves = dict(zip((w.number for w in problem.windows), layout.waves, strict=True))
    parts = []
    for w in hall.windows:
        wave = f" (wave {waves[w.number] + 1})" if problem.waves else ""
        parts.append(f"{w.number}:{'/'.join(w.profile)}{wave}")
    return ", ".join(parts)


def format_design(d: Design) -> str:
    p = d.problem
    names = {c: p.hall.categories[c].name for c in p.codes}
    hall, _ = build(p, d.layout)
    lines = ["Recommended window profiles (each window favours the first category listed):"]
    waves = dict(zip((w.number for w in p.windows), d.layout.waves, strict=True))
    for w in hall.windows:
        wave = f"  break wave {waves[w.number] + 1}" if p.waves else ""
        cats = " / ".join(f"{c} {names[c]}" for c in w.profile)
        lines.append(f"  window {w.number:>2} {w.name}: {cats}{wave}")
    lines.append(
        f"  {d.layout.skills} skills on {len(p.windows)} windows (today: {_today_skills(p)})"
    )
    if p.waves:
        lines.append("")
        lines.append("Break waves:")
        for k, plan in enumerate(p.waves):
            members = [w.number for w in p.windows if waves[w.number] == k]
            open_ = [w for w in hall.windows if waves[w.number] != k]
            per = ", ".join(f"{c} {sum(c in w.profile for w in open_)}" for c in p.codes)
            lines.append(
                f"  wave {k + 1}: {_clock(p, plan.start)}–{_clock(p, plan.start + plan.minutes)},"
                f" windows {', '.join(map(str, members))}; windows open per category: {per}"
            )
    lines.append("")
    lines.append("Training list (who sits where, and what each must learn):")
    learning = 0
    for seat in d.seats:
        what = ", ".join(f"{c} {names[c]}" for c in seat.learns) or "nothing new"
        learning += len(seat.learns)
        lines.append(f"  {seat.staff.name} → window {seat.window.number}: learns {what}")
    lines.append(f"  {learning} categories to learn in all")
    lines.append("")
    lines.append(
        f"Expected figures on {len(d.test_seeds)} days the search never saw (seeds"
        f" {d.test_seeds[0]}–{d.test_seeds[-1]}), mean ± 95% confidence half-width:"
    )
    cols = [d.today, d.designed, d.pooled]
    head = f"{'':<26}" + "".join(f"{c.label[:30]:>32}" for c in cols)
    lines.append(head)

    def row(label: str, cells: list[str]) -> None:
        lines.append(f"{label:<26}" + "".join(f"{c:>32}" for c in cells))

    row("mean wait (min)", [c.overall(lambda f: f.mean).show() for c in cols])
    row("p90 wait (min)", [c.overall(lambda f: f.p90).show() for c in cols])
    row("longest wait (min)", [c.overall(lambda f: f.longest).show(0) for c in cols])
    row("within target", [c.overall(lambda f: f.within).show(percent=True) for c in cols])
    for code in p.codes:
        row(
            f"  {code} within target",
            [c.category(code, 1).show(percent=True) for c in cols],
        )
    diff = interval(
        a.mean - b.mean for a, b in zip(d.designed.figures, d.today.figures, strict=True)
    )
    ratio = interval(
        a.mean / b.mean for a, b in zip(d.designed.figures, d.pooled.figures, strict=True)
    )
    lines.append(
        f"recommended − today, same citizens: {diff.show()} min mean wait;"
        f" recommended / pooled first-come (same breaks): {ratio.show(2)}"
    )
    lines.append(
        "today / pooled first-come on today's breaks: "
        + interval(
            a.mean / b.mean for a, b in zip(d.today.figures, d.pooled_today.figures, strict=True)
        ).show(2)
    )
    if d.failures:
        lines.append("NOT MET out of sample: " + "; ".join(d.failures))
    else:
        lines.append(
            f"every category at least {p.constraints.min_within_target:.0%} within target"
            " out of sample"
        )
    s = d.search
    lines.append("")
    lines.append(
        f"Search: {s.evaluated} layouts simulated on seeds {', '.join(map(str, d.search_seeds))}"
        f" ({s.refused} refused unsimulated as starving or breaking a constraint,"
        f" {s.raced_out} dropped after the first half of the seeds), {s.climbs}"
        f" climb(s), stopped {s.stopped}; score {s.start_score:.2f} → {s.best_score:.2f}"
    )
    lines.append(
        f"Ran in {d.seconds:.1f} s with {d.workers} worker process(es); load average"
        f" {d.load[0]:.2f} (1 min) on {os.cpu_count()} cores"
    )
    return "\n".join(lines)


def _today_skills(p: Problem) -> int:
    return sum(len(w.profile) if w.profile else len(p.codes) for w in p.windows)


# ---------------------------------------------------------------------------
# Reading a layout someone proposes, writing the recommended one


def parse_layout(problem: Problem, text: str) -> Layout:
    """`1:SB/CJ@1, 2:SW/BT@2, …`: every staffed window's categories and (with @) its break
    wave, 1-based; windows without @ alternate between the waves."""
    numbers = {w.number: i for i, w in enumerate(problem.windows)}
    profiles: list[frozenset[str] | None] = [None] * len(problem.windows)
    waves = [i % max(1, len(problem.waves)) for i in range(len(problem.windows))]
    for part in filter(None, (x.strip() for x in text.split(","))):
        head, _, rest = part.partition(":")
        cats, _, wave = rest.partition("@")
        try:
            number = int(head)
        except ValueError as exc:
            raise Refused(f"{part!r}: write a window as NUMBER:CAT/CAT[@WAVE]") from exc
        if number not in numbers:
            raise Refused(f"window {number} is not one of the staffed windows")
        codes = frozenset(c.strip() for c in cats.split("/") if c.strip())
        unknown = sorted(codes - set(problem.hall.categories))
        if unknown:
            raise Refused(f"window {number}: unknown categories {unknown}")
        profiles[numbers[number]] = codes
        if wave:
            if not wave.isdigit() or not 1 <= int(wave) <= len(problem.waves):
                raise Refused(f"window {number}: break wave must be 1–{len(problem.waves)}")
            waves[numbers[number]] = int(wave) - 1
    missing = [w.number for w, p in zip(problem.windows, profiles, strict=True) if p is None]
    if missing:
        raise Refused(f"the layout gives no categories to windows {missing}")
    return Layout(tuple(p or frozenset() for p in profiles), tuple(waves))


def layout_toml(d: Design) -> dict[str, Any]:
    """The recommendation as hall TOML [[windows]] and scenario [[breaks]] tables."""
    hall, scenario = build(d.problem, d.layout)
    return {
        "windows": [
            {"number": w.number, "name": w.name, "zone": w.zone, "profile": list(w.profile)}
            for w in hall.windows
        ],
        "breaks": [
            {
                "windows": list(b.windows),
                "start": _clock(d.problem, b.start),
                "minutes": b.minutes,
            }
            for b in scenario.breaks
        ],
    }


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    import tomli_w

    from queue_server.sim.scenario import demo_day_path

    parser = argparse.ArgumentParser(
        prog="queue-sim design",
        description="Recommend window profiles, break waves and a training list for a hall's"
        " demand, and compare them with today's layout on days the search never saw.",
    )
    parser.add_argument("scenario", nargs="?", type=Path, default=demo_day_path())
    parser.add_argument("--staff", type=int, help="staff on duty (default: [design] or windows)")
    parser.add_argument(
        "--categories", help="fewest-most categories per window, e.g. 2-3 (default: [design])"
    )
    parser.add_argument("--min-within-target", type=float, help="e.g. 0.8 (default: [design])")
    parser.add_argument("--waves", help="break waves' starts, e.g. 11:30,12:30,13:30")
    parser.add_argument("--break-minutes", type=float, help="each break's length")
    parser.add_argument(
        "--layout",
        help="evaluate this layout instead of searching: 1:SB/CJ@1,2:SW/BT@2,… (@ = break wave)",
    )
    parser.add_argument("--search-seeds", type=int, default=4, help="seeds 1..N (default 4)")
    parser.add_argument(
        "--test-seeds", type=int, default=10, help="seeds 1001..1000+N, never searched"
    )
    parser.add_argument("--max-evaluations", type=int, default=240)
    parser.add_argument("--budget-seconds", type=float, default=90.0)
    parser.add_argument("--workers", type=int, default=None, help="processes (default 2)")
    parser.add_argument("--write", type=Path, help="write the recommendation as TOML here")
    parser.add_argument("--quiet", action="store_true", help="no search progress")
    args = parser.parse_args(argv)
    try:
        categories = None
        if args.categories:
            low, _, high = args.categories.partition("-")
            try:
                categories = (int(low), int(high or low))
            except ValueError as exc:
                raise ConfigError("--categories takes FEWEST-MOST, e.g. 2-3") from exc
        problem = load_problem(
            args.scenario,
            staff=args.staff,
            categories=categories,
            min_within_target=args.min_within_target,
            waves=args.waves.split(",") if args.waves else None,
            break_minutes=args.break_minutes,
        )
        if args.search_seeds < 1 or args.test_seeds < 2:
            raise ConfigError("--search-seeds must be ≥ 1 and --test-seeds ≥ 2")
        start = parse_layout(problem, args.layout) if args.layout else None
        if start is not None:
            broken = violations(problem, start)
            if broken:
                raise Refused("that layout is refused: " + "; ".join(broken))

        def progress(line: str) -> None:
            if not args.quiet:
                print(line, file=sys.stderr)

        result = design(
            problem,
            search_seeds=tuple(range(1, args.search_seeds + 1)),
            test_seeds=tuple(range(1001, 1001 + args.test_seeds)),
            workers=args.workers,
            max_evaluations=1 if start is not None else args.max_evaluations,
            budget_seconds=args.budget_seconds,
            start=start,
            on_step=progress,
        )
    except (ConfigError, Refused, ValueError) as exc:
        print(f"queue-sim design: {exc}", file=sys.stderr)
        return 2
    print(format_design(result))
    if args.write:
        args.write.write_text(tomli_w.dumps(layout_toml(result)), encoding="utf-8")
        print(f"written to {args.write}")
    return 0 if not result.failures else 1
