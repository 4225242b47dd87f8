"""``kraken-bridge serve | snapshot | simulate | doctor | token | schema``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from kraken_core import __version__
from kraken_core.api.models import device_state_schema
from kraken_core.clock import Clock, ScenarioClock, SimulatedClock, SystemClock
from kraken_core.doctor import run_doctor
from kraken_core.engine.history import HistorySettings
from kraken_core.engine.settings import EngineSettings
from kraken_core.redaction import install_secret_filter, mask_account
from kraken_core.service import Service, open_service
from kraken_core.serving import serve_bridge
from kraken_core.settings import (
    BridgeSettings,
    SettingsError,
    bridge_token,
    load_settings,
    rotate_token,
)
from kraken_core.simulator.app import Simulator
from kraken_core.simulator.scenario import (
    Scenario,
    ScenarioError,
    bundled_scenario_path,
    load_scenario,
)
from kraken_core.simulator.server import run_simulator

DEMO_SCENARIO = "iog_export_ev_demo"
DEMO_API_KEY = "sk_demo_simulator_key"


class UsageError(Exception):
    """Bad input from the command line: printed without a traceback."""


def parse_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--at {text!r} is not a time: use ISO 8601 with a zone, e.g. 2026-03-10T18:00:00Z"
        ) from None
    if when.tzinfo is None:
        raise UsageError(
            f"--at {text!r} has no time zone: add Z or an offset, e.g. 2026-03-10T18:00:00Z"
        )
    return when


def _settings(args: argparse.Namespace) -> BridgeSettings:
    overrides = {
        key: value
        for key, value in {
            "host": getattr(args, "host", None),
            "port": getattr(args, "port", None),
            "data_dir": getattr(args, "data_dir", None),
            "poll_interval_minutes": getattr(args, "poll_interval", None),
        }.items()
        if value is not None
    }
    try:
        settings = load_settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise UsageError(f"bad setting: {problems}") from None
    secrets = [settings.api_key.get_secret_value()] if settings.api_key else []
    install_secret_filter(secrets + ([settings.token.get_secret_value()] if settings.token else []))
    return settings


def _engine_settings(settings: BridgeSettings) -> EngineSettings:
    """What the environment sets for the engine, the same for the demo and an account."""
    return EngineSettings(
        poll_interval=timedelta(minutes=settings.poll_interval_minutes),
        allowance_limit_minutes=settings.allowance_limit_minutes,
        allowance_day_start=settings.allowance_day_start,
        four_rate_ev=settings.four_rate_ev,
        economy7_meter=settings.economy7_meter,
        auto_join_saving_sessions=settings.auto_join_saving_sessions,
    )


def _print(line: str) -> None:
    print(line, flush=True)


@contextlib.asynccontextmanager
async def scenario_service(
    scenario: Scenario,
    clock: Clock,
    engine_settings: EngineSettings | None = None,
    data_dir: Path | None = None,
    settings_summary: dict[str, object] | None = None,
) -> AsyncIterator[tuple[str, Service]]:
    """The simulator playing ``scenario`` and the whole service against it, on ``clock``.

    The service's store lives in ``data_dir`` (the demo keeps its history across
    restarts there), else in a temporary directory: a snapshot's history is not a
    household's.
    """
    async with run_simulator(Simulator(scenario, clock)) as sim:
        with tempfile.TemporaryDirectory(prefix="kraken-bridge-scenario-") as temporary:
            async with open_service(
                clock=clock,
                api_key=DEMO_API_KEY,
                account_number=scenario.account.number,
                graphql_url=sim.graphql_url,
                rest_url=sim.rest_url,
                backend_graphql_url=sim.backend_graphql_url,
                data_dir=data_dir or Path(temporary),
                engine_settings=engine_settings,
                id_clock=SystemClock(),  # event ids keep rising when the demo restarts
                settings_summary=settings_summary,
            ) as service:
                yield sim.url, service


def _ready_printer(
    settings: BridgeSettings, token: str, *, show_token: bool
) -> Callable[[str], None]:
    """What ``serve`` prints once the bridge listens (the token only when it is new)."""

    def ready(url: str) -> None:
        _print(f"Bridge: {url}")
        if show_token:
            _print(f"Token: {token}")
            _print(f"Try:   curl -H 'Authorization: Bearer {token}' {url}/api/v1/devices")
        elif settings.token is not None:
            _print("Token: from KRAKEN_BRIDGE_TOKEN")
        else:
            _print("Token: unchanged (`kraken-bridge token` shows it)")
        if settings.host not in ("127.0.0.1", "::1", "localhost"):
            _print(
                f"Listening on {settings.host}: anyone on this network who has the token can "
                "read this household's energy data."
            )

    return ready


async def _serve(args: argparse.Namespace) -> None:
    # Everything the bridge writes (token, settings, history) is the household's own:
    # private whatever umask it was started with (the systemd unit sets UMask=0077 too).
    os.umask(0o077)
    settings = _settings(args)
    token, created = bridge_token(settings)
    install_secret_filter([token])
    ready = _ready_printer(settings, token, show_token=args.demo or created)

    async def serve(service: Service) -> None:
        await serve_bridge(
            service,
            token=token,
            host=settings.host,
            port=settings.port,
            on_ready=ready,
            mdns=settings.mdns,
        )

    if args.demo:
        await _serve_demo(args, settings, serve)
    else:
        await _serve_account(args, settings, serve)


async def _serve_demo(
    args: argparse.Namespace,
    settings: BridgeSettings,
    serve: Callable[[Service], Awaitable[None]],
) -> None:
    path = Path(args.scenario) if args.scenario else bundled_scenario_path(DEMO_SCENARIO)
    scenario = load_scenario(path)
    clock = ScenarioClock(scenario.start, speed=args.speed)
    async with scenario_service(
        scenario,
        clock,
        engine_settings=_engine_settings(settings),
        data_dir=settings.data_dir / "demo",
        settings_summary=_settings_summary(settings, demo=True),
    ) as (simulator_url, service):
        _print(f"Simulator: {simulator_url} (scenario {path.name}, speed {args.speed:g}x)")
        await serve(service)


async def _serve_account(
    args: argparse.Namespace,
    settings: BridgeSettings,
    serve: Callable[[Service], Awaitable[None]],
) -> None:
    if args.scenario or args.speed != 1.0:
        raise UsageError("--scenario and --speed only apply with --demo")
    if settings.api_key is None or settings.account_number is None:
        raise UsageError(
            "set KRAKEN_BRIDGE_API_KEY (your Octopus API key) and KRAKEN_BRIDGE_ACCOUNT_NUMBER "
            "(A-1234ABCD) to serve a real account, or run `kraken-bridge serve --demo`"
        )
    async with open_service(
        clock=SystemClock(),
        api_key=settings.api_key.get_secret_value(),
        account_number=settings.account_number,
        graphql_url=settings.graphql_url,
        rest_url=settings.rest_url,
        backend_graphql_url=settings.backend_graphql_url,
        data_dir=settings.data_dir,
        engine_settings=_engine_settings(settings),
        history_settings=HistorySettings(
            retention=timedelta(days=settings.history_retention_days),
            backfill_limit=timedelta(days=settings.telemetry_backfill_days),
        ),
        settings_summary=_settings_summary(settings, demo=False),
    ) as service:
        await serve(service)


async def _snapshot(args: argparse.Namespace) -> None:
    scenario = load_scenario(args.scenario)
    at = parse_time(args.at)
    if at < scenario.start:
        raise UsageError(
            f"--at {args.at} is before the scenario's start ({scenario.start.isoformat()}): "
            "pick a time at or after it"
        )
    clock = SimulatedClock(scenario.start)
    async with scenario_service(scenario, clock) as (_, service):
        await service.engine.run_until(clock, at)
        json.dump(service.snapshot(), sys.stdout, indent=2)
        sys.stdout.write("\n")


def _schema() -> None:
    """The JSON Schema of every kind's device state, as docs/device-state.schema.json holds it."""
    sys.stdout.write(json.dumps(device_state_schema(), indent=2, sort_keys=True) + "\n")


