"""Window scheduling policies and the estimated wait (SPEC §4): pure functions, plain data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from queue_protocol.messages import Policy, Priority, TicketState, WindowState
from queue_server.domain import scheduling
from queue_server.domain.estimate import (
    PAUSE_RETURN_MINUTES,
    effective_windows,
    estimate_wait_minutes,
)
from queue_server.domain.model import Category, HallRules, Ticket, Window
from queue_server.domain.scheduling import (
    choose_next,
    heads,
    may_call,
    profile_order,
    weighted_wait,
)

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
CATEGORIES = {
    "A": Category(code="A", name="甲", prefix="A", target_wait_minutes=10),
    "B": Category(code="B", name="乙", prefix="B", target_wait_minutes=30),
    "C": Category(code="C", name="丙", prefix="C", target_wait_minutes=10),
}
RULES = HallRules(name="hall", max_wait_minutes=60, rank_penalty=0.5)
ALL = Window(number=1, name="全科", state=WindowState.IDLE)
_ids = count(1)


def waited(
    minutes: float,
    category: str = "A",
    priority: Priority = Priority.NORMAL,
    **kw: object,
) -> Ticket:
    """A waiting ticket issued `minutes` before NOW."""
    n = next(_ids)
    return Ticket(
        id=f"20261125-{category}{n:03d}",
        number=f"{category}{n:03d}",
        category=category,
        issued_at=NOW - timedelta(minutes=minutes),
        priority=priority,
        **kw,  # type: ignore[arg-type]
    )


def window(number: int = 2, *profile: str) -> Window:
    return Window(number=number, name=f"{number}号", profile=profile, state=WindowState.IDLE)


def pick(w: Window, *ts: Ticket, rules: HallRules = RULES) -> Ticket | None:
    return weighted_wait(w, list(ts), CATEGORIES, rules, NOW)


# -- weighted_wait ----------------------------------------------------------------------


def test_nothing_waiting_gives_none() -> None:
    """With no callable ticket, both policies return None."""
    assert pick(ALL) is None
    assert profile_order(ALL, [], CATEGORIES, RULES, NOW) is None
    assert pick(window(2, "A"), waited(5, "B")) is None


def test_wait_is_measured_relative_to_the_category_target() -> None:
    """A younger ticket whose category has a short target beats an older one with a long target:
    8 min of a 10-min target (0.8) beats 20 min of a 30-min target (0.67)."""
    a, b = waited(8, "A"), waited(20, "B")
    assert pick(ALL, a, b) is a
    a_short = waited(5, "A")  # 0.5 < 0.67
    assert pick(ALL, a_short, b) is b


def test_rank_in_the_window_profile_weighs_the_wait() -> None:
    """A later profile category counts less: with penalty 0.5, 14 min at rank 1 (14/1.5 = 0.93)
    loses to 10 min at rank 0, but 16 min at rank 1 (1.07) wins."""
    w = window(2, "A", "C")
    first, second = waited(10, "A"), waited(14, "C")
    assert pick(w, first, second) is first
    later = waited(16, "C")
    assert pick(w, first, later) is later


def test_an_all_subjects_window_does_not_weigh_by_rank() -> None:
    """A 全科 window ranks every category equally, so the larger relative wait wins."""
    assert pick(ALL, waited(10, "A"), second := waited(14, "C")) is second


def test_rank_penalty_zero_ignores_profile_order() -> None:
    """With rank_penalty = 0 a categorised window scores every category alike."""
    w = window(2, "A", "C")
    no_penalty = HallRules(name="h", rank_penalty=0.0)
    assert pick(w, waited(10, "A"), second := waited(11, "C"), rules=no_penalty) is second


def test_equal_scores_fall_back_to_the_older_ticket() -> None:
    """Two tickets with the same relative wait go oldest first."""
    t1 = waited(10, "A")
    t2 = Ticket(
        id="20261125-C999", number="C999", category="C", issued_at=t1.issued_at
    )  # same wait, same target, later id
    assert pick(ALL, t2, t1) is t1


def test_the_max_wait_cap_beats_appointments_and_priority_classes() -> None:
    """A ticket that has waited the hall's maximum is called before anything else, even a
    green-channel ticket or an appointment whose slot has begun."""
    overdue = waited(61, "B")
    green = waited(30, "A", Priority.GREEN)
    appt = waited(5, "A", Priority.APPOINTMENT, appointment_at=NOW - timedelta(minutes=1))
    assert pick(ALL, green, appt, overdue) is overdue


def test_the_max_wait_cap_beats_profile_rank() -> None:
    """At the cap, even the last category of a profile is served before a fresher first one."""
    w = window(2, "A", "B")
    overdue = waited(60, "B")  # exactly at the cap
    assert pick(w, waited(59, "A"), overdue) is overdue


def test_among_overdue_tickets_the_oldest_goes_first() -> None:
    """Several tickets past the cap are called in issue order, whatever their category."""
    older, newer = waited(90, "B"), waited(70, "A")
    assert pick(ALL, newer, older) is older


def test_appointments_whose_slot_began_go_first() -> None:
    """An appointment whose slot has begun beats green channel and any longer normal wait."""
    appt = waited(1, "B", Priority.APPOINTMENT, appointment_at=NOW)
    green = waited(20, "A", Priority.GREEN)
    normal = waited(50, "A")
    assert pick(ALL, normal, green, appt) is appt


def test_an_appointment_before_its_slot_gets_no_precedence() -> None:
    """An appointment ticket whose slot is still ahead is scored like a normal ticket."""
    early = waited(1, "A", Priority.APPOINTMENT, appointment_at=NOW + timedelta(minutes=10))
    normal = waited(9, "A")
    assert pick(ALL, early, normal) is normal


def test_green_and_assisted_go_before_normal_tickets_oldest_first() -> None:
    """Green-channel and assisted tickets are called before normal ones, oldest of them first."""
    normal = waited(50, "A")
    assisted = waited(3, "B", Priority.ASSISTED)
    green = waited(2, "A", Priority.GREEN)
    assert pick(ALL, normal, green, assisted) is assisted
    assert pick(ALL, normal, green) is green


def test_within_a_category_and_class_the_oldest_is_called_first() -> None:
    """Only the head (oldest) of each category and class can be chosen."""
    old, young = waited(5, "A"), waited(30, "A")  # 'young' is issued earlier
    assert pick(ALL, old, young) is young
    g_old, g_new = waited(4, "A", Priority.GREEN), waited(2, "A", Priority.GREEN)
    assert pick(ALL, g_new, g_old) is g_old


def test_heads_are_one_per_category_class_and_named_window() -> None:
    """heads() keeps the oldest ticket of each (category, class, named window) group."""
    w = window(9, "A")
    a1, a2 = waited(10, "A"), waited(5, "A")
    g = waited(3, "A", Priority.GREEN)
    named = waited(1, "B", target_window=9)
    got = heads(w, [a2, a1, g, named])
    assert set(got) == {a1, g, named}
    assert got == sorted(got, key=lambda t: t.issued_at)


def test_a_window_never_gets_a_ticket_outside_its_profile() -> None:
    """A categorised window ignores other categories, however long they waited."""
    w = window(2, "B")
    b = waited(1, "B")
    assert pick(w, waited(500, "A"), waited(500, "C", Priority.GREEN), b) is b


def test_named_window_transfers_go_only_to_that_window() -> None:
    """A ticket transferred to window 9 is invisible to other windows, even 全科 ones, and
    callable by window 9 even outside its profile."""
    named = waited(40, "A", target_window=9)
    assert pick(ALL, named) is None
    assert pick(window(4, "A"), named) is None
    assert pick(window(9, "B"), named) is named


def test_only_waiting_tickets_are_candidates() -> None:
    """Called, serving, done, no-show and cancelled tickets are never chosen."""
    states = [s for s in TicketState if s is not TicketState.WAITING]
    ts = [waited(100, "A", state=s) for s in states]
    assert pick(ALL, *ts) is None
    assert not any(may_call(ALL, t) for t in ts)


# -- profile_order ---------------------------------------------------------------------------


def test_profile_order_serves_the_first_profile_category_with_anyone_waiting() -> None:
    """Qmatic-style: the window's first category is served first, however long the others wait."""
    w = window(2, "C", "A")
    c, a = waited(1, "C"), waited(59, "A")
    assert profile_order(w, [a, c], CATEGORIES, RULES, NOW) is c
    assert profile_order(w, [a], CATEGORIES, RULES, NOW) is a


