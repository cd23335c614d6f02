"""The live view: the signed-in organization's targets waiting for a publisher and its last minute
of deliveries, per platform, in the mode it is looking at (`handlers.live_figures`).

Only the organization's own figures: the queues on JetStream (stream depth, consumer lag) are the
whole installation's, every organization's work together, and an admin key is an organization's
admin, not the installation's: Crier has no key that may see across organizations. The
installation's operators read those from each service's Prometheus /metrics; the page says where.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from crier.gateway.entrypoints.http.console.pages import render
from crier.gateway.entrypoints.http.console.session import current
from crier.gateway.entrypoints.http.state import gateway_of
from crier.gateway.handlers.live_figures import OUTCOMES, WAITING, LiveFigures, live_figures


async def _figures(request: Request[Any, Any, Any]) -> LiveFigures:
    return await live_figures(gateway_of(request).ctx, current(request).principal)


@get("/live", name="console_live")
async def live_view(request: Request[Any, Any, Any]) -> Response[str]:
    return render(
        request, "live.html", figures=await _figures(request), waiting=WAITING, outcomes=tuple(OUTCOMES.values())
    )


@get("/live/panel", name="console_live_panel")
async def live_panel(request: Request[Any, Any, Any]) -> Response[str]:
    """The figures alone, which the live page fetches again every few seconds (htmx)."""
    figures = await _figures(request)
    return render(request, "live_panel.html", figures=figures, waiting=WAITING, outcomes=tuple(OUTCOMES.values()))
