"""Load check: 50 concurrent clients reading device state from a real bridge on loopback.

    .venv/bin/python bench/load.py [--clients 50] [--seconds 10]

Starts ``kraken-bridge serve --demo`` as its own process, then runs two loads from this
process and prints a table of latency percentiles:
- paced: every client reads one device 10 times a second (a busy household's Homey
  and dashboards, many times over);
- flat out: every client reads as fast as the bridge answers (an upper bound).
Then two stresses, each while one client asks ``/api/v1/health`` 20 times a second:
- heavy: a year of history (written first the way the engine writes it, see
  bench/stats.py) asked for in a loop as ``history.csv`` and as the 12-month statistic;
- half-open: 1,000 connections that send a request line and never finish it.
Targets: p99 <= 10 ms for the paced load; /health p99 <= 100 ms under both stresses.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench.stats import START as HISTORY_START
from bench.stats import simulate_year

BRIDGE = Path(sys.executable).with_name("kraken-bridge")
#: Where ``serve --demo`` keeps its history (cli.py: data_dir / "demo", service.DATABASE_FILE).
DEMO_DATABASE = Path("demo") / "history.sqlite3"
HALF_OPEN = 1000


def usual_file_limit() -> None:
    """The bridge runs with the usual 1,024 open files, as on most machines."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))


def start_bridge(data_dir: str) -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen(  # noqa: S603 (our own executable)
        [str(BRIDGE), "serve", "--demo", "--port", "0", "--data-dir", data_dir],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=usual_file_limit,
    )
    assert process.stdout is not None
    url = token = ""
    while not (url and token):
        line = process.stdout.readline()
        if not line:
            raise SystemExit("the bridge did not start")
        if line.startswith("Bridge: "):
            url = line.split(" ", 1)[1].strip()
        if line.startswith("Token: "):
            token = line.split(" ", 1)[1].strip()
    return process, url, token