def test_profile_order_takes_priority_classes_first_within_a_category() -> None:
    """Within the chosen category, begun appointments then green/assisted come before normal."""
    w = window(2, "A")
    normal = waited(30, "A")
    green = waited(1, "A", Priority.GREEN)
    appt = waited(0, "A", Priority.APPOINTMENT, appointment_at=NOW)
    assert profile_order(w, [normal, green], CATEGORIES, RULES, NOW) is green
    assert profile_order(w, [normal, green, appt], CATEGORIES, RULES, NOW) is appt


def test_profile_order_does_not_let_a_later_category_priority_jump_ahead() -> None:
    """A green ticket of a later profile category waits while the first category has anyone."""
    w = window(2, "A", "B")
    a = waited(1, "A")
    assert profile_order(w, [waited(9, "B", Priority.GREEN), a], CATEGORIES, RULES, NOW) is a


def test_profile_order_calls_named_transfers_first() -> None:
    """Tickets transferred to this window by name come before its profile categories."""
    w = window(3, "A")
    named = waited(1, "B", target_window=3)
    assert profile_order(w, [waited(50, "A"), named], CATEGORIES, RULES, NOW) is named


def test_profile_order_all_subjects_window_uses_hall_category_order() -> None:
    """A 全科 window takes categories in the hall's order (A, B, C)."""
    b, c = waited(40, "B"), waited(50, "C")
    assert profile_order(ALL, [c, b], CATEGORIES, RULES, NOW) is b


