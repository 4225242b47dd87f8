"""The Kraken Backend Homey app: memory after start, memory over a month, time to a price.

    .venv-homey/bin/python bench/homey_app.py [--days 30]

Needs the `homey` package (Python >= 3.13, .venv-homey). The app (homey_backend/app.py)
is started by the real `homey` SDK against the tests' fake Homey socket
(tests/homey_app/fake_homey.py), as on a Homey but without Homey's own runtime.

1. Start-up: the simulator plays the bundled IOG + export demo at speed 1 in its own
   process; the app runs in a child process that holds only what a Homey's app process
   holds (the SDK, the app and kraken_core: no FastAPI, uvicorn or zeroconf, checked).
   The child is run twice on one data folder: a first install (the settings page's
   ``PUT /credentials``) and a restart with the key saved (the service starts in
   ``on_init``). Each run times process start -> the first import price
   (``GET /devices/<import tariff>`` with a ``unit_rate``) and reads its VmRSS then.
2. A month: the simulator and the app share this process and one SimulatedClock, so the
   engine's own ``run_forever`` (the Homey's path) fast-forwards through the days of
   bench/soak.py's IOG household (car plugged in every evening); VmRSS after
   gc.collect() at the end of every simulated day. The simulator's memory is in that
   figure too: the growth, not the size, is what counts there.

Targets (the issue): RSS after start <= 64 MB; RSS growth day 1 -> day 30 <= 1 MB;
start -> first import price <= 5 s. Exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import json
import math
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: this checkout's packages first
    sys.path.insert(0, str(REPO))

SCENARIO = REPO / "kraken_core/simulator/scenarios/iog_export_ev_demo.json"
API_KEY = "sk_demo_simulator_key"  # what the simulator accepts
# What the Homey's app process never loads: if the child has one, it measured the wrong thing.
NOT_ON_HOMEY = ("fastapi", "uvicorn", "starlette", "zeroconf")
RSS_AFTER_START_MB = 64.0
RSS_GROWTH_MB = 1.0
FIRST_PRICE_S = 5.0
STALL_S = 60.0  # wall seconds without simulated time moving: the engine is stuck


def status_mb(field_name: str) -> float:
    """A /proc/self/status figure (VmRSS, VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field_name} in /proc/self/status")


# --- 1. start-up, in a child process -------------------------------------------------------


