"""A district from one file: `queue-server init --demo-district` (or a district TOML)
makes the district hall and its 11 centres, each its own; every command then names its
hall with --hall."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from queue_protocol.messages import Hello, IssueTicket, Role
from queue_server.auth import authenticate
from queue_server.hallconfig import ConfigError, demo_district_path, read_district
from queue_server.service import HallService, Principal
from queue_server.store.engine import make_engine
from tests.conftest import Clock
from tests.unit.test_cli import cli

CENTRES = [
    "baihuazhou",
    "bayiqiao",
    "dayuan",
    "dongjiayao",
    "dunzitang",
    "gongyuan",
    "pengjiaqiao",
    "shajing",
    "tengwangge",
    "yangzizhou",
    "yuzhang",
]


@pytest.fixture
def district(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    db = f"sqlite:///{tmp_path / 'district.db'}"
    code, out, err = cli(capsys, "init", "--demo-district", db=db)
    assert code == 0, err
    assert "12 halls from" in out
    return db


def test_the_demo_district_is_the_hall_and_its_eleven_centres(
    district: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "halls", db=district)
    assert code == 0
    codes = [line.split()[0] for line in out.splitlines()]
    assert codes == sorted(["donghu", *CENTRES])
    assert "扬子洲镇便民服务中心" in out
    code, out, _ = cli(capsys, "window", "list", "--hall", "shajing", db=district)
    assert code == 0 and len(out.splitlines()) == 4  # a centre's four windows
    code, out, _ = cli(capsys, "window", "list", "--hall", "donghu", db=district)
    assert len(out.splitlines()) == 15


def test_the_centres_hours_are_staggered_and_their_devices_their_own(district: str) -> None:
    engine = make_engine(district)
    weekends = set()
    for centre in CENTRES:
        rules = HallService(engine, hall=centre).config().rules
        weekends |= {day for day in (5, 6) if day in rules.hours.days}
        token = f"{centre}-kiosk-token"
        hall_id = HallService(engine, hall=centre).hall_id()
        kiosk = authenticate(engine, Hello(id="h", role=Role.KIOSK, token=token), hall_id)
        assert kiosk.device == "取号机"
    assert weekends == {5, 6}  # between them the centres open on Saturday and on Sunday


def test_each_centre_numbers_its_own_tickets(district: str) -> None:
    """On a Wednesday morning (every centre open), the same kiosk request at two centres
    issues each its first number."""
    engine = make_engine(district)
    kiosk = Principal(role=Role.KIOSK, key="device:取号机")
    wednesday = Clock(datetime(2026, 12, 2, 2, 0, tzinfo=UTC))  # 10:00 in Nanchang
    for centre in ("bayiqiao", "yuzhang"):
        service = HallService(engine, clock=wednesday, hall=centre)
        outcome = service.execute(kiosk, IssueTicket(id="i", category="SB"))
        assert outcome.ok, outcome.reply
        assert '"number":"A001"' in outcome.reply


def test_a_command_names_its_hall_in_a_district(
    district: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "window", "list", db=district)
    assert code == 1 and "name one (--hall)" in err and "donghu" in err
    code, _, err = cli(capsys, "window", "list", "--hall", "nowhere", db=district)
    assert code == 1 and "no hall 'nowhere'" in err
    code, _, err = cli(capsys, "init", "--demo-district", db=district)
    assert code == 1 and "already holds the halls" in err


def test_a_district_file_is_checked_whole_before_any_hall_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A repeated code or a token shared by two halls' devices is refused, naming the
    entry, and nothing is made."""
    halls = Path(str(demo_district_path())).parent
    centre = (halls / "centre.toml").read_text(encoding="utf-8")
    (tmp_path / "centre.toml").write_text(
        centre.replace('"{code}-kiosk-token"', '"one-token-for-all"'), encoding="utf-8"
    )
    twice = tmp_path / "twice.toml"
    twice.write_text(
        '[[halls]]\nfile = "centre.toml"\ncode = "a"\n'
        '[[halls]]\nfile = "centre.toml"\ncode = "a"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"halls\[1\]\.code: the hall 'a' is listed twice"):
        read_district(twice)
    shared = tmp_path / "shared.toml"
    shared.write_text(
        '[[halls]]\nfile = "centre.toml"\ncode = "a"\n'
        '[[halls]]\nfile = "centre.toml"\ncode = "b"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"halls\[1\] \(b\): device '取号机' has the token"):
        read_district(shared)
    db = f"sqlite:///{tmp_path / 'd.db'}"
    code, _, err = cli(capsys, "init", str(shared), db=db)
    assert code == 1 and "has the token" in err
    code, out, _ = cli(capsys, "halls", db=db)
    assert out == ""  # nothing was made


def test_the_district_file_is_valid_toml_listing_twelve_halls() -> None:
    with Path(str(demo_district_path())).open("rb") as fh:
        assert len(tomllib.load(fh)["halls"]) == 12
