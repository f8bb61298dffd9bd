"""Times a full demo-day simulation: python -m bench.sim_day [--seed N] [--repeat 3]."""

from __future__ import annotations

import argparse
import time

from queue_server.sim.engine import simulate
from queue_server.sim.scenario import demo_day_path, load_scenario


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sim_day")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    scenario, hall = load_scenario(demo_day_path())
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(args.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = simulate(hall, scenario, seed=args.seed)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    print(
        f"tickets {len(result.tickets)}  windows {len(result.windows)}"
        f"  events {result.events}  seconds {best_wall:.2f} (cpu {best_cpu:.2f}, best of"
        f" {args.repeat})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
