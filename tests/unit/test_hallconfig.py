"""Hall TOML import/export: round trip, no plaintext secrets, and located errors that change
nothing (queue_server/hallconfig.py)."""

from __future__ import annotations

import copy
import hashlib
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from sqlalchemy import Engine

from queue_protocol.errors import ErrorCode
from queue_protocol.messages import Hello, IssueTicket, Policy, Role
from queue_server.auth import authenticate
from queue_server.hallconfig import ConfigError, demo_hall_path, read_toml
from queue_server.service import HallService, Principal
from queue_server.store.engine import make_engine
from tests.conftest import DEMO_PASSWORD, DISPLAY_TOKEN, KIOSK_TOKEN, Clock

Config = dict[str, Any]


def fresh_service(tmp_path: Path, name: str = "other.db") -> HallService:
    return HallService(make_engine(f"sqlite:///{tmp_path / name}"), clock=Clock())


def state_of(service: HallService) -> tuple[Config, int, int]:
    """Everything an import may change: the exported config, its version and the event count."""
    return service.export_config(), service.config().version, service.last_seq()


# -- round trip --------------------------------------------------------------------------------


def test_demo_hall_loads_with_its_categories_windows_and_rules(
    clocked_service: HallService,
) -> None:
    """The shipped demo hall imports into a usable configuration."""
    config = clocked_service.config()
    assert config.rules.name == "东湖区政务服务大厅"
    assert config.rules.timezone == "Asia/Shanghai"
    assert config.rules.policy is Policy.WEIGHTED_WAIT
    assert list(config.categories) == ["QY", "GC", "SW", "BT", "SB", "BB", "CJ"]
    assert config.items["企业设立登记"].chain[0] == "企业登记"
    assert config.items["企业变更登记"].chain == ()
    assert config.categories["QY"].daily_capacity == 300
    windows = {w.number: w for w in clocked_service.list_windows()}
    assert windows[1].profile == []  # 全科
    assert windows[13].profile == ["BB", "QY", "GC"]


def test_export_then_import_round_trips(tmp_path: Path, demo_config: Config) -> None:
    """Exporting a hall and importing the export elsewhere yields the same configuration."""
    first = fresh_service(tmp_path, "first.db")
    first.import_config(copy.deepcopy(demo_config))
    exported = first.export_config()
    text = tomli_w.dumps(exported)
    second = fresh_service(tmp_path, "second.db")
    second.import_config(tomllib.loads(text))
    assert second.export_config() == exported
    assert second.config().rules == first.config().rules
    assert second.config().categories == first.config().categories
    assert second.config().items == first.config().items


def test_export_holds_hashes_and_never_a_plaintext_secret(
    clocked_service: HallService,
) -> None:
    """The export carries password and token hashes only, never a password or token."""
    exported = clocked_service.export_config()
    text = tomli_w.dumps(exported)
    for secret in (DEMO_PASSWORD, DISPLAY_TOKEN, KIOSK_TOKEN):
        assert secret not in text
    for staff in exported["staff"]:
        assert "password" not in staff
        assert staff["password_hash"].startswith("$argon2id$")
    by_name = {d["name"]: d for d in exported["devices"]}
    for device in exported["devices"]:
        assert "token" not in device
    expected = hashlib.sha256(DISPLAY_TOKEN.encode()).hexdigest()
    assert by_name["大厅主屏"]["token_hash"] == expected


def test_plaintext_password_is_hashed_on_import(tmp_path: Path, demo_config: Config) -> None:
    """A `password` given in TOML is stored hashed, works for login, and exports as a hash."""
    data = copy.deepcopy(demo_config)
    data["staff"] = [{"account": "new1", "name": "新人", "password": "s3cret-pass"}]
    service = fresh_service(tmp_path)
    service.import_config(data)
    (staff,) = service.export_config()["staff"]
    assert staff["password_hash"].startswith("$argon2id$")
    assert "s3cret-pass" not in tomli_w.dumps(service.export_config())
    hello = Hello(id="h", role=Role.WINDOW, user="new1", password="s3cret-pass", window=1)
    assert authenticate(service.engine, hello).staff == "new1"


def test_reimport_keeps_tickets_events_and_bumps_the_version(
    clocked_service: HallService, hall_config: Config
) -> None:
    """Importing again replaces the configuration but keeps the event log and raises the version."""
    version, seq = clocked_service.config().version, clocked_service.last_seq()
    data = copy.deepcopy(hall_config)
    data["hall"]["notice"] = "新的公告"
    assert clocked_service.import_config(data) == version + 1
    assert clocked_service.config().rules.notice == "新的公告"
    assert clocked_service.last_seq() == seq + 1  # one config_changed event


