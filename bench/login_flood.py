"""Login-flood benchmark: a kiosk's ticket-issue latency while wrong passwords flood the server.

    .venv/bin/python -m bench.login_flood [--seconds 8 --flooders 8]

The real server runs in its own process (as in bench.server_load). One kiosk issues tickets
one at a time; its reply latency is measured in four phases of equal length, in this order:

  quiet         nothing else happens (the reference)
  one address   F connections from 127.0.0.1 send wrong passwords for one account as fast
                as they are answered (each connection five hellos, then a new one)
  many          F connections, each hello from a new loopback address and for a made-up
                account: per-address back-off and account lock-out never apply, so every
                hello costs a full argon2 check — only the global cap and the checker's low
                CPU priority protect the hall
  quiet again   the reference once more (the machine may have drifted)

The ratio printed is each flood phase's p99 over the quiet phases' p99 (both quiet phases
pooled); the target is at most 2 with F = 8. Results: bench/results/login_flood.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped, unused-ignore]
from websockets.asyncio.client import connect

from bench.server_load import (
    KIOSK_TOKEN,
    Conn,
    CpuMeter,
    build_hall,
    device_hello,
    latency_summary,
    percentile,
    server_process,
)

RESULTS = Path(__file__).resolve().parent / "results" / "login_flood.json"


async def kiosk_lane(kiosk: Conn, categories: list[str], seconds: float) -> list[float]:
    latencies = []
    deadline = time.monotonic() + seconds
    for n in itertools.count():
        if time.monotonic() >= deadline:
            break
        reply, took = await kiosk.send({"type": "issue_ticket", "category": categories[n % 4]})
        if reply["type"] != "ok":
            raise RuntimeError(f"issue refused: {reply}")
        latencies.append(took)
    return latencies


class Flood:
    """F flooding connections; counts replies by code."""

    def __init__(self, url: str, flooders: int, spread: bool) -> None:
        self.url, self.flooders, self.spread = url, flooders, spread
        self.replies: dict[str, int] = {}
        self._addresses = (
            f"127.{a}.{b}.{c}" for a in range(1, 255) for b in range(256) for c in range(1, 255)
        )
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._one(n)) for n in range(self.flooders)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _one(self, n: int) -> None:
        while not self._stop.is_set():
            address = next(self._addresses) if self.spread else "127.0.0.1"
            hellos = 1 if self.spread else 5
            with contextlib.suppress(Exception):
                async with connect(
                    self.url, open_timeout=30, local_addr=(address, 0), ping_interval=None
                ) as ws:
                    for k in range(hellos):
                        if self._stop.is_set():
                            return
                        account = f"x{n}-{k}-{address}" if self.spread else "ck001"
                        await ws.send(
                            json.dumps(
                                {
                                    "type": "hello",
                                    "id": f"f{k}",
                                    "version": 1,
                                    "role": "admin",
                                    "user": account[:64],
                                    "password": "not-the-password",
                                }
                            )
                        )
                        reply = json.loads(await asyncio.wait_for(ws.recv(), 60))
                        code = reply.get("code", reply["type"])
                        self.replies[code] = self.replies.get(code, 0) + 1


async def start_flood(url: str, mode: str, flooders: int) -> asyncio.subprocess.Process:
    """The flood runs in its own process, so the kiosk's timing is not the flood's loop."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.login_flood",
        "--flood",
        mode,
        "--url",
        url,
        "--flooders",
        str(flooders),
        stdout=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    await proc.stdout.readline()  # "flooding": the connections are under way
    return proc


async def stop_flood(proc: asyncio.subprocess.Process) -> dict[str, int]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()  # end of input: the flooder stops and prints its counts
    out = await proc.stdout.read()
    await proc.wait()
    counts: dict[str, int] = json.loads(out.decode().strip().splitlines()[-1])
    return counts


async def flood_until_told(url: str, mode: str, flooders: int) -> None:
    flood = Flood(url, flooders, spread=mode == "many")
    flood.start()
    print("flooding", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await flood.stop()
    print(json.dumps(flood.replies), flush=True)


async def run(port: int, pid: int, categories: list[str], args: argparse.Namespace) -> Any:
    url = f"ws://127.0.0.1:{port}"
    server = psutil.Process(pid)
    kiosk = await Conn.open(url, device_hello("kiosk", KIOSK_TOKEN))
    phases: dict[str, Any] = {}
    quiet: list[float] = []
    try:
        await kiosk_lane(kiosk, categories, 1.0)  # warm-up
        for name, flood in (
            ("quiet", None),
            ("one_address", "one"),
            ("many_addresses", "many"),
            ("quiet_again", None),
        ):
            flooder = await start_flood(url, flood, args.flooders) if flood else None
            meter = CpuMeter(server)
            try:
                latencies = await kiosk_lane(kiosk, categories, args.seconds)
            finally:
                cpu = meter.result()
                replies = await stop_flood(flooder) if flooder else {}
            phases[name] = {
                "kiosk": latency_summary(latencies),
                "cpu": cpu,
                "flood_replies": replies,
            }
            if flood is None:
                quiet.extend(latencies)
    finally:
        await kiosk.close()
    reference = percentile([s * 1000 for s in quiet], 99)
    for name in ("one_address", "many_addresses"):
        phases[name]["p99_over_quiet_p99"] = round(phases[name]["kiosk"]["p99_ms"] / reference, 2)
    return {"quiet_p99_ms": round(reference, 2), "phases": phases}


def report(data: dict[str, Any]) -> str:
    lines = [f"kiosk issue latency, one request at a time ({data['flooders']} flooders):"]
    for name, phase in data["phases"].items():
        k = phase["kiosk"]
        ratio = phase.get("p99_over_quiet_p99")
        flood = phase["flood_replies"]
        lines.append(
            f"  {name:15} n={k['count']:5}  p50 {k['p50_ms']:6.1f} ms  p99 {k['p99_ms']:6.1f} ms"
            + (f"  p99/quiet {ratio:.2f}" if ratio is not None else "")
            + (f"  flood replies {flood}" if flood else "")
            + f"  server CPU {phase['cpu']['server_cpu_pct']}%"
        )
    lines.append(f"  quiet p99 (both quiet phases): {data['quiet_p99_ms']} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.login_flood", description=__doc__)
    p.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    p.add_argument("--flooders", type=int, default=8, help="flooding connections")
    p.add_argument("--output", type=Path, default=RESULTS)
    p.add_argument("--flood", choices=["one", "many"], help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.flood:  # the flooding process started by start_flood()
        asyncio.run(flood_until_told(args.url, args.flood, args.flooders))
        return 0
    with tempfile.TemporaryDirectory(prefix="yichuang-flood-") as tmp:
        workdir = Path(tmp)
        db_url = f"sqlite:///{workdir / 'hall.db'}"
        categories = build_hall(db_url, windows=8)
        with server_process(db_url, workdir) as (proc, port):
            data = asyncio.run(run(port, proc.pid, categories, args))
    data.update(
        flooders=args.flooders,
        seconds=args.seconds,
        python=sys.version.split()[0],
        machine=platform.machine(),
        cpus=psutil.cpu_count(),
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(report(data))
    print(f"\nJSON written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
