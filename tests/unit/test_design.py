"""The window-profile designer (issue 17): it finds the optimum where enumeration knows it,
its output keeps its constraints, it refuses layouts that starve a category, and the pooled
reference really is first come, first served."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from queue_protocol.messages import Policy, Priority
from queue_server.domain.model import Category, HallRules, Window
from queue_server.sim.design import (
    Constraints,
    Evaluator,
    Layout,
    Problem,
    Refused,
    StaffMember,
    Wave,
    assign_staff,
    build,
    hungarian,
    load_problem,
    main,
    objective,
    parse_layout,
    search,
    violations,
)
from queue_server.sim.engine import simulate
from queue_server.sim.layouts import pooled_first_come
from queue_server.sim.report import interval
from queue_server.sim.scenario import Demand, Hall, Scenario, demo_day_path, load_scenario

CODES = ("A", "B", "C", "D")


def small_problem(
    windows: int,
    hourly: dict[str, float],
    service: dict[str, float],
    constraints: Constraints,
    waves: tuple[Wave, ...] = (),
    trained: tuple[frozenset[str], ...] | None = None,
    hours: float = 2.0,
) -> Problem:
    codes = tuple(hourly)
    categories = {
        c: Category(code=c, name=f"类{c}", prefix=c, target_wait_minutes=10 + 5 * i)
        for i, c in enumerate(codes)
    }
    hall = Hall(
        rules=HallRules(name="small", policy=Policy.WEIGHTED_WAIT),
        categories=categories,
        windows=tuple(Window(number=i + 1, name=f"{i + 1}号") for i in range(windows)),
    )
    scenario = Scenario(
        name="small",
        demands=tuple(
            Demand(c, (hourly[c],), service[c], service_cv=0.5) for c in codes if hourly[c]
        ),
        start=datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
        last_ticket=hours * 60,
        estimate=False,
    )
    staff = tuple(
        StaffMember(f"员工{i + 1}", trained[i] if trained else frozenset(codes))
        for i in range(windows)
    )
    return Problem(
        hall=hall,
        scenario=scenario,
        windows=hall.windows,
        staff=staff,
        waves=waves,
        constraints=constraints,
    )


def every_layout(problem: Problem) -> list[Layout]:
    c = problem.constraints
    subsets = [
        frozenset(s)
        for k in range(c.min_categories, c.max_categories + 1)
        for s in itertools.combinations(problem.codes, k)
    ]
    n = len(problem.windows)
    wave_choices = (
        list(itertools.product(range(len(problem.waves)), repeat=n))
        if problem.waves
        else [(0,) * n]
    )
    return [
        Layout(tuple(profiles), tuple(waves))
        for profiles in itertools.product(subsets, repeat=n)
        for waves in wave_choices
    ]


def test_the_search_finds_the_optimum_that_enumeration_finds() -> None:
    """Three windows, three categories (one heavy, two light), 1–2 categories a window: of
    the 216 layouts the enumeration simulates all the feasible ones on the same seeds; the
    hill climb reaches the same best score having simulated fewer than half of them."""
    problem = small_problem(
        3,
        hourly={"A": 22.0, "B": 6.0, "C": 6.0},
        service={"A": 4.0, "B": 5.0, "C": 6.0},
        constraints=Constraints(min_categories=1, max_categories=2, min_within_target=0.8),
    )
    seeds = [1, 2, 3]
    feasible = [lay for lay in every_layout(problem) if not violations(problem, lay)]
    assert 30 < len(feasible) < 216  # some layouts starve a category and are not simulated
    with Evaluator(problem, workers=1) as evaluator:
        scores = [
            objective(problem, lay, figs)
            for lay, figs in zip(feasible, evaluator.run(feasible, seeds), strict=True)
        ]
        best = min(scores)
        found = search(
            problem, evaluator, seeds, max_evaluations=len(feasible) // 2, budget_seconds=600
        )
    assert found.evaluated < len(feasible) // 2 + 1
    assert found.best_score == pytest.approx(best, abs=1e-9)
    # the optimum is not the starting chain: the search had to move to find it
    assert found.start_score > best
    assert not violations(problem, found.best)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(
    windows=st.integers(2, 5),
    ncodes=st.integers(2, 4),
    low=st.integers(1, 2),
    extra=st.integers(0, 1),
    nwaves=st.integers(0, 2),
    rates=st.lists(st.floats(2.0, 12.0), min_size=4, max_size=4),
    trained_bits=st.lists(st.integers(0, 15), min_size=5, max_size=5),
    limit=st.sampled_from([None, 1, 2]),
)
def test_every_output_keeps_the_constraints(
    windows: int,
    ncodes: int,
    low: int,
    extra: int,
    nwaves: int,
    rates: list[float],
    trained_bits: list[int],
    limit: int | None,
) -> None:
    """Whatever the hall, the recommended layout gives each window between the fewest and
    the most categories, keeps every category open in every break wave, and seats every
    staff member at one window learning exactly what the window serves beyond their
    training (and no more than the limit), or the designer refuses with a reason."""
    codes = CODES[:ncodes]
    high = min(low + extra, ncodes)
    low = min(low, high)
    waves = tuple(Wave(40.0 + 30 * k, 25.0) for k in range(nwaves))
    per_wave = windows // max(1, nwaves) if nwaves > 1 else windows
    # a problem that has an answer: every wave's open windows can cover every category
    assume(nwaves == 0 or (windows - per_wave - (windows % max(1, nwaves) > 0)) * high >= ncodes)
    assume(windows * high >= ncodes)
    trained = tuple(
        frozenset(c for j, c in enumerate(codes) if trained_bits[i] >> j & 1)
        for i in range(windows)
    )
    problem = small_problem(
        windows,
        hourly=dict(zip(codes, rates, strict=False)),
        service=dict.fromkeys(codes, 3.0),
        constraints=Constraints(low, high, 0.5, limit),
        waves=waves,
        trained=trained,
        hours=1.5,
    )
    with Evaluator(problem, workers=1) as evaluator:
        try:
            found = search(problem, evaluator, [1], max_evaluations=6, budget_seconds=60)
        except Refused as exc:
            # only a training limit the staff cannot meet may make the start refused
            assert limit is not None and "learning at most" in str(exc)
            event("refused: the training limit")
            return
    event(f"designed after {found.evaluated} layouts")
    layout = found.best
    for profile in layout.profiles:
        assert low <= len(profile) <= high and profile <= set(codes)
    for k in range(nwaves):
        for code in codes:
            assert any(code in p and layout.waves[i] != k for i, p in enumerate(layout.profiles)), (
                f"{code} closed in wave {k + 1}"
            )
    seats = assign_staff(problem, layout)
    assert seats is not None
    assert sorted(s.window.number for s in seats) == [w.number for w in problem.windows]
    assert len({s.staff.name for s in seats}) == windows
    for seat in seats:
        profile = layout.profiles[seat.window.number - 1]
        assert set(seat.learns) == profile - seat.staff.trained
        assert limit is None or len(seat.learns) <= limit


def test_a_layout_that_starves_a_category_is_refused_with_the_reason() -> None:
    """No window for a category, a category closed during a break wave, and too little
    capacity for a group of categories are each refused, naming the category."""
    problem = small_problem(
        3,
        hourly={"A": 30.0, "B": 6.0, "C": 6.0},
        service={"A": 5.0, "B": 5.0, "C": 5.0},
        constraints=Constraints(1, 3, 0.8),
        waves=(Wave(30.0, 30.0), Wave(60.0, 30.0)),
    )
    none_for_c = parse_layout(problem, "1:A/B@1, 2:A/B@2, 3:A@1")
    assert any("no window serves C" in v for v in violations(problem, none_for_c))
    closed = parse_layout(problem, "1:A/C@1, 2:A/B@2, 3:A/B@1")
    assert any(
        "C 类C has no open window during break wave 1" in v for v in violations(problem, closed)
    )
    # A brings 150 window-minutes of work an hour: two windows cannot carry it
    thin = parse_layout(problem, "1:A/B/C@1, 2:A/B/C@2, 3:B/C@1")
    assert any("A would starve" in v for v in violations(problem, thin))
    with pytest.raises(Refused, match="window 9 is not one of the staffed windows"):
        parse_layout(problem, "9:A")


def test_hungarian_assignment_is_the_cheapest_by_enumeration() -> None:
    """The staff seating is the minimum-cost assignment (checked against every permutation)."""
    cost = [[4.0, 1, 3, 2], [2, 0, 5, 3], [3, 2, 2, 9], [1, 4, 7, 2]]
    seats = hungarian(cost)
    best = min(sum(cost[i][p[i]] for i in range(4)) for p in itertools.permutations(range(4)))
    assert sorted(seats) == [0, 1, 2, 3]
    assert sum(cost[i][seats[i]] for i in range(4)) == best


def test_pooled_first_come_calls_normal_tickets_in_issue_order() -> None:
    """The pooled reference is first come, first served across categories: no normal ticket
    is first called before one issued earlier (of any category)."""
    scenario, hall = load_scenario(demo_day_path())
    pooled, same = pooled_first_come(hall), replace(scenario, estimate=False, last_ticket=240.0)
    result = simulate(pooled, same, seed=4)
    normal = sorted(
        (t for t in result.tickets if t.priority is Priority.NORMAL), key=lambda t: t.issued
    )
    assert len(normal) > 500 and len({t.category for t in normal}) == 7
    calls = [t.first_call for t in normal]
    assert all(c is not None for c in calls)
    assert all(a <= b for a, b in itertools.pairwise(calls))  # type: ignore[operator]


def test_confidence_interval_uses_students_t() -> None:
    """Three replications 1, 2, 3: mean 2, half-width t(0.975, 2) × 1 / √3 = 2.48."""
    ci = interval([1.0, 2.0, 3.0])
    assert ci.mean == 2.0 and ci.half == pytest.approx(4.303 / 3**0.5)


def test_the_demo_problem_reads_todays_staff_and_breaks() -> None:
    """Without a [design] table the demo hall's clerks know today's profiles (全科: all) and
    the break plan is the scenario's two lunch waves."""
    problem = load_problem(demo_day_path())
    assert len(problem.windows) == len(problem.staff) == 15
    assert problem.staff[0].trained == set(problem.codes)  # window 1 is 全科 today
    assert [w.minutes for w in problem.waves] == [60.0, 60.0]
    three = load_problem(demo_day_path(), waves=["11:30", "12:30", "13:30"])
    assert [w.start for w in three.waves] == [180.0, 240.0, 300.0]
    hall, scenario = build(
        three, parse_layout(three, ",".join(f"{n}:SB/CJ/SW" for n in range(1, 16)))
    )
    assert {w.profile for w in hall.windows} == {("SW", "SB", "CJ")}
    assert [len(b.windows) for b in scenario.breaks] == [5, 5, 5]


