"""How the API is served: an idle keep-alive connection outlives the idle timeouts of the clients
and proxies in front (60 s on the common load balancers), so the server never closes one under a
request on its way."""

from __future__ import annotations

from crier.gateway.entrypoints.main import server_config


async def _app(scope: object, receive: object, send: object) -> None:
    return None


def test_idle_connections_are_kept_longer_than_a_load_balancer_keeps_its_own() -> None:
    config = server_config(_app, "127.0.0.1", 0)
    assert config.timeout_keep_alive > 60
    assert not config.server_header
