"""The console's cases screen offers what the server allows, says every state, action and
refusal in words, and keeps the newest picture of a case whichever way it arrives."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from admin_console.i18n import set_language, t
from admin_console.screens.cases import (
    ACTS_FROM,
    TEXT_OPTIONAL,
    allowed,
    describe_case_refusal,
    overdue_now,
)
from admin_console.state import HallBoard
from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CaseAction,
    CaseState,
    CaseStepView,
    CaseView,
    ErrorReply,
    GetCase,
    RatingChannel,
    RatingView,
    UpdateCase,
)
from queue_server.hall import cases

AT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def chinese() -> Iterator[None]:
    set_language("zh")
    yield
    set_language("zh")


def test_the_console_offers_what_the_servers_moves_allow() -> None:
    """The client's table is the server's (hall/cases.py MOVES, NEEDS_TEXT)."""
    assert {action: moves[0] for action, moves in cases.MOVES.items()} == ACTS_FROM
    assert set(CaseAction) - TEXT_OPTIONAL == cases.NEEDS_TEXT
    assert allowed(CaseState.OPEN) == [CaseAction.VERIFY, CaseAction.APPEAL, CaseAction.ASSIGN]
    assert allowed(CaseState.CLOSED) == allowed(CaseState.EXCLUDED) == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_state_action_level_and_channel_has_its_words(language: str) -> None:
    set_language(language)  # type: ignore[arg-type]
    keys = [f"case.state.{s.value}" for s in CaseState]
    keys += [f"case.{kind}.{a.value}" for a in CaseAction for kind in ("action", "text", "note")]
    keys += [f"case.channel.{c.value}" for c in RatingChannel]
    keys += [f"level.{n}" for n in range(1, 6)] + ["case.action.opened"]
    assert [k for k in keys if t(k) == k] == []


def error(code: ErrorCode, **fields: object) -> ErrorReply:
    return ErrorReply(code=code, message="the server's words, never shown", **fields)


def update(action: CaseAction, **fields: object) -> UpdateCase:
    return UpdateCase(id="r", case=7, action=action, **fields)


@pytest.mark.parametrize(
    ("request_", "reply", "said"),
    [
        (
            update(CaseAction.VERIFY, text="x"),
            error(ErrorCode.INVALID_STATE, reason="case_state", state="answered"),
            "7 号工单现为「已反馈」，不能核实",
        ),
        (
            GetCase(id="r", case=7),
            error(ErrorCode.INVALID_STATE, reason="case_state", state="closed"),
            "7 号工单现为「已办结」",
        ),
        (
            update(CaseAction.UPHOLD, text="x"),
            error(ErrorCode.FORBIDDEN, reason="own_appeal"),
            "该申诉由您本人提出，须由另一位值班主任复核",
        ),
        (
            update(CaseAction.ANSWER),
            error(ErrorCode.BAD_REQUEST, reason="missing", field="text"),
            "请填写内容",
        ),
        (
            update(CaseAction.CALL_BACK, text="x"),
            error(ErrorCode.BAD_REQUEST, reason="missing", field="level"),
            "请选择群众的评价",
        ),
        (
            update(CaseAction.ASSIGN),
            error(ErrorCode.BAD_REQUEST, reason="missing", field="owner"),
            "请填写转派的账号",
        ),
        (
            update(CaseAction.ASSIGN, owner="nobody"),
            error(ErrorCode.NOT_FOUND, reason="staff", field="owner"),
            "没有账号 nobody，或该账号已停用",
        ),
        (
            update(CaseAction.CLOSE),
            error(ErrorCode.NOT_FOUND, reason="case"),
            "没有 7 号工单",
        ),
    ],
)
def test_refusals_are_said_from_code_and_fields(
    request_: UpdateCase | GetCase, reply: ErrorReply, said: str
) -> None:
    assert describe_case_refusal(request_, reply) == said


def test_other_refusals_are_left_to_the_shared_words() -> None:
    assert describe_case_refusal(update(CaseAction.CLOSE), error(ErrorCode.INTERNAL)) is None


def view(steps: int, *, overdue: bool = False, answered: datetime | None = None) -> CaseView:
    rating = RatingView(
        id=1,
        ticket="20261125-B001",
        number="B001",
        category="SW",
        channel=RatingChannel.QR,
        level=5,
        bad=True,
        rated_at=AT,
    )
    return CaseView(
        id=1,
        rating=rating,
        state=CaseState.OPEN if steps == 1 else CaseState.VERIFIED,
        opened_at=AT,
        due_at=AT + timedelta(days=7),
        overdue=overdue,
        answered_at=answered,
        steps=[
            CaseStepView(at=AT, by=None, action="opened", state=CaseState.OPEN)
            for _ in range(steps)
        ],
    )


def test_an_older_picture_of_a_case_changes_nothing() -> None:
    """A list asked for before an update crossed it (fewer steps) leaves the newer case."""
    board = HallBoard()
    board.apply_case(view(2))
    board.apply_case(view(1))
    assert board.cases[1].state is CaseState.VERIFIED
    board.apply_case(view(2, overdue=True))  # the same steps, seen later: taken
    assert board.cases[1].overdue


def test_a_case_falls_due_by_the_clock() -> None:
    case = view(1)
    assert not overdue_now(case, AT + timedelta(days=6))
    assert overdue_now(case, AT + timedelta(days=7))
    answered = view(2, answered=AT + timedelta(days=1))
    assert not overdue_now(answered, AT + timedelta(days=30))  # answered on time
