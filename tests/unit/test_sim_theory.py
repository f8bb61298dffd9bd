"""The simulator against queueing theory (SPEC §8): Erlang C for M/M/c, Cobham for priorities.

The runs, their sizes and the confidence intervals are in `queue_server.sim.theory` (the
same cases are reported in docs/scheduling.md). At c = 9 the load is 0.89 and the mean wait
of a run has a long memory, so the sizes (about 36 s of CPU in all) give a 95% confidence
half-width of roughly 5–8% of Wq: each check asserts the point within its band of the
formula, the formula inside the 95% interval, and the interval no wider than stated, so a
check cannot pass on a run too short to tell.
"""

from __future__ import annotations

import pytest

from queue_server.sim.engine import simulate
from queue_server.sim.scenario import demo_day_path, load_scenario
from queue_server.sim.theory import COBHAM_CASE, MMC_CASES, cobham_waits, mean_waits, mmc_wait


def test_erlang_c_gives_the_stated_waits() -> None:
    """The reference values: λ = 1/min, 8 min service, c = 9, 10, 11 → 5.23, 1.64, 0.65 min."""
    assert [round(mmc_wait(c), 2) for c in (9, 10, 11)] == [5.23, 1.64, 0.65]


@pytest.mark.parametrize(("c", "customers", "seeds"), MMC_CASES)
def test_mmc_mean_wait_is_within_5_percent_of_erlang_c(
    c: int, customers: int, seeds: list[int]
) -> None:
    """M/M/c under the real policy: the simulated mean wait is within 5% of Erlang C, Erlang
    C is inside its 95% confidence interval, and that interval is within ±10% of Wq."""
    simulated = mean_waits(c, customers, seeds)["all"]
    theory = mmc_wait(c)
    assert simulated.mean == pytest.approx(theory, rel=0.05)
    assert simulated.low <= theory <= simulated.high
    assert simulated.half < 0.10 * theory


def test_two_priority_classes_match_cobham() -> None:
    """Green channel (30%) ahead of normal tickets, c = 10: each class within 10% of Cobham,
    inside its 95% interval, and the interval within ±15% of the formula."""
    c, customers, seeds, green = COBHAM_CASE
    green_wait, normal_wait = cobham_waits(c, [green, 1 - green])
    simulated = mean_waits(c, customers, seeds, green=green)
    for name, theory in (("green", green_wait), ("normal", normal_wait)):
        got = simulated[name]
        assert got.mean == pytest.approx(theory, rel=0.10), name
        assert got.low <= theory <= got.high, name
        assert got.half < 0.15 * theory, name
    assert simulated["green"].mean < simulated["normal"].mean / 3


def test_a_seed_gives_the_same_day_and_another_seed_a_different_one() -> None:
    """The demo day is reproducible for a seed, and another seed gives other citizens."""
    scenario, hall = load_scenario(demo_day_path())
    first, again, other = (simulate(hall, scenario, s) for s in (7, 7, 8))
    assert first.tickets == again.tickets
    assert [w.busy for w in first.windows] == [w.busy for w in again.windows]
    assert first.tickets != other.tickets
    assert len(first.tickets) >= 2_000
