"""The long-running service: the scan loop, its clocks, the per-cycle glue and the replay driver."""
