"""A local Kraken that serves scenario files over real HTTP (GraphQL and REST rates)."""
