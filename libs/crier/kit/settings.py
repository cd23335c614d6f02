"""Typed settings read from `CRIER_*` environment variables.

Each service declares a dataclass that extends `CommonSettings`; `load()` fills every field from
`CRIER_<FIELD_NAME>` and is the only place in the code base that reads `os.environ`.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class CommonSettings:
    database_url: str = "postgresql://postgres@127.0.0.1:5432/crier"
    nats_url: str = "nats://127.0.0.1:4222"
    # Prefix for stream names and subjects, so several stacks can share one NATS server.
    nats_namespace: str = ""
    # JetStream stream replicas: 1 on one machine, 3 on a NATS cluster.
    nats_replicas: int = 1
    # Connections each process keeps open to PostgreSQL, and how many more it may open under load:
    # the sum over every process must stay under the server's max_connections.
    database_pool_size: int = 10
    database_max_overflow: int = 10
    log_level: str = "info"
    # The URL clients reach the gateway at (OAuth callbacks and hosted pages are built from it).
    public_url: str = "http://127.0.0.1:8080"
    # "none", "console" or "otlp" (OTLP/HTTP to CRIER_OTEL_ENDPOINT).
    otel_exporter: str = "none"
    otel_endpoint: str = "http://127.0.0.1:4318/v1/traces"
    # A span per database statement (its text, never its parameters); off: they multiply a trace.
    otel_db_spans: bool = False
    # "kid:base64key,kid2:base64key" — the first key encrypts, all of them decrypt.
    encryption_keys: str = ""
    # Failures of one message (not outages) before a consumer dead-letters it to the DEAD stream.
    consumer_max_failures: int = 5
    # How connect and the publisher reach the platforms: one base URL for every platform (a
    # stand-in such as the platform simulator; empty = the real APIs), a limit on one call, and
    # the API versions the calls carry.
    platform_base_url: str = ""
    platform_timeout_s: float = 15.0
    linkedin_version: str = "202607"
    graph_api_version: str = "v23.0"
    threads_api_version: str = "v1.0"
    # CIDRs exempt from the SSRF guard for hosts customers name (Mastodon instances, Bluesky
    # PDSes), e.g. a PDS on the operator's own network; plain http only to these.
    instance_allowed_networks: tuple[str, ...] = ()
    # Where media bytes live: "nats" (the JetStream object store, nothing else to run) or
    # "s3://bucket[/prefix]" for an S3-compatible bucket (CRIER_MEDIA_S3_ENDPOINT for one not on AWS;
    # credentials from the usual AWS_* variables).
    media_store: str = "nats"
    media_s3_endpoint: str = ""
    media_s3_region: str = "us-east-1"
    # How long a signed media URL handed to a platform stays valid.
    media_url_ttl_s: int = 6 * 3600


class SettingsError(ValueError):
    pass


def _coerce(name: str, raw: str, kind: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(kind) if a is not type(None)]
        return None if raw == "" else _coerce(name, raw, inner[0])
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"CRIER_{name.upper()} must be a boolean, got {raw!r}")
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise SettingsError(f"CRIER_{name.upper()} must be a number, got {raw!r}") from None
    if origin is tuple or kind is tuple:
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    return raw


def load(cls: type[T], environ: Mapping[str, str] | None = None, **overrides: Any) -> T:
    env = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        key = f"CRIER_{field.name.upper()}"
        if field.name in overrides:
            values[field.name] = overrides[field.name]
        elif key in env:
            values[field.name] = _coerce(field.name, env[key], hints[field.name])
    return cls(**values)


def environ_for(settings: Any) -> dict[str, str]:
    """The environment that makes a child process load the same settings."""
    out: dict[str, str] = {}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if value is None:
            continue
        if isinstance(value, bool):
            value = "1" if value else "0"
        elif isinstance(value, tuple):
            value = ",".join(value)
        out[f"CRIER_{field.name.upper()}"] = str(value)
    return out
