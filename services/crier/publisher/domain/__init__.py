"""Delivery rules with no I/O: routing, attempt bookkeeping, backoff."""
