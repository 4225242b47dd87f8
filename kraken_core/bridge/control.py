"""Routes that change things or show the bridge's own workings: device actions, the
settings Homey passes down, and the Kraken request budget."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from kraken_core.api.backend import Backend
from kraken_core.api.models import ActionError, Budget, SettingsView, UserSettings, readable


def include_control_routes(app: FastAPI, backend: Backend) -> None:
    authorized = app.state.authorized

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": readable(exc)}, status_code=422)

    @app.post("/api/v1/devices/{device_id}/actions/{action}", dependencies=authorized)
    async def act(
        device_id: str,
        action: str,
        body: Annotated[dict[str, Any] | None, Body()] = None,
    ) -> JSONResponse:
        """Boost, refresh dispatches, hints, charge target, cheapest window (see docs)."""
        try:
            result = await backend.perform(device_id, action, body)
        except ActionError as exc:
            headers = {}
            if exc.retry_at is not None:
                wait = (exc.retry_at - backend.now()).total_seconds()
                headers["Retry-After"] = str(max(1, int(wait + 0.999)))
            return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)
        return JSONResponse(result.body, status_code=result.status)

    @app.get("/api/v1/settings", dependencies=authorized)
    async def get_settings() -> SettingsView:
        return backend.settings()

    @app.put("/api/v1/settings", dependencies=authorized)
    async def put_settings(given: UserSettings) -> SettingsView:
        return backend.update_settings(given)

    @app.get("/api/v1/budget", dependencies=authorized)
    async def get_budget() -> Budget:
        """Kraken requests made and still allowed, and when each data kind is next read."""
        return backend.budget()
