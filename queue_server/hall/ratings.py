"""Ratings (好差评, SPEC §3): one rating per service (一次一评), bound to the service it rates.

What a rating is of: one service, a ticket's one-chain step served at a window (its
`service` row), or a one-chain visit as a whole once its chain has ended. Who rates it, and
by which channel:

- the window's rating pad (评价器, role rater): the last service finished at its own window,
  while the citizen is still there (the pad's wait, `[ratings] pad_seconds`, and a grace);
- the slip's QR code (its secret: the status page, or a kiosk scanning the slip): any
  service of that ticket, within `[ratings] qr_working_days` working days of its end;
- a paper form, entered by the staff of the window that gave the service, or by a
  supervisor, within the same period.

Nothing else rates a ticket: a kiosk without the secret cannot rate anyone's ticket by its
number. A second rating of the same service is refused. A 不满意 or 非常不满意 (差评) needs
a reason, and opens its follow-up case (hall/cases.py) and an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    BAD_FROM,
    LastService,
    ListRatings,
    NoRating,
    OkReply,
    Rate,
    RatingChannel,
    RatingListReply,
    RatingNotGiven,
    RatingReply,
    RatingSettings,
    Role,
    TicketRated,
    TicketState,
)
from queue_server import security
from queue_server.domain.calendar import end_of_working_days
from queue_server.hall import alerts, cases
from queue_server.hall.rating_store import rating_view
from queue_server.hall.state import VISIT, RatingLive, ServiceLive, TicketLive
from queue_server.hall.work import SERVED_OUTCOMES, Work
from queue_server.roles import Principal

PAD_GRACE_SECONDS = 120  # a pad's rating may arrive this long after its own wait ended


def rate(w: Work, p: Principal, r: Rate) -> RatingReply:
    live = w.ticket(r.ticket)
    ticket = live.ticket
    channel = _channel(w, p, r, live)
    service = _service(w, p, r, live, channel)
    step = VISIT if service is None else service.step
    ended = service.ended_at if service is not None else ticket.finished_at
    assert ended is not None  # a done ticket, or a service that ended
    _in_time(w, channel, ended)
    if _rated(w, ticket.id, step) is not None:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"ticket {ticket.number} is already rated for this service",
            reason="rated",
            ticket=ticket.number,
        )
    reasons = tuple(dict.fromkeys(x.strip() for x in r.reasons if x.strip()))
    if r.level >= BAD_FROM and not reasons:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            "a 不满意 or 非常不满意 rating needs a reason",
            reason="reason_required",
            field="reasons",
        )
    rating = RatingLive(
        id=w.next_rating_id(),
        ticket=ticket.id,
        day=live.day,
        number=ticket.number,
        step=step,
        step_name=service.step_name if service is not None else None,
        category=service.category if service is not None else ticket.category,
        item=ticket.item,
        window=service.window if service is not None else None,
        staff=service.staff if service is not None else None,
        channel=channel,
        level=r.level,
        reasons=reasons if r.level >= BAD_FROM else (),
        comment=r.comment,
        phone=r.phone,
        rated_at=w.now,
        by=w.by,
    )
    if rating.bad:
        cases.open_case(w, rating)
    w.ratings[rating.id] = rating
    w.emit(
        TicketRated, route=(rating.window, None), rating=rating_view(rating, w.config.staff_names)
    )
    alerts.bad_rating(w, rating)
    view = rating_view(rating, w.config.staff_names)
    if p.role is Role.CITIZEN:  # a status page is told no one's name, its staff's neither
        view = view.model_copy(update={"staff": None, "staff_name": None})
    return RatingReply(re=r.id, rating=view)


def no_rating(w: Work, p: Principal, r: NoRating) -> OkReply:
    """The pad waited and the citizen left: the service is recorded as not rated (an
    event, never a rating; the slip may still rate it)."""
    live = w.ticket(r.ticket)
    service = _pads_service(w, p, live, r.step)
    if _rated(w, live.ticket.id, service.step) is not None:  # the rating's reply was lost
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"ticket {live.ticket.number} is already rated for this service",
            reason="rated",
            ticket=live.ticket.number,
        )
    w.emit(
        RatingNotGiven,
        ticket=live.ticket.id,
        number=live.ticket.number,
        step=service.step,
        window=service.window,
    )
    return OkReply(re=r.id)


def list_ratings(w: Work, p: Principal, r: ListRatings) -> RatingListReply:
    assert w.fetch_ratings is not None
    today = w.rules.local_day(w.now)
    since = r.since or today
    until = r.until or since
    if until < since:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, "until is before since", reason="period", field="until"
        )
    found = w.fetch_ratings(since, until, r.bad_only, r.limit)
    return RatingListReply(re=r.id, ratings=[rating_view(x, w.config.staff_names) for x in found])


# -- what is rated, and by whom ------------------------------------------------------------


def _channel(w: Work, p: Principal, r: Rate, live: TicketLive) -> RatingChannel:
    ticket = live.ticket
    if p.role is Role.CITIZEN and ticket.id != p.ticket:  # a status page rates its own only
        raise ProtocolError(
            ErrorCode.FORBIDDEN, "this is not the slip of that ticket", reason="bad_secret"
        )
    if r.secret is not None:
        if live.secret_hash is None or not security.token_matches(live.secret_hash, r.secret):
            raise ProtocolError(
                ErrorCode.FORBIDDEN, "this is not the slip of that ticket", reason="bad_secret"
            )
        return RatingChannel.QR
    if p.role is Role.RATER:
        return RatingChannel.PAD
    if p.role in (Role.WINDOW, Role.ADMIN):
        return RatingChannel.PAPER
    raise ProtocolError(
        ErrorCode.FORBIDDEN,
        "rating needs the ticket's secret from its slip",
        reason="secret_required",
    )


def _service(
    w: Work, p: Principal, r: Rate, live: TicketLive, channel: RatingChannel
) -> ServiceLive | None:
    """The service rated (None: the visit as a whole), checked against who rates it."""
    ticket = live.ticket
    if channel is RatingChannel.PAD:
        service = _pads_service(w, p, live, r.step)
        if r.visit:
            _whole_visit(live)
            return None
        return service
    if r.visit:
        _whole_visit(live)
        paper_at_window = p.role is Role.WINDOW and channel is RatingChannel.PAPER
        if paper_at_window and not any(s.window == p.window for s in _services(w, live)):
            raise _not_served_here(ticket.number, p.window)
        return None
    services = _services(w, live)
    if r.step is not None:
        services = [s for s in services if s.step == r.step]
    if not services:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"ticket {ticket.number} has no finished service to rate"
            + ("" if r.step is None else f" at step {r.step}"),
            reason="not_served",
            state=ticket.state.value,
            ticket=ticket.number,
        )
    service = services[-1]
    if p.role is Role.WINDOW and channel is RatingChannel.PAPER and service.window != p.window:
        raise _not_served_here(ticket.number, p.window)
    return service


def _pads_service(w: Work, p: Principal, live: TicketLive, step: int | None) -> ServiceLive:
    """A pad rates the last service finished at its own window, and only that one."""
    last = w.state.ratings.last_service.get(p.window or 0)
    if (
        last is None
        or last.ticket != live.ticket.id
        or last.outcome not in SERVED_OUTCOMES
        or (step is not None and last.step != step)
    ):
        raise ProtocolError(
            ErrorCode.FORBIDDEN,
            f"ticket {live.ticket.number} is not the last service at window {p.window}",
            reason="not_last_service",
            window=p.window,
            ticket=live.ticket.number,
        )
    return last


def _whole_visit(live: TicketLive) -> None:
    ticket = live.ticket
    if ticket.steps <= 1:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            f"ticket {ticket.number} is no one-chain visit: rate its service",
            reason="not_a_chain",
            field="visit",
        )
    if ticket.state is not TicketState.DONE:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"ticket {ticket.number}'s visit can be rated once its chain has ended",
            reason="not_served",
            state=ticket.state.value,
            ticket=ticket.number,
        )


def _not_served_here(number: str, window: int | None) -> ProtocolError:
    return ProtocolError(
        ErrorCode.FORBIDDEN,
        f"ticket {number} was not served at window {window}",
        reason="not_served_here",
        window=window,
        ticket=number,
    )


def _services(w: Work, live: TicketLive) -> list[ServiceLive]:
    """The ticket's finished services (not transfers), in the order they ended."""
    if live.day == w.state.day.isoformat():
        found = list(w.state.ratings.services.get(live.ticket.id, ()))
    else:
        assert w.fetch_services is not None
        found = w.fetch_services(live.ticket.id)
    return [s for s in found if s.outcome in SERVED_OUTCOMES]


