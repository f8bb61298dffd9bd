"""A real PostgreSQL for the tests, started from the Debian binaries in a temporary
directory (initdb, pg_ctl), never a mock.

`PostgresCluster.start()` makes a throw-away cluster listening on 127.0.0.1 on a free port
(and on a socket in its own directory), with trust authentication for its `postgres`
superuser; `database()` creates an empty database and returns its SQLAlchemy URL. PostgreSQL
refuses to run as root: run as root (CI), the cluster runs as the unprivileged `nobody`.
Without the binaries, `require_postgres()` skips (outside CI, saying what to install) or,
with CI=true, fails: in CI no PostgreSQL test may skip.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

INSTALL_HINT = "PostgreSQL is not installed: apt-get install postgresql (CI installs it)"
START_TIMEOUT = 60  # seconds pg_ctl waits for the server (a loaded machine is slow)


def binaries() -> Path | None:
    """The directory of initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/N/bin
    (the newest)."""
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).parent
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


def require_postgres() -> Path:
    found = binaries()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresCluster:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        # Not under pytest's base temp: as root that is 0700, closed to `nobody`.
        self.root = Path(tempfile.mkdtemp(prefix="yichuang-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self._names = itertools.count(1)
        self.user: str | None = None
        if os.geteuid() == 0:  # postgres will not run as root
            self.user = "nobody"
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.started = False

    def _run(self, *args: str, timeout: float = START_TIMEOUT) -> None:
        result = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            user=self.user,
            cwd=self.root,
            check=False,
        )
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{args[0]} failed ({result.returncode}): {result.stderr.strip()}\n{tail}"
            )

    def start(self) -> PostgresCluster:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        self.port = _free_port()
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c shared_buffers=32MB"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-o", options, "-w", "-t", str(START_TIMEOUT), "start",
        )  # fmt: skip
        self.started = True
        return self

    def stop(self) -> None:
        if self.started:
            with contextlib.suppress(Exception):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.started = False
        # Removed in the background: a cluster of many test databases is tens of thousands
        # of files, and on a loaded machine's disk their removal alone outlasted a test's
        # timeout. Nothing reads the directory again.
        subprocess.Popen(
            ["rm", "-rf", str(self.root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = f"hall_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)
