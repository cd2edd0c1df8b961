"""The grid ledger (一格一册): standard addresses, buildings, dwellings, units, urban components."""
