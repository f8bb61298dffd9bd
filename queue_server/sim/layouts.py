"""Policies and window layouts to compare (SPEC §8).

- weighted_wait, profile_order: the hall's real policies (`domain.scheduling.POLICIES`).
- dedicated: per-category first-come queues. Each window serves only the first category
  of its profile; each 全科 window is given to the category with the most offered work
  per window so far. Decided by the real profile_order policy, which on a one-category
  profile is appointments and priority classes first, then first come first served.
- pooled: every window serves every category (all 全科) under weighted_wait. Not a bound:
  weighted_wait on a pooled hall favours the categories with short targets, and other
  rules on the same layout do better still on the mean by starving a category.
- pooled_fcfs: every window 全科, first come first served across categories (appointments
  whose slot has begun and the green channel still first): the reference the designed
  layouts are measured against ("× pooled"), on the same breaks.
- chained: a layout, not a policy. Windows are shared out in proportion to the offered
  work and each serves its category and the next one in a closed chain
  (A→B→…→G→A, Jordan & Graves 1995), under weighted_wait.
"""

from __future__ import annotations

from dataclasses import replace

from queue_protocol.messages import Policy
from queue_server.domain.model import Category, Window
from queue_server.sim.engine import DayResult
from queue_server.sim.scenario import Hall, Scenario

POLICY_CHOICES = ("weighted_wait", "profile_order", "dedicated", "pooled", "pooled_fcfs")


def offered_work(hall: Hall, scenario: Scenario) -> dict[str, float]:
    """Expected window-minutes of service per category over the day (all chain steps)."""
    minutes = scenario.last_ticket
    work = dict.fromkeys(hall.categories, 0.0)
    for d in scenario.demands:
        per_ticket = d.steps * (d.service_minutes + scenario.walk_minutes)
        work[d.category] += d.expected_tickets(minutes) * per_ticket
    return work


def apply_policy(hall: Hall, scenario: Scenario, policy: str) -> Hall:
    if policy in (Policy.WEIGHTED_WAIT.value, Policy.PROFILE_ORDER.value):
        return hall.with_policy(Policy(policy))
    if policy == "dedicated":
        return dedicated(hall, scenario)
    if policy == "pooled":
        windows = tuple(w.but(profile=()) for w in hall.windows)
        return hall.with_windows(windows).with_policy(Policy.WEIGHTED_WAIT)
    if policy == "pooled_fcfs":
        return pooled_first_come(hall)
    raise ValueError(f"unknown policy {policy!r}; choose from {', '.join(POLICY_CHOICES)}")


def pooled_first_come(hall: Hall) -> Hall:
    """Every window 全科, tickets called first come first served across categories: equal
    targets under weighted_wait, so the oldest group head goes first (after the cap, then
    appointments whose slot has begun and the green channel, as in every layout). Judge its
    days by the hall's own targets (`judged_by`)."""
    same = {
        code: Category(
            code=cat.code,
            name=cat.name,
            prefix=cat.prefix,
            target_wait_minutes=15,
            daily_capacity=cat.daily_capacity,
            service_minutes=cat.service_minutes,
        )
        for code, cat in hall.categories.items()
    }
    windows = tuple(w.but(profile=()) for w in hall.windows)
    return replace(hall, categories=same, windows=windows).with_policy(Policy.WEIGHTED_WAIT)


def judged_by(result: DayResult, hall: Hall) -> DayResult:
    """The day judged against `hall`'s category targets (for pooled_fcfs, whose simulated
    hall has equal targets)."""
    return replace(result, categories=hall.categories)


def dedicated(hall: Hall, scenario: Scenario) -> Hall:
    work = offered_work(hall, scenario)
    count = dict.fromkeys(hall.categories, 0)
    for w in hall.windows:
        if w.profile:
            count[w.profile[0]] += 1
    windows = []
    for w in hall.windows:
        if w.profile:
            windows.append(w.but(profile=(w.profile[0],)))
            continue
        code = max(hall.categories, key=lambda c: work[c] / (count[c] + 1) if count[c] else 1e18)
        count[code] += 1
        windows.append(w.but(profile=(code,)))
    return hall.with_windows(tuple(windows)).with_policy(Policy.PROFILE_ORDER)


def chained(hall: Hall, scenario: Scenario) -> Hall:
    """Each window serves two neighbouring categories of a closed chain, windows shared out
    in proportion to the offered work (largest remainder, at least one each)."""
    work = offered_work(hall, scenario)
    codes = [c for c in hall.categories if work[c] > 0]
    n = len(hall.windows)
    if len(codes) > n:
        raise ValueError("fewer windows than categories with demand: no chain possible")
    total = sum(work[c] for c in codes)
    quota = {c: work[c] / total * n for c in codes}
    share = {c: max(1, int(quota[c])) for c in codes}
    while sum(share.values()) > n:
        c = max((c for c in codes if share[c] > 1), key=lambda c: share[c] - quota[c])
        share[c] -= 1
    while sum(share.values()) < n:
        c = max(codes, key=lambda c: quota[c] - share[c])
        share[c] += 1
    profiles: list[tuple[str, ...]] = []
    for i, code in enumerate(codes):
        nxt = codes[(i + 1) % len(codes)]
        profiles.extend([(code, nxt)] * share[code])
    windows: tuple[Window, ...] = tuple(
        w.but(profile=p) for w, p in zip(hall.windows, profiles, strict=True)
    )
    return hall.with_windows(windows).with_policy(Policy.WEIGHTED_WAIT)


def describe(hall: Hall) -> str:
    return ", ".join(f"{w.number}:{'/'.join(w.profile) or '全科'}" for w in hall.windows)