def test_reimport_keeps_a_surviving_windows_live_state(
    clocked_service: HallService, hall_config: Config
) -> None:
    """A window that exists before and after an import keeps its state and staff member."""
    from queue_server.service import Principal

    p = Principal(role=Role.WINDOW, key="staff:ck03", staff="ck03", window=3)
    clocked_service.open_session(p, Hello(id="h", role=Role.WINDOW, window=3), takeover=True)
    data = copy.deepcopy(hall_config)
    data["windows"][2]["name"] = "改名窗口"
    clocked_service.import_config(data)
    (window,) = [w for w in clocked_service.list_windows() if w.number == 3]
    assert window.name == "改名窗口"
    assert window.state == "idle"
    assert window.staff == "ck03"


def test_hours_are_normalised_and_exported(tmp_path: Path, demo_config: Config) -> None:
    """Opening hours are stored as HH:MM per weekday and come back out the same way."""
    data = copy.deepcopy(demo_config)
    data["hall"]["hours"] = {"mon": ["08:30:00", "18:00"]}
    data["hall"]["holidays"] = ["2026-10-01"]
    service = fresh_service(tmp_path)
    service.import_config(data)
    hall = service.export_config()["hall"]
    assert hall["hours"] == {"mon": ["08:30", "18:00"]}
    assert hall["holidays"] == ["2026-10-01"]


