"""The bridge page's login sessions.

A browser cannot send ``Authorization: Bearer`` on an ``EventSource`` or a plain page
load, so the page logs in once with the token and then carries a cookie. The cookie
holds a random session id that the bridge keeps in memory, never the token:
- a copied cookie is not the bearer token (it cannot be pasted into Homey), and it only
  reads (see :mod:`kraken_core.bridge.access`);
- logging out forgets the session id, so a copy of the cookie stops working at once;
  restarting the bridge (which rotating the token needs) logs every browser out;
- it is HttpOnly (page scripts cannot read it) and SameSite=Strict (no other site's
  page can make the browser send it).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

COOKIE_NAME = "kraken_bridge_session"
COOKIE_MAX_AGE_S = 30 * 24 * 3600
# Logging in needs the token, so this only bounds what a careless script can pile up.
MAX_SESSIONS = 64
# The cookie lets a browser read; anything that changes something needs the token.
SAFE_METHODS = frozenset({"GET", "HEAD"})


def token_matches(given: str, token: str) -> bool:
    """Constant-time comparison of what someone typed with the bridge's token."""
    return secrets.compare_digest(given.strip().encode(), token.encode())


class Sessions:
    """Session ids of logged-in browsers and when each expires (monotonic seconds)."""

    def __init__(
        self, max_age_s: float = COOKIE_MAX_AGE_S, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self._max_age_s = max_age_s
        self._now = now

    def start(self) -> str:
        """A new session id; the oldest session ends when there are too many."""
        session_id = secrets.token_urlsafe(32)
        self._expiry[session_id] = self._now() + self._max_age_s
        while len(self._expiry) > MAX_SESSIONS:
            self._expiry.popitem(last=False)
        return session_id

    def end(self, session_id: str | None) -> None:
        if session_id is not None:
            self._expiry.pop(session_id, None)

    def valid(self, session_id: str | None) -> bool:
        if not session_id:
            return False
        expiry = self._expiry.get(session_id)
        if expiry is None:
            return False
        if expiry <= self._now():
            del self._expiry[session_id]
            return False
        return True

    def reads(self, session_id: str | None, method: str) -> bool:
        """True when ``session_id`` is a live session and ``method`` only reads."""
        return method.upper() in SAFE_METHODS and self.valid(session_id)
