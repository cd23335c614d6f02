"""Each platform's publishing side, by name: its rules (what it accepts) and its adapter (how a
post reaches it). A platform module offers `rules` (a `Rules` instance) and, once Crier can
publish to it, `publisher(http, settings)` building its adapter.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType

import httpx

from crier.contracts.common import AccountLimits, Platform
from crier.platforms.base import PlatformAdapter, PlatformSettings
from crier.platforms.rules import AnyText, Rules


@functools.cache
def _module(platform: Platform) -> ModuleType:
    # Cached: every post create and every delivery asks for its platform's rules, and the import
    # machinery's look-up of a loaded module was a percent of either.
    return importlib.import_module(f"crier.platforms.{platform}")


def rules(platform: Platform, *, account_type: str | None = None, limits: AccountLimits | None = None) -> Rules:
    """The platform's rules; with what connect knows of one account of it (its `account_type`, its
    `limits`), the rules that account is held to."""
    found: Rules | None = getattr(_module(platform), "rules", None)
    general = found if found is not None else AnyText(platform)
    if account_type is None and limits is None:
        return general
    return general.for_account(account_type, limits or AccountLimits())


def publishes(platform: Platform) -> bool:
    """Whether a live account of `platform` can be published to."""
    return hasattr(_module(platform), "publisher")


def adapter(platform: Platform, http: httpx.AsyncClient, settings: PlatformSettings) -> PlatformAdapter | None:
    make = getattr(_module(platform), "publisher", None)
    return None if make is None else make(http, settings)
