"""What a use case answers when it will not do what was asked, in words the caller can act on.

Use cases raise these; they never pick an HTTP status or build an RPC reply. The entry point that
called them translates: the RPC layer into an `RpcError` of the same kind, the gateway's HTTP layer
into a status (`invalid` → 422, `not_found` → 404, …).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal, TypeVar

T = TypeVar("T")

FailureKind = Literal["invalid", "not_found", "conflict", "forbidden", "gone", "unavailable"]


class Problem(Exception):
    """One thing wrong with a request, named by the field it concerns."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.code, self.message = field, code, message

    def as_detail(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class Failure(Exception):
    """A refusal: `code` is the stable, documented name; `message` the human sentence."""

    kind: ClassVar[FailureKind]

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}


class Invalid(Failure):
    """The request breaks the rules; `details["fields"]` lists each `Problem` by its field."""

    kind = "invalid"

    @classmethod
    def of(cls, problems: Sequence[Problem], code: str = "validation_error") -> Invalid:
        message = problems[0].message if len(problems) == 1 else "the request is invalid"
        return cls(code, message, {"fields": [p.as_detail() for p in problems]})

    @classmethod
    def one(cls, field: str, code: str, message: str) -> Invalid:
        return cls.of([Problem(field, code, message)])


class NotFound(Failure):
    kind = "not_found"

    @classmethod
    def of(cls, what: str, ident: str) -> NotFound:
        return cls("not_found", f"no {what} {ident}")


class Conflict(Failure):
    """The request is fine but the thing it acts on is not in a state that allows it."""

    kind = "conflict"


class Forbidden(Failure):
    kind = "forbidden"


class Gone(Failure):
    """It existed, and can no longer be used (an expired link, a spent session)."""

    kind = "gone"


class Unavailable(Failure):
    """Something the use case depends on (a platform, another service) is away: try again later."""

    kind = "unavailable"


def collect(problems: list[Problem], check: Callable[[], T]) -> T | None:
    """Run one field's check, noting its problem instead of stopping at the first."""
    try:
        return check()
    except Problem as p:
        problems.append(p)
        return None
