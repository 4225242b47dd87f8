"""Advertising the bridge on the LAN (``_kraken-bridge._tcp``) so Homey's pairing view
can find it without the user typing an address."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import ifaddr
from zeroconf import ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from kraken_core import __version__

log = logging.getLogger(__name__)

SERVICE_TYPE = "_kraken-bridge._tcp.local."


def lan_addresses(host: str) -> list[str]:
    """IPv4 addresses Homey could reach the bridge on, for the address it binds."""
    if host not in ("0.0.0.0", "", "::"):
        candidates = [host]
    else:
        candidates = [
            str(ip.ip)
            for adapter in ifaddr.get_adapters()
            for ip in adapter.ips
            if isinstance(ip.ip, str)
        ]
    return [
        address
        for address in candidates
        if _is_ipv4(address) and not ipaddress.ip_address(address).is_loopback
    ]


def _is_ipv4(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
    except ValueError:
        return False


def service_info(name: str, addresses: list[str], port: int) -> ServiceInfo:
    return ServiceInfo(
        SERVICE_TYPE,
        f"{name}.{SERVICE_TYPE}",
        addresses=[socket.inet_aton(address) for address in addresses],
        port=port,
        properties={"version": __version__, "path": "/api/v1"},
        server=f"{socket.gethostname().split('.')[0]}.local.",
    )


@asynccontextmanager
async def advertised(host: str, port: int, name: str = "Kraken bridge") -> AsyncIterator[bool]:
    """Advertise while the block runs; yields whether there was a LAN address to use."""
    addresses = lan_addresses(host)
    if not addresses:
        log.warning(
            "mDNS is on but the bridge listens on %s only: bind a LAN address "
            "(KRAKEN_BRIDGE_HOST=0.0.0.0) for Homey to find it",
            host,
        )
        yield False
        return
    zeroconf = AsyncZeroconf(interfaces=addresses)
    info = service_info(name, addresses, port)
    try:
        await zeroconf.async_register_service(info)
        log.info("advertising %s on %s port %d", SERVICE_TYPE, ", ".join(addresses), port)
        yield True
    finally:
        await zeroconf.async_unregister_service(info)
        await zeroconf.async_close()
