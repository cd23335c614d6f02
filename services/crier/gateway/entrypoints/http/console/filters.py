"""The console's filter forms, as the API's own post filters: the same checks, the same query."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any
from urllib.parse import urlencode

from crier.contracts.common import PLATFORMS, POST_STATUSES
from crier.gateway.domain.filters import PostQuery

# What <input type="datetime-local"> sends: no seconds or zone; the form says it is UTC.
_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


@dataclass(frozen=True)
class PostForm:
    status: str = ""
    platform: str = ""
    tenant_id: str = ""
    created_after: str = ""
    created_before: str = ""
    search: str = ""

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> PostForm:
        """The form's fields from a query string or a posted form; anything else is ignored."""
        return cls(**{f.name: str(values.get(f.name) or "").strip() for f in fields(cls)})

    def query(self) -> PostQuery:
        """Blank fields filter nothing."""
        return PostQuery(
            status=self.status or None,
            platform=self.platform or None,
            tenant_id=self.tenant_id or None,
            created_after=_instant(self.created_after),
            created_before=_instant(self.created_before),
            search=self.search or None,
        )

    def link(self, **more: str) -> str:
        """The query string of this filter (and `more`), for pagination links."""
        return urlencode({k: v for k, v in {**asdict(self), **more}.items() if v})


def _instant(raw: str) -> str | None:
    if not raw:
        return None
    return f"{raw}Z" if _LOCAL.match(raw) else raw


CHOICES: dict[str, Any] = {"statuses": POST_STATUSES, "platforms": PLATFORMS}
