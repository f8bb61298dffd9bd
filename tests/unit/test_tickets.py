"""The ticket state machine, ticket numbering and the hall's opening hours (SPEC §3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import Priority, TicketState
from queue_server.domain import tickets
from queue_server.domain.model import HallRules, OpeningHours, Ticket
from queue_server.domain.numbering import day_of_ticket_id, ticket_id, ticket_number
from queue_server.domain.tickets import InvalidTransition

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday, 10:00 in Shanghai
GRACE = timedelta(minutes=30)
CHAIN = ("企业登记", "印章刻制", "申领发票")  # the steps of a one-chain service item


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def new_ticket(category: str = "SW", number: str = "C001", **kw: object) -> Ticket:
    return tickets.issue(
        ticket_id=f"20261125-{number}", number=number, category=category, now=T0, **kw
    )  # type: ignore[arg-type]


def called(window: int = 3, **kw: object) -> Ticket:
    return tickets.call(new_ticket(**kw), window=window, staff="ck03", now=at(1))


def serving(window: int = 3, **kw: object) -> Ticket:
    return tickets.start(called(window, **kw), now=at(2))


def no_show(**kw: object) -> Ticket:
    return tickets.no_show(called(**kw), now=at(5))


# -- legal transitions -------------------------------------------------------------------


def test_issue_makes_a_waiting_ticket_with_its_issue_time() -> None:
    """A freshly issued ticket waits, holds no window and remembers when it was issued."""
    t = new_ticket(priority=Priority.GREEN, item="食品经营许可")
    assert t.state is TicketState.WAITING
    assert t.issued_at == T0
    assert t.priority is Priority.GREEN
    assert t.item == "食品经营许可"
    assert (t.window, t.staff, t.call_times, t.recall_count) == (None, None, (), 0)


def test_call_assigns_window_and_staff_and_records_the_call_time() -> None:
    """Calling a waiting ticket moves it to called at that window and logs the call time."""
    t = called(window=7)
    assert t.state is TicketState.CALLED
    assert t.window == 7
    assert t.staff == "ck03"
    assert t.call_times == (at(1),)


def test_recall_counts_and_logs_each_call() -> None:
    """A recall keeps the ticket called, bumps the recall count and logs another call time."""
    t = tickets.recall(called(), now=at(2), no_show_after=3)
    t = tickets.recall(t, now=at(3), no_show_after=3)
    assert t.state is TicketState.CALLED
    assert t.recall_count == 2
    assert t.call_times == (at(1), at(2), at(3))


def test_recall_after_n_recalls_marks_a_no_show() -> None:
    """Once N recalls are used up, the next recall turns the ticket into a no-show."""
    t = called()
    for i in range(3):
        t = tickets.recall(t, now=at(2 + i), no_show_after=3)
        assert t.state is TicketState.CALLED
    t = tickets.recall(t, now=at(9), no_show_after=3)
    assert t.state is TicketState.NO_SHOW
    assert t.no_show_at == at(9)


def test_recall_with_zero_allowed_recalls_is_an_immediate_no_show() -> None:
    """With no_show_after_recalls = 0 the first recall is already a no-show."""
    t = tickets.recall(called(), now=at(2), no_show_after=0)
    assert t.state is TicketState.NO_SHOW


def test_start_moves_a_called_ticket_to_serving() -> None:
    """Starting service on a called ticket sets serving and the start time, keeping the window."""
    t = serving(window=4)
    assert t.state is TicketState.SERVING
    assert t.started_at == at(2)
    assert t.window == 4


def test_finish_of_a_plain_ticket_is_done() -> None:
    """Finishing a ticket of a category without a chain makes it done with a finish time."""
    t = tickets.finish(serving(), now=at(10))
    assert t.state is TicketState.DONE
    assert t.finished_at == at(10)


def test_finish_of_a_chain_step_waits_for_the_next_step() -> None:
    """For a one-chain item, finishing a step that is not the last puts it back to waiting
    for the next step, free of any window; it queues from now, its issue time is kept for
    the visit."""
    t = tickets.finish(serving(category="QY", number="A001", chain=CHAIN), now=at(10))
    assert t.state is TicketState.WAITING
    assert (t.chain_step, t.step, t.steps) == (1, "印章刻制", 3)
    assert (t.window, t.staff, t.started_at, t.target_window) == (None, None, None, None)
    assert t.issued_at == T0
    assert t.queue_time == at(10)
    assert t.finished_at is None


def test_a_ticket_without_a_chain_item_is_one_step() -> None:
    """A ticket of a category that has chain items, but not for a chain item, ends at once."""
    t = tickets.finish(serving(category="QY", number="A002", item="企业变更登记"), now=at(9))
    assert t.state is TicketState.DONE
    assert (t.steps, t.step) == (1, None)


def test_end_chain_finishes_the_visit_at_this_step() -> None:
    """Ending a one-chain visit early makes the ticket done at its current step."""
    t = tickets.end_chain(serving(category="QY", number="A001", chain=CHAIN), now=at(9))
    assert (t.state, t.chain_step, t.finished_at) == (TicketState.DONE, 0, at(9))
    with pytest.raises(InvalidTransition, match="not on a one-chain visit"):
        tickets.end_chain(serving(), now=at(9))


def test_transfer_and_reinstatement_keep_the_place_in_the_queue() -> None:
    """A transfer and a reinstated no-show queue from their original time, not from now."""
    moved = tickets.transfer(serving(), now=at(30), to_category="BT", to_window=None, reason="x")
    assert moved.queue_time == T0
    back = tickets.reinstate(no_show(), now=at(10), grace=GRACE)
    assert back.queue_time == T0


def test_requeue_puts_a_called_ticket_back_at_its_place() -> None:
    """A called ticket whose window went away waits again at its old place."""
    t = tickets.requeue(called())
    assert (t.state, t.window, t.staff, t.queue_time) == (TicketState.WAITING, None, None, T0)


def test_expire_ends_open_tickets_only() -> None:
    """At close-out waiting, called and serving tickets expire; finished ones cannot."""
    for open_ticket in (new_ticket(), called(), serving()):
        t = tickets.expire(open_ticket, at=at(600))
        assert (t.state, t.finished_at) == (TicketState.EXPIRED, at(600))
    with pytest.raises(InvalidTransition):
        tickets.expire(tickets.finish(serving(), now=at(9)), at=at(600))


def test_finish_of_the_last_chain_step_is_done() -> None:
    """The last step of a chain finishes the ticket for good."""
    t = serving(category="QY", number="A001", chain=CHAIN)
    for step in range(1, len(CHAIN)):
        t = tickets.finish(t, now=at(10 * step))
        assert t.chain_step == step
        t = tickets.start(tickets.call(t, window=5, staff="ck05", now=at(10 * step)), now=at(11))
    t = tickets.finish(t, now=at(99))
    assert t.state is TicketState.DONE
    assert t.chain_step == len(CHAIN) - 1


def test_no_show_marks_the_time() -> None:
    """Marking a called ticket a no-show records when it happened."""
    t = no_show()
    assert t.state is TicketState.NO_SHOW
    assert t.no_show_at == at(5)


def test_reinstate_within_grace_returns_to_waiting_with_original_issue_time() -> None:
    """A no-show reinstated within the grace period waits again, keeping its place by issue time."""
    t = tickets.reinstate(no_show(), now=at(5) + GRACE, grace=GRACE)
    assert t.state is TicketState.WAITING
    assert t.issued_at == T0
    assert (t.window, t.staff, t.no_show_at, t.recall_count) == (None, None, None, 0)


def test_reinstate_after_grace_is_refused_with_a_readable_message() -> None:
    """A citizen who comes back after the grace period must take a new ticket."""
    with pytest.raises(InvalidTransition, match="more than 30 minutes ago") as err:
        tickets.reinstate(no_show(), now=at(5) + GRACE + timedelta(seconds=1), grace=GRACE)
    assert err.value.code is ErrorCode.INVALID_STATE
    assert "new ticket" in err.value.message


def test_transfer_to_category_keeps_issue_time_and_records_history() -> None:
    """A transfer sends the ticket back to waiting in another category, keeping its issue time
    and appending who sent it where and why."""
    t = tickets.transfer(
        serving(window=3), now=at(8), to_category="BT", to_window=None, reason="需缴契税"
    )
    assert t.state is TicketState.WAITING
    assert t.category == "BT"
    assert t.issued_at == T0
    assert t.number == "C001"
    assert (t.window, t.staff, t.started_at, t.target_window) == (None, None, None, None)
    (record,) = t.transfers
    assert (record.from_category, record.to_category) == ("SW", "BT")
    assert (record.from_window, record.to_window) == (3, None)
    assert record.reason == "需缴契税"
    assert record.at == at(8)


def test_second_transfer_appends_to_history() -> None:
    """Transfer history accumulates: a ticket moved twice carries both records in order."""
    t = tickets.transfer(serving(), now=at(8), to_category="BT", to_window=None, reason="one")
    t = tickets.start(tickets.call(t, window=9, staff="ck09", now=at(9)), now=at(10))
    t = tickets.transfer(t, now=at(12), to_category="SB", to_window=None, reason="two")
    assert [r.reason for r in t.transfers] == ["one", "two"]
    assert [r.to_category for r in t.transfers] == ["BT", "SB"]
    assert t.transfers[1].from_window == 9


def test_transfer_to_a_named_window_targets_only_that_window() -> None:
    """A transfer to a named window keeps the category and lets only that window call it."""
    t = tickets.transfer(serving(window=3), now=at(8), to_category=None, to_window=9, reason="x")
    assert t.state is TicketState.WAITING
    assert t.category == "SW"
    assert t.target_window == 9
    assert t.transfers[-1].to_window == 9
    assert tickets.call(t, window=9, staff="ck09", now=at(9)).window == 9
    with pytest.raises(InvalidTransition, match="transferred to window 9"):
        tickets.call(t, window=4, staff="ck04", now=at(9))


def test_transfer_to_another_category_resets_the_chain_step() -> None:
    """Leaving a chain category for another category starts that category at its first step."""
    t = tickets.finish(serving(category="QY", number="A001", chain=CHAIN), now=at(5))
    t = tickets.start(tickets.call(t, window=5, staff="ck05", now=at(6)), now=at(7))
    assert t.chain_step == 1
    moved = tickets.transfer(t, now=at(8), to_category="SW", to_window=None, reason="x")
    assert moved.chain_step == 0
    kept = tickets.transfer(t, now=at(8), to_category=None, to_window=6, reason="x")
    assert kept.chain_step == 1


def test_cancel_a_waiting_ticket() -> None:
    """A waiting ticket can be cancelled; it records when."""
    t = tickets.cancel(new_ticket(), now=at(3))
    assert t.state is TicketState.CANCELLED
    assert t.finished_at == at(3)


def test_transitions_do_not_mutate_the_original() -> None:
    """Tickets are immutable values: each transition returns a new ticket."""
    t = new_ticket()
    tickets.call(t, window=1, staff="ck01", now=at(1))
    assert t.state is TicketState.WAITING


# -- illegal transitions -------------------------------------------------------------------

ILLEGAL = [
    ("call", TicketState.CALLED, lambda t: tickets.call(t, window=1, staff=None, now=at(9))),
    ("call", TicketState.SERVING, lambda t: tickets.call(t, window=1, staff=None, now=at(9))),
    ("call", TicketState.DONE, lambda t: tickets.call(t, window=1, staff=None, now=at(9))),
    ("recall", TicketState.WAITING, lambda t: tickets.recall(t, now=at(9), no_show_after=3)),
    ("recall", TicketState.SERVING, lambda t: tickets.recall(t, now=at(9), no_show_after=3)),
    ("start service for", TicketState.WAITING, lambda t: tickets.start(t, now=at(9))),
    ("start service for", TicketState.NO_SHOW, lambda t: tickets.start(t, now=at(9))),
    ("finish", TicketState.CALLED, lambda t: tickets.finish(t, now=at(9))),
    ("finish", TicketState.DONE, lambda t: tickets.finish(t, now=at(9))),
    ("mark as no-show", TicketState.SERVING, lambda t: tickets.no_show(t, now=at(9))),
    ("mark as no-show", TicketState.WAITING, lambda t: tickets.no_show(t, now=at(9))),
    ("reinstate", TicketState.WAITING, lambda t: tickets.reinstate(t, now=at(9), grace=GRACE)),
    ("reinstate", TicketState.CANCELLED, lambda t: tickets.reinstate(t, now=at(9), grace=GRACE)),
    (
        "transfer",
        TicketState.CALLED,
        lambda t: tickets.transfer(t, now=at(9), to_category="BT", to_window=None, reason="x"),
    ),
    ("cancel", TicketState.CALLED, lambda t: tickets.cancel(t, now=at(9))),
    ("cancel", TicketState.DONE, lambda t: tickets.cancel(t, now=at(9))),
    ("cancel", TicketState.CANCELLED, lambda t: tickets.cancel(t, now=at(9))),
]


def ticket_in(state: TicketState) -> Ticket:
    return {
        TicketState.WAITING: new_ticket,
        TicketState.CALLED: called,
        TicketState.SERVING: serving,
        TicketState.DONE: lambda: tickets.finish(serving(), now=at(4)),
        TicketState.NO_SHOW: no_show,
        TicketState.CANCELLED: lambda: tickets.cancel(new_ticket(), now=at(1)),
    }[state]()


@pytest.mark.parametrize(("doing", "state", "move"), ILLEGAL)
def test_illegal_transition_raises_a_readable_invalid_transition(
    doing: str, state: TicketState, move: object
) -> None:
    """An action the ticket's state does not allow raises InvalidTransition that names the
    action, the ticket number and its current state (in English and Chinese)."""
    t = ticket_in(state)
    with pytest.raises(InvalidTransition) as err:
        move(t)  # type: ignore[operator]
    message = err.value.message
    assert err.value.code is ErrorCode.INVALID_STATE
    assert f"cannot {doing} ticket C001" in message
    assert f"it is {state.value}" in message
    assert tickets._STATE_ZH[state] in message


def test_transfer_without_destination_is_a_bad_request() -> None:
    """A transfer must name a category or a window."""
    with pytest.raises(ProtocolError, match="to_category or to_window") as err:
        tickets.transfer(serving(), now=at(9), to_category=None, to_window=None, reason="x")
    assert err.value.code is ErrorCode.BAD_REQUEST


def test_transfer_to_its_own_window_is_refused() -> None:
    """A window cannot transfer a ticket to itself."""
    with pytest.raises(ProtocolError, match="its own window") as err:
        tickets.transfer(serving(window=3), now=at(9), to_category=None, to_window=3, reason="x")
    assert err.value.code is ErrorCode.BAD_REQUEST


# -- numbering ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "seq", "number"),
    [("A", 1, "A001"), ("A", 42, "A042"), ("B", 999, "B999"), ("C", 1000, "C1000"),
     ("AB", 12345, "AB12345")],
)  # fmt: skip
def test_ticket_number_is_prefix_and_zero_padded_sequence(
    prefix: str, seq: int, number: str
) -> None:
    """A number is the prefix plus a 3-digit sequence that grows past 999 rather than wrapping."""
    assert ticket_number(prefix, seq) == number


def test_ticket_numbers_never_repeat_past_999() -> None:
    """Every sequence 1..2000 gives a distinct number, so none is reused within a day."""
    numbers = [ticket_number("A", n) for n in range(1, 2001)]
    assert len(set(numbers)) == len(numbers)


@pytest.mark.parametrize("seq", [0, -1])
def test_ticket_sequence_starts_at_one(seq: int) -> None:
    """A sequence below 1 is a programming error."""
    with pytest.raises(ValueError, match="starts at 1"):
        ticket_number("A", seq)


def test_ticket_id_is_local_date_and_number() -> None:
    """The hall-unique ticket id joins the local date and the number, and can be split again."""
    tid = ticket_id(date(2026, 11, 25), "A001")
    assert tid == "20261125-A001"
    assert day_of_ticket_id(tid) == "20261125"
    assert ticket_id(date(2026, 11, 26), "A001") != tid


# -- opening hours -------------------------------------------------------------------------

WEEKDAY = (time(8, 30), time(18, 30))
WEEKEND = (time(9, 0), time(17, 0))
HOURS = OpeningHours(days={d: WEEKDAY for d in range(5)} | {5: WEEKEND, 6: WEEKEND})


def shanghai(**kw: object) -> HallRules:
    return HallRules(name="hall", hours=HOURS, **kw)  # type: ignore[arg-type]


def utc(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "open_"),
    [
        (utc(2026, 11, 25, 0, 29), False),  # Wed 08:29 Shanghai
        (utc(2026, 11, 25, 0, 30), True),  # Wed 08:30: opening minute is open
        (utc(2026, 11, 25, 10, 29), True),  # Wed 18:29
        (utc(2026, 11, 25, 10, 30), False),  # Wed 18:30: closing minute is closed
        (utc(2026, 11, 28, 0, 30), False),  # Sat 08:30: weekend opens at 09:00
        (utc(2026, 11, 28, 1, 0), True),  # Sat 09:00
        (utc(2026, 11, 24, 16, 30), False),  # Tue 16:30 UTC = Wed 00:30 Shanghai
    ],
)
def test_is_open_follows_local_weekday_hours(now: datetime, open_: bool) -> None:
    """Opening hours are read in the hall's local time: [opens, closes) per weekday."""
    assert shanghai().is_open(now) is open_


