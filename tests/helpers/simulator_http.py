"""A running simulator asked over HTTP by tests: its addresses, its clock, one client."""

from __future__ import annotations

import httpx

from kraken_core.clock import SimulatedClock
from kraken_core.simulator.server import RunningSimulator


class SimulatorHttp:
    """The running simulator and the HTTP client a test asks it with; subclasses add the
    questions (GraphQL documents, REST resources) each test file needs."""

    def __init__(self, running: RunningSimulator, http: httpx.AsyncClient) -> None:
        self.running = running
        self.http = http
        self.token = ""

    @property
    def clock(self) -> SimulatedClock:
        clock = self.running.simulator.clock
        assert isinstance(clock, SimulatedClock)
        return clock
