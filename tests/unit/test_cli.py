"""The `queue-server` admin CLI (queue_server/cli.py), run in-process against a SQLite file."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import Hello, Role
from queue_server.auth import authenticate
from queue_server.cli import main
from queue_server.service import HallService, Principal
from queue_server.store.engine import make_engine
from tests.conftest import DEMO_PASSWORD, KIOSK_TOKEN


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def hall(db: str, capsys: pytest.CaptureFixture[str]) -> str:
    """A database holding the demo hall, created through the CLI."""
    assert main(["init", "--demo", "--db", db]) == 0
    capsys.readouterr()
    return db


def cli(
    capsys: pytest.CaptureFixture[str], *argv: str, db: str, stdin: str | None = None
) -> tuple[int, str, str]:
    """Run the CLI; returns (exit code, stdout, stderr)."""
    with pytest.MonkeyPatch.context() as mp:
        if stdin is not None:
            mp.setattr("sys.stdin", io.StringIO(stdin))
        code = main([*argv, "--db", db])
    out, err = capsys.readouterr()
    return code, out, err


def service(db: str) -> HallService:
    return HallService(make_engine(db))


def login(db: str, user: str, password: str, window: int = 1) -> Principal:
    return authenticate(
        make_engine(db),
        Hello(id="h", role=Role.WINDOW, user=user, password=password, window=window),
    )


def auth_fails(db: str, hello: Hello) -> ErrorCode:
    with pytest.raises(ProtocolError) as err:
        authenticate(make_engine(db), hello)
    return err.value.code


# -- init, import, export ---------------------------------------------------------------------


def test_init_demo_creates_the_hall(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`init --demo` creates the demo hall with its windows and staff."""
    code, out, _ = cli(capsys, "init", "--demo", db=db)
    assert code == 0
    assert "hall donghu created" in out
    assert "version 1" in out
    assert len(service(db).list_windows()) == 15
    assert login(db, "ck01", DEMO_PASSWORD).staff == "ck01"


