"""Routes that change things or show the bridge's own workings: device actions, the
settings Homey passes down, and the Kraken request budget."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from kraken_core.engine.actions import ActionError, perform
from kraken_core.engine.events import to_json_value
from kraken_core.engine.poller import Engine

SETTINGS_FILE = "homey-settings.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NoBody(_Strict):
    pass


class ChargeTarget(_Strict):
    target_percent: int = Field(ge=10, le=100)
    ready_by: time


class CheapestWindowQuery(_Strict):
    duration_minutes: int = Field(ge=30, le=1440)
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = None


BODIES: dict[str, type[_Strict]] = {
    "set_charge_target": ChargeTarget,
    "find_cheapest_window": CheapestWindowQuery,
}


class UserSettings(_Strict):
    """What the Homey app's settings page passes to the bridge."""

    poll_interval_minutes: Literal[1, 2, 3, 5] | None = None
    allowance_limit_minutes: int | None = Field(default=None, ge=0, le=1440)
    allowance_day_start: time | None = None


def readable(exc: ValidationError | RequestValidationError) -> str:
    """Pydantic's errors as one sentence: which field, what is wrong."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if p not in ("body", "query", "path"))
        parts.append(f"{where or 'body'}: {error['msg']}")
    return "; ".join(parts)


def current_settings(engine: Engine) -> dict[str, Any]:
    settings = engine.settings
    return {
        "poll_interval_minutes": int(settings.poll_interval.total_seconds() // 60),
        "allowance_limit_minutes": settings.allowance_limit_minutes,
        "allowance_day_start": settings.allowance_day_start.strftime("%H:%M"),
    }


def apply_settings(engine: Engine, given: UserSettings) -> None:
    settings = engine.settings
    if given.poll_interval_minutes is not None:
        settings = replace(settings, poll_interval=timedelta(minutes=given.poll_interval_minutes))
        engine.refresh.poll_interval = settings.poll_interval
    if given.allowance_limit_minutes is not None:
        settings = replace(settings, allowance_limit_minutes=given.allowance_limit_minutes)
    if given.allowance_day_start is not None:
        settings = replace(settings, allowance_day_start=given.allowance_day_start)
    engine.settings = settings


def load_user_settings(engine: Engine, data_dir: Path) -> None:
    """Apply what Homey set earlier (kept across restarts); a damaged file is ignored."""
    path = data_dir / SETTINGS_FILE
    try:
        given = UserSettings.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError):
        return
    apply_settings(engine, given)


def _save(engine: Engine, data_dir: Path) -> None:
    path = data_dir / SETTINGS_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(current_settings(engine)), encoding="utf-8")
    os.replace(temporary, path)  # whole or not at all


def include_control_routes(app: FastAPI, engine: Engine, data_dir: Path | None) -> None:
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
        model = BODIES.get(action, NoBody)
        try:
            parsed = model.model_validate(body or {})
        except ValidationError as exc:
            return JSONResponse({"detail": f"{action}: {readable(exc)}"}, status_code=422)
        try:
            result = await perform(engine, device_id, action, vars(parsed))
        except ActionError as exc:
            headers = {}
            if exc.retry_at is not None:
                wait = (exc.retry_at - engine.clock.now()).total_seconds()
                headers["Retry-After"] = str(max(1, int(wait + 0.999)))
            return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)
        return JSONResponse(result.body, status_code=result.status)

    @app.get("/api/v1/settings", dependencies=authorized)
    async def get_settings() -> dict[str, Any]:
        return current_settings(engine)

    @app.put("/api/v1/settings", dependencies=authorized)
    async def put_settings(given: UserSettings) -> dict[str, Any]:
        apply_settings(engine, given)
        if data_dir is not None:
            _save(engine, data_dir)
        engine.wake()
        return current_settings(engine)

    @app.get("/api/v1/budget", dependencies=authorized)
    async def get_budget() -> dict[str, Any]:
        """Kraken requests made and still allowed, and when each data kind is next read."""
        far = engine.clock.now() + timedelta(hours=12)
        return {
            "operations": [to_json_value(status) for status in engine.client.budget.status()],
            "next_refresh": {
                name: to_json_value(job.due) if job.due < far else None
                for name, job in engine.jobs.items()
                if name != "slot"
            },
        }
