"""Dependencies point one way: clients -> queue_protocol <- queue_server (ARCHITECTURE.md).

Each check imports in a fresh interpreter, so what this test process already imported
cannot hide or fake a dependency.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT_PACKAGES = (
    "staff_tui",
    "window_client",
    "admin_console",
    "display",
    "kiosk",
    "rating_pad",
)

# Prints which of `forbidden` got imported after importing `modules` (and, with walk=True,
# every submodule of them except __main__, which would start a program).
PROBE = """
import importlib, json, pkgutil, sys
modules, forbidden, walk = json.loads(sys.argv[1])
for name in modules:
    module = importlib.import_module(name)
    if walk and hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, name + "."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(forbidden))
print(json.dumps(loaded))
"""


def _imported(modules: list[str], forbidden: list[str], *, walk: bool = False) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([modules, forbidden, walk])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_protocol_package_is_free_of_server_database_and_ui() -> None:
    """Importing queue_protocol (models, codec, schema) pulls in no server, database or UI."""
    forbidden = ["sqlmodel", "sqlalchemy", "textual", "queue_server", "websockets"]
    modules = [
        "queue_protocol",
        "queue_protocol.messages",
        "queue_protocol.codec",
        "queue_protocol.schema",
    ]
    assert _imported(modules, forbidden) == []


def test_protocol_client_is_free_of_server_database_and_ui() -> None:
    """The shared websocket client needs websockets, but no server, database or UI."""
    forbidden = ["sqlmodel", "sqlalchemy", "textual", "queue_server"]
    assert _imported(["queue_protocol.client"], forbidden) == []


def test_domain_rules_are_free_of_io() -> None:
    """queue_server.domain (every module of it) imports no database, network or UI library."""
    forbidden = ["sqlmodel", "sqlalchemy", "websockets", "textual"]
    assert _imported(["queue_server.domain"], forbidden, walk=True) == []


@pytest.mark.parametrize("package", CLIENT_PACKAGES)
def test_client_programs_do_not_reach_into_the_server(package: str) -> None:
    """A client program talks to the server only through queue_protocol."""
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"the {package} package does not exist yet")
    forbidden = ["queue_server", "sqlmodel", "sqlalchemy"]
    assert _imported([package], forbidden, walk=True) == []


def test_importing_the_server_builds_no_engine_and_writes_no_file(tmp_path: Path) -> None:
    """Importing every queue_server module creates no engine and no database file."""
    probe = """
import importlib, json, os, pkgutil, sys
import sqlalchemy, sqlmodel
calls = []
def record(*args, **kwargs):
    calls.append(repr(args[:1]))
    raise RuntimeError("create_engine called at import time")
sqlalchemy.create_engine = record
sqlmodel.create_engine = record
import queue_server
for info in pkgutil.walk_packages(queue_server.__path__, "queue_server."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
print(json.dumps(calls))
"""
    data = tmp_path / "data"
    home = tmp_path / "home"
    data.mkdir()
    home.mkdir()
    env = {
        **os.environ,
        "YICHUANG_DATA_DIR": str(data),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("YICHUANG_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == []
