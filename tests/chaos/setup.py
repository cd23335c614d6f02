"""Before the load: `crier up` and the platform simulator running, organizations with live accounts
connected through each platform's own OAuth flow on the simulator, and a webhook endpoint each."""

from __future__ import annotations

from pathlib import Path

from crier.contracts.common import Platform
from tests.chaos.load import Account, Org
from tests.chaos.receiver import Receiver
from tests.chaos.system import Crier, start_crier
from tests.support.live import Live, connect_live
from tests.support.simulator import Simulator
from tests.support.stack import Stack, wait_for


def settings(sim: Simulator) -> dict[str, str]:
    """What `crier up` runs with: the simulator as every platform, the receiver allowed on loopback
    over http, and the slow clocks shortened so a run takes minutes: JetStream hands a command a
    killed publisher held to another after 5 s (not 30), publish retries wait at most 2 s, webhook
    retries run a hundred times faster, and no API rate limit (the load is ours)."""
    return {
        "CRIER_PLATFORM_BASE_URL": sim.base_url,
        "CRIER_PUBLISHER_PROCESSING_POLL_MAX_S": "0.3",
        "CRIER_PUBLISHER_ACK_WAIT_S": "5",
        "CRIER_PUBLISHER_RETRY_BASE_S": "0.2",
        "CRIER_PUBLISHER_RETRY_MAX_S": "2",
        "CRIER_WEBHOOKS_ALLOWED_NETWORKS": "127.0.0.1/32",
        "CRIER_WEBHOOKS_ALLOW_HTTP": "1",
        "CRIER_WEBHOOKS_RETRY_SCALE": "0.01",
        "CRIER_API_RATE_LIMIT": "0",
    }


def start(root: Path, sim: Simulator) -> Crier:
    crier = start_crier(root, settings(sim))
    try:
        wait_for(crier.ready, timeout=120, interval=0.2, what="crier up to be ready")
    except BaseException:
        crier.stop()
        raise
    return crier


def organizations(crier: Crier, sim: Simulator, receiver: Receiver, count: int, platforms: list[Platform]) -> list[Org]:
    """`count` organizations, each with a live account on every one of `platforms` and a webhook
    endpoint for every event at the receiver."""
    # The test stack's helpers connect accounts as a browser would; they need only these fields.
    stack = Stack(None, crier.database_url(), "", crier.api_url, {}, None, crier.data_dir / "logs")  # type: ignore[arg-type]
    live = Live(stack, sim, None)
    orgs = []
    for number in range(count):
        org = stack.new_org(f"chaos{number}")
        accounts = [connect_live(live, platform, org) for platform in platforms]
        with org.live() as api:
            answer = api.post("/webhooks", json={"url": receiver.url(str(number)), "events": ["*"]})
            assert answer.status_code == 201, answer.text
            receiver.expect(str(number), answer.json()["signing_secret"])
        orgs.append(Org(org.live_key, [Account(a.id, a.platform) for a in accounts]))
    return orgs
