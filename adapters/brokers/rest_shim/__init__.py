"""REST shim: an HTTP server beside the MT5 terminal on Windows, and its Linux-side Broker client."""
