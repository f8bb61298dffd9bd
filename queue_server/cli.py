"""`queue-server`: run the hall's server and administer its configuration.

queue-server serve [--demo]            run the server (creates the demo hall if asked)
queue-server init [--demo | FILE]      create a hall from a TOML file
queue-server halls                     list the database's halls (a district holds several)
queue-server migrate                   bring the database to this version's schema
queue-server import FILE               replace the configuration (tickets are kept)
queue-server export [FILE]             write the configuration as TOML (hashes only)
queue-server staff add|passwd|disable|enable|list
queue-server device add|revoke|list
queue-server window add|set-profile|remove|list|close
queue-server appointments list --day YYYY-MM-DD [--category QY] | cancel CODE
queue-server audit [--since T] [--until T] [--account A] [--window N] [--ticket T] [--csv F]
queue-server stats rebuild|refresh      fold the event log into the statistics kept
queue-server report [--day D | --week D | --month YYYY-MM | --year YYYY | --from D --to D]
                    [--by window | month,category …] [--format table|csv|xlsx|html] [-o FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import getpass
import logging
import ssl
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import tomli_w
from pydantic import ValidationError
from sqlmodel import Session, select

from queue_protocol.errors import ErrorCode, ProtocolError
from queue_protocol.messages import (
    LEVEL_NAMES,
    CaseAction,
    GetCase,
    ListCases,
    ListRatings,
    Role,
    StaffRole,
    UpdateCase,
)
from queue_protocol.messages import Audit as AuditQuery
from queue_server.clock import Clock, hall_clock
from queue_server.hall import loading
from queue_server.hallconfig import (
    ALL_SUBJECTS,
    ConfigError,
    demo_district_path,
    demo_hall_path,
    file_code,
    read_district,
    read_toml,
)
from queue_server.server import Limits, QueueServer
from queue_server.service import HallService
from queue_server.stats import ratings as rating_stats
from queue_server.store.engine import (
    ENV_DATABASE_URL,
    SchemaOutdated,
    default_database_url,
    make_engine,
    make_plain_engine,
    read_only,
    stored_revision,
)
from queue_server.store.tables import HallRow


class CliError(Exception):
    """A mistake on the command line; printed without a traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.run(args) or 0)
    except (CliError, ConfigError, SchemaOutdated) as exc:
        print(f"queue-server: {exc}", file=sys.stderr)
        return 1
    except ProtocolError as exc:
        print(f"queue-server: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="queue-server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        metavar="URL",
        help=f"database URL (default: ${ENV_DATABASE_URL} or {default_database_url()})",
    )
    common.add_argument(
        "--hall",
        metavar="CODE",
        help="the hall to act on, by its code (default: the database's one hall; "
        "for init, the file's [hall] code)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(title="commands")

    p = sub.add_parser("serve", parents=[common], help="run the queue server")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free)")
    p.add_argument(
        "--demo", action="store_true", help="create the demo hall first if the database holds none"
    )
    p.add_argument(
        "--advertise",
        metavar="URL",
        help="PostgreSQL, several server processes: the URL the others forward this one's "
        "halls' connections to (default: ws[s]://HOST:PORT as it listens)",
    )
    p.add_argument("--cert", type=Path, help="TLS certificate (PEM) to serve wss://")
    p.add_argument("--key", type=Path, help="TLS private key (PEM) for --cert")
    p.add_argument(
        "--rate", type=float, default=Limits.rate, help="requests per second allowed per connection"
    )
    p.add_argument(
        "--burst", type=float, default=Limits.burst, help="request burst allowed per connection"
    )
    p.set_defaults(run=_serve)

    p = sub.add_parser("init", parents=[common], help="create a hall from a TOML file")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("file", nargs="?", type=Path, help="hall configuration (TOML)")
    src.add_argument("--demo", action="store_true", help="use the shipped demo hall")
    src.add_argument(
        "--demo-district",
        action="store_true",
        help="the shipped demo district: the demo hall and 11 street and town centres",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing hall's configuration (tickets are kept)",
    )
    p.set_defaults(run=_init)

    p = sub.add_parser(
        "migrate",
        parents=[common],
        help="bring the database to this version's schema (every command does it on opening)",
    )
    p.set_defaults(run=_migrate)

    p = sub.add_parser("halls", parents=[common], help="list the database's halls")
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--retire", metavar="CODE", help="stop serving this hall (its data stays, for statistics)"
    )
    what.add_argument("--restore", metavar="CODE", help="serve a retired hall again")
    p.set_defaults(run=_halls)

    p = sub.add_parser(
        "import",
        parents=[common],
        help="replace the hall configuration from TOML (tickets are kept)",
    )
    p.add_argument("file", type=Path)
    p.set_defaults(run=_import)

    p = sub.add_parser("export", parents=[common], help="write the hall configuration as TOML")
    p.add_argument("file", nargs="?", type=Path, help="output file (default: standard output)")
    p.set_defaults(run=_export)

    staff = sub.add_parser("staff", help="staff accounts").add_subparsers(title="staff commands")
    p = staff.add_parser("add", parents=[common], help="add a staff account")
    p.add_argument("account")
    p.add_argument("--name", required=True, help="display name, e.g. 王芳")
    p.add_argument("--role", choices=[r.value for r in StaffRole], default="staff")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of prompting",
    )
    p.set_defaults(run=_staff_add)
    p = staff.add_parser("passwd", parents=[common], help="set a staff password")
    p.add_argument("account")
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(run=_staff_passwd)
    for verb, disabled in (("disable", True), ("enable", False)):
        p = staff.add_parser(verb, parents=[common], help=f"{verb} a staff account")
        p.add_argument("account")
        p.set_defaults(run=_staff_disable, disabled=disabled)
    p = staff.add_parser("list", parents=[common], help="list staff accounts")
    p.set_defaults(run=_staff_list)

    device = sub.add_parser("device", help="displays, kiosks and rating pads").add_subparsers(
        title="device commands"
    )
    p = device.add_parser("add", parents=[common], help="register a device; prints its token")
    p.add_argument("name")
    p.add_argument("--kind", choices=["display", "kiosk", "rater"], required=True)
    p.add_argument("--zone", help="display only: show only this zone's calls")
    p.add_argument(
        "--windows",
        help="display: comma-separated window numbers to show; rater (rating pad): its window",
    )
    p.set_defaults(run=_device_add)
    p = device.add_parser("revoke", parents=[common], help="revoke a device token")
    p.add_argument("name")
    p.set_defaults(run=_device_revoke)
    p = device.add_parser("list", parents=[common], help="list devices")
    p.set_defaults(run=_device_list)

    window = sub.add_parser("window", help="service windows").add_subparsers(
        title="window commands"
    )
    p = window.add_parser("add", parents=[common], help="add a window")
    p.add_argument("number", type=int)
    p.add_argument("--name", help="e.g. 综合受理1号 (default: N号窗口)")
    p.add_argument("--zone", default="")
    p.add_argument(
        "--profile",
        default=ALL_SUBJECTS,
        help=f"{ALL_SUBJECTS} or comma-separated category codes in order",
    )
    p.set_defaults(run=_window_add)
    p = window.add_parser(
        "set-profile", parents=[common], help="set the categories a window serves"
    )
    p.add_argument("number", type=int)
    p.add_argument("profile", help=f"{ALL_SUBJECTS} or comma-separated category codes in order")
    p.set_defaults(run=_window_set_profile)
    p = window.add_parser("remove", parents=[common], help="remove a closed window")
    p.add_argument("number", type=int)
    p.set_defaults(run=_window_remove)
    p = window.add_parser("list", parents=[common], help="list windows")
    p.set_defaults(run=_window_list)
    p = window.add_parser(
        "close",
        parents=[common],
        help="close a window whose staff has gone (its called ticket goes back to the queue)",
    )
    p.add_argument("number", type=int)
    p.add_argument(
        "--requeue",
        action="store_true",
        help="also put a ticket being served back in the queue at its place",
    )
    p.set_defaults(run=_window_close)

    appts = sub.add_parser("appointments", help="appointments (预约)").add_subparsers(
        title="appointment commands"
    )
    p = appts.add_parser("list", parents=[common], help="list a day's appointments and slots")
    p.add_argument("--day", type=_day, required=True, help="hall-local date, YYYY-MM-DD")
    p.add_argument("--category", help="only this category code")
    p.set_defaults(run=_appointments_list)
    p = appts.add_parser("cancel", parents=[common], help="cancel an appointment by its code")
    p.add_argument("code")
    p.set_defaults(run=_appointments_cancel)

    p = sub.add_parser(
        "audit",
        parents=[common],
        help="who did what when: logins at windows, acts, configuration changes",
    )
    p.add_argument("--since", help="from this hall-local time (YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
    p.add_argument("--until", help="before this hall-local time")
    p.add_argument("--account", help="staff account, or staff:…, device:NAME, cli:USER")
    p.add_argument("--window", type=int, help="only what concerns this window")
    p.add_argument("--ticket", help="only what concerns this ticket (id or today's number)")
    p.add_argument("--limit", type=int, default=500, help="at most this many, newest first")
    p.add_argument("--csv", metavar="FILE", help="write CSV to FILE ('-' for standard output)")
    p.set_defaults(run=_audit)
    _report_parser(sub, common)
    _ratings_parser(sub, common)
    return parser


# -- helpers -------------------------------------------------------------------------------


def _service(
    args: argparse.Namespace, *, need_hall: bool = True, code: str | None = None
) -> HallService:
    """The service of the hall `code`, or --hall's, or the database's one hall."""
    engine = make_engine(args.db)
    service = HallService(engine, clock=_clock(), hall=code or args.hall)
    if need_hall and _has_hall(service):
        service.code  # noqa: B018  (several halls and none named: ConfigError says so)
    elif need_hall:
        raise CliError(
            f"the database holds no hall {service.code!r}; see `queue-server halls`"
            if args.hall
            else "the database holds no hall yet; run `queue-server init --demo` "
            "or `queue-server init HALL.toml`"
        )
    return service


def _clock() -> Clock:
    try:
        return hall_clock()
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def _has_hall(service: HallService) -> bool:
    """Does the database hold the service's hall (named, or its one hall)?"""
    if service.hall.given_code is None:
        return loading.hall_count(service.engine) > 0
    with Session(service.engine) as session:
        query = select(HallRow.id).where(HallRow.code == service.hall.given_code)
        return session.exec(query).first() is not None


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise CliError("the two passwords differ")
    if not password:
        raise CliError("empty password")
    return password


def _profile(text: str) -> list[str]:
    if text.strip() in (ALL_SUBJECTS, "all", ""):
        return []
    return [code.strip() for code in text.split(",") if code.strip()]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from exc


def _window_numbers(text: str | None) -> list[int]:
    if not text:
        return []
    try:
        return [int(n) for n in text.split(",") if n.strip()]
    except ValueError as exc:
        raise CliError(f"--windows: expected numbers like 1,2,3, got {text!r}") from exc


# -- commands --------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    """Serve --hall, or every hall of the database in service."""
    service = _service(args, need_hall=False)
    if not _has_hall(service):
        if not args.demo or args.hall:
            raise CliError(
                f"the database holds no hall {args.hall!r}; see `queue-server halls`"
                if args.hall
                else "the database holds no hall yet; run `queue-server init --demo` "
                "or start with `queue-server serve --demo`"
            )
        service.import_config(read_toml(demo_hall_path()))
        print("created the demo hall (staff password: yichuang)", flush=True)
    codes = [args.hall] if args.hall else loading.hall_codes(service.engine)
    services = [HallService(service.engine, clock=service.clock, hall=code) for code in codes]
    tls = None
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
    server = QueueServer(
        services,
        host=args.host,
        port=args.port,
        ssl=tls,
        limits=Limits(rate=args.rate, burst=args.burst),
        advertise=args.advertise,
        follow_halls=not args.hall,  # halls added or retired while it runs
    )
    scheme = "wss" if tls else "ws"

    def ready(port: int) -> None:
        print(f"serving the halls: {', '.join(codes)}", flush=True)
        print(f"queue-server listening on {scheme}://{args.host}:{port}", flush=True)

    try:
        asyncio.run(server.serve_until_signalled(ready))
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from exc
    return 0


def _init(args: argparse.Namespace) -> int:
    """A hall from a hall file, or a district's halls from a district file ([[halls]])."""
    path = (
        demo_district_path() if args.demo_district else demo_hall_path() if args.demo else args.file
    )
    data = read_toml(path)
    if "halls" in data:
        return _init_district(args, path)
    service = _service(args, need_hall=False, code=args.hall or file_code(data))
    if _has_hall(service) and not args.force:
        raise CliError(
            f"this database already holds the hall {service.code!r}; use --force to replace "
            "its configuration, or `queue-server import FILE`"
        )
    version = service.import_config(data)
    print(f"hall {service.code} created from {path} (configuration version {version})")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    plain = make_plain_engine(args.db)
    try:
        with plain.connect() as connection:
            before = stored_revision(connection)
    finally:
        plain.dispose()
    engine = make_engine(args.db)  # migrates
    with engine.connect() as connection:
        after = stored_revision(connection)
    if before == after:
        print(f"the database is at {after}, this version's schema: nothing to do")
    else:
        print(f"the database was migrated from {before or 'no schema'} to {after}")
    return 0


def _halls(args: argparse.Namespace) -> int:
    """List the halls; or retire or restore one (running servers follow within seconds)."""
    code = args.retire or args.restore
    if code is not None:
        with Session(make_engine(args.db)) as session, session.begin():
            hall = session.exec(select(HallRow).where(HallRow.code == code)).first()
            if hall is None:
                raise CliError(f"the database holds no hall {code!r}; see `queue-server halls`")
            hall.retired = args.retire is not None
            session.add(hall)
        print(f"hall {code} {'retired' if args.retire else 'in service again'}")
        return 0
    with Session(make_engine(args.db)) as session:
        for hall in session.exec(select(HallRow).order_by(HallRow.code)).all():
            state = "retired" if hall.retired else "in service"
            print(f"{hall.code:<16} {hall.name:<20} {hall.timezone:<16} {state}")
    return 0


def _init_district(args: argparse.Namespace, path: Path) -> int:
    if args.hall:
        raise CliError("a district file names its halls itself; leave out --hall")
    halls = read_district(path)  # every hall checked before any is made
    engine = make_engine(args.db)
    existing = set(loading.hall_codes(engine)) & {file_code(h) for h in halls}
    if existing and not args.force:
        raise CliError(
            f"this database already holds the halls {', '.join(sorted(existing))}; use "
            "--force to replace their configuration"
        )
    for data in halls:
        service = HallService(engine, clock=_clock(), hall=file_code(data))
        version = service.import_config(data)
        print(f"hall {service.code} created (configuration version {version})")
    print(f"{len(halls)} halls from {path}")
    return 0


def _import(args: argparse.Namespace) -> int:
    service = _service(args)
    version = service.import_config(read_toml(args.file))
    print(f"configuration imported from {args.file} (version {version})")
    return 0


def _export(args: argparse.Namespace) -> int:
    text = tomli_w.dumps(_service(args).export_config())
    if args.file:
        args.file.write_text(text, encoding="utf-8")
        print(f"configuration written to {args.file}")
    else:
        sys.stdout.write(text)
    return 0


def _staff_add(args: argparse.Namespace) -> int:
    service = _service(args)
    service.add_staff(args.account, args.name, StaffRole(args.role), _password(args))
    print(f"staff {args.account} ({args.name}, {args.role}) added")
    return 0


def _staff_passwd(args: argparse.Namespace) -> int:
    service = _service(args)
    service.set_password(args.account, _password(args))
    print(f"password of {args.account} changed")
    return 0


def _staff_disable(args: argparse.Namespace) -> int:
    _service(args).set_staff_disabled(args.account, args.disabled)
    print(f"staff {args.account} {'disabled' if args.disabled else 'enabled'}")
    return 0


def _staff_list(args: argparse.Namespace) -> int:
    for s in _service(args).list_staff():
        print(f"{s.account:<16} {s.name:<10} {s.role:<10} {'disabled' if s.disabled else ''}")
    return 0


def _device_add(args: argparse.Namespace) -> int:
    token = _service(args).add_device(
        args.name, Role(args.kind), args.zone, _window_numbers(args.windows)
    )
    print(f"device {args.name} ({args.kind}) added. Its token, shown only now:\n{token}")
    return 0


def _device_revoke(args: argparse.Namespace) -> int:
    _service(args).revoke_device(args.name)
    print(f"device {args.name} revoked")
    return 0


def _device_list(args: argparse.Namespace) -> int:
    for d in _service(args).list_devices():
        state = "revoked" if d.revoked else "active"
        print(f"{d.name:<16} {d.kind:<8} {state:<8} zone={d.zone or '-'} windows={d.windows}")
    return 0


def _window_add(args: argparse.Namespace) -> int:
    name = args.name or f"{args.number}号窗口"
    _service(args).add_window(args.number, name, args.zone, _profile(args.profile))
    print(f"window {args.number} ({name}) added")
    return 0


def _window_set_profile(args: argparse.Namespace) -> int:
    _service(args).set_profile(args.number, _profile(args.profile))
    print(f"window {args.number} now serves {args.profile}")
    return 0


def _window_remove(args: argparse.Namespace) -> int:
    _service(args).remove_window(args.number)
    print(f"window {args.number} removed")
    return 0


def _window_list(args: argparse.Namespace) -> int:
    for w in _service(args).list_windows():
        profile = ",".join(w.profile) or ALL_SUBJECTS
        staff = w.staff_name or ""
        online = "" if w.state.value == "closed" else ("online" if w.connected else "offline")
        print(
            f"{w.number:>4} {w.name:<14} {w.zone:<8} {profile:<14} {w.state.value:<8} "
            f"{online:<7} {staff}"
        )
    return 0


def _window_close(args: argparse.Namespace) -> int:
    window = _service(args).close_window_now(args.number, requeue=args.requeue)
    print(f"window {window.number} is closed")
    return 0


def _appointments_list(args: argparse.Namespace) -> int:
    listing = _service(args).list_appointments(args.day, args.category)
    print(f"{listing.day}: {len(listing.appointments)} appointments")
    for a in listing.appointments:
        item = a.item or ""
        print(
            f"{a.slot} {a.category:<4} {a.code:<8} {a.state:<10} {a.name:<8} {a.phone:<12} {item}"
        )
    if listing.slots:
        print("slots (booked/capacity):")
        for s in listing.slots:
            print(f"  {s.category:<4} {s.slot} {s.booked}/{s.capacity}")
    return 0


def _appointments_cancel(args: argparse.Namespace) -> int:
    a = _service(args).cancel_appointment(args.code)
    print(f"appointment {a.code} ({a.day} {a.slot} {a.category}, {a.name}) cancelled")
    return 0


# -- statistics (queue_server/stats; definitions in docs/statistics.md) ----------------------


def _report_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "report",
        parents=[common],
        help="statistics of a period: table, CSV, XLSX or a printable HTML page",
    )
    when = p.add_mutually_exclusive_group()
    when.add_argument("--day", type=_day, help="one hall-local day (default: today)")
    when.add_argument("--week", type=_day, metavar="DAY", help="the week (Mon-Sun) of DAY")
    when.add_argument("--month", metavar="YYYY-MM", help="a calendar month")
    when.add_argument("--year", type=int, help="a calendar year")
    when.add_argument("--from", dest="start", type=_day, metavar="DAY", help="first day")
    p.add_argument("--to", dest="end", type=_day, metavar="DAY", help="last day (with --from)")
    p.add_argument(
        "--by",
        default="hall",
        help="grouping: hall, category, item, window, staff, priority, hour, weekday, day,"
        " week, month; one of the first seven with one of the last four, e.g. month,window",
    )
    p.add_argument("--format", default="table", choices=("table", "csv", "xlsx", "html"))
    p.add_argument("-o", "--output", type=Path, help="write to FILE (needed for xlsx)")
    p.add_argument("--all-halls", action="store_true", help="every hall of the database")
    p.add_argument(
        "--from-events",
        action="store_true",
        help="fold the whole event log instead of reading the statistics kept (slow)",
    )
    p.set_defaults(run=_report)

    stats = sub.add_parser("stats", help="the statistics kept").add_subparsers(
        title="statistics commands"
    )
    for verb, what in (
        ("rebuild", "forget the statistics kept and fold the whole event log again"),
        ("refresh", "fold the events not folded yet (reports do this themselves)"),
    ):
        p = stats.add_parser(verb, parents=[common], help=what)
        p.add_argument("--all-halls", action="store_true", help="every hall of the database")
        p.set_defaults(run=_stats, verb=verb)


