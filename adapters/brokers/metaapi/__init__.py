"""MetaAPI cloud adapter (metaapi-cloud-sdk): MT5 through MetaAPI's servers, no Windows needed."""
