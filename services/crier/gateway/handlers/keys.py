"""Issuing, listing and revoking API keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crier.gateway.adapters import orgs
from crier.gateway.domain.api_key import MODES, SCOPES, Principal
from crier.gateway.domain.validation import Problem


class LiveKeyFromTestKey(Exception):
    """A sandbox key must not mint keys that reach live data."""


def visible_modes(who: Principal) -> tuple[str, ...]:
    """Live admin keys manage every key of the org; test keys only see the sandbox side."""
    return MODES if who.mode == "live" else ("test",)


def checked_scopes(scopes: Sequence[str] | None) -> list[str]:
    if scopes is None:
        return list(SCOPES)
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise Problem("scopes", "unknown_scope", f"unknown scopes {unknown}; choose from {', '.join(SCOPES)}")
    if not scopes:
        raise Problem("scopes", "empty", "must grant at least one scope")
    return sorted(set(scopes), key=SCOPES.index)


def checked_mode(mode: str) -> str:
    if mode not in MODES:
        raise Problem("mode", "unknown_mode", "must be live or test")
    return mode


async def issue_key(
    engine: AsyncEngine, who: Principal, *, name: str, mode: str, scopes: Sequence[str]
) -> tuple[dict[str, Any], str]:
    if who.mode == "test" and mode == "live":
        raise LiveKeyFromTestKey()
    async with engine.begin() as conn:
        return await orgs.create_key(
            conn, who.org_id, name=name, mode=checked_mode(mode), scopes=checked_scopes(scopes)
        )


async def list_keys(engine: AsyncEngine, who: Principal) -> list[Any]:
    async with engine.connect() as conn:
        return await orgs.list_keys(conn, who.org_id, visible_modes(who))


async def revoke_key(engine: AsyncEngine, who: Principal, key_id: str) -> bool:
    async with engine.begin() as conn:
        return await orgs.revoke_key(conn, who.org_id, visible_modes(who), key_id)
