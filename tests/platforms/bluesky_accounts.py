"""A Bluesky account signed in with an app password on the simulated PDS, held as the publisher
holds it (the credentials connect hands out), for the Bluesky adapter tests:

    acct = await bluesky_account(flow)
    await acct.publish(acct.context("post", "first comment"))
"""

from __future__ import annotations

import secrets
from typing import Any

from crier.contracts.connect import AccountToken
from crier.platforms.base import PlatformSettings

from .conftest import Flow
from .publishing import Publishing, adapter_for


async def bluesky_account(flow: Flow, **user_spec: Any) -> Publishing:
    password = f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}"
    user = flow.sim.add_user("bluesky", username=f"u{secrets.token_hex(3)}", app_password=password, **user_spec)
    bsky = flow.provider("bluesky")
    tokens = await bsky.create_session(flow.http, user["id"], password)
    [me] = await bsky.accounts(flow.http, tokens)
    account = AccountToken(
        account_id=f"acc_{secrets.token_hex(4)}",
        platform="bluesky",
        access_token=tokens.access_token,
        expires_at=tokens.expires_at,
        network_unique_id=me.network_unique_id,
        username=me.username or "",
        account_type=me.account_type,
        instance_url=f"{flow.sim.base_url}/bluesky",
        extra={"did": me.network_unique_id},
    )
    settings = PlatformSettings(base_url_override=flow.sim.base_url, timeout_s=5)
    return Publishing(
        "bluesky", flow.sim, flow.http, user, account, settings, adapter_for("bluesky", flow.http, settings)
    )
