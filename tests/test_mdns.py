"""Homey finds the bridge on the LAN: mDNS between two network namespaces of our own.

The bridge runs in one namespace and a "Homey" browses ``_kraken-bridge._tcp`` from the
other, joined by a veth pair; no packet leaves this machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.bridge_process import BRIDGE, SCENARIOS

BRIDGE_IP, HOMEY_IP = "10.213.77.1", "10.213.77.2"

BROWSER = """
import asyncio, sys, httpx
from zeroconf import ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

async def main():
    zc = AsyncZeroconf(interfaces=[sys.argv[1]])
    found = asyncio.get_running_loop().create_future()
    def changed(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Added and not found.done():
            found.set_result(name)
    browser = AsyncServiceBrowser(zc.zeroconf, "_kraken-bridge._tcp.local.", handlers=[changed])
    name = await asyncio.wait_for(found, 20)
    info = AsyncServiceInfo("_kraken-bridge._tcp.local.", name)
    await info.async_request(zc.zeroconf, 5000)
    address = info.parsed_addresses()[0]
    health = httpx.get(f"http://{address}:{info.port}/api/v1/health", timeout=5).json()
    print(name, address, info.port, info.properties.get(b"path").decode(), health["status"],
          sep="|")
    await browser.async_cancel()
    await zc.async_close()

asyncio.run(main())
"""


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=20)


@pytest.fixture
def two_hosts() -> Iterator[tuple[str, str]]:
    """Namespaces ``bridge`` and ``homey`` on one virtual link."""
    reason = "mDNS test needs root and iproute2 to make network namespaces"
    if os.geteuid() != 0 or shutil.which("ip") is None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    tag = f"kb{os.getpid()}"
    bridge_ns, homey_ns = f"{tag}b", f"{tag}h"
    try:
        run("ip", "netns", "add", bridge_ns)
        run("ip", "netns", "add", homey_ns)
        run("ip", "link", "add", f"{tag}v0", "type", "veth", "peer", "name", f"{tag}v1")
        run("ip", "link", "set", f"{tag}v0", "netns", bridge_ns)
        run("ip", "link", "set", f"{tag}v1", "netns", homey_ns)
        for ns, link, ip in ((bridge_ns, f"{tag}v0", BRIDGE_IP), (homey_ns, f"{tag}v1", HOMEY_IP)):
            run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{ip}/24", "dev", link)
            run("ip", "netns", "exec", ns, "ip", "link", "set", link, "up", "multicast", "on")
            run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        yield bridge_ns, homey_ns
    except subprocess.CalledProcessError as exc:
        message = f"could not make network namespaces: {exc.stderr.decode().strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    finally:
        for ns in (bridge_ns, homey_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def test_homey_finds_the_bridge_over_mdns_and_reaches_it(
    two_hosts: tuple[str, str], tmp_path: Path
) -> None:
    bridge_ns, homey_ns = two_hosts
    bridge = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            bridge_ns,
            str(BRIDGE),
            "serve",
            "--demo",
            "--scenario",
            str(SCENARIOS / "iog_evening_smart_dispatch.json"),
            "--host",
            BRIDGE_IP,
            "--port",
            "8765",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "KRAKEN_BRIDGE_MDNS": "true"},
    )
    try:
        assert bridge.stdout is not None
        for line in bridge.stdout:
            if line.startswith("Token:"):
                break
        else:
            pytest.fail("the bridge did not start")
        browse = subprocess.run(
            ["ip", "netns", "exec", homey_ns, sys.executable, "-c", BROWSER, HOMEY_IP],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        bridge.terminate()
        bridge.wait(timeout=10)
    assert browse.returncode == 0, browse.stderr
    name, address, port, path, status = browse.stdout.strip().split("|")
    assert name == "Kraken bridge._kraken-bridge._tcp.local."
    assert (address, port, path, status) == (BRIDGE_IP, "8765", "/api/v1", "ok")