def test_init_twice_is_refused_without_force(hall: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A second `init` says the hall exists and leaves it alone; `--force` replaces the config."""
    before = service(hall).export_config()
    version = service(hall).config().version
    code, out, err = cli(capsys, "init", "--demo", db=hall)
    assert code == 1
    assert "already holds the hall 'donghu'" in err
    assert out == ""
    assert service(hall).config().version == version
    assert service(hall).export_config() == before
    code, out, _ = cli(capsys, "init", "--demo", "--force", db=hall)
    assert code == 0
    assert service(hall).config().version == version + 1


def test_init_from_a_file(tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`init FILE` creates the hall from a TOML file."""
    path = tmp_path / "small.toml"
    path.write_text(
        '[hall]\nname = "小厅"\ntimezone = "UTC"\n'
        '[[categories]]\ncode = "X"\nname = "综合"\nprefix = "X"\n'
        "[[windows]]\nnumber = 1\n",
        encoding="utf-8",
    )
    code, out, _ = cli(capsys, "init", str(path), db=db)
    assert code == 0, out
    config = service(db).config()
    assert config.rules.name == "小厅"
    assert config.rules.timezone == "UTC"
    assert [w.name for w in service(db).list_windows()] == ["1号窗口"]


def test_export_to_stdout_is_toml_with_hashes_only(
    hall: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`export` writes TOML that parses back and contains no password or token in clear."""
    code, out, _ = cli(capsys, "export", db=hall)
    assert code == 0
    data = tomllib.loads(out)
    assert data["hall"]["name"] == "东湖区政务服务大厅"
    assert DEMO_PASSWORD not in out
    assert KIOSK_TOKEN not in out
    assert all("password_hash" in s and "password" not in s for s in data["staff"])
    assert all("token_hash" in d and "token" not in d for d in data["devices"])


def test_export_then_import_a_file(
    hall: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exported file can be edited and imported; the import bumps the version."""
    path = tmp_path / "hall.toml"
    code, out, _ = cli(capsys, "export", str(path), db=hall)
    assert code == 0
    assert str(path) in out
    text = path.read_text(encoding="utf-8").replace("东湖区政务服务大厅", "东湖区便民服务中心")
    path.write_text(text, encoding="utf-8")
    before = service(hall).config().version
    code, out, _ = cli(capsys, "import", str(path), db=hall)
    assert code == 0
    assert f"version {before + 1}" in out
    assert service(hall).config().rules.name == "东湖区便民服务中心"
    assert login(hall, "ck02", DEMO_PASSWORD).staff == "ck02"  # hashes survive the trip


def test_import_of_a_bad_file_names_the_place_and_changes_nothing(
    hall: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad configuration exits 1 with the place of the mistake, and the hall is unchanged."""
    path = tmp_path / "bad.toml"
    cli(capsys, "export", str(path), db=hall)
    path.write_text(
        path.read_text(encoding="utf-8").replace('profile = [\n    "QY",\n]', 'profile = ["ZZ"]'),
        encoding="utf-8",
    )
    assert '"ZZ"' in path.read_text(encoding="utf-8")
    before = service(hall).export_config()
    code, out, err = cli(capsys, "import", str(path), db=hall)
    assert code == 1
    assert out == ""
    assert "windows[4].profile: unknown categories ['ZZ']" in err
    assert service(hall).export_config() == before


def test_import_of_a_missing_file(
    hall: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Importing a file that does not exist exits 1 and names the file."""
    code, _, err = cli(capsys, "import", str(tmp_path / "nope.toml"), db=hall)
    assert code == 1
    assert "nope.toml: no such file" in err


@pytest.mark.parametrize(
    "argv",
    [("staff", "list"), ("window", "list"), ("device", "list"), ("import", "x.toml"), ("export",)],
)
def test_commands_without_a_hall_say_to_run_init(
    db: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    """Before `init`, admin commands exit 1 and tell the user how to create a hall."""
    code, out, err = cli(capsys, *argv, db=db)
    assert code == 1
    assert out == ""
    assert "no hall yet" in err
    assert "queue-server init" in err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a command the CLI prints its usage and exits 2."""
    assert main([]) == 2
    assert "queue-server" in capsys.readouterr().out


# -- staff -----------------------------------------------------------------------------------


def test_staff_add_with_password_from_stdin_can_log_in(
    hall: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`staff add --password-stdin` creates an account whose password works at a window."""
    code, out, _ = cli(
        capsys, "staff", "add", "ck99", "--name", "钱多", "--password-stdin", db=hall,
        stdin="good-pass\n",
    )  # fmt: skip
    assert code == 0
    assert "staff ck99 (钱多, staff) added" in out
    p = login(hall, "ck99", "good-pass", window=4)
    assert (p.staff, p.staff_name, p.window) == ("ck99", "钱多", 4)


def test_staff_add_supervisor_may_log_in_as_admin(
    hall: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A staff account added with --role supervisor may use the admin role; plain staff may not."""
    cli(capsys, "staff", "add", "boss", "--name", "领导", "--role", "supervisor",
        "--password-stdin", db=hall, stdin="boss-pass\n")  # fmt: skip
    admin = Hello(id="h", role=Role.ADMIN, user="boss", password="boss-pass")
    assert authenticate(make_engine(hall), admin).role is Role.ADMIN
    plain = Hello(id="h", role=Role.ADMIN, user="ck01", password=DEMO_PASSWORD)
    assert auth_fails(hall, plain) is ErrorCode.FORBIDDEN


@pytest.mark.parametrize(
    ("account", "stdin", "message"),
    [
        ("ck01", "good-pass\n", "staff account ck01 exists"),
        ("ck98", "short\n", "at least 6 characters"),
        ("ck98", "\n", "empty password"),
        ("bad name", "good-pass\n", "an account is 1-64 letters"),
    ],
)
def test_staff_add_refuses_bad_input(
    hall: str, capsys: pytest.CaptureFixture[str], account: str, stdin: str, message: str
) -> None:
    """A duplicate account, a short or empty password, or a bad account name exit 1 with why."""
    before = [(s.account, s.name, s.password_hash) for s in service(hall).list_staff()]
    code, _, err = cli(capsys, "staff", "add", account, "--name", "某", "--password-stdin",
                       db=hall, stdin=stdin)  # fmt: skip
    assert code == 1
    assert message in err
    assert [(s.account, s.name, s.password_hash) for s in service(hall).list_staff()] == before


def test_staff_passwd_replaces_the_password(hall: str, capsys: pytest.CaptureFixture[str]) -> None:
    """After `staff passwd` the new password logs in and the old one fails."""
    code, out, _ = cli(capsys, "staff", "passwd", "ck03", "--password-stdin", db=hall,
                       stdin="new-secret\n")  # fmt: skip
    assert code == 0
    assert "password of ck03 changed" in out
    assert login(hall, "ck03", "new-secret", window=3).staff == "ck03"
    old = Hello(id="h", role=Role.WINDOW, user="ck03", password=DEMO_PASSWORD, window=3)
    assert auth_fails(hall, old) is ErrorCode.AUTH_FAILED


def test_staff_passwd_for_unknown_account(hall: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Changing the password of an account that does not exist exits 1 naming it."""
    code, _, err = cli(capsys, "staff", "passwd", "ghost", "--password-stdin", db=hall,
                       stdin="new-secret\n")  # fmt: skip
    assert code == 1
    assert "no staff account 'ghost'" in err


def test_staff_disable_blocks_login_and_enable_restores_it(
    hall: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A disabled account cannot log in (same error as a wrong password) until enabled again."""
    hello = Hello(id="h", role=Role.WINDOW, user="ck05", password=DEMO_PASSWORD, window=5)
    code, out, _ = cli(capsys, "staff", "disable", "ck05", db=hall)
    assert code == 0
    assert "staff ck05 disabled" in out
    assert auth_fails(hall, hello) is ErrorCode.AUTH_FAILED
    _, listing, _ = cli(capsys, "staff", "list", db=hall)
    (line,) = [row for row in listing.splitlines() if row.startswith("ck05")]
    assert "disabled" in line
    assert cli(capsys, "staff", "enable", "ck05", db=hall)[0] == 0
    assert authenticate(make_engine(hall), hello).staff == "ck05"


def test_staff_list_shows_accounts_names_and_roles(
    hall: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`staff list` prints every account, sorted, with its name and role."""
    code, out, _ = cli(capsys, "staff", "list", db=hall)
    assert code == 0
    lines = out.splitlines()
    accounts = [line.split()[0] for line in lines]
    assert accounts == sorted(accounts)
    assert "ck01" in accounts and "zhuren" in accounts
    (ck01,) = [line for line in lines if line.startswith("ck01")]
    assert "王芳" in ck01 and "staff" in ck01
    assert "disabled" not in out


# -- devices ---------------------------------------------------------------------------------


def test_device_add_prints_a_token_that_authenticates(
    hall: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`device add` prints a fresh token once; that token logs the device in with its filter."""
    code, out, _ = cli(capsys, "device", "add", "二楼屏", "--kind", "display", "--zone", "二楼",
                       "--windows", "7,8", db=hall)  # fmt: skip
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert len(token) >= 24
    p = authenticate(make_engine(hall), Hello(id="h", role=Role.DISPLAY, token=token))
    assert (p.role, p.device, p.zone, p.windows) == (Role.DISPLAY, "二楼屏", "二楼", {7, 8})
    # The token is a display token: it does not log in as a kiosk.
    as_kiosk = Hello(id="h", role=Role.KIOSK, token=token)
    assert auth_fails(hall, as_kiosk) is ErrorCode.AUTH_FAILED
    # Only its hash is stored.
    code, listing, _ = cli(capsys, "device", "list", db=hall)
    assert token not in listing
    assert "二楼屏" in listing


def test_device_revoke_makes_the_token_fail(hall: str, capsys: pytest.CaptureFixture[str]) -> None:
    """After `device revoke`, the device's token no longer authenticates."""
    _, out, _ = cli(capsys, "device", "add", "二号取号机", "--kind", "kiosk", db=hall)
    token = out.strip().splitlines()[-1]
    hello = Hello(id="h", role=Role.KIOSK, token=token)
    assert authenticate(make_engine(hall), hello).device == "二号取号机"
    code, out, _ = cli(capsys, "device", "revoke", "二号取号机", db=hall)
    assert code == 0
    assert "revoked" in out
    assert auth_fails(hall, hello) is ErrorCode.AUTH_FAILED
    _, listing, _ = cli(capsys, "device", "list", db=hall)
    (line,) = [row for row in listing.splitlines() if row.startswith("二号取号机")]
    assert "revoked" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("device", "add", "大厅主屏", "--kind", "display"), "device '大厅主屏' exists"),
        (
            ("device", "add", "x", "--kind", "display", "--windows", "99"),
            "window 99 does not exist",
        ),
        (("device", "add", "x", "--kind", "display", "--windows", "1,a"), "--windows: expected"),
        (("device", "revoke", "ghost"), "no device 'ghost'"),
    ],
)
def test_device_commands_refuse_bad_input(
    hall: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    """Duplicate names, unknown windows, malformed window lists and unknown devices exit 1."""
    before = service(hall).list_devices()
    code, out, err = cli(capsys, *argv, db=hall)
    assert code == 1
    assert message in err
    assert out == ""
    assert [(d.name, d.revoked) for d in service(hall).list_devices()] == [
        (d.name, d.revoked) for d in before
    ]


# -- windows ---------------------------------------------------------------------------------


def test_window_add_set_profile_remove_and_list(
    hall: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A window can be added with a profile, re-profiled, listed and removed again."""
    code, out, _ = cli(capsys, "window", "add", "20", "--name", "夜间窗口", "--zone", "一楼",
                       "--profile", "SW,QY", db=hall)  # fmt: skip
    assert code == 0
    assert "window 20 (夜间窗口) added" in out
    windows = {w.number: w for w in service(hall).list_windows()}
    assert windows[20].profile == ["SW", "QY"]
    assert windows[20].zone == "一楼"
    assert windows[20].state == "closed"

    assert cli(capsys, "window", "set-profile", "20", "全科", db=hall)[0] == 0
    _, listing, _ = cli(capsys, "window", "list", db=hall)
    (line,) = [row for row in listing.splitlines() if row.split()[0] == "20"]
    assert "全科" in line and "closed" in line
    assert {w.number: w for w in service(hall).list_windows()}[20].profile == []

    code, out, _ = cli(capsys, "window", "remove", "20", db=hall)
    assert code == 0
    assert 20 not in {w.number for w in service(hall).list_windows()}


def test_window_add_uses_a_default_name(hall: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --name a window is called N号窗口 and serves every category."""
    assert cli(capsys, "window", "add", "21", db=hall)[0] == 0
    w = {w.number: w for w in service(hall).list_windows()}[21]
    assert (w.name, w.profile) == ("21号窗口", [])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("window", "add", "1"), "window 1 exists"),
        (("window", "add", "22", "--profile", "QY,XX"), "no category 'XX'"),
        (("window", "add", "22", "--profile", "QY,QY"), "a category is listed twice"),
        (("window", "add", "0"), "1..9999"),
        (("window", "set-profile", "3", "XX"), "no category 'XX'"),
        (("window", "set-profile", "77", "QY"), "window 77 does not exist"),
        (("window", "remove", "77"), "window 77 does not exist"),
    ],
)
def test_window_commands_refuse_bad_input(
    hall: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    """Existing windows, unknown categories, bad numbers and unknown windows exit 1 with why,
    and the window list is unchanged."""
    before = service(hall).list_windows()
    code, out, err = cli(capsys, *argv, db=hall)
    assert code == 1
    assert message in err
    assert out == ""
    assert service(hall).list_windows() == before


def test_removing_an_open_window_is_refused(hall: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A window with staff logged in cannot be removed until it is closed."""
    svc = service(hall)
    p = login(hall, "ck03", DEMO_PASSWORD, window=3)
    svc.open_session(p, Hello(id="h", role=Role.WINDOW, window=3), takeover=True)
    code, _, err = cli(capsys, "window", "remove", "3", db=hall)
    assert code == 1
    assert "window 3 is idle; close it first" in err
    assert 3 in {w.number for w in svc.list_windows()}


def test_a_database_of_an_older_version_is_refused_with_a_way_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database whose tables lack this version's columns is refused at once, saying how to
    move the hall over, instead of failing later on a missing column."""
    import sqlite3

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as old:
        old.execute("CREATE TABLE ticket (id TEXT PRIMARY KEY, day TEXT, number TEXT)")
    code, _, err = cli(capsys, "window", "list", db=f"sqlite:///{db}")
    assert code == 1
    assert "older version" in err and "ticket.category" in err and "export" in err


def test_audit_lists_who_changed_what_and_writes_csv(
    hall: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`queue-server audit`: the CLI's own changes are there, by the operating-system user."""
    import csv
    import getpass

    added = cli(
        capsys,
        "staff",
        "add",
        "ck99",
        "--name",
        "新人",
        "--password-stdin",
        db=hall,
        stdin="pw-123456\n",
    )
    assert added[0] == 0
    code, out, _ = cli(capsys, "audit", "--account", f"cli:{getpass.getuser()}", db=hall)
    assert code == 0
    assert "config_changed" in out and "staff ck99 added" in out
    path = tmp_path / "audit.csv"
    assert cli(capsys, "audit", "--csv", str(path), db=hall)[0] == 0
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["action"] == "config_changed"
    assert rows[0]["detail"] == "staff ck99 added"
    assert rows[0]["by"] == f"cli:{getpass.getuser()}"
    code, _, err = cli(capsys, "audit", "--since", "yesterday", db=hall)
    assert code != 0 and "--since" in err
