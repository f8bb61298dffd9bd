"""The simulator against queueing theory (SPEC §8): Erlang C for M/M/c, Cobham for priorities.

One category, c windows, Poisson arrivals (λ = 1/min), exponential service (mean 8 min),
weighted_wait with a cap no ticket reaches: that is strict priority, then first come.

Each case runs every seed and its antithetic mirror (every uniform u replaced by 1 - u)
after a warm-up from an empty hall, cuts each run's customers into BATCHES consecutive
batches, and averages batch b of a run with batch b of its mirror: those pair means are the
replications of the confidence interval (batch means; at these loads a batch of several
thousand customers is much longer than the queue's memory, so neighbouring batches are
nearly independent, and pairing a run with its mirror keeps the antithetic variance
reduction in the interval instead of counting the pair as two independent draws).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime

from queue_protocol.messages import Policy, Priority
from queue_server.domain.model import Category, HallRules, Window
from queue_server.sim.engine import simulate
from queue_server.sim.report import Interval, interval
from queue_server.sim.scenario import Demand, Hall, Scenario

LAMBDA = 1.0  # arrivals per minute
MEAN_SERVICE = 8.0  # minutes
WARM_UP = 5_000  # customers discarded at the start of every run
BATCHES = 6  # batches per run for the confidence interval


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c with offered load a = λ/μ (a < c)."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def mmc_wait(c: int) -> float:
    mu = 1.0 / MEAN_SERVICE
    return erlang_c(c, LAMBDA / mu) / (c * mu - LAMBDA)


def cobham_waits(c: int, shares: list[float]) -> list[float]:
    """Mean wait per class, highest priority first, in non-preemptive priority M/M/c with
    equal service rates: W_k = W0 / ((1 - σ_{k-1})(1 - σ_k)), W0 = C(c, a) / (cμ)."""
    mu = 1.0 / MEAN_SERVICE
    w0 = erlang_c(c, LAMBDA / mu) / (c * mu)
    waits, sigma = [], 0.0
    for share in shares:
        before = sigma
        sigma += share * LAMBDA / (c * mu)
        waits.append(w0 / ((1 - before) * (1 - sigma)))
    return waits


def theory_hall(c: int) -> Hall:
    return Hall(
        rules=HallRules(name="M/M/c", policy=Policy.WEIGHTED_WAIT, max_wait_minutes=10**8),
        categories={"A": Category(code="A", name="A", prefix="A", service_minutes=8)},
        windows=tuple(Window(number=i + 1, name=str(i + 1), profile=("A",)) for i in range(c)),
    )


def theory_scenario(customers: int, green: float = 0.0) -> Scenario:
    demand = Demand("A", (LAMBDA * 60,), MEAN_SERVICE, service_cv=1.0, green_share=green)
    return Scenario(
        name="M/M/c",
        demands=(demand,),
        start=datetime(2026, 1, 5, tzinfo=UTC),
        last_ticket=customers / LAMBDA,
        distribution="exponential",
        estimate=False,
    )


def _batch_means(waits: list[float], batches: int) -> list[float]:
    size = len(waits) // batches
    return [statistics.fmean(waits[b * size : (b + 1) * size]) for b in range(batches)]


def run_pair(c: int, customers: int, seed: int, green: float) -> dict[str, list[float]]:
    """Batch means of one seed and its mirror, averaged pairwise, overall and per class."""
    per_class: dict[str, list[list[float]]] = {"all": [], "green": [], "normal": []}
    for mirror in (False, True):
        result = simulate(theory_hall(c), theory_scenario(customers, green), seed, None, mirror)
        kept = result.tickets[WARM_UP:]
        if any(t.wait is None for t in kept):
            raise AssertionError("a theory run left a ticket uncalled")
        per_class["all"].append(_batch_means([t.wait or 0.0 for t in kept], BATCHES))
        if green:
            for name, cls in (("green", Priority.GREEN), ("normal", Priority.NORMAL)):
                waits = [t.wait or 0.0 for t in kept if t.priority is cls]
                per_class[name].append(_batch_means(waits, BATCHES))
    return {
        k: [(a + b) / 2 for a, b in zip(v[0], v[1], strict=True)] for k, v in per_class.items() if v
    }


@dataclass(frozen=True)
class Check:
    label: str
    theory: float
    simulated: Interval

    @property
    def error(self) -> float:
        return self.simulated.mean / self.theory - 1.0

    @property
    def covered(self) -> bool:
        return self.simulated.low <= self.theory <= self.simulated.high


def mean_waits(c: int, customers: int, seeds: list[int], green: float = 0.0) -> dict[str, Interval]:
    """Mean wait overall and per class with its 95% confidence interval."""
    pooled: dict[str, list[float]] = {}
    for seed in seeds:
        for k, v in run_pair(c, customers, seed, green).items():
            pooled.setdefault(k, []).extend(v)
    return {k: interval(v) for k, v in pooled.items()}


# The cases the tests and docs/scheduling.md check: (c, customers per run, seeds)
MMC_CASES = ((9, 90_000, [1, 2]), (10, 75_000, [3]), (11, 60_000, [4, 6]))
COBHAM_CASE = (10, 60_000, [5], 0.3)


def checks() -> list[Check]:
    out = []
    for c, customers, seeds in MMC_CASES:
        out.append(Check(f"M/M/{c}, Erlang C", mmc_wait(c), mean_waits(c, customers, seeds)["all"]))
    c, customers, seeds, green = COBHAM_CASE
    got = mean_waits(c, customers, seeds, green)
    want = cobham_waits(c, [green, 1 - green])
    out.append(Check(f"M/M/{c}, green 30% (Cobham)", want[0], got["green"]))
    out.append(Check(f"M/M/{c}, normal 70% (Cobham)", want[1], got["normal"]))
    return out
