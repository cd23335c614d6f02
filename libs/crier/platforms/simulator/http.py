"""Small request helpers shared by the simulated platforms' routes."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request


async def form_of(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The request's form (or JSON object) body as str → str, recorded in the request log."""
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        raw = await request.body()
        data = json.loads(raw) if raw else {}
        fields = {
            k: v if isinstance(v, str) else json.dumps(v) if not isinstance(v, list) else " ".join(v)
            for k, v in (data or {}).items()
        }
    else:
        form = await request.form()
        fields = {k: str(form.get(k)) for k in form}
    entry = request.scope.get("state", {}).get("sim_entry")
    if isinstance(entry, dict):
        entry["form"] = fields
    return fields


async def json_of(request: Request[Any, Any, Any]) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {}
    entry = request.scope.get("state", {}).get("sim_entry")
    if isinstance(entry, dict):
        entry["json"] = data
    return data if isinstance(data, dict) else {}


def query(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items()}