def _in_time(w: Work, channel: RatingChannel, ended: datetime) -> None:
    settings = w.config.ratings
    if channel is RatingChannel.PAD:
        closes = ended + timedelta(seconds=settings.pad_seconds + PAD_GRACE_SECONDS)
    else:
        closes = end_of_working_days(w.rules, ended, settings.qr_working_days)
    if w.now >= closes:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            "the time to rate this service is over",
            reason="rating_closed",
            at=closes,
        )


def _rated(w: Work, ticket: str, step: int) -> RatingLive | None:
    for rating in w.ratings.values():
        if (rating.ticket, rating.step) == (ticket, step):
            return rating
    return w.state.ratings.rated.get((ticket, step))


# -- views --------------------------------------------------------------------------------


def settings(w: Work) -> RatingSettings:
    rules = w.config.ratings
    return RatingSettings(
        reasons=list(rules.reasons),
        pad_seconds=rules.pad_seconds,
        qr_working_days=rules.qr_working_days,
    )


def last_service(w: Work, window: int | None) -> LastService | None:
    """What a rating pad at `window` would ask the rating of now."""
    service = w.state.ratings.last_service.get(window or 0)
    if service is None or service.outcome not in SERVED_OUTCOMES:
        return None
    live = w.state.tickets.get(service.ticket)
    if live is None:
        return None
    return LastService(
        ticket=service.ticket,
        number=live.ticket.number,
        step=service.step,
        step_name=service.step_name,
        category=service.category,
        item=live.ticket.item,
        staff=service.staff,
        staff_name=w.staff_name(service.staff) if service.staff else None,
        ended_at=service.ended_at,
        rated=_rated(w, service.ticket, service.step) is not None,
    )


@dataclass(frozen=True, slots=True)
class Slip:
    """What a ticket's slip (its QR code, its status page) may still rate."""

    rated: bool = False  # its last service
    visit_rated: bool = False  # a one-chain visit as a whole
    until: datetime | None = None  # None: nothing left to rate, or too late


def slip(w: Work, live: TicketLive) -> Slip:
    """The status page's rating: a done ticket's last service, then (a one-chain visit)
    the visit as a whole, within the slip's working days (the checks of `rate`)."""
    ticket = live.ticket
    if ticket.state is not TicketState.DONE or ticket.finished_at is None:
        return Slip()
    rated = w.state.ratings.rated
    services = _services(w, live)
    service_rated = not services or (ticket.id, services[-1].step) in rated
    visit_rated = ticket.steps > 1 and (ticket.id, VISIT) in rated
    closes = end_of_working_days(w.rules, ticket.finished_at, w.config.ratings.qr_working_days)
    left = not service_rated or (ticket.steps > 1 and not visit_rated)
    return Slip(
        rated=bool(services) and service_rated,
        visit_rated=visit_rated,
        until=closes if left and w.now < closes else None,
    )
