"""Telling database conflicts apart: which unique constraint a failed write ran into."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError


def violated_constraint(exc: IntegrityError) -> str | None:
    """The name of the unique constraint `exc` hit, or None when it was another kind of failure."""
    cause = getattr(exc.orig, "__cause__", None) or exc.orig
    if getattr(cause, "sqlstate", None) != "23505":
        return None
    return getattr(cause, "constraint_name", None)