def test_choose_next_follows_the_hall_policy() -> None:
    """choose_next dispatches to the policy configured for the hall."""
    w = window(2, "A", "B")
    a, b = waited(1, "A"), waited(29, "B")  # weighted: 29/30/1.5 = 0.64 > 0.1
    assert choose_next(w, [a, b], CATEGORIES, RULES, NOW) is b
    strict = HallRules(name="h", policy=Policy.PROFILE_ORDER)
    assert choose_next(w, [a, b], CATEGORIES, strict, NOW) is a
    assert set(scheduling.POLICIES) == set(Policy)


@pytest.mark.parametrize("policy", list(Policy))
def test_every_policy_keeps_issue_order_within_category_and_class(policy: Policy) -> None:
    """Whatever the policy, calling repeatedly drains each category in issue order."""
    rules = HallRules(name="h", policy=policy)
    pending = [waited(m, cat) for m, cat in [(30, "A"), (25, "B"), (20, "A"), (15, "B"), (5, "A")]]
    order: list[Ticket] = []
    while (t := choose_next(ALL, pending, CATEGORIES, rules, NOW)) is not None:
        order.append(t)
        pending.remove(t)
    for cat in "AB":
        issued = [t.issued_at for t in order if t.category == cat]
        assert issued == sorted(issued)


# -- estimated wait ------------------------------------------------------------------------


def staffed(number: int, *profile: str, state: WindowState = WindowState.IDLE) -> Window:
    return Window(number=number, name=str(number), profile=profile, state=state)


def test_estimate_without_any_staffed_window_assumes_one_window() -> None:
    """With no open window for the category, the wait is as if one window will serve it."""
    minutes = estimate_wait_minutes(
        category="A",
        people_ahead=3,
        windows=[staffed(1, "A", state=WindowState.CLOSED)],
        waiting_by_category={"A": 3},
        mean_service_minutes=10,
    )
    assert minutes == 35.0


def test_estimate_divides_by_the_windows_that_serve_the_category() -> None:
    """Two dedicated staffed windows halve the wait; paused and closed windows do not count."""
    windows = [
        staffed(1, "A"),
        staffed(2, "A", state=WindowState.SERVING),
        staffed(3, "A", state=WindowState.PAUSED),
        staffed(4, "A", state=WindowState.CLOSED),
        staffed(5, "B"),
    ]
    assert effective_windows("A", windows, {"A": 4, "B": 1}) == 2.0
    minutes = estimate_wait_minutes(
        category="A",
        people_ahead=4,
        windows=windows,
        waiting_by_category={"A": 4, "B": 1},
        mean_service_minutes=10,
    )
    assert minutes == 22.5


