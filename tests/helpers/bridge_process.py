"""Start the real ``kraken-bridge`` as a child process, the way a user runs it: the bridge,
or the simulator standing in for Octopus."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "tests" / "scenarios"
# The console script imports kraken_core from PYTHONPATH first (the child inherits the
# environment), so a worktree run with PYTHONPATH=$PWD tests its own code.
BRIDGE = Path(sys.executable).with_name("kraken-bridge")
# An Octopus API key for the bridge against ``simulator_process``: it must never show up.
API_KEY = "sk_live_0123456789abcdefSECRET"


@dataclass
class RunningBridge:
    process: subprocess.Popen[str]
    url: str
    token: str
    output: list[str]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextmanager
def running_bridge(
    *args: str,
    data_dir: Path,
    env: dict[str, str] | None = None,
    timeout_s: float = 30,
    token_line: str = "Token: ",  # noqa: S107 (a line prefix)
    preexec_fn: Callable[[], None] | None = None,
) -> Iterator[RunningBridge]:
    """Run ``kraken-bridge serve ARGS --port 0`` until the block ends (SIGTERM);
    ``preexec_fn`` runs in the child first (limits, umask)."""
    process = subprocess.Popen(
        [
            str(BRIDGE),
            "serve",
            *args,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=preexec_fn,
    )
    output: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            if line.startswith("Token:"):
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        deadline = time.monotonic() + timeout_s
        while not ready.wait(0.05):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("bridge did not start:\n" + "\n".join(output))
        url = next(line.split(" ", 1)[1] for line in output if line.startswith("Bridge: "))
        token = next(line.split(" ", 1)[1] for line in output if line.startswith(token_line))
        yield RunningBridge(process, url, token, output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def simulator_process(tmp_path: Path) -> Iterator[str]:
    """``kraken-bridge simulate`` on the IOG evening scenario as a stand-in for Octopus;
    yields its base URL."""
    process = subprocess.Popen(
        [str(BRIDGE), "simulate", "--scenario", str(SCENARIOS / "iog_evening_smart_dispatch.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Simulator: "), first
        yield first.split(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)
