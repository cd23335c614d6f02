"""Acting as the account: its token from connect at delivery, one renewal when the platform refuses
it, and the target failing for good when the grant is gone (use case in-process, real Postgres)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.commands import PublishTarget
from crier.contracts.common import AccountLimits, Platform
from crier.contracts.connect import AccountToken
from crier.kit.errors import Gone, NotFound, Unavailable
from crier.platforms.base import TokenRejected
from crier.publisher.adapters import containers
from crier.publisher.handlers import delivery
from crier.publisher.handlers.delivery import RetryIn, deliver
from tests.publisher.factories import command, target_row
from tests.publisher.scripted import ScriptedPlatform, ScriptedTokens, context, outbox, stored_anywhere, subjects, token


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def test_the_accounts_token_is_asked_for_and_handed_to_the_adapter(engine: AsyncEngine) -> None:
    secret = f"tok-{secrets.token_hex(8)}"
    platform = ScriptedPlatform(needs_account=True)
    tokens = ScriptedTokens([token(secret)])
    cmd = command("root", "first comment", mode="live")
    assert await deliver(context(engine, platform, tokens), cmd) is None
    # Asked once for the whole thread, as the target's account, with nothing refused.
    [asked] = tokens.requests
    assert (asked.org_id, asked.mode, asked.account_id, asked.rejected_sha256) == (
        cmd.org_id,
        "live",
        cmd.account_id,
        None,
    )
    assert platform.tokens == [secret, secret]
    assert await subjects(engine, cmd.target_id) == ["publishing", "published"]
    # Never stored, never announced.
    assert await stored_anywhere(engine, secret) == []


async def test_an_adapter_without_an_account_asks_for_no_token(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform(needs_account=False)
    tokens = ScriptedTokens([])
    cmd = command("root", mode="live")
    assert await deliver(context(engine, platform, tokens), cmd) is None
    assert tokens.requests == [] and platform.tokens == [None]


async def test_a_refused_token_is_renewed_once_and_the_container_sent_again(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(1, 1): TokenRejected("401 Unauthorized")}, needs_account=True)
    tokens = ScriptedTokens([token("tok-old"), token("tok-new")])
    cmd = command("root", "reply", "another", mode="live")
    assert await deliver(context(engine, platform, tokens), cmd) is None
    assert [r.rejected_sha256 for r in tokens.requests] == [None, _sha256("tok-old")]
    assert platform.calls == [(1, 0, None), (1, 1, "x_0"), (1, 1, "x_0"), (1, 2, "x_1")]
    assert platform.tokens == ["tok-old", "tok-old", "tok-new", "tok-new"]
    assert platform.posts == {0: 1, 1: 1, 2: 1}
    assert await subjects(engine, cmd.target_id) == ["publishing", "published"]
    assert (await outbox(engine, cmd.target_id))[-1][1]["attempt"] == 1


async def test_a_renewed_token_refused_again_fails_the_target_for_good(engine: AsyncEngine) -> None:
    refused = [TokenRejected("401"), TokenRejected("401 again")]
    platform = ScriptedPlatform({(1, 0): refused}, needs_account=True)
    tokens = ScriptedTokens([token("tok-old"), token("tok-new")])
    cmd = command("root", mode="live")
    assert await deliver(context(engine, platform, tokens), cmd) is None
    assert len(tokens.requests) == 2 and len(platform.calls) == 2
    assert await subjects(engine, cmd.target_id) == ["publishing", "failed"]
    failed = (await outbox(engine, cmd.target_id))[-1][1]
    assert failed["error_code"] == "account_token_expired" and failed["attempt"] == 1
    row = await target_row(engine, cmd.target_id)
    assert row.status == "failed" and row.error_code == "account_token_expired"
    # Settled: a redelivery neither asks connect nor calls the platform.
    assert await deliver(context(engine, platform, tokens), cmd) is None
    assert len(tokens.requests) == 2 and len(platform.calls) == 2


async def test_a_grant_gone_at_renewal_fails_the_target_without_burning_retries(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform({(1, 0): TokenRejected("401")}, needs_account=True)
    expired = Gone("account_token_expired", "the account's grant was revoked; reconnect it")
    tokens = ScriptedTokens([token("tok-old"), expired])
    cmd = command("root", mode="live")
    assert await deliver(context(engine, platform, tokens), cmd) is None
    assert tokens.requests[1].rejected_sha256 == _sha256("tok-old")
    assert len(platform.calls) == 1
    assert await subjects(engine, cmd.target_id) == ["publishing", "failed"]
    failed = (await outbox(engine, cmd.target_id))[-1][1]
    assert (failed["error_code"], failed["attempt"]) == ("account_token_expired", 1)
    assert failed["error_message"] == "the account's grant was revoked; reconnect it"


async def test_a_disconnected_or_unknown_account_fails_before_the_platform(engine: AsyncEngine) -> None:
    for refusal, code in [
        (Gone("account_disconnected", "the account was disconnected"), "account_disconnected"),
        (NotFound("not_found", "no account acc_1"), "account_not_found"),
    ]:
        platform = ScriptedPlatform(needs_account=True)
        cmd = command("root", mode="live")
        assert await deliver(context(engine, platform, ScriptedTokens([refusal])), cmd) is None
        assert platform.calls == []
        assert await subjects(engine, cmd.target_id) == ["publishing", "failed"]
        assert (await outbox(engine, cmd.target_id))[-1][1]["error_code"] == code


async def test_connect_unable_to_refresh_is_a_retryable_attempt(engine: AsyncEngine) -> None:
    platform = ScriptedPlatform(needs_account=True)
    tokens = ScriptedTokens([Unavailable("platform_unavailable", "x did not answer the refresh")])
    cmd = command("root", mode="live")
    assert isinstance(await deliver(context(engine, platform, tokens), cmd), RetryIn)
    assert platform.calls == []
    assert await subjects(engine, cmd.target_id) == ["publishing", "attempt_failed"]
    failed = (await outbox(engine, cmd.target_id))[-1][1]
    assert failed["error_code"] == "platform_unavailable"
    assert (await target_row(engine, cmd.target_id)).failed_attempts == 1


def _as(platform: Platform, account_type: str, limits: AccountLimits | None = None) -> AccountToken:
    """A token of an account of `platform` as connect hands it out, with what it knows of the account."""
    known = limits or AccountLimits()
    return msgspec.structs.replace(token("tok"), platform=platform, account_type=account_type, limits=known)


async def _delivered(engine: AsyncEngine, cmd: PublishTarget, answer: AccountToken) -> tuple[list[str], Any]:
    """Delivers `cmd` to a scripted platform standing in for its own; the target's events, the
    platform's calls."""
    platform = ScriptedPlatform(needs_account=True)
    ctx = replace(context(engine, platform, ScriptedTokens([answer])), adapters={cmd.platform: platform})
    assert await deliver(ctx, cmd) is None
    return await subjects(engine, cmd.target_id), platform.calls


