"""Times the window-profile designer on the demo hall: python -m bench.sim_design [--waves …].

Prints the designer's wall time with its defaults (240 layouts on 4 search seeds, 10 test
seeds, 2 worker processes), beside a reference measured in the same run: one demo day
simulated in this process (the designer's unit of work), and the ratio of the two; and the
load average before and after, since the machine is shared. Target (issue 17): under 2
minutes for the demo hall.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

from queue_server.sim.design import design, load_problem
from queue_server.sim.engine import simulate
from queue_server.sim.scenario import demo_day_path, load_scenario


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sim_design")
    parser.add_argument("--waves", help="break waves' starts, e.g. 11:30,12:30,13:30")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    scenario, hall = load_scenario(demo_day_path())
    quick = replace(scenario, estimate=False)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        simulate(hall, quick, seed=1)
        best = min(best, time.perf_counter() - started)
    problem = load_problem(demo_day_path(), waves=args.waves.split(",") if args.waves else None)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    result = design(problem, workers=args.workers)
    seconds = time.perf_counter() - started
    load_after = os.getloadavg()[0]
    mean = result.designed.overall(lambda f: f.mean)
    print(
        f"designer: {seconds:.1f} s for {result.search.evaluated} layouts × 4 search seeds"
        f" + 4 × 10 test days ({seconds / 120:.2f} of the 2-minute target); one demo day"
        f" {best:.3f} s in this process (reference, best of 3) = {seconds / best:.0f} days'"
        f" time; {result.workers} workers; load average {load_before:.2f} → {load_after:.2f}"
        f" on {os.cpu_count()} cores; recommended mean wait {mean.show()} min out of sample"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
