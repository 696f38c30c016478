"""The batch backtest engine: causal predictions up front, tiers in array form, then a sequential pass
over only the bars that carry a candidate signal or an open position."""
