"""Discrete-event simulation of a hall day, driving the real scheduling policy and ticket code.

Every ticket is a real `queue_server.domain.model.Ticket`, moved through the real state
machine (`domain.tickets.issue / call / recall / start / finish / no_show`); every call is
decided by the real policy (`domain.scheduling.choose_next` over the hall's `HallRules`);
the wait shown at issue is the real `domain.estimate.estimate_wait_minutes`, fed the same
inputs as `hall.views.position` reads from the live state (people ahead in the category,
waiting counts per category, the windows and their states, for each waiting category the
mean window time — call to finish — of its last SERVICE_TIME_SAMPLE done tickets, the
categories' targets and the hall's rank penalty; an appointment ticket gets what
`hall.views.position` passes for an appointment).

What is simulated: non-homogeneous Poisson arrivals per category (thinning), service
times per category (lognormal, gamma or exponential with the category's mean), a walk
from the seat to the window, no-shows (the window recalls every `recall_interval_minutes`
until the hall's `no_show_after_recalls` are used up, then the ticket is a no-show),
appointment tickets (arriving up to `appointment_lead_minutes` before their slot),
green-channel tickets, one-chain categories (each step is a service; the ticket waits
again between steps), staggered breaks, and closing (idle windows close; busy ones finish
the queue).

Speed: waiting tickets are kept per (category, class) in heaps ordered like the policy's
own `(issued_at, id)`; a window is offered only the head of each group it may serve. The
policies reduce their input to exactly those heads anyway (`scheduling.heads`), so this is
the same decision at a fraction of the cost.

Random numbers: separate streams (seeded from the one seed) for arrivals and for each
ticket's own draws (service times, present or not), so two policies run on one seed see
the same citizens with the same service needs (common random numbers).
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from queue_protocol.messages import Priority, TicketState, WindowState
from queue_server.domain import tickets as ticketing
from queue_server.domain.estimate import estimate_wait_minutes
from queue_server.domain.model import Category, Ticket, Window
from queue_server.domain.numbering import ticket_id, ticket_number
from queue_server.domain.scheduling import choose_next
from queue_server.sim.scenario import Demand, Hall, Scenario

SERVICE_TIME_SAMPLE = 20  # as queue_server.service: the recent services the estimate uses
_MINUTE = timedelta(minutes=1)

# event kinds, in the order they are handled at equal times
_FINISH, _START, _RECALL, _RESUME, _BREAK, _CLOSE, _ARRIVE = range(7)


@dataclass(slots=True)
class TicketRecord:
    """What happened to one ticket, in minutes after opening."""

    category: str
    priority: Priority
    issued: float
    estimate: float | None
    first_call: float | None = None
    no_show: bool = False
    done: float | None = None
    step_waits: list[float] = field(default_factory=list)  # waits before chain steps 2, 3, …
    # for each later-step call: minutes it went ahead of the longest-queued ticket of its
    # category and class still waiting (0 when it overtook no one)
    step_overtakes: list[float] = field(default_factory=list)
    steps: int = 1

    @property
    def wait(self) -> float | None:
        return None if self.first_call is None else self.first_call - self.issued


@dataclass(slots=True)
class WindowRecord:
    number: int
    profile: tuple[str, ...]
    busy: float = 0.0  # minutes calling or serving
    staffed: float = 0.0  # minutes open, breaks excluded
    served: int = 0


@dataclass
class DayResult:
    scenario: str
    policy: str
    seed: int
    tickets: list[TicketRecord]
    windows: list[WindowRecord]
    categories: dict[str, Category]
    end: float  # minutes after opening when the last window closed
    events: int


@dataclass(slots=True)
class _Pending:
    """A ticket's own draws, made at issue so every policy sees the same citizen."""

    services: list[float]  # one per chain step
    absent: bool  # not there when first called
    walk: float
    record: TicketRecord
    waiting_since: float = 0.0


@dataclass(slots=True)
class _Win:
    index: int
    window: Window  # as configured (the policy's view of the window)
    views: dict[WindowState, Window]  # the same window in each state, for the estimate
    serves: tuple[str, ...]
    record: WindowRecord
    state: WindowState = WindowState.IDLE
    ticket: Ticket | None = None
    since: float = 0.0  # start of the current state
    opened: float = 0.0
    breaks: list[tuple[float, float]] = field(default_factory=list)  # (start, minutes), sorted
    on_break: float = 0.0  # minutes of breaks taken