def _report(args: argparse.Namespace) -> int:
    from queue_server.stats import StatsError, parse_grouping
    from queue_server.stats.command import run
    from queue_server.stats.compute import halls as stats_halls

    if args.all_halls:
        engine, codes = make_engine(args.db), None
    else:
        service = _service(args)
        engine, codes = service.engine, [service.code]
    now = _clock()()
    try:
        with read_only(engine).connect() as connection:
            found = stats_halls(connection, codes)
        if not found:
            raise CliError("the database holds no hall yet")
        period = _period(args, now.astimezone(ZoneInfo(found[0].timezone)).date())
        text = run(
            engine,
            codes=codes,
            period=period,
            by=parse_grouping(args.by),
            fmt=args.format,
            output=args.output,
            now=now,
            from_events=args.from_events,
        )
    except StatsError as exc:
        raise CliError(str(exc)) from exc
    sys.stdout.write(text)
    return 0


def _stats(args: argparse.Namespace) -> int:
    from queue_server.stats import rebuild, refresh
    from queue_server.stats.compute import halls as stats_halls

    if args.all_halls:
        engine, codes = make_engine(args.db), None
    else:
        service = _service(args)
        engine, codes = service.engine, [service.code]
    with read_only(engine).connect() as connection:
        found = stats_halls(connection, codes)
    for hall in found:
        started = time.perf_counter()
        folded = (rebuild if args.verb == "rebuild" else refresh)(engine, hall)
        took = time.perf_counter() - started
        print(f"{hall.code}: {folded} events folded in {took:.1f} s")
    return 0


