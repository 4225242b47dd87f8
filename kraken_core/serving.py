"""The REST front door's start-up: the service behind uvicorn, with mDNS if asked."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

import uvicorn

from kraken_core.bridge.app import create_app
from kraken_core.bridge.mdns import advertised
from kraken_core.bridge.metrics import render_metrics
from kraken_core.bridge.server import server_config
from kraken_core.service import Service


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted connections when the
    # listening socket says it is TCP, and without it every answer waits ~40 ms for an ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve_bridge(
    service: Service,
    *,
    token: str,
    host: str,
    port: int,
    on_ready: Callable[[str], None],
    mdns: bool = False,
) -> None:
    """Poll and serve until SIGINT/SIGTERM; open event streams end at once on shutdown."""
    backend = service.backend

    def metrics() -> str:
        return render_metrics(backend.devices(), backend.budget())

    app = create_app(backend, token, metrics=metrics)
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(app))
    await service.engine.run_due()  # devices exist before the first client asks
    engine_task = asyncio.create_task(service.engine.run_forever(), name="engine")
    server_task = asyncio.create_task(server.serve(sockets=[sock]), name="http")
    # uvicorn offers flags, not events, for "started" and "should exit".
    while not server.started and not server_task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    shown_host = f"[{host}]" if ":" in host else host
    on_ready(f"http://{shown_host}:{bound_port}")
    try:
        async with contextlib.AsyncExitStack() as stack:
            if mdns:
                await stack.enter_async_context(advertised(host, bound_port))
            while not server.should_exit and not server_task.done() and not engine_task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    finally:
        backend.events.close()
        server.should_exit = True
        engine_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await engine_task
        await server_task
