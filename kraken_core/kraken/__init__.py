"""kraken."""
