"""python -m queue_server.sim [SCENARIO.toml] [--seed N] [--policy …]: simulate a hall day.

queue-sim design [SCENARIO.toml] [options]: recommend window profiles, break waves and a
training list (queue_server.sim.design)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from queue_server.hallconfig import ConfigError
from queue_server.sim.engine import simulate
from queue_server.sim.layouts import POLICY_CHOICES, apply_policy, describe, judged_by
from queue_server.sim.report import format_report, summarize
from queue_server.sim.scenario import demo_day_path, load_scenario


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["design"]:
        from queue_server.sim.design import main as design_main

        return design_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="queue-sim",
        description="Discrete-event simulation of a hall day driving the real scheduling policy."
        " `queue-sim design --help`: the window-profile designer.",
    )
    parser.add_argument(
        "scenario",
        nargs="?",
        type=Path,
        default=demo_day_path(),
        help="scenario TOML (default: the demo hall's day)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--policy",
        choices=POLICY_CHOICES,
        default=None,
        help="default: the hall's configured policy",
    )
    parser.add_argument("--layout", action="store_true", help="print the window profiles used")
    args = parser.parse_args(argv)
    try:
        scenario, hall = load_scenario(args.scenario)
        own = hall
        hall = apply_policy(hall, scenario, args.policy or hall.rules.policy.value)
    except (ConfigError, ValueError) as exc:
        print(f"queue-sim: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    result = simulate(hall, scenario, seed=args.seed, label=args.policy)
    elapsed = time.perf_counter() - started
    summary = summarize(judged_by(result, own))
    names = {code: c.name for code, c in hall.categories.items()}
    print(format_report(summary, names))
    if args.layout:
        print("windows: " + describe(hall))
    print(f"simulated in {elapsed:.2f} s ({result.events} events)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