def _period(args: argparse.Namespace, today: date) -> Any:
    from queue_server.stats import Period

    if args.end is not None and args.start is None:
        raise CliError("--to needs --from")
    if args.start is not None:
        return Period(args.start, args.end or today)
    if args.week is not None:
        return Period.week(args.week)
    if args.month is not None:
        try:
            return Period.month(date.fromisoformat(f"{args.month}-01"))
        except ValueError as exc:
            raise CliError(f"--month: expected YYYY-MM, got {args.month!r}") from exc
    if args.year is not None:
        if not 1 <= args.year <= 9999:
            raise CliError(f"--year: expected a year, got {args.year}")
        return Period.year(date(args.year, 1, 1))
    return Period.day(args.day or today)


def _audit(args: argparse.Namespace) -> int:
    service = _service(args)
    zone = ZoneInfo(service.config().rules.timezone)

    def moment(text: str | None, flag: str) -> datetime | None:
        if text is None:
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, f"{flag}: {text!r} is not YYYY-MM-DD[THH:MM]"
            ) from exc
        return value.replace(tzinfo=zone) if value.tzinfo is None else value

    try:
        query = AuditQuery(
            id="cli-audit",
            since=moment(args.since, "--since"),
            until=moment(args.until, "--until"),
            account=args.account,
            window=args.window,
            ticket=args.ticket,
            limit=args.limit,
        )
    except ValidationError as exc:
        raise ProtocolError(ErrorCode.BAD_REQUEST, exc.errors()[0]["msg"]) from exc
    rows = [
        (
            e.at.astimezone(zone).isoformat(timespec="seconds"),
            e.by or "",
            e.action,
            "" if e.window is None else str(e.window),
            e.ticket or "",
            e.detail,
            str(e.seq),
        )
        for e in service.audit(query)
    ]
    header = ("at", "by", "action", "window", "ticket", "detail", "seq")
    if args.csv is not None:
        with contextlib.ExitStack() as stack:
            out = (
                sys.stdout
                if args.csv == "-"
                else stack.enter_context(open(args.csv, "w", newline="", encoding="utf-8"))
            )
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(rows)
        return 0
    for at, by, action, window, ticket, detail, _ in rows:
        print(f"{at}  {by:<20} {action:<22} {window:>4} {ticket:<6} {detail}")
    print(f"{len(rows)} entries")
    return 0