def small_scenario(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "small_day.toml"
    path.write_text(
        '[scenario]\nname = "small"\nhall = "demo"\n'
        'last_ticket = "10:00"\n'
        + "".join(
            f'[[arrivals]]\ncategory = "{c}"\nhourly = [{r}]\nservice_minutes = 3\n'
            for c, r in (
                ("QY", 2),
                ("GC", 2),
                ("SW", 20),
                ("BT", 8),
                ("SB", 30),
                ("BB", 2),
                ("CJ", 40),
            )
        )
        + '[[breaks]]\nwindows = [1, 3, 5, 7, 9, 11, 13, 15]\nstart = "09:00"\nminutes = 20\n'
        + '[[breaks]]\nwindows = [2, 4, 6, 8, 10, 12, 14]\nstart = "09:20"\nminutes = 20\n'
        + extra,
        encoding="utf-8",
    )
    return path


def test_cli_designs_a_hall_and_writes_the_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`queue-sim design` prints the profiles, the waves, the training list and the figures
    with confidence intervals next to today's layout, and writes the layout as TOML."""
    out_file = tmp_path / "layout.toml"
    args = [str(small_scenario(tmp_path)), "--max-evaluations", "4", "--search-seeds", "1"]
    args += ["--test-seeds", "2", "--workers", "1", "--write", str(out_file), "--quiet"]
    code = main(args)
    out = capsys.readouterr().out
    assert code in (0, 1)
    for text in ("Recommended window profiles", "Break waves:", "Training list", "±", "today"):
        assert text in out
    written = out_file.read_text(encoding="utf-8")
    assert written.count("[[windows]]") == 15 and written.count("[[breaks]]") == 2


def test_cli_refuses_a_starving_layout_and_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A proposed layout that leaves a category without a window, or three staff for seven
    categories at two a window, is refused with the reason and exit code 2."""
    scenario = str(small_scenario(tmp_path))
    layout = ",".join(f"{n}:SB/CJ" for n in range(1, 16))
    assert main([scenario, "--layout", layout, "--workers", "1"]) == 2
    captured = capsys.readouterr()
    assert "refused" in captured.err and "no window serves QY 企业开办" in captured.err
    assert captured.out == ""
    assert main([scenario, "--staff", "3", "--workers", "1"]) == 2
    assert "starting layout breaks the constraints" in capsys.readouterr().err
    assert main([scenario, "--categories", "x"]) == 2
    assert "FEWEST-MOST" in capsys.readouterr().err
    assert main([scenario, "--waves", "noon"]) == 2
    assert "not a time" in capsys.readouterr().err


_SEARCH_ONCE = """
import random
from dataclasses import replace
from queue_server.sim.design import Evaluator, chain_start, load_problem, neighbours, search
from queue_server.sim.scenario import demo_day_path
problem = load_problem(demo_day_path())
problem = replace(problem, scenario=replace(problem.scenario, last_ticket=150.0))
start = chain_start(problem)
pressure = {c: 1.0 for c in problem.codes}
print([n.key() for n in neighbours(problem, start, pressure, random.Random(1))])
with Evaluator(problem, workers=1) as evaluator:
    found = search(problem, evaluator, [1], max_evaluations=16, budget_seconds=600)
print(found.history, found.best.key())
"""


def test_the_search_is_the_same_whatever_the_hash_seed() -> None:
    """Two runs with different string-hash seeds (so sets iterate in other orders) try the
    same layouts and end at the same one: the figures in docs/scheduling.md reproduce."""
    outputs = []
    for hash_seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", _SEARCH_ONCE],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == outputs[2] and "[" in outputs[0]
