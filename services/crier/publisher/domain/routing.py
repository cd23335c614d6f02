"""Which adapter delivers a command, and which platform queues a publisher process serves."""

from __future__ import annotations

from crier.contracts.common import PLATFORMS

SANDBOX = "sandbox"
# `sandbox` has a queue of its own too: sandbox accounts of live organizations publish there.
ALL_PLATFORMS: tuple[str, ...] = (*PLATFORMS, SANDBOX)


def adapter_key(mode: str, platform: str) -> str:
    """Test-mode data never leaves Crier: whatever the platform, the sandbox simulates it."""
    return SANDBOX if mode == "test" else platform


def platforms_to_serve(choice: str) -> tuple[str, ...]:
    """`--platform all` serves every queue in one process; otherwise exactly the one named."""
    if choice == "all":
        return ALL_PLATFORMS
    names = tuple(p.strip() for p in choice.split(",") if p.strip())
    unknown = [p for p in names if p not in ALL_PLATFORMS]
    if unknown or not names:
        raise ValueError(
            f"unknown platform {', '.join(unknown) or choice!r}; choose from all, {', '.join(ALL_PLATFORMS)}"
        )
    return names
