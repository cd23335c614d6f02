"""Which `CRIER_*` variables the code reads, and how a deployed command parses: what the compose file
and the Kubernetes manifests are checked against."""

from __future__ import annotations

import dataclasses
import importlib

from crier.cli.main import _parser
from crier.kit.metrics import MetricsSettings
from crier.kit.settings import CommonSettings


def _names(cls: type) -> set[str]:
    return {f"CRIER_{f.name.upper()}" for f in dataclasses.fields(cls)}


def settings_fields(service: str) -> set[str]:
    """Every variable a process of `service` reads: its settings and the operations endpoint's."""
    module = importlib.import_module(f"crier.{service}.settings")
    fields = _names(CommonSettings) | _names(MetricsSettings)
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, CommonSettings) and dataclasses.is_dataclass(value):
            fields |= _names(value)
    return fields


def service_of(command: list[str]) -> str | None:
    """The service a container's arguments serve, parsed by the real CLI (None: not `serve`)."""
    args = _parser().parse_args(command)
    return args.service if args.command == "serve" else None


def unknown_variables(service: str, names: set[str]) -> set[str]:
    return {n for n in names if n.startswith("CRIER_")} - settings_fields(service)
