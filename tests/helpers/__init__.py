"""What the tests share: starting the real bridge, a browser, rate rows and the Kraken
client against the simulator. Tests live in ``tests/test_*.py`` and import from here,
never from one another."""