# -- 好差评 and 评必反馈 (hall/ratings.py, hall/cases.py, stats/ratings.py) ------------------


def _ratings_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    ratings = sub.add_parser("ratings", help="好差评: ratings, their cases, ledger").add_subparsers(
        title="ratings commands"
    )
    period = argparse.ArgumentParser(add_help=False)
    period.add_argument("--since", type=_day, help="from this hall-local day (default: today)")
    period.add_argument("--until", type=_day, help="up to this day, included (default: since)")
    p = ratings.add_parser("list", parents=[common, period], help="the ratings of a period")
    p.add_argument("--bad", action="store_true", help="差评 only")
    p.set_defaults(run=_ratings_list)
    p = ratings.add_parser("cases", parents=[common], help="the follow-up cases, soonest due first")
    p.add_argument("--all", action="store_true", help="closed and excluded ones too")
    p.set_defaults(run=_ratings_cases)
    p = ratings.add_parser("case", parents=[common], help="one case and every step of it")
    p.add_argument("case", type=int)
    p.set_defaults(run=_ratings_case)
    p = ratings.add_parser(
        "act", parents=[common], help="move a case on: " + ", ".join(a.value for a in CaseAction)
    )
    p.add_argument("case", type=int)
    p.add_argument("action", choices=[a.value for a in CaseAction])
    p.add_argument("--text", default="", help="what was found, done or answered")
    p.add_argument("--level", type=int, help="call_back: the citizen's level 1-5")
    p.add_argument("--owner", help="assign: the supervisor's account")
    p.set_defaults(run=_ratings_act)
    p = ratings.add_parser(
        "ledger", parents=[common, period], help="台账: every rating and its case, CSV or XLSX"
    )
    p.add_argument("--csv", metavar="FILE", help="write CSV to FILE ('-' for standard output)")
    p.add_argument("--xlsx", metavar="FILE", help="write an XLSX workbook (台账 and 统计)")
    p.add_argument("--by", default="window", choices=rating_stats.GROUPINGS)
    p.set_defaults(run=_ratings_ledger)
    p = ratings.add_parser(
        "figures", parents=[common, period], help="好评率, 评价率, 回复率, 回访率, overdue"
    )
    p.add_argument("--by", default="hall", choices=rating_stats.GROUPINGS)
    p.set_defaults(run=_ratings_figures)


