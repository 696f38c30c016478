"""Test doubles for the broker adapters: a fake MT5 trade server and the client APIs over it.

These are fakes of EXTERNAL systems (the MT5 terminal, MetaAPI's streaming RPC); the adapters under
test are the real ones. The cost model here is synthetic (fixed quantile tables), labelled as such.
"""
