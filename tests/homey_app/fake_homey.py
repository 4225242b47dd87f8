"""Homey's side of a Python app, played in-process for tests.

Homey runs a Python app by handing the `homey` package's SDK a socket to itself. The
package (pinned in pyproject.toml's `homey` extra: its socket client is internal) is used
as it is; only the socket is ours. :class:`FakeHomey` answers what the SDK asks of Homey
(settings, configuration, the app's "ready"), keeps the app settings the way Homey does,
routes app API calls to ``api.py`` by the manifest's ``api`` section (method and path
with ``:params``, and the query string), and records every ``homey.api.realtime`` push.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from homey.client.sdk import SDK
from homey.client.serializer import HomeySerializer
from homey.client.socket import Socket
from homey.homey import Homey

REPO = Path(__file__).resolve().parents[2]
APP_DIR = REPO / "homey_backend"
API_URI = "homey:manager:api"

Reply = Callable[[Any, Any], Any]


class FakeSocket(Socket):
    """The socket between the SDK and Homey: what the app asks goes to ``answer``."""

    def __init__(self, answer: Callable[[str, str, Any], Any]) -> None:
        super().__init__()
        self._answer = answer
        self.realtime_gate: asyncio.Event | None = None  # set: a busy Homey holds pushes

    async def send(self, message: dict[str, Any], callback: Reply | None = None) -> None:
        if self.realtime_gate is not None and message.get("event") == "realtime":
            await self.realtime_gate.wait()
        try:
            result = self._answer(message["uri"], message["event"], message.get("data"))
        except Exception as exc:  # Homey answers an unknown request with an error
            if callback is not None:
                callback({"message": str(exc)}, None)
            return
        if callback is not None:
            callback(None, json.loads(json.dumps(result)))  # a JSON round trip, as on Homey

    async def close(self) -> None:
        self.emit("closed")


class FakeHomey:
    """One Python app, started by the real SDK against this fake Homey."""

    def __init__(
        self,
        app_dir: Path = APP_DIR,
        *,
        env: dict[str, str] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.app_dir = app_dir
        self.manifest: dict[str, Any] = json.loads((app_dir / "app.json").read_text("utf-8"))
        self.env = dict(env or {})
        self.settings: dict[str, Any] = dict(settings or {})
        self.realtime: list[tuple[str, Any]] = []
        self.realtime_listeners: list[Callable[[str, Any], None]] = []
        self.homey: Homey[Any] | None = None
        self._socket = FakeSocket(self._from_app)
        self._serializer = HomeySerializer()
        self._package_dir = tempfile.TemporaryDirectory(prefix="homey-app-")
        self._routes = [
            (spec["method"].upper(), _path_pattern(spec["path"]), endpoint)
            for endpoint, spec in self.manifest.get("api", {}).items()
        ]

    # --- Homey → app -----------------------------------------------------------------

    async def start(self) -> Homey[Any]:
        """Import the app as Homey does (a package named ``app``) and run its on_init."""
        link = Path(self._package_dir.name) / "app"
        link.symlink_to(self.app_dir, target_is_directory=True)
        sys.path.insert(0, self._package_dir.name)
        for name in [m for m in sys.modules if m == "app" or m.startswith("app.")]:
            del sys.modules[name]
        sdk = SDK(str(self.app_dir), self.manifest, env=self.env)
        self.homey = await sdk.create_client(
            self._socket,
            self._serializer,
            {
                "version": "13.0.0",
                "platform": "local",
                "platformVersion": 2,
                "language": "en",
                "ManagerSettings": {"settings": self.settings},
                "ManagerI18N": {"language": "en", "units": "metric"},
            },
        )
        return self.homey

    async def stop(self) -> None:
        if self.homey is not None:
            await self.homey.app.on_uninit()
        sys.path.remove(self._package_dir.name)
        self._package_dir.cleanup()

    def hold_realtime(self) -> asyncio.Event:
        """Homey busy: pushes wait until the returned event is set."""
        gate = asyncio.Event()
        self._socket.realtime_gate = gate
        return gate

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """What another app's ``getApiApp(id).<method>(path, body)`` resolves to; raises
        what it would reject with (no such endpoint, or the endpoint failed)."""
        endpoint, params, query = self.route(method, path)
        args = {"query": query, "params": params, "body": body}
        return await self._request(API_URI, "onRest", {"id": endpoint, "args": args})

    def route(self, method: str, path: str) -> tuple[str, dict[str, str], dict[str, str]]:
        split = urlsplit(path)
        for route_method, pattern, endpoint in self._routes:
            found = pattern.fullmatch(split.path)
            if route_method == method.upper() and found:
                return endpoint, found.groupdict(), dict(parse_qsl(split.query))
        raise LookupError(f"Not Found: {method.upper()} {split.path}")

    async def _request(self, uri: str, event: str, data: Any) -> Any:
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[Any] = loop.create_future()

        def reply(error: Any, result: Any) -> None:
            if answered.done():
                return
            if error is not None:
                message = error.get("data", error) if isinstance(error, dict) else error
                text = message.get("message") if isinstance(message, dict) else message
                answered.set_exception(RuntimeError(str(text)))
            else:
                answered.set_result(result)

        message = {"type": "request", "uri": uri, "event": event, "data": data}
        self._socket.emit("message", json.loads(json.dumps(message)), reply)
        result = await answered
        return json.loads(json.dumps(result))  # what crosses to the other app is JSON

    # --- app → Homey -----------------------------------------------------------------

    def _from_app(self, uri: str, event: str, data: Any) -> Any:
        if uri == API_URI and event == "realtime":
            pushed = (data["event"], data["data"])
            self.realtime.append(pushed)
            for listener in list(self.realtime_listeners):
                listener(*pushed)
            return None
        if uri == f"homey:app:{self.manifest['id']}":
            if event == "ready":
                return None
            if event == "setSettings":
                self.settings = dict(data)
                return None
            if event == "getSettings":
                return self.settings
        if uri == "homey:manager:i18n" and event == "getConfig":
            return {"units": "metric"}
        if uri == "homey:manager:drivers" and event == "getDrivers":
            return []  # the backend app has no drivers
        raise LookupError(f"the fake Homey does not answer {uri} {event}")


def _path_pattern(path: str) -> re.Pattern[str]:
    """``/devices/:id`` → a pattern with a named group per parameter."""
    parts = [
        f"(?P<{part[1:]}>[^/]+)" if part.startswith(":") else re.escape(part)
        for part in path.split("/")
    ]
    return re.compile("/".join(parts))
