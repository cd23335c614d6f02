"""The operator console: server-rendered pages at /console, signed in with an admin API key."""

from crier.gateway.entrypoints.http.console.routes import console_router

__all__ = ["console_router"]