def test_is_open_uses_the_hall_time_zone_not_utc() -> None:
    """The same instant is open in Shanghai (10:00) but closed for a UTC hall (02:00)."""
    now = utc(2026, 11, 25, 2)
    assert shanghai().is_open(now)
    assert not shanghai(timezone="UTC").is_open(now)
    assert shanghai(timezone="UTC").is_open(utc(2026, 11, 25, 10))


def test_local_day_changes_at_local_midnight() -> None:
    """The ticket day follows the hall's midnight: 16:00 UTC is already tomorrow in Shanghai."""
    rules = shanghai()
    assert rules.local_day(utc(2026, 11, 24, 15, 59)) == date(2026, 11, 24)
    assert rules.local_day(utc(2026, 11, 24, 16, 0)) == date(2026, 11, 25)
    assert shanghai(timezone="UTC").local_day(utc(2026, 11, 24, 16, 0)) == date(2026, 11, 24)


def test_a_day_without_hours_is_closed() -> None:
    """A weekday missing from the hours is a closed day."""
    rules = HallRules(name="h", hours=OpeningHours(days={0: WEEKDAY}))  # Mondays only
    assert rules.is_open(utc(2026, 11, 23, 2))  # Monday
    assert not rules.is_open(utc(2026, 11, 24, 2))  # Tuesday
    assert rules.closing_time(utc(2026, 11, 24, 2)) is None


