"""`crier serve connect`: platform apps, OAuth flows, accounts and their tokens, over NATS RPC.

The composition root: the one place that builds the adapters and hands them to the use cases."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import httpx

from crier.connect.adapters.instances import InstanceGuard
from crier.connect.adapters.providers import Providers
from crier.connect.adapters.vault import Vault
from crier.connect.entrypoints import imports, metrics_collector, refresher, rpc
from crier.connect.handlers.context import Context, Meters
from crier.connect.settings import ConnectSettings
from crier.kit.crypto import Keyring
from crier.kit.http_pools import keeping_no_cookies
from crier.kit.service import Runtime, run_on_fastest_loop, run_service
from crier.kit.settings import load
from crier.kit.ssrf import parse_networks
from crier.platforms.base import PlatformSettings


def main() -> int:
    settings = load(ConnectSettings)

    async def body(rt: Runtime) -> list[Awaitable[Any]]:
        # One client for the platforms' own hosts: its pool is shared, its timeout bounds each call.
        headers = {"User-Agent": "Crier/1.0 (+connect)"}
        http = keeping_no_cookies(
            httpx.AsyncClient(timeout=settings.platform_timeout_s, follow_redirects=False, headers=headers)
        )
        # And one for Mastodon instances and Bluesky PDSes, whose URLs customers give: SSRF-guarded.
        instances = InstanceGuard(
            parse_networks(settings.instance_allowed_networks), timeout_s=settings.platform_timeout_s, headers=headers
        )
        ctx = Context(
            uow=rt.uow,
            vault=Vault(Keyring(settings.encryption_keys)),
            settings=settings,
            providers=Providers(
                http,
                public_url=settings.public_url,
                platforms=PlatformSettings.from_settings(settings),
                instances=instances,
                bluesky_plc_url=settings.bluesky_plc_url,
                bluesky_entryway_url=settings.bluesky_entryway_url,
            ),
            meters=Meters.on(rt.metrics),
        )
        await rpc.serve(rt.bus, ctx)
        await imports.serve(rt.bus, ctx)
        import_reports = await imports.reports(rt.bus, ctx, rt.stop)

        async def close_http() -> None:
            await rt.stop.wait()
            await http.aclose()
            await instances.aclose()

        return [refresher.run(ctx, rt.stop), metrics_collector.run(ctx, rt.stop), close_http(), import_reports]

    return run_on_fastest_loop(run_service("connect", "connect", settings, body))
