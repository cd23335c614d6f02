"""The failures connect answers with, as RpcFailures the gateway turns into API errors."""

from __future__ import annotations

from typing import Any

from crier.contracts.rpc import RpcError
from crier.kit.bus.rpc import RpcFailure


def fail(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> RpcFailure:
    return RpcFailure(RpcError(code=code, message=message, status=status, details=details or {}))


def not_found(what: str, ident: str) -> RpcFailure:
    return fail(404, "not_found", f"no {what} {ident}")


def invalid(field: str, code: str, message: str) -> RpcFailure:
    return fail(422, "validation_error", message, {"fields": [{"field": field, "code": code, "message": message}]})


def bad_cursor() -> RpcFailure:
    return fail(422, "invalid_cursor", "the cursor is not one this API issued")