def test_holiday_closes_the_hall_even_in_opening_hours() -> None:
    """A listed holiday (by local date) is closed all day and has no closing time."""
    hours = OpeningHours(days=HOURS.days, holidays=frozenset({date(2026, 11, 25)}))
    rules = HallRules(name="h", hours=hours)
    assert not rules.is_open(utc(2026, 11, 25, 2))
    assert rules.closing_time(utc(2026, 11, 25, 2)) is None
    assert rules.is_open(utc(2026, 11, 26, 2))


def test_without_hours_the_hall_is_always_open_except_holidays() -> None:
    """A hall with no opening hours configured is open around the clock, but not on holidays."""
    always = HallRules(name="h")
    assert always.is_open(utc(2026, 11, 25, 20))
    assert always.closing_time(utc(2026, 11, 25, 20)) is None
    holiday = HallRules(name="h", hours=OpeningHours(holidays=frozenset({date(2026, 10, 1)})))
    assert not holiday.is_open(utc(2026, 10, 1, 2))
    assert holiday.is_open(utc(2026, 10, 2, 2))


def test_closing_time_is_todays_local_closing_as_an_aware_instant() -> None:
    """Closing time is today's local closing, an aware datetime equal to 10:30 UTC in Shanghai."""
    closing = shanghai().closing_time(utc(2026, 11, 25, 2))
    assert closing is not None
    assert closing == utc(2026, 11, 25, 10, 30)
    assert closing.utcoffset() == timedelta(hours=8)
    assert shanghai(timezone="UTC").closing_time(utc(2026, 11, 25, 2)) == utc(2026, 11, 25, 18, 30)
    weekend = shanghai().closing_time(utc(2026, 11, 28, 2))
    assert weekend == utc(2026, 11, 28, 9)
