"""`queue-server ratings`: the ratings of a day, the cases and their steps, a case moved on
from the command line, the figures, and the ledger (台账) as CSV and XLSX, read back with
openpyxl and checked field by field (issue 15)."""

from __future__ import annotations

import csv
import getpass
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from queue_protocol.messages import (
    CallNext,
    FinishService,
    Hello,
    IssueTicket,
    Rate,
    Role,
    StartService,
)
from queue_server.service import HallService, Principal
from queue_server.store.engine import make_engine
from tests.conftest import Clock
from tests.unit.test_cli import cli, db, hall  # noqa: F401  (db, hall: its fixtures)

WEDNESDAY_10H = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
KIOSK = Principal(role=Role.KIOSK, key="device:一号取号机", device="一号取号机")
WINDOW = Principal(role=Role.WINDOW, key="staff:ck01", staff="ck01", window=1)


def rated_day(url: str) -> list[str]:
    """Three services at window 1 on Wednesday 25 November: one rated 满意 by its slip,
    one 非常不满意 on a paper form (a case opens), one not rated. Their numbers."""
    service = HallService(make_engine(url), clock=Clock(WEDNESDAY_10H))
    service.open_session(WINDOW, Hello(id="h", role=Role.WINDOW), takeover=True)
    numbers, secrets = [], []
    for i in range(3):
        issued = service.execute(KIOSK, IssueTicket(id=f"i{i}", category="SW"))
        numbers.append(issued.reply.split('"number":"', 1)[1].split('"', 1)[0])
        secrets.append(issued.reply.split('"secret":"', 1)[1].split('"', 1)[0])
        for verb in (CallNext, StartService, FinishService):
            assert service.execute(WINDOW, verb(id=f"{verb.__name__}{i}")).ok
    good = Rate(id="r1", ticket=numbers[0], level=2, phone="13812345678", secret=secrets[0])
    assert service.execute(KIOSK, good).ok
    bad = Rate(id="r2", ticket=numbers[1], level=5, reasons=["等候时间过长", "服务态度不好"])
    assert service.execute(WINDOW, bad).ok
    service.engine.dispose()
    return numbers