class Connection:
    """A minimal keep-alive HTTP/1.1 client: cheap enough that the bridge, not the load
    generator, is what gets measured."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer)

    async def get(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await self.reader.readexactly(length)
        return status


async def client(
    url: str,
    token: str,
    until: float,
    interval_s: float,
    latencies: list[float],
    *,
    request: bytes | None = None,
) -> None:
    parts = urlsplit(url)
    request = (
        request
        or (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    connection = await Connection.open(url)
    # Independent clients are not in step: each starts at its own phase of the interval.
    next_at = time.perf_counter() + random.uniform(0, interval_s)  # noqa: S311
    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            status = await connection.get(request)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"the bridge answered {status}")
            if interval_s:
                next_at += interval_s
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    finally:
        connection.writer.close()


async def run_load(
    url: str, token: str, clients: int, seconds: float, interval_s: float
) -> list[float]:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        devices = (await http.get(f"{url}/api/v1/devices")).json()
    targets = [f"{url}/api/v1/devices/{d['id']}" for d in devices]
    latencies: list[float] = []
    until = time.perf_counter() + seconds
    await asyncio.gather(
        *(
            client(targets[i % len(targets)], token, until, interval_s, latencies)
            for i in range(clients)
        )
    )
    return latencies


async def health_latencies(url: str, seconds: float, rate_hz: float = 20.0) -> list[float]:
    """/health asked ``rate_hz`` times a second, a new connection each time as a
    monitoring probe does (ms each; an answer not back within 5 s counts as 5,000 ms)."""
    parts = urlsplit(url)
    request = (
        f"GET /api/v1/health HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            connection = await asyncio.wait_for(Connection.open(url), 5)
            status = await asyncio.wait_for(connection.get(request), 5)
            connection.writer.close()
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            status = 0
        latencies.append((time.perf_counter() - started) * 1000 if status == 200 else 5000.0)
        await asyncio.sleep(max(0.0, 1 / rate_hz - (time.perf_counter() - started)))
    return latencies


async def heavy_loop(url: str, token: str, until: float, counts: dict[str, int]) -> None:
    """A year of CSV and the 12-month statistic, one after the other, until ``until``."""
    year_end = HISTORY_START + timedelta(days=365)
    wanted = {
        "history.csv": f"{url}/api/v1/history.csv?from={HISTORY_START.date()}&to={year_end.date()}",
        "stats 12m": f"{url}/api/v1/stats?period=12m&date={year_end.date()}",
    }
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        while time.perf_counter() < until:
            for name, target in wanted.items():
                response = await http.get(target)
                if response.status_code != 200:
                    raise SystemExit(f"{name} answered {response.status_code}: {response.text}")
                counts[name] = counts.get(name, 0) + 1


async def under_heavy_requests(url: str, token: str, seconds: float) -> tuple[list[float], str]:
    counts: dict[str, int] = {}
    until = time.perf_counter() + seconds
    latencies, _ = await asyncio.gather(
        health_latencies(url, seconds), heavy_loop(url, token, until, counts)
    )
    return latencies, ", ".join(f"{n} {name}" for name, n in counts.items())


async def under_half_open(url: str, seconds: float, count: int) -> tuple[list[float], str]:
    """/health while ``count`` connections each hold an unfinished request."""
    parts = urlsplit(url)
    held: list[asyncio.StreamWriter] = []
    refused = 0
    for _ in range(count):
        try:
            _, writer = await asyncio.open_connection(parts.hostname, parts.port)
        except OSError:
            refused += 1
            continue
        writer.write(f"GET /api/v1/health HTTP/1.1\r\nHost: {parts.netloc}\r\n".encode())
        held.append(writer)
    try:
        latencies = await health_latencies(url, seconds)
    finally:
        for writer in held:
            writer.close()
    return latencies, f"{len(held)} held, {refused} refused at connect"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--history-days", type=int, default=365)
    parser.add_argument("--half-open", type=int, default=HALF_OPEN)
    args = parser.parse_args()
    # The load generator holds HALF_OPEN connections at once: its own file limit must allow it.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * args.half_open)), hard))
    stresses: list[tuple[str, list[float], str]] = []
    with tempfile.TemporaryDirectory() as data_dir:
        (Path(data_dir) / DEMO_DATABASE).parent.mkdir()
        asyncio.run(simulate_year(Path(data_dir) / DEMO_DATABASE, args.history_days))
        process, url, token = start_bridge(data_dir)
        try:
            rows = []
            for name, interval in (("paced 10/s each", 0.1), ("flat out", 0.0)):
                latencies = asyncio.run(run_load(url, token, args.clients, args.seconds, interval))
                rows.append(
                    (
                        name,
                        len(latencies),
                        len(latencies) / args.seconds,
                        statistics.median(latencies),
                        percentile(latencies, 0.99),
                    )
                )
            heavy = asyncio.run(under_heavy_requests(url, token, args.seconds))
            stresses.append(("heavy requests", *heavy))
            half_open = asyncio.run(under_half_open(url, args.seconds, args.half_open))
            stresses.append(("half-open conns", *half_open))
        finally:
            process.terminate()
            process.wait(timeout=10)
    print(f"{args.clients} concurrent clients, {args.seconds:g} s each load, loopback")
    print(f"{'load':<18} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, count, rate, p50, p99 in rows:
        print(f"{name:<18} {count:>9} {rate:>8.0f} {p50:>8.2f} {p99:>8.2f}")
    print()
    print(
        f"/health at 20/s during   {'asked':>9} {'failed':>7} {'p50 ms':>8} {'p99 ms':>8}"
        "  (target p99 <= 100; a failure counts as 5,000 ms)"
    )
    for name, latencies, detail in stresses:
        p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
        failed = sum(1 for latency in latencies if latency >= 5000.0)
        print(f"{name:<24} {len(latencies):>9} {failed:>7} {p50:>8.2f} {p99:>8.2f}  {detail}")


if __name__ == "__main__":
    main()
