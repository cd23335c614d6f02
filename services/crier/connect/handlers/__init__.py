"""Use cases of the connect service, one module per area; each takes the `Context`."""