class _Antithetic(random.Random):
    """The mirror stream: every uniform u becomes 1 - u (and every draw built on it moves the
    other way), so a run and its mirror have negatively correlated waits. Averaging such a
    pair is an unbiased, lower-variance estimate (antithetic variates)."""

    def random(self) -> float:
        return 1.0 - super().random()


class Simulation:
    def __init__(
        self,
        hall: Hall,
        scenario: Scenario,
        seed: int,
        label: str | None = None,
        antithetic: bool = False,
    ) -> None:
        self.hall = hall
        self.label = label or hall.rules.policy.value
        self.scenario = scenario
        self.seed = seed
        self.rules = hall.rules
        self.categories = hall.categories
        self.codes = tuple(hall.categories)
        stream = _Antithetic if antithetic else random.Random
        self.arrival_rng = stream(f"{seed}/arrivals")
        self.citizen_rng = stream(f"{seed}/citizens")
        self.now = 0.0
        self.now_dt = scenario.start
        local = scenario.start.astimezone(hall.rules.tz)
        self._midnight_offset = local.hour * 60 + local.minute + local.second / 60
        self._days: dict[int, date] = {}
        self._events: list[tuple[float, int, int, int]] = []
        self._seq = 0
        self.events = 0
        # waiting tickets: (category, class) -> heap of (issued_at, id); ids -> ticket
        self.queues: dict[str, dict[Priority, list[tuple[datetime, str]]]] = {
            c: {p: [] for p in Priority} for c in self.codes
        }
        self.waiting: dict[str, Ticket] = {}
        self.counts: dict[str, int] = dict.fromkeys(self.codes, 0)
        self.pending: dict[str, _Pending] = {}
        self.sequence: dict[str, int] = dict.fromkeys(self.codes, 0)
        self.targets = {c: float(cat.target_wait_minutes) for c, cat in self.categories.items()}
        self.rank_penalty = hall.rules.rank_penalty
        self.recent: dict[str, deque[float]] = {
            c: deque(maxlen=SERVICE_TIME_SAMPLE) for c in self.codes
        }
        self.records: list[TicketRecord] = []
        staffed = scenario.windows
        self.wins: list[_Win] = []
        for w in hall.windows:
            if staffed is not None and w.number not in staffed:
                continue
            views = {s: w.but(state=s) for s in WindowState}
            serves = self.codes if w.all_subjects else w.profile
            win = _Win(
                index=len(self.wins),
                window=w,
                views=views,
                serves=serves,
                record=WindowRecord(number=w.number, profile=w.profile),
            )
            win.breaks = sorted(
                (b.start, b.minutes) for b in scenario.breaks if w.number in b.windows
            )
            self.wins.append(win)
        if not self.wins:
            raise ValueError("the scenario staffs no window")
        self.by_category: dict[str, list[_Win]] = {
            c: [w for w in self.wins if c in w.serves] for c in self.codes
        }
        self.demands: dict[str, Demand] = {d.category: d for d in scenario.demands}
        limit = scenario.reprofile_quick_minutes
        self.quick: tuple[str, ...] = (
            ()
            if limit is None
            else tuple(c for c, d in self.demands.items() if d.service_minutes <= limit)
        )
        for code in self.demands:
            if not self.by_category.get(code):
                raise ValueError(f"no staffed window serves category {code}")

    # -- clock ---------------------------------------------------------------------------

    def at(self, minute: float) -> datetime:
        return self.scenario.start + minute * _MINUTE

    def _local_day(self) -> date:
        """The hall's local date now (ticket ids carry it), cached per day."""
        index = int((self._midnight_offset + self.now) // 1440)
        day = self._days.get(index)
        if day is None:
            day = self._days[index] = self.now_dt.astimezone(self.rules.tz).date()
        return day

    def _push(self, when: float, kind: int, arg: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, (when, kind, self._seq, arg))

    # -- the run -------------------------------------------------------------------------

    def run(self) -> DayResult:
        for i, code in enumerate(self.codes):
            if code in self.demands:
                self._schedule_arrival(i, 0.0)
        for win in self.wins:
            for start, _ in win.breaks:
                self._push(start, _BREAK, win.index)
        if math.isfinite(self.scenario.close):
            self._push(self.scenario.close, _CLOSE, -1)
        events = self._events
        handlers = {
            _FINISH: self._on_finish,
            _START: self._on_start,
            _RECALL: self._on_recall,
            _RESUME: self._on_resume,
            _BREAK: self._on_break,
            _CLOSE: self._on_close,
            _ARRIVE: self._on_arrive,
        }
        opening = self.scenario.start
        while events:
            when, kind, _, arg = heapq.heappop(events)
            self.now = when
            self.now_dt = opening + when * _MINUTE
            self.events += 1
            handlers[kind](arg)
        end = self.now
        for win in self.wins:
            if win.state is not WindowState.CLOSED:
                self._close(win)
            end = max(end, win.since)
        return DayResult(
            scenario=self.scenario.name,
            policy=self.label,
            seed=self.seed,
            tickets=self.records,
            windows=[w.record for w in self.wins],
            categories=self.categories,
            end=end,
            events=self.events,
        )

    # -- arrivals ------------------------------------------------------------------------

    def _schedule_arrival(self, index: int, after: float) -> None:
        """Next arrival of a category after `after`, by thinning against the peak rate."""
        demand = self.demands[self.codes[index]]
        peak = demand.peak_per_minute
        if peak <= 0:
            return
        rng = self.arrival_rng
        t = after
        while True:
            t += rng.expovariate(peak)
            if t >= self.scenario.last_ticket:
                return
            if rng.random() * peak <= demand.rate_per_minute(t):
                self._push(t, _ARRIVE, index)
                return

    def _on_arrive(self, index: int) -> None:
        code = self.codes[index]
        demand = self.demands[code]
        category = self.categories[code]
        rng = self.citizen_rng
        # every ticket makes the same number of draws, whatever its kind (common numbers)
        u_class, u_lead, u_absent = rng.random(), rng.random(), rng.random()
        services = [self._service_time(demand, rng) for _ in range(demand.steps)]
        appointment_at = None
        if u_class < demand.appointment_share:
            priority = Priority.APPOINTMENT
            lead = u_lead * self.scenario.appointment_lead_minutes
            appointment_at = self.at(self.now + lead)
        elif u_class < demand.appointment_share + demand.green_share:
            priority = Priority.GREEN
        else:
            priority = Priority.NORMAL
        now = self.now_dt
        self.sequence[code] += 1
        number = ticket_number(category.prefix, self.sequence[code])
        ticket = ticketing.issue(
            ticket_id=ticket_id(self._local_day(), number),
            number=number,
            category=code,
            now=now,
            priority=priority,
            appointment_at=appointment_at,
            chain=demand.chain,
        )
        record = TicketRecord(
            category=code,
            priority=priority,
            issued=self.now,
            estimate=None,
            steps=demand.steps,
        )
        self.records.append(record)
        self.pending[ticket.id] = _Pending(
            services=services,
            absent=u_absent < self.scenario.no_show_share,
            walk=self.scenario.walk_minutes,
            record=record,
            waiting_since=self.now,
        )
        self._enqueue(ticket)
        if self.scenario.estimate:
            record.estimate = self._estimate(ticket)
        self._dispatch(code)
        self._schedule_arrival(index, self.now)

    def _service_time(self, demand: Demand, rng: random.Random) -> float:
        mean, cv = demand.service_minutes, demand.service_cv
        kind = self.scenario.distribution
        if kind == "exponential":
            return rng.expovariate(1.0 / mean)
        if cv <= 0:
            return mean
        if kind == "gamma":
            shape = 1.0 / (cv * cv)
            return rng.gammavariate(shape, mean / shape)
        sigma2 = math.log1p(cv * cv)
        return rng.lognormvariate(math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2))

    # -- the estimate shown at issue -------------------------------------------------------

    def _estimate(self, ticket: Ticket) -> float:
        """What the server would print on this ticket (hall.views.position, also for an
        appointment)."""
        code = ticket.category
        if ticket.priority is Priority.APPOINTMENT and ticket.appointment_at is not None:
            ahead = len(self.queues[code][Priority.APPOINTMENT]) - 1
        else:
            ahead = self.counts[code] - 1  # everyone waiting in the category was issued earlier
        waiting = {c: n for c, n in self.counts.items() if n}
        windows = [w.views[w.state] for w in self.wins]
        if ticket.priority is Priority.APPOINTMENT and ticket.appointment_at is not None:
            # hall.views.position passes only the category's own figures
            estimate = estimate_wait_minutes(
                category=code,
                people_ahead=ahead,
                windows=windows,
                waiting_by_category=waiting,
                mean_service_minutes=self._window_minutes(code),
            )
        else:
            estimate = estimate_wait_minutes(
                category=code,
                people_ahead=ahead,
                windows=windows,
                waiting_by_category=waiting,
                mean_service_minutes=self._window_minutes(code),
                minutes_by_category={c: self._window_minutes(c) for c in waiting},
                targets=self.targets,
                rank_penalty=self.rank_penalty,
            )
        if ticket.appointment_at is not None and ticket.priority is Priority.APPOINTMENT:
            until_slot = max(0.0, (ticket.appointment_at - ticket.issued_at) / _MINUTE)
            estimate = round(max(estimate, until_slot), 1)
        return estimate

    def _window_minutes(self, code: str) -> float:
        """As HallState.service_minutes: the mean window time (call to finish) of the
        category's recent done tickets, or its configured service time before 3 are done."""
        recent = self.recent[code]
        if len(recent) < 3:
            return self.categories[code].service_minutes
        return sum(recent) / len(recent)

    # -- queues --------------------------------------------------------------------------

    def _enqueue(self, ticket: Ticket) -> None:
        self.waiting[ticket.id] = ticket
        self.counts[ticket.category] += 1
        heapq.heappush(
            self.queues[ticket.category][ticket.priority], (ticket.queue_time, ticket.id)
        )

    def _entered(self, ticket_id: str) -> float:
        """Minutes after opening when a waiting ticket (re)entered the queue."""
        pending = self.pending[ticket_id]
        return pending.record.issued if pending.record.first_call is None else pending.waiting_since

    def _candidates(self, win: _Win) -> list[Ticket]:
        out = []
        waiting = self.waiting
        for code in win.serves:
            if not self.counts[code]:
                continue
            for heap in self.queues[code].values():
                if heap:
                    out.append(waiting[heap[0][1]])
        return out

    def _dispatch(self, code: str) -> None:
        """Offer a newly waiting ticket's category to the idle windows that serve it, the
        longest idle first, while anything is left for them."""
        idle = [w for w in self.by_category[code] if w.state is WindowState.IDLE]
        idle.sort(key=lambda w: (w.since, w.index))
        for win in idle:
            if not self.counts[code]:
                return
            self._call_next(win)

    def _overdue_quick(self, win: _Win) -> tuple[str, ...]:
        """Quick categories outside the window's profile whose head is past its target
        (the sim-only re-profiling rule; empty when it is off)."""
        out = []
        for code in self.quick:
            if code in win.serves or not self.counts[code]:
                continue
            heads = [h[0][1] for h in self.queues[code].values() if h]
            oldest = min(self._entered(tid) for tid in heads)
            if self.now - oldest > self.targets[code]:
                out.append(code)
        return tuple(out)

    def _call_next(self, win: _Win) -> None:
        extra = self._overdue_quick(win) if self.quick else ()
        if extra:
            serves, window = win.serves, win.window
            win.serves = serves + extra
            win.window = window.but(profile=window.profile + extra)
            try:
                self._call(win)
            finally:
                win.serves, win.window = serves, window
            return
        self._call(win)

    def _call(self, win: _Win) -> None:
        candidates = self._candidates(win)
        if not candidates:
            self._set(
                win, WindowState.CLOSED if self.now >= self.scenario.close else WindowState.IDLE
            )
            if win.state is WindowState.CLOSED:
                self._close(win)
            return
        chosen = choose_next(win.window, candidates, self.categories, self.rules, self.now_dt)
        assert chosen is not None
        heap = self.queues[chosen.category][chosen.priority]
        if heap[0][1] != chosen.id:  # pragma: no cover - the policy only picks group heads
            raise AssertionError(f"policy chose {chosen.number}, not the head of its group")
        heapq.heappop(heap)
        del self.waiting[chosen.id]
        self.counts[chosen.category] -= 1
        called = ticketing.call(chosen, window=win.window.number, staff=None, now=self.now_dt)
        pending = self.pending[called.id]
        record = pending.record
        if record.first_call is None:
            record.first_call = self.now
        else:
            record.step_waits.append(self.now - pending.waiting_since)
            # measured on the clock of the hall (not the tickets' own queue time, which is
            # the rule under test): when each waiting ticket of the group entered the queue
            entered = pending.waiting_since
            earlier = [self._entered(tid) for _, tid in heap]
            earlier = [m for m in earlier if m < entered]
            record.step_overtakes.append(entered - min(earlier) if earlier else 0.0)
        win.ticket = called
        win.record.busy -= self.now  # busy from this call until the window is free again
        self._set(win, WindowState.CALLING)
        if pending.absent:
            pending.absent = False  # a reinstated or later step would find them there
            self._push(self.now + self.scenario.recall_interval_minutes, _RECALL, win.index)
        elif pending.walk > 0:
            self._push(self.now + pending.walk, _START, win.index)
        else:
            self._on_start(win.index)

    def _set(self, win: _Win, state: WindowState) -> None:
        win.state = state
        win.since = self.now

    # -- window events -------------------------------------------------------------------

    def _on_start(self, index: int) -> None:
        win = self.wins[index]
        assert win.ticket is not None
        win.ticket = ticketing.start(win.ticket, now=self.now_dt)
        self._set(win, WindowState.SERVING)
        pending = self.pending[win.ticket.id]
        self._push(self.now + pending.services[win.ticket.chain_step], _FINISH, index)

    def _on_finish(self, index: int) -> None:
        win = self.wins[index]
        ticket = win.ticket
        assert ticket is not None and ticket.started_at is not None
        # window time from the call that led to this service (recalls included) to its end
        called = ticket.call_times[-(ticket.recall_count + 1)]
        duration = (self.now_dt - called) / _MINUTE
        done = ticketing.finish(ticket, now=self.now_dt)
        pending = self.pending[done.id]
        win.record.served += 1
        if done.state is TicketState.WAITING:  # next step of a one-chain category
            pending.waiting_since = self.now
            self._enqueue(done)
            self._free(win)
            self._dispatch(done.category)
            return
        self.recent[done.category].append(duration)
        pending.record.done = self.now
        del self.pending[done.id]
        self._free(win)

    def _on_recall(self, index: int) -> None:
        win = self.wins[index]
        assert win.ticket is not None
        ticket = ticketing.recall(
            win.ticket, now=self.now_dt, no_show_after=self.rules.no_show_after_recalls
        )
        if ticket.state is TicketState.NO_SHOW:
            pending = self.pending.pop(ticket.id)
            pending.record.no_show = True
            self._free(win)
            return
        win.ticket = ticket
        self._push(self.now + self.scenario.recall_interval_minutes, _RECALL, index)

    def _free(self, win: _Win) -> None:
        win.ticket = None
        win.record.busy += self.now
        if win.breaks and win.breaks[0][0] <= self.now:
            self._take_break(win)
            return
        self._set(win, WindowState.IDLE)
        self._call_next(win)

    def _take_break(self, win: _Win) -> None:
        _, minutes = win.breaks.pop(0)
        self._set(win, WindowState.PAUSED)
        win.on_break += minutes
        self._push(self.now + minutes, _RESUME, win.index)

    def _on_break(self, index: int) -> None:
        win = self.wins[index]
        if win.state is WindowState.IDLE and win.breaks and win.breaks[0][0] <= self.now:
            self._take_break(win)
        # a busy window goes on break when its current ticket is done (see _free)

    def _on_resume(self, index: int) -> None:
        win = self.wins[index]
        self._set(win, WindowState.IDLE)
        if win.breaks and win.breaks[0][0] <= self.now:  # a second break already due
            self._take_break(win)
            return
        self._call_next(win)

    def _on_close(self, _: int) -> None:
        for win in self.wins:
            if win.state is WindowState.IDLE:
                self._set(win, WindowState.CLOSED)
                self._close(win)

    def _close(self, win: _Win) -> None:
        win.state = WindowState.CLOSED
        end = max(self.now, win.since)
        win.record.staffed = end - win.opened - win.on_break


def simulate(
    hall: Hall,
    scenario: Scenario,
    seed: int = 1,
    label: str | None = None,
    antithetic: bool = False,
) -> DayResult:
    """One simulated day (or one long theory run) of `hall` under `scenario`; `label` names
    the policy in the result (default: the hall's policy); `antithetic` runs the mirror of
    the seed's random streams."""
    return Simulation(hall, scenario, seed, label, antithetic).run()