def _settings_summary(settings: BridgeSettings, *, demo: bool) -> dict[str, object]:
    """Settings as a support thread may see them: secrets only as set / not set."""
    return {
        "mode": "demo (simulator)" if demo else "octopus account",
        "api_key": "set" if settings.api_key else "not set",
        "token": "from KRAKEN_BRIDGE_TOKEN" if settings.token else "stored in the data dir",
        "account_number": mask_account(settings.account_number),
        "host": settings.host,
        "port": settings.port,
        "data_dir": str(settings.data_dir),
        "poll_interval_minutes": settings.poll_interval_minutes,
        "allowance_limit_minutes": settings.allowance_limit_minutes,
        "allowance_day_start": settings.allowance_day_start.strftime("%H:%M"),
        "four_rate_ev": settings.four_rate_ev,
        "economy7_meter": settings.economy7_meter,
        "mdns": settings.mdns,
        "history_retention_days": settings.history_retention_days,
        "telemetry_backfill_days": settings.telemetry_backfill_days,
        "graphql_url": settings.graphql_url,
        "rest_url": settings.rest_url,
        "backend_graphql_url": settings.backend_graphql_url,
        "auto_join_saving_sessions": settings.auto_join_saving_sessions,
    }


def _token(args: argparse.Namespace) -> None:
    settings = _settings(args)
    if args.rotate:
        _print(rotate_token(settings))
        print(
            "The old token no longer works: restart the bridge and give Homey the new one "
            "(device settings, Repair).",
            file=sys.stderr,
        )
    else:
        _print(bridge_token(settings)[0])


