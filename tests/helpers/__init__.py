"""What the tests share: starting the real bridge, a browser, rate rows, the Kraken client
and the whole service against the simulator. Tests live in ``tests/test_*.py`` and import
from here, never from one another."""