def test_read_toml_reports_missing_and_broken_files(tmp_path: Path) -> None:
    """read_toml names the file when it is missing or not TOML."""
    with pytest.raises(ConfigError, match="no such file"):
        read_toml(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[hall\nname = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        read_toml(broken)
    assert read_toml(demo_hall_path())["hall"]["name"] == "东湖区政务服务大厅"


# -- bad configurations -----------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[Config], None]:
    def change(data: Config) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value

    return change


def _delete(path: str) -> Callable[[Config], None]:
    def change(data: Config) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        del node[last]

    return change


def _append(section: str, entry: Config) -> Callable[[Config], None]:
    return lambda data: data[section].append(entry)


BAD = {
    "missing hall": (_delete("hall"), "config: 'hall' is missing"),
    "missing hall name": (_delete("hall.name"), "hall: 'name' is missing"),
    "bad timezone": (_set("hall.timezone", "Mars/Olympus"), "hall.timezone: unknown time zone"),
    "bad policy": (_set("hall.policy", "fastest"), "hall.policy: 'fastest' is not one of"),
    "hours reversed": (
        _set("hall.hours", {"mon": ["18:00", "08:30"]}),
        "hall.hours.mon: opening must be before closing",
    ),
    "hours not times": (
        _set("hall.hours", {"tue": ["8am", "6pm"]}),
        'hall.hours.tue: expected ["HH:MM", "HH:MM"]',
    ),
    "hours three values": (
        _set("hall.hours", {"wed": ["08:00", "12:00", "18:00"]}),
        "hall.hours.wed: expected",
    ),
    "hours not a list": (
        _set("hall.hours", {"thu": "08:00-18:00"}),
        "hall.hours.thu: expected list",
    ),
    "hours bad weekday": (
        _set("hall.hours", {"monday": ["08:00", "18:00"]}),
        "hall.hours: 'monday' is not a weekday",
    ),
    "bad holiday": (
        _set("hall.holidays", ["2026-13-01"]),
        "hall.holidays: '2026-13-01' is not a date",
    ),
    "number as text": (_set("hall.max_wait_minutes", "60"), "hall.max_wait_minutes: expected int"),
    "bool as number": (
        _set("hall.max_wait_minutes", True),
        "hall.max_wait_minutes: expected a number",
    ),
    "zero max wait": (
        _set("hall.max_wait_minutes", 0),
        "hall.max_wait_minutes: must be at least 1",
    ),
    "negative rank penalty": (_set("hall.rank_penalty", -1.0), "hall.rank_penalty"),
    "no categories": (_set("categories", []), "at least one [[categories]]"),
    "missing category name": (_delete("categories.1.name"), "categories[1]: 'name' is missing"),
    "missing prefix": (_delete("categories.0.prefix"), "categories[0]: 'prefix' is missing"),
    "duplicate code": (
        _set("categories.2.code", "QY"),
        "categories[2].code: 'QY' is empty or used",
    ),
    "duplicate prefix": (
        _set("categories.1.prefix", "A"),
        "categories[1].prefix: 'A' is used by another category",
    ),
    "lowercase prefix": (_set("categories.0.prefix", "a"), "categories[0].prefix: 'a' must be"),
    "long prefix": (_set("categories.0.prefix", "ABC"), "categories[0].prefix: 'ABC' must be"),
    "zero capacity": (_set("categories.0.daily_capacity", 0), "categories[0].daily_capacity"),
    "zero target wait": (
        _set("categories.3.target_wait_minutes", 0),
        "categories[3].target_wait_minutes: must be at least 1",
    ),
    "zero service time": (_set("categories.3.service_minutes", 0), "categories[3].service_minutes"),
    "chain not text": (_set("items.0.chain", ["登记", 2]), "items[0].chain[1]"),
    "chain of one step": (_set("items.0.chain", ["登记"]), "items[0].chain: a one-chain has"),
    "chain step twice": (_set("items.0.chain", ["登记", "登记"]), "items[0].chain: steps must"),
    "chain on a category": (
        _set("categories.0.chain", ["登记", "刻章"]),
        "categories[0].chain: a one-chain belongs to the service items",
    ),
    "negative close-out grace": (
        _set("hall.close_out_grace_minutes", -1),
        "hall.close_out_grace_minutes",
    ),
    "zero offline minutes": (
        _set("hall.window_offline_minutes", 0),
        "hall.window_offline_minutes: must be at least 1",
    ),
    "multiple windows not a bool": (
        _set("hall.staff_multiple_windows", "yes"),
        "hall.staff_multiple_windows: expected bool",
    ),
    "item unknown category": (
        _set("items.0.category", "XX"),
        "items[0].category: unknown category 'XX'",
    ),
    "duplicate item": (_set("items.1.name", "企业设立登记"), "items: two service items"),
    "profile unknown category": (
        _set("windows.5.profile", ["QY", "XX"]),
        "windows[5].profile: unknown categories ['XX']",
    ),
    "profile repeats": (_set("windows.5.profile", ["QY", "QY"]), "windows[5].profile: a category"),
    "profile not a list": (_set("windows.5.profile", "QY"), "windows[5].profile: expected list"),
    "duplicate window": (_set("windows.1.number", 1), "windows[1].number: 1 is out of 1..9999"),
    "window out of range": (_set("windows.0.number", 10000), "windows[0].number: 10000"),
    "missing window number": (_delete("windows.0.number"), "windows[0]: 'number' is missing"),
    "bad staff role": (_set("staff.0.role", "boss"), "staff[0].role: 'boss' is not one of"),
    "staff without password": (_delete("staff.0.password_hash"), "staff[0]: needs password_hash"),
    "short plaintext password": (
        lambda d: d["staff"][0].update(password="abc") or d["staff"][0].pop("password_hash"),
        "staff[0].password",
    ),
    "duplicate staff": (_set("staff.1.account", "ck01"), "staff: an account is listed twice"),
    "bad device kind": (_set("devices.0.kind", "printer"), "devices[0].kind: must be display,"),
    "rating pad of two windows": (
        lambda d: d["devices"][0].update(kind="rater", windows=[1, 2]),
        "devices[0].windows: a rating pad (rater) serves exactly one window",
    ),
    "rating pad of no window": (
        lambda d: d["devices"][0].update(kind="rater", windows=[]),
        "devices[0].windows: a rating pad",
    ),
    "workday that is a holiday": (
        lambda d: d.update(calendar={"holidays": ["2026-10-10"], "workdays": ["2026-10-10"]}),
        "calendar.workdays: 2026-10-10 is also a holiday",
    ),
    "workday not a date": (
        lambda d: d.update(calendar={"workdays": ["10/11"]}),
        "calendar.workdays: '10/11' is not a date",
    ),
    "workday on a weekday": (
        lambda d: d.update(calendar={"workdays": ["2026-10-09"]}),
        "calendar.workdays: 2026-10-09 is a weekday",
    ),
    "unknown calendar setting": (
        lambda d: d.update(calendar={"festivals": []}),
        "calendar: unknown setting 'festivals'",
    ),
    "no rating reasons": (lambda d: d.update(ratings={"reasons": []}), "ratings.reasons"),
    "rating reason twice": (
        lambda d: d.update(ratings={"reasons": ["慢", "慢"]}),
        "ratings.reasons: a reason is listed twice",
    ),
    "case period too long": (
        lambda d: d.update(ratings={"case_working_days": 61}),
        "ratings.case_working_days: at most 60",
    ),
    "zero QR period": (
        lambda d: d.update(ratings={"qr_working_days": 0}),
        "ratings.qr_working_days: must be at least 1",
    ),
    "pad wait too short": (
        lambda d: d.update(ratings={"pad_seconds": 3}),
        "ratings.pad_seconds: must be 10-600",
    ),
    "unknown rating setting": (
        lambda d: d.update(ratings={"stars": 5}),
        "ratings: unknown setting 'stars'",
    ),
    "device without token": (_delete("devices.0.token"), "devices[0]: needs token_hash"),
    "device window not a number": (_set("devices.0.windows", ["1"]), "devices[0].windows"),
    "device unknown window": (_set("devices.0.windows", [99]), "devices[0].windows"),
    "duplicate device": (_set("devices.1.name", "大厅主屏"), "devices[1].name"),
    "duplicate device token": (_set("devices.1.token", DISPLAY_TOKEN), "devices[1].token"),
    "section not a table": (
        _append("windows", "window 16"),  # type: ignore[arg-type]
        "windows[15]: expected dict",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_config_names_the_place_and_changes_nothing(
    clocked_service: HallService, hall_config: Config, case: str
) -> None:
    """Every kind of bad configuration raises ConfigError saying where, and leaves the stored
    hall (configuration, version and event log) exactly as it was."""
    change, where = BAD[case]
    before = state_of(clocked_service)
    data = copy.deepcopy(hall_config)
    change(data)
    with pytest.raises(ConfigError) as err:
        clocked_service.import_config(data)
    assert where in str(err.value)
    assert state_of(clocked_service) == before


def test_bad_config_into_an_empty_database_creates_no_hall(
    tmp_path: Path, demo_config: Config
) -> None:
    """A refused first import leaves the database without a hall."""
    service = fresh_service(tmp_path)
    data = copy.deepcopy(demo_config)
    data["categories"][1]["prefix"] = "A"
    with pytest.raises(ConfigError):
        service.import_config(data)
    with pytest.raises(ConfigError, match="no hall"):
        service.export_config()


def test_config_commands_need_a_hall(engine: Engine) -> None:
    """Before any import, commands on the service are refused with a clear error: for the
    database's one hall, or a hall named that it does not hold."""
    from queue_protocol.errors import ProtocolError

    with pytest.raises(ConfigError, match="holds no hall yet; run `queue-server init"):
        HallService(engine).config()
    with pytest.raises(ProtocolError) as err:
        HallService(engine, hall="xinhe").config()
    assert err.value.code is ErrorCode.INTERNAL
    assert "'xinhe' is not configured" in err.value.message


def test_import_refuses_to_drop_a_category_with_waiting_tickets(
    clocked_service: HallService, hall_config: dict[str, Any]
) -> None:
    """An import may not remove a category while tickets of it are still in the hall."""
    kiosk = Principal(role=Role.KIOSK, key="device:test", device="一号取号机")
    assert clocked_service.execute(kiosk, IssueTicket(id="i1", category="CJ")).ok
    smaller = copy.deepcopy(hall_config)
    smaller["categories"] = [c for c in smaller["categories"] if c["code"] != "CJ"]
    smaller["items"] = [i for i in smaller["items"] if i["category"] != "CJ"]
    for slot in smaller.get("appointments", {}).get("slots", []):
        assert slot["category"] != "CJ"
    for window in smaller["windows"]:
        if isinstance(window["profile"], list):
            window["profile"] = [c for c in window["profile"] if c != "CJ"] or "全科"
    before = clocked_service.export_config()
    with pytest.raises(ConfigError, match="CJ still have tickets"):
        clocked_service.import_config(smaller)
    assert clocked_service.export_config() == before


def test_import_refuses_to_drop_an_open_window(
    clocked_service: HallService, hall_config: dict[str, Any]
) -> None:
    """An import may not remove a window someone is logged in at."""
    staff = Principal(role=Role.WINDOW, key="staff:ck15", staff="ck15", window=15)
    hello = Hello(id="h", role=Role.WINDOW, user="ck15", password="yichuang", window=15)
    clocked_service.open_session(staff, hello, takeover=True)
    smaller = copy.deepcopy(hall_config)
    smaller["windows"] = [w for w in smaller["windows"] if w["number"] != 15]
    with pytest.raises(ConfigError, match="window 15 is idle"):
        clocked_service.import_config(smaller)
