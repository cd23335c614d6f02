"""Which services exist, how each is served and migrated."""

from __future__ import annotations

import importlib
from pathlib import Path

# Order matters for migrations only; every service is independent at run time.
SERVICES: tuple[str, ...] = ("gateway", "connect", "scheduler", "publisher", "webhooks")


def migrations_dir(service: str) -> Path:
    module = importlib.import_module(f"crier.{service}")
    return Path(module.__file__).parent / "migrations"  # type: ignore[arg-type]


def migrate_all(database_url: str) -> None:
    from crier.kit.migrations import upgrade

    for service in SERVICES:
        upgrade(migrations_dir(service), database_url)


def serve(service: str, platform: str | None = None) -> int:
    if service not in SERVICES:
        raise SystemExit(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}")
    module = importlib.import_module(f"crier.{service}.entrypoints.main")
    if service == "publisher":
        return module.main(platform=platform or "all")
    return module.main()
