"""What every route depends on: the backend it answers from and the token it checks.

Both are set on the app by :func:`kraken_core.bridge.app.create_app`; routes are plain
module-level functions that ask for them, so each route module reads on its own.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from kraken_core.api.backend import Backend
from kraken_core.bridge.session import COOKIE_NAME, cookie_authorizes


# Dependencies are coroutines: FastAPI runs a plain function in a worker thread, which
# costs more than either of these does.
async def backend_of(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


def token_of(request: Request) -> str:
    token: str = request.app.state.token
    return token


async def require_token(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    """The Bearer header, or (without one) the bridge page's cookie for reading."""
    token = token_of(request)
    if authorization is None:
        allowed = cookie_authorizes(request.cookies.get(COOKIE_NAME), request.method, token)
    else:
        allowed = secrets.compare_digest(authorization.encode(), f"Bearer {token}".encode())
    if not allowed:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Missing or wrong bridge token: send 'Authorization: Bearer <token>' "
            "with the token the bridge printed at start (kraken-bridge token shows it).",
            headers={"WWW-Authenticate": "Bearer"},
        )


BackendDep = Annotated[Backend, Depends(backend_of)]
AUTHORIZED = [Depends(require_token)]
