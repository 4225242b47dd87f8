"""The bridge page's login cookie.

A browser cannot send ``Authorization: Bearer`` on an ``EventSource`` or a plain page
load, so the page logs in once with the token and then carries a cookie. The cookie
holds ``HMAC-SHA256(token, "kraken-bridge page session v1")``, never the token itself:
- a copied cookie is not the bearer token (it cannot be pasted into Homey), and it only
  reads (see :func:`cookie_authorizes`);
- rotating the token (``kraken-bridge token --rotate``) logs every browser out, with
  no session table to keep or lose across restarts;
- it is HttpOnly (page scripts cannot read it) and SameSite=Strict (no other site's
  page can make the browser send it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

COOKIE_NAME = "kraken_bridge_session"
COOKIE_MAX_AGE_S = 30 * 24 * 3600
_CONTEXT = b"kraken-bridge page session v1"
# The cookie lets a browser read; anything that changes something needs the token.
SAFE_METHODS = frozenset({"GET", "HEAD"})


def session_value(token: str) -> str:
    return hmac.new(token.encode(), _CONTEXT, hashlib.sha256).hexdigest()


def token_matches(given: str, token: str) -> bool:
    """Constant-time comparison of what someone typed with the bridge's token."""
    return secrets.compare_digest(given.strip().encode(), token.encode())


def cookie_authorizes(cookie: str | None, method: str, token: str) -> bool:
    """True when ``cookie`` is this token's session value and ``method`` only reads."""
    if cookie is None or method.upper() not in SAFE_METHODS:
        return False
    return secrets.compare_digest(cookie.encode(), session_value(token).encode())
