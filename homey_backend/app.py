"""The Kraken Backend Homey app: the bridge's service on the Homey itself.

It runs :class:`kraken_core.hosted.HostedService` (the Kraken client, the engine and the
SQLite history, no web server) and answers the Kraken Bridge app through ``api.py``.
The Octopus API key and account number live only in this app's settings.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# The build copies kraken_core into lib/ (scripts/build_homey_python_packages.py). It goes
# last on the path, so a checkout's own kraken_core wins when tests run this file.
_LIB = Path(__file__).resolve().parent / "lib"
if _LIB.is_dir() and str(_LIB) not in sys.path:
    sys.path.append(str(_LIB))

from homey.app import App  # noqa: E402

from kraken_core.hosted import (  # noqa: E402
    CredentialCheck,
    Handler,
    HostedService,
    HostOptions,
    check_credentials,
)

API_KEY, ACCOUNT, LAST_CHECK = "api_key", "account_number", "last_check"
# Homey gives every app a writable /userdata folder that survives updates.
USERDATA = Path("/userdata")


class KrakenBackendApp(App):
    hosted: HostedService

    async def on_init(self) -> None:
        try:
            options, problem = HostOptions.from_env(self.homey.env, USERDATA), None
        except ValueError as exc:  # a developer's env.json: say so, never guess
            options, problem = HostOptions(data_dir=USERDATA), f"env.json: {exc}"
            self.error(problem)
        self.hosted = HostedService(options, self._realtime, config_error=problem)
        api_key, account = self._saved_credentials()
        if api_key and account:
            if await self.hosted.start(api_key, account):
                self.log("Kraken backend started")
        else:
            self.log("No Octopus API key yet: waiting for the settings page")

    async def on_uninit(self) -> None:
        await self.hosted.stop()

    async def answer(self, handler: Handler) -> dict[str, Any]:
        """A request from api.py, answered by the hosted service as an envelope."""
        return await self.hosted.answer(handler)

    async def _realtime(self, event: str, data: dict[str, Any]) -> None:
        await self.homey.api.realtime(event, data)

    def _saved_credentials(self) -> tuple[str | None, str | None]:
        api_key, account = self.homey.settings.get(API_KEY), self.homey.settings.get(ACCOUNT)
        return (
            api_key if isinstance(api_key, str) else None,
            account if isinstance(account, str) else None,
        )

    def credentials(self) -> dict[str, Any]:
        """What the settings page shows: never the key itself."""
        api_key, account = self._saved_credentials()
        return {
            "api_key_set": bool(api_key),
            "account_number": account,
            "last_check": self.homey.settings.get(LAST_CHECK),
            "running": self.hosted.service is not None,
        }

    async def set_credentials(self, api_key: str, account_number: str) -> CredentialCheck:
        """Check with Octopus; keep and start only what passes."""
        if self.hosted.config_error is not None:  # never check a key against the wrong Kraken
            return CredentialCheck(False, f"Not saved: {self.hosted.config_error}.")
        check = await check_credentials(
            api_key, account_number, self.hosted.options, self.hosted.clock
        )
        when = self.hosted.clock.now().isoformat()
        await self.homey.settings.set(
            LAST_CHECK, {"ok": check.ok, "message": check.message, "at": when}
        )
        if check.ok:
            await self.homey.settings.set(API_KEY, api_key.strip())
            await self.homey.settings.set(ACCOUNT, account_number.strip().upper())
            if not await self.hosted.start(api_key.strip(), account_number):
                reason = f"Saved, but the backend could not start: {self.hosted.start_error}."
                return CredentialCheck(False, reason, check.checks)
        return check


homey_export = KrakenBackendApp