def test_a_shared_window_gives_a_share_in_proportion_to_the_waiting() -> None:
    """With no minutes or targets given, a shared window's share goes by the waiting counts,
    the later profile category discounted by the rank penalty (1 + 0.5 × rank), no floor."""
    windows = [staffed(1, "A"), staffed(2, "A", "B")]
    # window 2: A pulls 3, B pulls 1 / 1.5 -> A gets 3 / (3 + 2/3) = 9/11 of it
    assert effective_windows("A", windows, {"A": 3, "B": 1}) == pytest.approx(1 + 9 / 11)
    # A is the minority at window 2: 1 / (1 + 9/1.5) = 1/7 of it
    assert effective_windows("A", windows, {"A": 1, "B": 9}) == pytest.approx(1 + 1 / 7)
    # Without a rank penalty it is the plain count share.
    assert effective_windows("A", windows, {"A": 3, "B": 1}, rank_penalty=0) == 1.75
    # An all-subjects window (rank 0 for all) shares over every category with anyone waiting.
    assert effective_windows("A", [staffed(3)], {"A": 1, "B": 1, "C": 2}) == pytest.approx(1 / 4)


def test_a_shared_window_is_shared_by_work_weighted_by_target() -> None:
    """Each category pulls waiting × minutes per ticket / (target × (1 + 0.5 × rank)):
    weighted_wait serves a category with a short target sooner, so it gets more of the window."""
    windows = [staffed(1, "A"), staffed(2, "A", "B")]
    minutes = {"A": 3.0, "B": 1.5}
    targets = {"A": 15.0, "B": 10.0}
    # window 2: A pulls 10 × 3 / 15 = 2, B pulls 20 × 1.5 / (10 × 1.5) = 2 -> A gets 1/2
    share = effective_windows(
        "A", windows, {"A": 10, "B": 20}, minutes_by_category=minutes, targets=targets
    )
    assert share == pytest.approx(1.5)
    # By counts alone A would get 10 / (10 + 20/1.5) = 3/7 of window 2.
    assert effective_windows("A", windows, {"A": 10, "B": 20}) == pytest.approx(1 + 3 / 7)
    minutes_to_wait = estimate_wait_minutes(
        category="A",
        people_ahead=9,
        windows=windows,
        waiting_by_category={"A": 10, "B": 20},
        mean_service_minutes=3.0,
        minutes_by_category=minutes,
        targets=targets,
    )
    assert minutes_to_wait == 19.0  # (9 + 0.5) × 3 / 1.5


def test_paused_windows_count_after_they_are_expected_back() -> None:
    """A paused window is assumed back PAUSE_RETURN_MINUTES (30) from now: it shortens only a
    wait longer than that."""
    assert PAUSE_RETURN_MINUTES == 30
    windows = [
        staffed(1, "A"),
        staffed(2, "A", state=WindowState.PAUSED),
        staffed(3, "A", state=WindowState.PAUSED),
    ]

    def est(ahead: int, windows: list[Window]) -> float:
        return estimate_wait_minutes(
            category="A",
            people_ahead=ahead,
            windows=windows,
            waiting_by_category={"A": ahead + 1},
            mean_service_minutes=10,
        )

    assert est(2, windows) == 25.0  # 2.5 × 10 / 1: done before the paused windows are back
    # 55 minutes of work: one window for 30 min, then three: 30 + (55 - 30) / 3 = 38.3
    assert est(5, windows) == 38.3
    # Only paused windows: as if one window opens now (never later than the paused return).
    assert est(5, windows[1:]) == 55.0


def test_estimate_grows_with_the_queue_and_service_time() -> None:
    """More people ahead or slower service never shortens the estimate; it is rounded to 0.1."""
    windows = [staffed(1, "A"), staffed(2, "A")]

    def est(ahead: int, mean: float) -> float:
        return estimate_wait_minutes(
            category="A",
            people_ahead=ahead,
            windows=windows,
            waiting_by_category={"A": ahead},
            mean_service_minutes=mean,
        )

    assert est(0, 7) == 1.8  # 0.5 * 7 / 2 = 1.75 -> 1.8
    assert est(1, 7) <= est(2, 7) <= est(10, 7)
    assert est(5, 7) <= est(5, 12)
