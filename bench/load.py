"""Load check: 50 concurrent clients reading device state from a real bridge on loopback.

    .venv/bin/python bench/load.py [--clients 50] [--seconds 10]

Starts ``kraken-bridge serve --demo`` as its own process, then runs two loads from this
process and prints a table of latency percentiles:
- paced: every client reads one device 10 times a second (a busy household's Homey
  and dashboards, many times over);
- flat out: every client reads as fast as the bridge answers (an upper bound).
Target: p99 <= 10 ms for the paced load.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

BRIDGE = Path(sys.executable).with_name("kraken-bridge")


def start_bridge(data_dir: str) -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen(  # noqa: S603 (our own executable)
        [str(BRIDGE), "serve", "--demo", "--port", "0", "--data-dir", data_dir],
        stdout=subprocess.PIPE,
        text=True,
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
    url: str, token: str, until: float, interval_s: float, latencies: list[float]
) -> None:
    parts = urlsplit(url)
    request = (
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
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
        finally:
            process.terminate()
            process.wait(timeout=10)
    print(f"{args.clients} concurrent clients, {args.seconds:g} s each load, loopback")
    print(f"{'load':<18} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, count, rate, p50, p99 in rows:
        print(f"{name:<18} {count:>9} {rate:>8.0f} {p50:>8.2f} {p99:>8.2f}")


if __name__ == "__main__":
    main()
