"""MetaTrader 5 terminal adapter (Windows only; see adapters/brokers/README.md for Linux)."""