async def _simulate(args: argparse.Namespace) -> None:
    scenario = load_scenario(args.scenario)
    clock = ScenarioClock(scenario.start, speed=args.speed)
    async with run_simulator(Simulator(scenario, clock), host=args.host, port=args.port) as sim:
        _print(f"Simulator: {sim.url}")
        _print(f"GraphQL: {sim.graphql_url}")
        _print(f"REST: {sim.rest_url}")
        _print(f"Backend GraphQL: {sim.backend_graphql_url}")
        _print(f"Account: {scenario.account.number} (any API key is accepted)")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()


async def _doctor(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings.api_key_file is not None:
        source = "KRAKEN_BRIDGE_API_KEY_FILE"
    elif os.environ.get("KRAKEN_BRIDGE_API_KEY"):
        source = "KRAKEN_BRIDGE_API_KEY"
    else:
        source = "a credentials directory"
    checks = await run_doctor(
        api_key=settings.api_key.get_secret_value() if settings.api_key else None,
        key_source=source,
        account_number=settings.account_number,
        graphql_url=settings.graphql_url,
        rest_url=settings.rest_url,
        clock=SystemClock(),
    )
    for check in checks:
        _print(check.line())
    failed = [check for check in checks if not check.ok]
    _print("All good." if not failed else f"{len(failed)} problem(s) found; see FAIL lines.")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kraken-bridge",
        description="Octopus Energy (Kraken) tariffs, meter and EV dispatches for Homey.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log polling details")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="poll Kraken and serve the bridge API")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8765; 0 picks a free one)")
    serve.add_argument("--data-dir", type=Path, help="where the token and history live")
    serve.add_argument(
        "--poll-interval", type=int, choices=(1, 2, 3, 5), help="minutes between live polls"
    )
    serve.add_argument(
        "--demo", action="store_true", help="run against the built-in simulator (no account)"
    )
    serve.add_argument("--scenario", help="scenario file for --demo (default: bundled IOG demo)")
    serve.add_argument(
        "--speed", type=float, default=1.0, help="--demo clock speed (60 = an hour a minute)"
    )

    snapshot = commands.add_parser(
        "snapshot", help="run a scenario on a simulated clock and print the devices at a time"
    )
    snapshot.add_argument("--scenario", required=True, help="scenario JSON file")
    snapshot.add_argument("--at", required=True, help="time to stop, e.g. 2026-03-10T18:00:00Z")

    token = commands.add_parser("token", help="print the bridge's bearer token")
    token.add_argument("--data-dir", type=Path, help="where the token lives")
    token.add_argument("--rotate", action="store_true", help="replace it with a new token")

    simulate = commands.add_parser(
        "simulate", help="serve a scenario as a local Kraken (GraphQL + REST) for development"
    )
    simulate.add_argument("--scenario", required=True, help="scenario JSON file")
    simulate.add_argument("--host", default="127.0.0.1", help="address to bind")
    simulate.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    simulate.add_argument("--speed", type=float, default=1.0, help="scenario clock speed")

    commands.add_parser(
        "doctor", help="check the API key, the account, the Home Mini and this machine's clock"
    )

    commands.add_parser(
        "schema", help="print the JSON Schema of the device states (the Homey app's contract)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if getattr(args, "speed", 1.0) <= 0:
            raise UsageError("--speed must be positive")
        if args.command == "serve":
            asyncio.run(_serve(args))
        elif args.command == "snapshot":
            asyncio.run(_snapshot(args))
        elif args.command == "simulate":
            asyncio.run(_simulate(args))
        elif args.command == "doctor":
            return asyncio.run(_doctor(args))
        elif args.command == "schema":
            _schema()
        else:
            _token(args)
    except (UsageError, ScenarioError, SettingsError) as exc:
        print(f"kraken-bridge: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
