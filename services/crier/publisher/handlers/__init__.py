"""Use cases: deliver one target, record a cancellation."""