def _days(args: argparse.Namespace, service: HallService) -> tuple[date, date]:
    since = args.since or service.config().rules.local_day(service.clock())
    until = args.until or since
    if until < since:
        raise CliError("--until is before --since")
    return since, until


def _ratings_list(args: argparse.Namespace) -> int:
    service = _service(args)
    since, until = _days(args, service)
    query = ListRatings(id="cli", since=since, until=until, bad_only=args.bad, limit=1000)
    found = service.as_cli(query).ratings
    zone = ZoneInfo(service.config().rules.timezone)
    for r in reversed(found):
        where = "whole visit" if r.step is None else f"window {r.window}"
        flags = " excluded" if r.excluded else ""
        case = f" case {r.case}" if r.case else ""
        print(
            f"{r.id:>5} {r.rated_at.astimezone(zone):%Y-%m-%d %H:%M} {r.number:<6} "
            f"{where:<11} {r.staff or '':<8} {r.channel.value:<5} {r.level} "
            f"{LEVEL_NAMES[r.level]} {'；'.join(r.reasons)}{case}{flags}"
        )
    print(f"{len(found)} ratings")
    return 0


def _ratings_cases(args: argparse.Namespace) -> int:
    service = _service(args)
    cases = service.as_cli(ListCases(id="cli", open_only=not args.all, limit=1000)).cases
    zone = ZoneInfo(service.config().rules.timezone)
    for c in cases:
        late = " OVERDUE" if c.overdue else ""
        print(
            f"case {c.id:>4} {c.state.value:<11} due {c.due_at.astimezone(zone):%Y-%m-%d %H:%M} "
            f"{c.owner or '-':<8} ticket {c.rating.number} window {c.rating.window} "
            f"level {c.rating.level}{late}"
        )
    print(f"{len(cases)} cases")
    return 0


