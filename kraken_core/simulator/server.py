"""Serve a :class:`Simulator` on a real loopback socket, inside the caller's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass

import uvicorn

from kraken_core.simulator.app import BACKEND_PREFIX, Simulator, create_simulator_app

_STARTUP_TIMEOUT_S = 10.0
_SHUTDOWN_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class RunningSimulator:
    """Where a running simulator answers."""

    url: str
    simulator: Simulator

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/v1/graphql/"

    @property
    def backend_graphql_url(self) -> str:
        """Octopus's backend host (saving sessions, Octoplus) as the simulator serves it."""
        return f"{self.url}{BACKEND_PREFIX}/v1/graphql/"

    @property
    def rest_url(self) -> str:
        return f"{self.url}/v1/"


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the embedding process owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def run_simulator(
    simulator: Simulator, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSimulator]:
    """Serve ``simulator`` at ``http://host:port`` (port 0: any free port) until exit.

    The socket is bound before the server starts, so the URL is known at once; the
    context is entered only once the server accepts requests. On exit, requests still
    held by a ``timeout`` fault are cancelled after a second.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_simulator_app(simulator),
        log_config=None,
        log_level=logging.WARNING,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = _EmbeddedServer(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="kraken-simulator")
    try:
        async with asyncio.timeout(_STARTUP_TIMEOUT_S):
            while not server.started:
                if serving.done():
                    serving.result()
                    raise RuntimeError("the simulator's HTTP server stopped during start-up")
                await asyncio.sleep(0.01)
        url_host = f"[{host}]" if family == socket.AF_INET6 else host
        yield RunningSimulator(url=f"http://{url_host}:{bound_port}", simulator=simulator)
    finally:
        server.should_exit = True
        try:
            async with asyncio.timeout(_SHUTDOWN_TIMEOUT_S):
                await serving
        except TimeoutError:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
        sock.close()