def test_the_ledger_and_figures_of_a_day(
    hall: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    numbers = rated_day(hall)
    monkeypatch.setenv("YICHUANG_CLOCK", "2026-11-25T15:00:00+08:00")
    xlsx, csv_path = tmp_path / "台账.xlsx", tmp_path / "ledger.csv"
    code, _, err = cli(
        capsys, "ratings", "ledger", "--xlsx", str(xlsx), "--csv", str(csv_path), db=hall
    )
    assert code == 0, err
    book = load_workbook(xlsx, read_only=True)
    header, *rows = [list(r) for r in book["台账"].iter_rows(values_only=True)]
    ledger = [dict(zip(header, row, strict=True)) for row in rows]
    assert len(ledger) == 2  # the unrated service is no rating
    good, bad = ledger
    assert good["取号号码"] == numbers[0] and good["票据编号"] == f"20261125-{numbers[0]}"
    assert (good["窗口"], good["工作人员"], good["工号"]) == (1, "王芳", "ck01")
    assert (good["评价渠道"], good["评价人联系方式"]) == ("二维码", "138****5678")
    assert (good["评价等级"], good["评价等级名称"], good["差评原因"]) == (2, "满意", None)
    assert (good["工单编号"], good["是否剔除"], good["办理环节"]) == (None, "否", "窗口办理")
    assert good["评价时间"] == "2026-11-25 10:00:00" and good["办件日期"] == "2026-11-25"
    assert (bad["评价渠道"], bad["评价等级名称"]) == ("纸质评价表", "非常不满意")
    assert bad["差评原因"] == "等候时间过长；服务态度不好"
    assert (bad["工单编号"], bad["工单状态"]) == (1, "待核实")
    # 5 working days after Wednesday 25 November (no holidays): due before 3 December.
    assert bad["整改期限"] == "2026-12-03 00:00:00" and bad["反馈时间"] is None
    header, *figures = [list(r) for r in book["统计"].iter_rows(values_only=True)]
    by_window = dict(zip(header, figures[0], strict=True))
    assert by_window["window"] == "1"
    assert (by_window["服务次数"], by_window["评价次数"]) == (3, 2)
    assert by_window["评价率"] == pytest.approx(2 / 3)
    assert (by_window["好评"], by_window["差评"], by_window["好评率"]) == (1, 1, 0.5)
    assert (by_window["差评工单"], by_window["按期反馈"], by_window["超期"]) == (1, 0, 0)
    book.close()
    with csv_path.open(encoding="utf-8") as f:
        assert [r["评价等级名称"] for r in csv.DictReader(f)] == ["满意", "非常不满意"]

    code, out, _ = cli(capsys, "ratings", "figures", db=hall)
    assert code == 0 and "66.7%" in out and "50.0%" in out
    code, out, _ = cli(capsys, "ratings", "list", "--bad", db=hall)
    assert code == 0 and numbers[1] in out and numbers[0] not in out


def test_a_case_is_moved_on_from_the_command_line(
    hall: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    numbers = rated_day(hall)
    monkeypatch.setenv("YICHUANG_CLOCK", "2026-11-26T09:00:00+08:00")
    code, out, _ = cli(capsys, "ratings", "cases", db=hall)
    assert code == 0 and "case    1 open" in out and numbers[1] in out
    code, out, err = cli(capsys, "ratings", "act", "1", "verify", "--text", "调取录像属实", db=hall)
    assert (code, out.strip()) == (0, "case 1 is verified"), err
    code, _, err = cli(capsys, "ratings", "act", "1", "close", db=hall)
    assert code == 1 and "cannot be given close" in err
    code, out, _ = cli(capsys, "ratings", "case", "1", db=hall)
    assert code == 0
    steps = [line.split() for line in io.StringIO(out) if "->" in line]
    assert [(s[3], s[5]) for s in steps] == [("opened", "open"), ("verify", "verified")]
    assert steps[1][2] == f"cli:{getpass.getuser()}" and "调取录像属实" in out


def test_the_report_carries_the_ratings_of_its_rows(
    hall: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`queue-server report` by staff and day: each row's 好差评 figures beside its
    service figures (CSV and XLSX exactly, the table in percent); by hour it has none."""
    from queue_server.stats.export import read_csv, read_xlsx

    rated_day(hall)
    monkeypatch.setenv("YICHUANG_CLOCK", "2026-12-04T09:00:00+08:00")  # the case overdue
    args = ("report", "--day", "2026-11-25", "--by", "staff,day")
    code, out, err = cli(capsys, *args, "--format", "csv", db=hall)
    assert code == 0, err
    rows = {(r["staff"], r["day"]): r for r in read_csv(out)}
    mine = rows[("ck01", "2026-11-25")]
    assert (mine["services"], mine["ratings:services"], mine["ratings:rated"]) == ("3", "3", "2")
    assert (mine["ratings:good"], mine["ratings:bad"], mine["ratings:satisfaction"]) == (
        "1",
        "1",
        "0.5",
    )
    assert (mine["ratings:rating_rate"], mine["ratings:overdue"]) == ("0.6667", "1")
    assert rows[("*", "*")]["ratings:cases"] == "1"
    xlsx = tmp_path / "report.xlsx"
    code, _, err = cli(capsys, *args, "--format", "xlsx", "-o", str(xlsx), db=hall)
    assert code == 0, err
    header, values = read_xlsx(xlsx)
    first = dict(zip(header, values[0], strict=True))
    assert (first["staff"], first["ratings:rated"], first["ratings:on_time_rate"]) == ("ck01", 2, 0)
    code, out, _ = cli(capsys, *args, db=hall)
    assert code == 0 and "好评率" in out and "50.0%" in out and "66.7%" in out
    by_item = ("report", "--day", "2026-11-25", "--by", "item", "--format", "csv")
    code, out, _ = cli(capsys, *by_item, db=hall)  # the item is its ticket's (a join)
    [no_item] = [r for r in read_csv(out) if r["item"] == ""]
    assert (no_item["ratings:services"], no_item["ratings:rated"]) == ("3", "2")
    code, out, _ = cli(capsys, "report", "--day", "2026-11-25", "--by", "hour", db=hall)
    assert code == 0 and "好评率" not in out  # a rating has no hour
    code, out, _ = cli(capsys, "report", "--day", "2026-11-25", "--format", "html", db=hall)
    assert code == 0 and "好评率" in out and "50.0%" in out
