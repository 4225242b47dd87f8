"""What routes depend on: the backend they answer from, the token and the page sessions.

All are set on the app by :func:`kraken_core.bridge.app.create_app`; routes are plain
module-level functions that ask for them, so each route module reads on its own. Who may
call a route is decided before it runs (:mod:`kraken_core.bridge.access`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from kraken_core.api.backend import Backend
from kraken_core.bridge.session import Sessions


# A coroutine: FastAPI runs a plain function dependency in a worker thread, which costs
# more than this does.
async def backend_of(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


def token_of(request: Request) -> str:
    token: str = request.app.state.token
    return token


def sessions_of(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


BackendDep = Annotated[Backend, Depends(backend_of)]
