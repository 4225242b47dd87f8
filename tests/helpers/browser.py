"""Headless Debian Chromium for the page and widget tests (driven through playwright,
which never downloads a browser of its own here)."""

from __future__ import annotations

import os
import shutil

import pytest

try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover (dev dependency)
    sync_playwright = None  # type: ignore[assignment]

__all__ = ["CHROMIUM_ARGS", "Page", "chromium", "sync_playwright"]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    """Debian's chromium, or skip (fail under CI=true) saying how to get it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    reason = None
    if sync_playwright is None:
        reason = "the playwright package is missing (pip install -e '.[dev]')"
    elif found is None:
        reason = "chromium is not installed (apt-get install chromium); .ci/run installs it"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    assert found is not None
    return found
