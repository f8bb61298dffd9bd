"""Property test: whatever order pads, windows, kiosks and status pages try to rate in, no
service is rated twice and no one rates a service that is not theirs to rate (一次一评;
hall/ratings.py), through the real HallService on a real SQLite file."""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from queue_protocol.errors import ErrorCode
from queue_protocol.messages import (
    CallNext,
    FinishService,
    Hello,
    IssueTicket,
    Rate,
    Role,
    StartService,
)
from queue_server.hallconfig import demo_hall_path, read_toml
from queue_server.service import HallService, Principal
from queue_server.store.engine import make_engine
from queue_server.store.tables import RatingRow
from tests.conftest import Clock

EXAMPLES = int(os.environ.get("YICHUANG_PROPERTY_EXAMPLES", "30"))
WINDOWS = (1, 3)
KIOSK = Principal(role=Role.KIOSK, key="device:一号取号机", device="一号取号机")
ADMIN = Principal(role=Role.ADMIN, key="staff:zhuren", staff="zhuren")


def window(n: int) -> Principal:
    return Principal(role=Role.WINDOW, key=f"staff:ck{n:02d}", staff=f"ck{n:02d}", window=n)


def pad(n: int) -> Principal:
    return Principal(role=Role.RATER, key=f"device:{n}号评价器", device=f"{n}号评价器", window=n)


def citizen(ticket: str) -> Principal:
    return Principal(role=Role.CITIZEN, key=f"citizen:{ticket}", ticket=ticket)


def hall(directory: Path) -> HallService:
    config: dict[str, Any] = copy.deepcopy(read_toml(demo_hall_path()))
    config["hall"].pop("hours", None)
    config["devices"] += [
        {"name": f"{n}号评价器", "kind": "rater", "windows": [n], "token": f"pad-{n}"}
        for n in WINDOWS
    ]
    service = HallService(make_engine(f"sqlite:///{directory / 'hall.db'}"), clock=Clock())
    service.import_config(config)
    return service


# An attempt: who (pad / window / kiosk with a slip / status page / supervisor), of which
# ticket (index into the served ones), whose slip it holds, which level.
attempt = st.tuples(
    st.sampled_from(("pad", "window", "slip", "page", "supervisor", "bare kiosk")),
    st.sampled_from(WINDOWS),
    st.integers(0, 3),
    st.integers(0, 3),
    st.integers(1, 5),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    order=st.lists(st.sampled_from(WINDOWS), min_size=4, max_size=4),
    attempts=st.lists(attempt, min_size=1, max_size=25),
)
def test_no_service_is_rated_twice_nor_by_someone_it_is_not_theirs(
    order: list[int], attempts: list[tuple[str, int, int, int, int]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        service = hall(Path(tmp))
        for n in WINDOWS:
            service.open_session(window(n), Hello(id=f"h{n}", role=Role.WINDOW), takeover=True)
        tickets: list[tuple[str, str, int]] = []  # id, secret, the window that served it
        for i, n in enumerate(order):
            issued = service.execute(KIOSK, IssueTicket(id=f"i{i}", category="SW"))
            ticket_id = issued.reply.split('"id":"', 1)[1].split('"', 1)[0]
            secret = issued.reply.split('"secret":"', 1)[1].split('"', 1)[0]
            for verb in (CallNext, StartService, FinishService):
                assert service.execute(window(n), verb(id=f"{verb.__name__}{i}")).ok
            tickets.append((ticket_id, secret, n))
        last_at = {n: max(i for i, m in enumerate(order) if m == n) for n in set(order)}
        accepted: dict[str, str] = {}
        for k, (who, at, which, slip, level) in enumerate(attempts):
            ticket_id, secret, served_at = tickets[which]
            request = Rate(id=f"r{k}", ticket=ticket_id, level=level, reasons=["等候时间过长"])
            principal = {
                "pad": pad(at),
                "window": window(at),
                "supervisor": ADMIN,
                "slip": KIOSK,
                "bare kiosk": KIOSK,
                "page": citizen(tickets[slip][0]),
            }[who]
            if who in ("slip", "page"):
                request = request.model_copy(update={"secret": tickets[slip][1]})
            outcome = service.execute(principal, request)
            may = {
                "pad": last_at.get(at) == which,
                "window": served_at == at,
                "supervisor": True,
                "slip": slip == which,
                "page": slip == which,
                "bare kiosk": False,
            }[who]
            if outcome.ok:
                assert may, (who, at, which, slip)
                assert ticket_id not in accepted, f"{ticket_id} rated twice"
                accepted[ticket_id] = who
            elif may and ticket_id not in accepted:
                raise AssertionError(f"{who} was refused its own rating: {outcome.reply}")
            else:
                assert outcome.error in (ErrorCode.FORBIDDEN, ErrorCode.INVALID_STATE)
        with Session(service.engine) as session:
            stored = session.exec(select(RatingRow.ticket, RatingRow.step)).all()
        assert sorted(t for t, _ in stored) == sorted(accepted)
        assert len(set(stored)) == len(stored)
        service.engine.dispose()