async def test_the_post_is_checked_by_the_rules_of_the_account_the_token_is_for(engine: AsyncEngine) -> None:
    """The gateway checked the post at create with what connect announced of the account; the
    publisher checks it again with what connect says with the token, so the two agree."""
    six_hundred = "a" * 600
    roomy = _as("mastodon", "profile", AccountLimits(max_characters=1000))
    assert await _delivered(engine, command(six_hundred, platform="mastodon", mode="live"), roomy) == (
        ["publishing", "published"],
        [(1, 0, None)],
    )
    for tight in (_as("mastodon", "profile", AccountLimits(max_characters=500)), _as("mastodon", "profile")):
        cmd = command(six_hundred, platform="mastodon", mode="live")
        assert await _delivered(engine, cmd, tight) == (["publishing", "failed"], [])
        failed = (await outbox(engine, cmd.target_id))[-1][1]
        assert failed["error_code"] == "invalid_content" and "at most 500" in failed["error_message"]

    connections = {"visibility": "CONNECTIONS"}  # config.linkedin, as the scheduler hands it on
    to_network = msgspec.structs.replace(command("hi", platform="linkedin", mode="live"), config=connections)
    assert await _delivered(engine, to_network, _as("linkedin", "profile")) == (
        ["publishing", "published"],
        [(1, 0, None)],
    )
    to_network = msgspec.structs.replace(command("hi", platform="linkedin", mode="live"), config=connections)
    assert await _delivered(engine, to_network, _as("linkedin", "organization")) == (["publishing", "failed"], [])
    assert (await outbox(engine, to_network.target_id))[-1][1]["error_code"] == "invalid_content"


async def test_a_target_found_wholly_posted_asks_for_no_token(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every container's result is recorded but not the target's success (a delivery from when the
    success went in a transaction of its own, after the last result's): the next delivery records
    it with nothing left to check or send, so it asks connect for nothing (the account may have
    been disconnected meanwhile)."""
    platform = ScriptedPlatform(needs_account=True)
    cmd = command("root", "reply", mode="live")

    async def not_recorded(*args: Any) -> delivery.Ended:
        ctx, last = args[0], args[-1]
        async with ctx.uow.autocommit() as tx:
            await containers.record_progress(tx.conn, last)  # the last container's result, alone
        return delivery.Ended()

    with monkeypatch.context() as patched:
        patched.setattr(delivery, "_record_success", not_recorded)
        assert await deliver(context(engine, platform, ScriptedTokens([token("tok")])), cmd) is None
        assert (await subjects(engine, cmd.target_id))[-1] == "publishing"
    assert platform.posts == {0: 1, 1: 1}
    disconnected = ScriptedTokens([Gone("account_disconnected", "the account was disconnected")])
    assert await deliver(context(engine, platform, disconnected), cmd) is None
    assert disconnected.requests == [] and platform.posts == {0: 1, 1: 1}
    assert (await subjects(engine, cmd.target_id))[-1] == "published"