def _ratings_case(args: argparse.Namespace) -> int:
    service = _service(args)
    c = service.as_cli(GetCase(id="cli", case=args.case)).case
    zone = ZoneInfo(service.config().rules.timezone)
    r = c.rating
    print(f"case {c.id}: {c.state.value}{' (overdue)' if c.overdue else ''}")
    print(f"  rating {r.id}: ticket {r.number} ({r.ticket}), window {r.window}, staff {r.staff}")
    print(f"  level {r.level} {LEVEL_NAMES[r.level]}: {'；'.join(r.reasons)} {r.comment or ''}")
    print(f"  due {c.due_at.astimezone(zone):%Y-%m-%d %H:%M}, owner {c.owner or '-'}")
    for step in c.steps:
        extra = f" level {step.level}" if step.level else ""
        extra += f" owner {step.owner}" if step.owner else ""
        print(
            f"  {step.at.astimezone(zone):%Y-%m-%d %H:%M} {step.by or '':<16} "
            f"{step.action:<10} -> {step.state.value:<11} {step.text}{extra}"
        )
    return 0


def _ratings_act(args: argparse.Namespace) -> int:
    service = _service(args)
    try:
        request = UpdateCase(
            id=f"cli-{time.time_ns()}",
            case=args.case,
            action=CaseAction(args.action),
            text=args.text,
            level=args.level,
            owner=args.owner,
        )
    except ValidationError as exc:
        raise CliError(exc.errors()[0]["msg"]) from exc
    c = service.as_cli(request).case
    print(f"case {c.id} is {c.state.value}")
    return 0


