"""/api/v1/org-settings: an organization's settings for the key's mode — for now the default look
of its hosted connect pages."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, put
from litestar.params import JSONBody

from crier.gateway.entrypoints.http import connect_schemas as cs
from crier.gateway.entrypoints.http.auth import principal_of, requires
from crier.gateway.entrypoints.http.connect_flows import display_in, display_out
from crier.gateway.entrypoints.http.errors import documented
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers import connect_display


class OrgSettingsController(Controller):
    path = "/api/v1/org-settings"
    tags = ["org-settings"]

    @get(
        "/",
        operation_id="getOrgSettings",
        opt=requires("view"),
        responses=documented(),
        summary="The organization's settings (for the key's mode)",
    )
    async def read(self, request: Request[Any, Any, Any]) -> cs.OrgSettings:
        shown = await connect_display.org_default(gateway_of(request).ctx, principal_of(request))
        return cs.OrgSettings(connect_display=display_out(shown))

    @put(
        "/",
        operation_id="putOrgSettings",
        opt=requires("admin"),
        responses=documented(),
        summary="Replace the organization's settings (for the key's mode)",
    )
    async def replace(self, request: Request[Any, Any, Any], data: JSONBody[cs.OrgSettings]) -> cs.OrgSettings:
        """`connect_display` is every new connect session's display where the session gives none of
        its own (field by field) and the look of flows started with an auth URL. 422 names each bad
        field (`connect_display.accent_color`, …)."""
        kept = await connect_display.set_org_default(
            gateway_of(request).ctx, principal_of(request), display_in(data.connect_display)
        )
        return cs.OrgSettings(connect_display=display_out(kept))
