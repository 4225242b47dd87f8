"""The Kraken Backend Homey app, running for tests: the simulator playing a scenario, and
the app started by the real `homey` SDK against :class:`FakeHomey`, set up the way a
household sets it up (its own settings page's ``PUT /credentials``).

As a program it is the bridge the Node tests cross to reach the app (Homey's app API
between two apps, played over a loopback socket)::

    .venv-homey/bin/python tests/homey_app/harness.py --scenario FILE [--speed N]
        [--data-dir DIR]

prints ``HARNESS {"port": N}`` once the app has its devices, then serves newline-
delimited JSON on 127.0.0.1:N: ``{"id", "method", "path", "body"}`` is answered
``{"id", "result"}`` (what ``getApiApp(…).get/post/put/delete`` resolves to) or
``{"id", "error"}`` (what it rejects with); ``{"id", "control": "installed"}`` is
answered ``true``; every ``homey.api.realtime`` push arrives as
``{"realtime": {"event", "data"}}``. It stops on SIGTERM or when stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: the repository's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kraken_core.clock import Clock, ScenarioClock
from kraken_core.hosted import HostedService
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.scenario import Scenario, load_scenario
from kraken_core.simulator.server import RunningSimulator, run_simulator
from tests.homey_app.fake_homey import FakeHomey

SIMULATOR_API_KEY = "sk_demo_simulator_key"  # what the simulator accepts


class BackendUnderTest:
    """The app, its fake Homey and the simulator it reads."""

    def __init__(self, homey: FakeHomey, simulator: RunningSimulator, scenario: Scenario) -> None:
        self.homey = homey
        self.simulator = simulator
        self.scenario = scenario

    @property
    def hosted(self) -> HostedService:
        """The service inside the app (app.py's ``hosted``)."""
        assert self.homey.homey is not None, "the app has not started"
        hosted = getattr(self.homey.homey.app, "hosted", None)
        assert isinstance(hosted, HostedService)
        return hosted

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        return await self.homey.call(method, path, body)

    async def set_up(self, api_key: str = SIMULATOR_API_KEY) -> Any:
        body = {"api_key": api_key, "account_number": self.scenario.account.number}
        return await self.call("PUT", "/credentials", body)


@contextlib.asynccontextmanager
async def running_backend(
    scenario_path: Path,
    *,
    speed: float,
    data_dir: Path,
    set_up: bool = True,
    clock: Clock | None = None,
) -> AsyncIterator[BackendUnderTest]:
    """The app on ``scenario_path`` at ``speed``; ``set_up``: credentials entered.

    ``clock`` (e.g. a :class:`~kraken_core.clock.SimulatedClock`, for benchmarks) replaces
    the scenario clock at ``speed``: the simulator runs on it, and the app's service is
    handed it before the credentials are entered (the app gets no ``KRAKEN_CLOCK_*``)."""
    scenario = load_scenario(scenario_path)
    env: dict[str, str] = {}
    shared = clock is not None
    if clock is None:
        began_at = datetime.now(UTC)
        clock = ScenarioClock(scenario.start, speed=speed, began_at=began_at)
        env = {
            "KRAKEN_CLOCK_START": scenario.start.isoformat(),
            "KRAKEN_CLOCK_SPEED": str(speed),
            "KRAKEN_CLOCK_AT": began_at.isoformat(),
        }
    async with run_simulator(Simulator(scenario, clock)) as simulator:
        homey = FakeHomey(
            env={
                "KRAKEN_DATA_DIR": str(data_dir),
                "KRAKEN_GRAPHQL_URL": simulator.graphql_url,
                "KRAKEN_REST_URL": simulator.rest_url,
                "KRAKEN_BACKEND_GRAPHQL_URL": simulator.backend_graphql_url,
                **env,
            }
        )
        await homey.start()
        try:
            backend = BackendUnderTest(homey, simulator, scenario)
            if shared:
                backend.hosted.clock = clock
            if set_up:
                answer = await backend.set_up()
                if answer["status"] != 200:
                    raise RuntimeError(f"the app refused the simulator's credentials: {answer}")
            yield backend
        finally:
            await homey.stop()


# --- the Node tests' side of it ----------------------------------------------------------


async def _serve_client(
    backend: BackendUnderTest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    def send(message: dict[str, Any]) -> None:
        writer.write(json.dumps(message).encode() + b"\n")

    def pushed(event: str, data: Any) -> None:
        send({"realtime": {"event": event, "data": data}})

    async def answer(request: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"id": request.get("id")}
        try:
            if request.get("control") == "installed":
                reply["result"] = True
            else:
                reply["result"] = await backend.call(
                    str(request["method"]), str(request["path"]), request.get("body")
                )
        except Exception as exc:
            reply["error"] = str(exc)
        send(reply)

    backend.homey.realtime_listeners.append(pushed)
    tasks: set[asyncio.Task[None]] = set()
    try:
        while line := await reader.readline():
            task = asyncio.create_task(answer(json.loads(line)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except ConnectionError:
        pass  # the test went away
    finally:
        backend.homey.realtime_listeners.remove(pushed)
        writer.close()


async def _main(args: argparse.Namespace) -> None:
    # The SDK logs with print(): to stderr, so stdout carries only the HARNESS line.
    out, sys.stdout = sys.stdout, sys.stderr
    with tempfile.TemporaryDirectory(prefix="kraken-backend-") as temporary:
        data_dir = Path(args.data_dir or temporary)
        async with running_backend(Path(args.scenario), speed=args.speed, data_dir=data_dir) as b:
            writers: set[asyncio.StreamWriter] = set()

            async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                writers.add(writer)
                await _serve_client(b, reader, writer)

            server = await asyncio.start_server(client, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            print("HARNESS " + json.dumps({"port": port}), file=out, flush=True)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            loop.add_signal_handler(signal.SIGINT, stop.set)
            stdin = sys.stdin.fileno()
            loop.add_reader(stdin, lambda: None if os.read(stdin, 4096) else stop.set())
            await stop.wait()
            loop.remove_reader(stdin)
            server.close()
            for writer in writers:
                writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--data-dir")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
