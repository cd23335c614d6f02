"""`crier serve connect`: the account store, answering the gateway over NATS request/reply."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from connect import handlers
from connect.settings import ConnectSettings
from contracts.rpc import CONNECT_CREATE_SANDBOX_ACCOUNT, CreateSandboxAccount
from kit.bus import rpc
from kit.service import Runtime, run_service
from kit.settings import load


async def _body(runtime: Runtime) -> list[Awaitable[Any]]:
    async def create_sandbox_account(request: CreateSandboxAccount | None) -> Any:
        assert request is not None
        account = await handlers.create_sandbox_account(runtime.engine, request)
        runtime.relay.wake()
        return account

    await rpc.serve(
        runtime.bus, CONNECT_CREATE_SANDBOX_ACCOUNT, CreateSandboxAccount, create_sandbox_account, queue="connect"
    )
    return []


def main() -> int:
    asyncio.run(run_service("connect", "connect", load(ConnectSettings), _body))
    return 0