def _ratings_ledger(args: argparse.Namespace) -> int:
    service = _service(args)
    since, until = _days(args, service)
    if not args.csv and not args.xlsx:
        raise CliError("give --csv FILE or --xlsx FILE")
    hall_id = service.hall_id()
    rows = rating_stats.ledger(
        service.engine, hall_id, since, until, service.config().rules.timezone
    )
    if args.csv:
        text = rating_stats.to_csv(rating_stats.LEDGER_HEADER, rows)
        if args.csv == "-":
            sys.stdout.write(text)
        else:
            Path(args.csv).write_text(text, encoding="utf-8")
    if args.xlsx:
        found = rating_stats.figures(
            service.engine, hall_id, since, until, args.by, service.clock()
        )
        header = [args.by, *(rating_stats.FIGURE_ZH[f] for f in rating_stats.FIGURE_FIELDS)]
        rating_stats.write_xlsx(
            Path(args.xlsx),
            {
                "台账": (rating_stats.LEDGER_HEADER, rows),
                "统计": (header, [f.row() for f in found]),
            },
        )
    print(f"{len(rows)} ratings, {since} … {until}", file=sys.stderr)
    return 0


def _ratings_figures(args: argparse.Namespace) -> int:
    service = _service(args)
    since, until = _days(args, service)
    found = rating_stats.figures(
        service.engine, service.hall_id(), since, until, args.by, service.clock()
    )

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    print(f"{since} … {until}, by {args.by}")
    print(f"{'':<12} 服务 评价  评价率  好评  差评 剔除  好评率  工单 回复率 回访率 超期")
    for f in found:
        print(
            f"{f.key or '全厅':<12} {f.services:>4} {f.rated:>4} {pct(f.rating_rate):>7} "
            f"{f.good:>4} {f.bad:>4} {f.excluded:>4} {pct(f.satisfaction):>7} {f.cases:>4} "
            f"{pct(f.on_time_rate):>6} {pct(f.callback_rate):>6} {f.overdue:>4}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