async def first_price(homey: Any, within: float = 60.0) -> float:
    """Wait until the import tariff has a unit rate; return it."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        devices = await homey.call("GET", "/devices")
        if devices["status"] == 200:
            tariff = next((d["id"] for d in devices["body"] if d["kind"] == "import_tariff"), None)
            if tariff is not None:
                view = await homey.call("GET", f"/devices/{tariff}")
                rate = view["body"].get("state", {}).get("unit_rate")
                if view["status"] == 200 and rate is not None:
                    return float(rate)
        await asyncio.sleep(0.01)
    raise SystemExit(f"no import price within {within:.0f} s")


async def child(args: argparse.Namespace) -> dict[str, Any]:
    """One app start on the simulator at ``args.graphql`` (run in a fresh process)."""
    began = time.perf_counter()
    stages = {"interpreter, asyncio": status_mb("VmRSS")}
    from tests.homey_app.fake_homey import FakeHomey  # the `homey` SDK

    stages["+ homey SDK"] = status_mb("VmRSS")
    imported = time.perf_counter()
    scenario = json.loads(SCENARIO.read_text("utf-8"))
    account = scenario["account"]["number"]
    restart = args.child == "restart"
    homey = FakeHomey(
        env={
            "KRAKEN_DATA_DIR": args.data_dir,
            "KRAKEN_GRAPHQL_URL": args.graphql,
            "KRAKEN_REST_URL": args.rest,
            "KRAKEN_BACKEND_GRAPHQL_URL": args.backend,
            "KRAKEN_CLOCK_START": scenario["start"],
            "KRAKEN_CLOCK_SPEED": "1",
            "KRAKEN_CLOCK_AT": args.clock_at,
        },
        settings={"api_key": API_KEY, "account_number": account} if restart else None,
    )
    app_start = time.perf_counter()
    await homey.start()
    started = time.perf_counter()
    stages["+ app and kraken_core (on_init)"] = status_mb("VmRSS")
    if not restart:
        answer = await homey.call(
            "PUT", "/credentials", {"api_key": API_KEY, "account_number": account}
        )
        if answer["status"] != 200:
            raise SystemExit(f"the app refused the simulator's credentials: {answer}")
    rate = await first_price(homey)
    priced = time.perf_counter()
    since_spawn = time.time() - args.spawned_at
    stages["+ service running, first price"] = rss = status_mb("VmRSS")
    gc.collect()
    rss_gc = status_mb("VmRSS")
    peak = status_mb("VmHWM")
    loaded = sorted(name for name in NOT_ON_HOMEY if name in sys.modules)
    if loaded:
        raise SystemExit(f"the app process loaded {', '.join(loaded)}: not what a Homey runs")
    packages = sorted(
        {
            name.split(".")[0]
            for name, module in list(sys.modules.items())
            if "site-packages" in (getattr(module, "__file__", None) or "")
        }
    )
    await homey.stop()
    return {
        "run": args.child,
        "unit_rate": rate,
        "process_to_price_s": since_spawn,
        "main_to_price_s": priced - began,
        "imports_s": imported - began,
        "on_init_s": started - app_start,
        "app_start_to_price_s": priced - app_start,
        "rss_mb": rss,
        "rss_gc_mb": rss_gc,
        "peak_mb": peak,
        "stages": stages,
        "modules": len(sys.modules),
        "packages": packages,
    }


def run_child(run: str, sim: dict[str, str], data_dir: str, clock_at: str) -> dict[str, Any]:
    spawned_at = time.time()
    done = subprocess.run(  # noqa: S603 (this script, in this interpreter)
        [
            sys.executable,
            __file__,
            "--child",
            run,
            "--graphql",
            sim["GraphQL"],
            "--rest",
            sim["REST"],
            "--backend",
            sim["Backend GraphQL"],
            "--data-dir",
            data_dir,
            "--clock-at",
            clock_at,
            "--spawned-at",
            repr(spawned_at),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not results:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"the app process ({run}) failed with exit code {done.returncode}")
    result: dict[str, Any] = json.loads(results[-1].removeprefix("RESULT "))
    return result


def start_up() -> list[dict[str, Any]]:
    """The simulator in its own process, the app started twice in child processes."""
    clock_at = datetime.now(UTC).isoformat()
    simulator = subprocess.Popen(  # noqa: S603 (kraken-bridge simulate from this checkout)
        [
            sys.executable,
            "-m",
            "kraken_core.cli",
            "simulate",
            "--scenario",
            str(SCENARIO),
            "--port",
            "0",
            "--speed",
            "1",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert simulator.stdout is not None
        sim: dict[str, str] = {}
        while not {"GraphQL", "REST", "Backend GraphQL"} <= sim.keys():
            line = simulator.stdout.readline()
            if not line:
                raise SystemExit("the simulator did not start")
            name, _, value = line.partition(": ")
            sim[name] = value.strip()
        with tempfile.TemporaryDirectory(prefix="homey-app-bench-") as data_dir:
            return [run_child(run, sim, data_dir, clock_at) for run in ("install", "restart")]
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)


# --- 2. a simulated month, in this process -------------------------------------------------


@dataclass
class Day:
    day: int
    rss_mb: float
    wall_s: float
    requests: Counter[str]
    pushes: Counter[str] = field(default_factory=Counter)
    anon_mb: float = 0.0  # RssAnon: the heaps (Python's, SQLite's, the C libraries')
    mapped_mb: float = 0.0  # RssFile + RssShmem: mapped files, SQLite's WAL index
    python_blocks: int = 0  # sys.getallocatedblocks(): live Python objects
    sqlite_kb: float = 0.0  # sqlite3_memory_used(): SQLite's own heap, page caches included


def sqlite_memory_kb() -> float:
    """SQLite's heap in this process (the library _sqlite3 links to), or NaN."""
    try:
        library = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    except OSError:
        return math.nan
    library.sqlite3_memory_used.restype = ctypes.c_int64
    used: int = library.sqlite3_memory_used()
    return used / 1024


async def month(days: int) -> list[Day]:
    from bench.soak import month_scenario
    from kraken_core.clock import SimulatedClock
    from tests.homey_app.harness import running_backend

    scenario = month_scenario(days)
    # soak's account number has a K in it: the app's settings check (A- and 8 hex digits,
    # as Octopus's are) refuses it before asking Kraken.
    scenario["account"]["number"] = "A-50A7E570"
    start = datetime.fromisoformat(scenario["start"])
    clock = SimulatedClock(start)
    pushes: Counter[str] = Counter()
    rows: list[Day] = []
    with tempfile.TemporaryDirectory(prefix="homey-app-month-") as temporary:
        path = Path(temporary) / "month.json"
        path.write_text(json.dumps(scenario), "utf-8")
        data_dir = Path(temporary) / "data"
        async with running_backend(path, speed=1.0, data_dir=data_dir, clock=clock) as backend:
            service = backend.hosted.service
            assert service is not None, "the app did not start its service"
            backend.homey.realtime_listeners.append(lambda event, _: pushes.update([event]))
            began = time.perf_counter()
            previous: Counter[str] = Counter()
            for day in range(1, days + 1):
                end = start + timedelta(days=day)
                moved_at, last = time.perf_counter(), clock.now()
                while clock.now() < end:  # the engine's run_forever moves the clock
                    await asyncio.sleep(0.05)
                    backend.homey.realtime.clear()  # counted by the listener; kept small
                    if clock.now() != last:
                        moved_at, last = time.perf_counter(), clock.now()
                    elif time.perf_counter() - moved_at > STALL_S:
                        raise SystemExit(f"simulated time stuck at {last} for {STALL_S:.0f} s")
                counts = Counter(service.client.request_counts)
                gc.collect()
                wall = time.perf_counter() - began
                rows.append(
                    Day(
                        day,
                        status_mb("VmRSS"),
                        wall,
                        counts - previous,
                        pushes.copy(),
                        anon_mb=status_mb("RssAnon"),
                        mapped_mb=status_mb("RssFile") + status_mb("RssShmem"),
                        python_blocks=sys.getallocatedblocks(),
                        sqlite_kb=sqlite_memory_kb(),
                    )
                )
                previous = counts
                pushes.clear()
    return rows


