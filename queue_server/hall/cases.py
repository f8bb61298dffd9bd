"""评必反馈: every 差评 opens a follow-up case (工单), answered within the hall's working days.

A case is opened by the rating itself, due at the end of the `[ratings] case_working_days`-th
working day after it (domain/calendar.py: holidays and 调休 counted), and given to the
supervisor responsible for the window that served (谁办理、谁负责: `[ratings] case_owners`
by zone, else `case_owner`). Its steps, each an `update_case` by a supervisor, each kept
(`case_step`) and published (`case_updated`), nothing deleted:

    open ──verify──> verified ──rectify──> rectifying ──answer──> answered
                         └──────────answer─────────────┘               │
    answered ──call_back (the citizen's level)──> called_back ──close──> closed

    open | verified | rectifying ──appeal──> appealed ──uphold──> back where it was
                                                      └─exclude─> excluded (closed; the
                                                                  rating leaves the figures)

An appeal is reviewed by another supervisor than the one who made it (申诉复核). The
answer is what the deadline is about: a case is overdue while unanswered past `due_at`, and
was answered late if answered after it. Near-deadline and overdue cases raise alerts
(hall/alerts.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    CaseAction,
    CaseListReply,
    CaseOpened,
    CaseReply,
    CaseState,
    CaseStepView,
    CaseUpdated,
    CaseView,
    GetCase,
    ListCases,
    UpdateCase,
)
from queue_server.domain.calendar import end_of_working_days
from queue_server.hall.rating_store import rating_view
from queue_server.hall.state import CaseLive, CaseStepLive, RatingLive
from queue_server.hall.work import Work
from queue_server.roles import Principal

S = CaseState
BEFORE_ANSWER = frozenset({S.OPEN, S.VERIFIED, S.RECTIFYING})
UNFINISHED = frozenset(s for s in CaseState if s not in (S.CLOSED, S.EXCLUDED))
# action -> (the states it may be taken from, the state it leads to; None: see `update`)
MOVES: dict[CaseAction, tuple[frozenset[CaseState], CaseState | None]] = {
    CaseAction.VERIFY: (frozenset({S.OPEN}), S.VERIFIED),
    CaseAction.RECTIFY: (frozenset({S.VERIFIED, S.RECTIFYING}), S.RECTIFYING),
    CaseAction.ANSWER: (frozenset({S.VERIFIED, S.RECTIFYING}), S.ANSWERED),
    CaseAction.CALL_BACK: (frozenset({S.ANSWERED}), S.CALLED_BACK),
    CaseAction.CLOSE: (frozenset({S.CALLED_BACK}), S.CLOSED),
    CaseAction.APPEAL: (BEFORE_ANSWER, S.APPEALED),
    CaseAction.UPHOLD: (frozenset({S.APPEALED}), None),  # back to the state appealed from
    CaseAction.EXCLUDE: (frozenset({S.APPEALED}), S.EXCLUDED),
    CaseAction.ASSIGN: (UNFINISHED, None),  # stays where it is
}
NEEDS_TEXT = frozenset(set(CaseAction) - {CaseAction.CLOSE, CaseAction.ASSIGN})


def open_case(w: Work, rating: RatingLive) -> CaseLive:
    """The case of a 差评 just given (`rating.case` is set to it)."""
    settings = w.config.ratings
    window = w.state.windows.get(rating.window or 0)
    owner = settings.owner_for(window.zone if window is not None else None)
    due = end_of_working_days(w.rules, w.now, settings.case_working_days).astimezone(UTC)
    case = CaseLive(
        id=w.next_case_id(),
        rating=rating.id,
        state=S.OPEN,
        opened_at=w.now,
        due_at=due,
        owner=owner,
        steps=[],
    )
    _step(w, case, "opened", S.OPEN, owner=owner)
    rating.case = case.id
    w.cases[case.id] = case
    w.emit(CaseOpened, route=(rating.window, None), case=case_view(w, case, rating))
    return case


def update(w: Work, p: Principal, r: UpdateCase) -> CaseReply:
    case = _case(w, r.case)
    allowed, to = MOVES[r.action]
    if case.state not in allowed:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            f"case {case.id} is {case.state.value}: it cannot be given {r.action.value}",
            reason="case_state",
            state=case.state.value,
        )
    text = r.text.strip()
    if r.action in NEEDS_TEXT and not text:
        raise _missing("text", f"{r.action.value} needs a text: what was found, done or said")
    if r.action is CaseAction.CALL_BACK and r.level is None:
        raise _missing("level", "call_back needs the citizen's level (1 … 5)")
    if r.action is CaseAction.ASSIGN:
        _check_owner(w, r.owner)
    if r.action in (CaseAction.UPHOLD, CaseAction.EXCLUDE):
        appellant = next((s.by for s in reversed(case.steps) if s.action == "appeal"), None)
        if appellant is not None and appellant == w.by:
            raise ProtocolError(
                ErrorCode.FORBIDDEN,
                "an appeal is reviewed by another supervisor than the one who made it",
                reason="own_appeal",
            )
    rating = _rating(w, case.rating)
    if r.action is CaseAction.APPEAL:
        case.appealed_from = case.state
    if r.action is CaseAction.UPHOLD:
        to, case.appealed_from = case.appealed_from or S.OPEN, None
    if r.action is CaseAction.EXCLUDE:
        rating = rating.copy()
        rating.excluded, rating.excluded_reason = True, text
        w.ratings[rating.id] = rating
        case.appealed_from = None
    if r.action is CaseAction.ANSWER:
        case.answered_at = w.now
    if r.action is CaseAction.CALL_BACK:
        case.callback_level = r.level
    if r.action is CaseAction.ASSIGN:
        case.owner = r.owner
    if to in (S.CLOSED, S.EXCLUDED):
        case.closed_at = w.now
    case.state = to or case.state
    level = r.level if r.action is CaseAction.CALL_BACK else None
    owner = r.owner if r.action is CaseAction.ASSIGN else None
    _step(w, case, r.action.value, case.state, text=text, level=level, owner=owner)
    w.cases[case.id] = case
    view = case_view(w, case, rating)
    w.emit(CaseUpdated, route=(rating.window, None), case=view, action=r.action)
    return CaseReply(re=r.id, case=view)


def get(w: Work, p: Principal, r: GetCase) -> CaseReply:
    case = _case(w, r.case, finished=True)
    return CaseReply(re=r.id, case=case_view(w, case, _rating(w, case.rating)))


def listed(w: Work, p: Principal, r: ListCases) -> CaseListReply:
    if r.open_only:
        found = [c.copy() for c in w.state.ratings.cases.values()]
    else:
        assert w.fetch_cases is not None
        found = w.fetch_cases(None)
    found.sort(key=lambda c: (c.state in (S.CLOSED, S.EXCLUDED), c.due_at, c.id))
    return CaseListReply(
        re=r.id, cases=[case_view(w, c, _rating(w, c.rating)) for c in found[: r.limit]]
    )


# -- reading ------------------------------------------------------------------------------


def _case(w: Work, case_id: int, finished: bool = False) -> CaseLive:
    """The case, as this command may change it (a copy until applied)."""
    if case_id in w.cases:
        return w.cases[case_id]
    live = w.state.ratings.cases.get(case_id)
    if live is not None:
        return live.copy()
    if 0 < case_id <= w.state.ratings.last_case and w.fetch_cases is not None:
        stored = w.fetch_cases([case_id])
        if stored:
            if finished:
                return stored[0]
            raise ProtocolError(
                ErrorCode.INVALID_STATE,
                f"case {case_id} is {stored[0].state.value}",
                reason="case_state",
                state=stored[0].state.value,
            )
    raise ProtocolError(ErrorCode.NOT_FOUND, f"no case {case_id}", reason="case")


def _rating(w: Work, rating_id: int) -> RatingLive:
    if rating_id in w.ratings:
        return w.ratings[rating_id]
    known = w.state.ratings.by_id.get(rating_id)
    if known is not None:
        return known
    assert w.fetch_rating is not None
    stored = w.fetch_rating(rating_id)
    if stored is None:  # a case's rating is never deleted
        raise ProtocolError(ErrorCode.INTERNAL, f"the rating {rating_id} of a case is missing")
    return stored


def _check_owner(w: Work, owner: str | None) -> None:
    if owner is None:
        raise _missing("owner", "assign needs the account now responsible")
    if owner not in w.config.staff_names or owner in w.state.disabled_staff:
        raise ProtocolError(
            ErrorCode.NOT_FOUND, f"no staff account {owner!r}", reason="staff", field="owner"
        )


def _missing(field: str, message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_REQUEST, message, reason="missing", field=field)


def _step(
    w: Work,
    case: CaseLive,
    action: str,
    state: CaseState,
    text: str = "",
    level: int | None = None,
    owner: str | None = None,
) -> None:
    step = CaseStepLive(case.id, len(case.steps), w.now, w.by, action, state, text, level, owner)
    case.steps = [*case.steps, step]
    w.case_steps.append(step)


# -- views --------------------------------------------------------------------------------


def overdue(case: CaseLive, now: datetime) -> bool:
    """Unanswered past due now, or answered after its due time (a finished case unanswered,
    its rating excluded, owes no answer)."""
    if case.answered_at is not None:
        return case.answered_at >= case.due_at
    return case.state in UNFINISHED and now >= case.due_at


def case_view(w: Work, case: CaseLive, rating: RatingLive) -> CaseView:
    return CaseView(
        id=case.id,
        rating=rating_view(rating, w.config.staff_names),
        state=case.state,
        opened_at=case.opened_at,
        due_at=case.due_at,
        owner=case.owner,
        owner_name=w.staff_name(case.owner) if case.owner else None,
        overdue=overdue(case, w.now),
        answered_at=case.answered_at,
        answered_on_time=None if case.answered_at is None else case.answered_at < case.due_at,
        callback_level=case.callback_level,
        closed_at=case.closed_at,
        steps=[
            CaseStepView(
                at=s.at,
                by=s.by,
                action=s.action,
                state=s.state,
                text=s.text,
                level=s.level,
                owner=s.owner,
            )
            for s in case.steps
        ],
    )
