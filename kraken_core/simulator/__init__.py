"""A local Kraken that serves scenario files over real HTTP (GraphQL and REST rates)."""

from kraken_core.simulator.app import Simulator, create_simulator_app
from kraken_core.simulator.scenario import (
    Scenario,
    ScenarioError,
    bundled_scenario_path,
    bundled_scenarios,
    load_scenario,
)
from kraken_core.simulator.server import RunningSimulator, run_simulator

__all__ = [
    "RunningSimulator",
    "Scenario",
    "ScenarioError",
    "Simulator",
    "bundled_scenario_path",
    "bundled_scenarios",
    "create_simulator_app",
    "load_scenario",
    "run_simulator",
]
