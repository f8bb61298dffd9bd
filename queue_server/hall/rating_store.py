"""The ratings area's rows (好差评, 评必反馈): loaded into the hall's state at start, read
for what the state does not hold (an earlier day's services, finished cases, lists).

The state keeps today's services, the ratings of every day a slip may still rate (at most
`MOST_WORKING_DAYS` working days: `RATED_DAYS_KEPT` calendar days covers them across the
longest holidays) and the unfinished cases; a hall has some tens of cases a year.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from queue_protocol.messages import CaseState, RatingChannel, RatingView
from queue_server.domain.appointments import mask_phone
from queue_server.hall.state import (
    VISIT,
    CaseLive,
    CaseStepLive,
    RatingBook,
    RatingLive,
    ServiceLive,
)
from queue_server.store.engine import read_session
from queue_server.store.tables import CaseStepRow, RatingCaseRow, RatingRow, ServiceRow

RATED_DAYS_KEPT = 100
UNFINISHED = [s.value for s in CaseState if s not in (CaseState.CLOSED, CaseState.EXCLUDED)]


def book(session: Session, hall: int, today: date) -> RatingBook:
    out = RatingBook()
    rated_from = (today - timedelta(days=RATED_DAYS_KEPT)).isoformat()
    for row in session.exec(
        select(ServiceRow)
        .where(ServiceRow.hall_id == hall, ServiceRow.day == today.isoformat())
        .order_by(col(ServiceRow.ended_at))
    ).all():
        remember(out, service_live(row))
    for rating in session.exec(
        select(RatingRow).where(RatingRow.hall_id == hall, RatingRow.day >= rated_from)
    ).all():
        live = rating_live(rating)
        out.rated[(live.ticket, live.step)] = out.by_id[live.id] = live
    out.last_rating = (
        session.exec(select(func.max(RatingRow.id)).where(RatingRow.hall_id == hall)).one() or 0
    )
    rows = session.exec(
        select(RatingCaseRow).where(
            RatingCaseRow.hall_id == hall, col(RatingCaseRow.state).in_(UNFINISHED)
        )
    ).all()
    steps = _steps(session, hall, [r.id for r in rows])
    out.cases = {r.id: case_live(r, steps.get(r.id, [])) for r in rows}
    out.last_case = (
        session.exec(select(func.max(RatingCaseRow.id)).where(RatingCaseRow.hall_id == hall)).one()
        or 0
    )
    return out


def remember(book: RatingBook, service: ServiceLive) -> None:
    """A service ended today: it may be rated (the pad rates its window's last one)."""
    book.services.setdefault(service.ticket, []).append(service)
    book.last_service[service.window] = service


def service_live(row: ServiceRow) -> ServiceLive:
    return ServiceLive(
        ticket=row.ticket,
        step=row.step,
        step_name=row.step_name,
        category=row.category,
        window=row.window,
        staff=row.staff,
        ended_at=row.ended_at,
        outcome=row.outcome,
    )


def rating_live(row: RatingRow) -> RatingLive:
    return RatingLive(
        id=row.id,
        ticket=row.ticket,
        day=row.day,
        number=row.number,
        step=row.step,
        step_name=row.step_name,
        category=row.category,
        item=row.item,
        window=row.window,
        staff=row.staff,
        channel=RatingChannel(row.channel),
        level=row.level,
        reasons=tuple(json.loads(row.reasons)),
        comment=row.comment,
        phone=row.phone,
        rated_at=row.rated_at,
        by=row.by,
        excluded=row.excluded,
        excluded_reason=row.excluded_reason,
        case=row.case_id,
    )


def rating_columns(r: RatingLive) -> dict[str, object]:
    return {
        "id": r.id,
        "ticket": r.ticket,
        "day": r.day,
        "number": r.number,
        "step": r.step,
        "step_name": r.step_name,
        "category": r.category,
        "item": r.item,
        "window": r.window,
        "staff": r.staff,
        "channel": r.channel.value,
        "level": r.level,
        "reasons": json.dumps(list(r.reasons), ensure_ascii=False),
        "comment": r.comment,
        "phone": r.phone,
        "rated_at": r.rated_at,
        "by": r.by,
        "excluded": r.excluded,
        "excluded_reason": r.excluded_reason,
        "case_id": r.case,
    }


def case_live(row: RatingCaseRow, steps: list[CaseStepLive]) -> CaseLive:
    return CaseLive(
        id=row.id,
        rating=row.rating,
        state=CaseState(row.state),
        opened_at=row.opened_at,
        due_at=row.due_at,
        owner=row.owner,
        steps=steps,
        appealed_from=CaseState(row.appealed_from) if row.appealed_from else None,
        answered_at=row.answered_at,
        callback_level=row.callback_level,
        closed_at=row.closed_at,
    )


def case_columns(c: CaseLive) -> dict[str, object]:
    return {
        "id": c.id,
        "rating": c.rating,
        "state": c.state.value,
        "opened_at": c.opened_at,
        "due_at": c.due_at,
        "owner": c.owner,
        "appealed_from": c.appealed_from.value if c.appealed_from else None,
        "answered_at": c.answered_at,
        "callback_level": c.callback_level,
        "closed_at": c.closed_at,
    }


def step_columns(s: CaseStepLive) -> dict[str, object]:
    return {
        "case_id": s.case,
        "n": s.n,
        "at": s.at,
        "by": s.by,
        "action": s.action,
        "state": s.state.value,
        "text": s.text,
        "level": s.level,
        "owner": s.owner,
    }


def _steps(session: Session, hall: int, cases: list[int]) -> dict[int, list[CaseStepLive]]:
    out: dict[int, list[CaseStepLive]] = {}
    if not cases:
        return out
    for row in session.exec(
        select(CaseStepRow)
        .where(CaseStepRow.hall_id == hall, col(CaseStepRow.case_id).in_(cases))
        .order_by(col(CaseStepRow.case_id), col(CaseStepRow.n))
    ).all():
        out.setdefault(row.case_id, []).append(
            CaseStepLive(
                case=row.case_id,
                n=row.n,
                at=row.at,
                by=row.by,
                action=row.action,
                state=CaseState(row.state),
                text=row.text,
                level=row.level,
                owner=row.owner,
            )
        )
    return out


# -- reads of what the state does not hold ------------------------------------------------


def fetch_services(engine: Engine, hall: int, ticket: str) -> list[ServiceLive]:
    """An earlier day's ticket's services, in the order they ended."""
    with read_session(engine) as session:
        rows = session.exec(
            select(ServiceRow)
            .where(ServiceRow.hall_id == hall, ServiceRow.ticket == ticket)
            .order_by(col(ServiceRow.ended_at))
        ).all()
        return [service_live(r) for r in rows]


def fetch_ratings(
    engine: Engine, hall: int, since: date, until: date, bad_only: bool, limit: int | None
) -> list[RatingLive]:
    """The ratings given on hall-local days `since` … `until` (by the ticket's day), newest
    first."""
    query = select(RatingRow).where(
        RatingRow.hall_id == hall,
        RatingRow.day >= since.isoformat(),
        RatingRow.day <= until.isoformat(),
    )
    if bad_only:
        query = query.where(col(RatingRow.case_id).is_not(None))
    query = query.order_by(col(RatingRow.id).desc())
    if limit is not None:
        query = query.limit(limit)
    with read_session(engine) as session:
        return [rating_live(r) for r in session.exec(query).all()]


def fetch_rating(engine: Engine, hall: int, rating: int) -> RatingLive | None:
    with read_session(engine) as session:
        row = session.get(RatingRow, (hall, rating))
        return rating_live(row) if row is not None else None


def fetch_cases(engine: Engine, hall: int, ids: list[int] | None) -> list[CaseLive]:
    """Cases by id (None: all), with their steps."""
    query = select(RatingCaseRow).where(RatingCaseRow.hall_id == hall)
    if ids is not None:
        query = query.where(col(RatingCaseRow.id).in_(ids))
    with read_session(engine) as session:
        rows = session.exec(query.order_by(col(RatingCaseRow.id))).all()
        steps = _steps(session, hall, [r.id for r in rows])
        return [case_live(r, steps.get(r.id, [])) for r in rows]


def rating_view(r: RatingLive, names: dict[str, str]) -> RatingView:
    """As clients see it: the phone masked, the staff named."""
    return RatingView(
        id=r.id,
        ticket=r.ticket,
        number=r.number,
        step=None if r.step == VISIT else r.step,
        step_name=r.step_name,
        category=r.category,
        item=r.item,
        window=r.window,
        staff=r.staff,
        staff_name=names.get(r.staff, r.staff) if r.staff else None,
        channel=r.channel,
        level=r.level,
        bad=r.bad,
        reasons=list(r.reasons),
        comment=r.comment,
        phone=mask_phone(r.phone) if r.phone else None,
        rated_at=r.rated_at,
        excluded=r.excluded,
        case=r.case,
    )
