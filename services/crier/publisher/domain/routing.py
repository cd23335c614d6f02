"""Which adapter delivers a command, and which platform queues a publisher process serves."""

from __future__ import annotations

from crier.contracts.common import PLATFORMS, Mode, Platform

# The adapter that simulates every platform for test-mode data. It has no queue of its own: a
# sandbox account is a test-mode account with a real platform name, so its commands arrive on
# that platform's queue.
SANDBOX = "sandbox"


def adapter_key(mode: Mode, platform: Platform) -> str:
    """Test-mode data never leaves Crier: whatever the platform, the sandbox simulates it."""
    return SANDBOX if mode == "test" else platform


def platforms_to_serve(choice: str) -> tuple[Platform, ...]:
    """`--platform all` serves every queue in one process; otherwise the ones named (comma-separated)."""
    if choice == "all":
        return PLATFORMS
    names = {p.strip() for p in choice.split(",") if p.strip()}
    unknown = sorted(names.difference(PLATFORMS))
    if unknown or not names:
        raise ValueError(f"unknown platform {', '.join(unknown) or choice!r}; choose from all, {', '.join(PLATFORMS)}")
    return tuple(p for p in PLATFORMS if p in names)
