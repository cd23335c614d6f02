"""A publishing adapter's calls act as the account a delivery's context names; a timeline read
borrows them (the platform's host, its error reading, DPoP where it applies) with a context that
names the account and nothing else."""

from __future__ import annotations

from crier.contracts.connect import AccountToken
from crier.platforms.base import PublishContext


def acting_as(account: AccountToken) -> PublishContext:
    return PublishContext(
        target_id=f"import:{account.account_id}",
        post_id="",
        org_id="",
        mode="live",
        platform=account.platform,
        account_id=account.account_id,
        account_username=account.username,
        attempt=1,
        account=account,
    )
