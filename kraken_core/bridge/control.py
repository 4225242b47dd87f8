"""Routes that change things or show the bridge's own workings: device actions, the
settings Homey passes down, and the Kraken request budget."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from kraken_core.api import answers
from kraken_core.api.models import Budget, SettingsView, UserSettings
from kraken_core.bridge.deps import BackendDep

control_routes = APIRouter()


@control_routes.post("/api/v1/devices/{device_id}/actions/{action}")
async def act(
    device_id: str,
    action: str,
    backend: BackendDep,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> JSONResponse:
    """Boost, refresh dispatches, hints, charge target, cheapest window (see docs)."""
    answer = await answers.act(backend, device_id, action, body)
    return JSONResponse(answer.body, status_code=answer.status)


@control_routes.get("/api/v1/settings")
async def get_settings(backend: BackendDep) -> SettingsView:
    return answers.settings(backend)


@control_routes.put("/api/v1/settings")
async def put_settings(given: UserSettings, backend: BackendDep) -> SettingsView:
    return answers.put_settings(backend, given)


@control_routes.get("/api/v1/budget")
async def get_budget(backend: BackendDep) -> Budget:
    """Kraken requests made and still allowed, and when each data kind is next read."""
    return answers.budget(backend)