# --- the report ----------------------------------------------------------------------------


def row(what: str, measured: float, unit: str, target: float, sign: str = "") -> bool:
    ok = measured <= target
    value = f"{measured:{sign}.2f} {unit}"
    print(f"{what:<56} {value:>10}   <= {target:g} {unit:<3} {'ok' if ok else 'FAIL'}")
    return ok


def per_day(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))


def report(starts: list[dict[str, Any]], days: list[Day], total_s: float) -> bool:
    print()
    print(f"{'target':<56} {'measured':>10}   {'target':<10} ok")
    results = []
    for start in starts:
        label = "first install" if start["run"] == "install" else "restart, key saved"
        results.append(row(f"RSS after start ({label})", start["rss_mb"], "MB", RSS_AFTER_START_MB))
    first, last = days[0], days[-1]
    growth = last.rss_mb - first.rss_mb
    results.append(row(f"RSS growth day 1 -> day {last.day}", growth, "MB", RSS_GROWTH_MB, "+"))
    for start in starts:
        label = "first install" if start["run"] == "install" else "restart, key saved"
        what = f"process start -> first import price ({label})"
        results.append(row(what, start["process_to_price_s"], "s", FIRST_PRICE_S))
    print()
    for start in starts:
        print(
            f"{start['run']}: app start (FakeHomey.start) -> first price "
            f"{start['app_start_to_price_s']:.2f} s (on_init {start['on_init_s']:.2f} s); "
            f"SDK import {start['imports_s']:.2f} s; unit rate {start['unit_rate']} p/kWh"
        )
        print(
            f"{start['run']}: RSS {start['rss_mb']:.1f} MB, after gc.collect() "
            f"{start['rss_gc_mb']:.1f} MB, peak (VmHWM) {start['peak_mb']:.1f} MB; "
            + ", ".join(f"{k} {v:.1f}" for k, v in start["stages"].items())
        )
    print(
        f"app process: {starts[0]['modules']} modules; packages from site-packages: "
        + " ".join(starts[0]["packages"])
        + f" ({', '.join(NOT_ON_HOMEY)} not loaded)"
    )
    print(
        f"month: {len(days)} simulated days in {last.wall_s:.0f} s; simulator and app in one "
        f"process (growth counts, not size): RSS day 1 {first.rss_mb:.1f} MB, "
        f"day {last.day} {last.rss_mb:.1f} MB, highest {max(d.rss_mb for d in days):.1f} MB"
    )
    walls = [d.wall_s - (days[i - 1].wall_s if i else 0.0) for i, d in enumerate(days)]
    print(f"  RSS MB by day: {' '.join(f'{d.rss_mb:.1f}' for d in days)}")
    print(
        f"  day 1 -> day {last.day}: RssAnon {first.anon_mb:.1f} -> {last.anon_mb:.1f} MB, "
        f"RssFile+RssShmem {first.mapped_mb:.1f} -> {last.mapped_mb:.1f} MB, "
        f"Python blocks {first.python_blocks:,} -> {last.python_blocks:,}, "
        f"SQLite heap {first.sqlite_kb:,.0f} -> {last.sqlite_kb:,.0f} KB"
    )
    print(f"  wall s by day: {' '.join(f'{w:.0f}' for w in walls)}")
    for day in {first.day: first, 2: days[1], last.day: last}.values():
        print(f"  day {day.day:>2} Kraken requests: {per_day(day.requests)}")
        print(f"  day {day.day:>2} realtime pushes: {per_day(day.pushes)}")
    print(f"total {total_s:.0f} s")
    return all(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--child", choices=("install", "restart"), help=argparse.SUPPRESS)
    for name in ("--graphql", "--rest", "--backend", "--data-dir", "--clock-at"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    parser.add_argument("--spawned-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        # The SDK logs with print(): to stderr, so stdout carries only the RESULT line.
        out, sys.stdout = sys.stdout, sys.stderr
        result = asyncio.run(child(args))
        print("RESULT " + json.dumps(result), file=out, flush=True)
        return
    if args.days < 2:
        parser.error("--days must be at least 2 (growth is day 1 -> the last day)")
    began = time.perf_counter()
    starts = start_up()
    print(f"start-up measured ({len(starts)} app starts); simulating {args.days} days…")
    with contextlib.redirect_stdout(sys.stderr):  # the SDK logs with print()
        days = asyncio.run(month(args.days))
    if not report(starts, days, time.perf_counter() - began):
        sys.exit(1)


if __name__ == "__main__":
    main()
