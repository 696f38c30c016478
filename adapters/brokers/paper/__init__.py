"""Paper broker: simulated fills through the empirical execution model, prices from candle closes."""
