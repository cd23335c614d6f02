"""Per-instance platforms on instances of their own: two Mastodon instances (two simulators, each
its own server on its own loopback address, with no CRIER_PLATFORM_BASE_URL) in one organization,
each account living on the instance its app was registered on; and the SSRF guard every instance
URL goes through, at registration, at the start of a flow and on every call."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from crier.connect.adapters.instances import InstanceGuard
from crier.connect.adapters.providers import Providers
from crier.connect.handlers import accounts, apps, credentials, flows, signin
from crier.connect.settings import BLUESKY_APP_PASSWORDS
from crier.contracts import connect as api
from crier.kit import ssrf
from crier.kit.errors import Failure, Invalid
from crier.kit.ssrf import parse_networks
from crier.platforms.oauth import GrantRevoked
from tests.support.simulator import Simulator, start_simulator

from .conftest import CUSTOMER, Harness, landing


@pytest.fixture(scope="module")
def instances() -> Iterator[tuple[Simulator, Simulator]]:
    """Two Mastodon instances: separate servers with separate worlds, on two loopback addresses."""
    one, two = start_simulator("127.0.0.1"), start_simulator("127.0.0.2")
    yield one, two
    one.stop()
    two.stop()


@pytest.fixture
async def live(harness: Harness) -> AsyncIterator[Harness]:
    """Connect as in production (no stand-in base URL), loopback allowed to the SSRF guard."""
    async with httpx.AsyncClient(timeout=5) as http:
        guard = InstanceGuard(parse_networks(["127.0.0.0/8"]), timeout_s=5)
        providers = Providers(http, public_url=harness.ctx.settings.public_url, instances=guard)
        settings = replace(
            harness.ctx.settings,
            platform_base_url="",
            instance_allowed_networks=("127.0.0.0/8",),
            managed_bluesky_client_id=BLUESKY_APP_PASSWORDS,
        )
        yield replace(harness, ctx=replace(harness.ctx, providers=providers, settings=settings))
        await guard.aclose()


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, str | None]], None]:
    """Script what names resolve to (None: nothing); other names go to the real resolver."""

    def script(answers: dict[str, str | None]) -> None:
        real = ssrf.getaddrinfo

        def scripted(host: str, port: int) -> list[str]:
            if host not in answers:
                return real(host, port)
            address = answers[host]
            if address is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [address]

        monkeypatch.setattr(ssrf, "getaddrinfo", scripted)

    return script


def _instance(sim: Simulator) -> str:
    return f"{sim.base_url}/mastodon"


async def _refusal(call: Any) -> Failure:
    with pytest.raises(Failure) as refused:
        await call
    return refused.value


async def test_two_mastodon_instances_in_one_organization(
    live: Harness, instances: tuple[Simulator, Simulator]
) -> None:
    h = live
    org = await h.org()
    networks = []
    for sim in instances:  # Crier registers itself on each instance
        networks.append(
            await apps.upsert(
                h.ctx, api.NetworkUpsert(**org.scoped(), platform="mastodon", instance_url=_instance(sim))
            )
        )
    assert [n.instance_url for n in networks] == [_instance(s) for s in instances] and networks[0].id != networks[1].id
    for sim, network, other in zip(instances, networks, reversed(networks), strict=True):
        registered = {a["client_id"] for a in sim.state("mastodon")["apps"]}
        assert network.client_id in registered and other.client_id not in registered
    # Another spelling of one instance is the same app, registered again in place.
    respelled = _instance(instances[0]).replace("http://", "HTTP://") + "/"
    again = await apps.upsert(h.ctx, api.NetworkUpsert(**org.scoped(), platform="mastodon", instance_url=respelled))
    assert (again.id, again.instance_url) == (networks[0].id, networks[0].instance_url)
    listed = await apps.list_networks(h.ctx, api.NetworkList(**org.scoped()))
    assert sorted(n.id for n in listed.data) == sorted(n.id for n in networks)

    # Which instance a flow is for must be said once there are several.
    unnamed = await _refusal(
        flows.auth_url(h.ctx, api.AuthUrlRequest(**org.scoped(), platform="mastodon", redirect_uri=CUSTOMER))
    )
    assert unnamed.code == "instance_required" and unnamed.details["instances"] == sorted(
        _instance(s) for s in instances
    )

    users = [sim.add_user("mastodon", username=name) for sim, name in zip(instances, ("alice", "bob"), strict=True)]
    connected = []
    for sim in instances:
        request = api.AuthUrlRequest(
            **org.scoped(),
            platform="mastodon",
            redirect_uri=CUSTOMER,
            tenant_id="t1",
            instance_url=_instance(sim) + "/",
        )
        auth_url = (await flows.auth_url(h.ctx, request)).auth_url
        assert auth_url.startswith(f"{_instance(sim)}/oauth/authorize?")
        connected.append(landing(await flows.callback(h.ctx, await h.authorize(auth_url)))["account_id"])
    assert connected[0] != connected[1]

    for sim, other, user, account_id in zip(instances, reversed(instances), users, connected, strict=True):
        token = await credentials.account_token(h.ctx, api.TokenRequest(**org.scoped(), account_id=account_id))
        assert token.instance_url == _instance(sim) and token.username == user["username"]
        assert token.extra == {"account_id": user["id"]}
        # The token is the one its own instance issued, and means nothing to the other instance.
        on_own = h.ctx.providers.for_mode("mastodon", "live", instance_url=_instance(sim))
        assert (await on_own.identity(token.access_token)).username == user["username"]
        with pytest.raises(GrantRevoked):
            await h.ctx.providers.for_mode("mastodon", "live", instance_url=_instance(other)).identity(
                token.access_token
            )
        probes = len(sim.requests(endpoint="verify_credentials"))
        health = await accounts.health(h.ctx, api.AccountRef(**org.scoped(), id=account_id))
        assert health.healthy and health.checked_live
        assert len(sim.requests(endpoint="verify_credentials")) == probes + 1
    for sim in instances:
        assert len(sim.requests(platform="mastodon", endpoint="token")) == 1

    # The guard stands on every call: without loopback allowed, the instance is not reached.
    async with httpx.AsyncClient(timeout=5) as http:
        strict = Providers(http, public_url=h.ctx.settings.public_url, instances=InstanceGuard(timeout_s=5))
        probes = len(instances[0].requests())
        health = await accounts.health(
            replace(h.ctx, providers=strict), api.AccountRef(**org.scoped(), id=connected[0])
        )
        await strict.instances.aclose()
    assert (health.healthy, health.error_code, health.status) == (False, "platform_unavailable", "active")
    assert len(instances[0].requests()) == probes


async def test_instance_urls_crier_may_not_call_are_refused(
    harness: Harness, resolver: Callable[[dict[str, str | None]], None]
) -> None:
    resolver(
        {
            "metadata.example": "169.254.169.254",
            "inside.example": "10.1.2.3",
            "rebound.example": "127.0.0.1",
            "public.example": "93.184.216.34",
            "nowhere.example": None,
        }
    )
    async with httpx.AsyncClient(timeout=5) as http:
        guard = InstanceGuard(timeout_s=5)  # no exempt networks
        providers = Providers(http, public_url=harness.ctx.settings.public_url, instances=guard)
        ctx = replace(
            harness.ctx,
            providers=providers,
            settings=replace(harness.ctx.settings, platform_base_url=""),
        )
        h = replace(harness, ctx=ctx)
        org = await h.org()
        cases = {
            "https://169.254.169.254": "blocked_address",
            "https://metadata.example": "blocked_address",
            "https://inside.example": "blocked_address",
            "https://rebound.example": "blocked_address",
            "https://[::ffff:127.0.0.1]": "blocked_address",
            "https://100.64.0.1": "blocked_address",
            "http://public.example": "https_required",
            "https://nowhere.example": "unresolvable",
            "https://user:pw@public.example": "invalid_url",
        }
        for url, code in cases.items():
            refused = await _refusal(
                apps.upsert(h.ctx, api.NetworkUpsert(**org.scoped(), platform="mastodon", instance_url=url))
            )
            assert isinstance(refused, Invalid), url
            assert [(f["field"], f["code"]) for f in refused.details["fields"]] == [("instance_url", code)], url
        # A flow naming an instance is vetted the same way, before anything is stored or called.
        request = api.AuthUrlRequest(
            **org.scoped(), platform="bluesky", redirect_uri=CUSTOMER, instance_url="https://metadata.example"
        )
        refused = await _refusal(flows.auth_url(h.ctx, request))
        assert refused.details["fields"][0]["code"] == "blocked_address"
        not_here = api.AuthUrlRequest(**org.scoped(), platform="x", redirect_uri=CUSTOMER, instance_url="https://x.com")
        assert (await _refusal(flows.auth_url(h.ctx, not_here))).details["fields"][0]["code"] == "not_applicable"
        assert not (await apps.list_networks(h.ctx, api.NetworkList(**org.scoped()))).data
        await guard.aclose()


async def test_calls_go_to_the_vetted_address_never_to_a_fresh_answer(
    instances: tuple[Simulator, Simulator], resolver: Callable[[dict[str, str | None]], None]
) -> None:
    _, two = instances
    port = httpx.URL(two.base_url).port
    # A name only the guard's resolution knows: reaching the server proves the call used that answer.
    resolver({"pinned.example": "127.0.0.2"})
    allowed = InstanceGuard(parse_networks(["127.0.0.2/32"]), timeout_s=5)
    response = await allowed.http.get(f"http://pinned.example:{port}/_sim/faults")
    assert response.status_code == 200 and response.json() == []
    await allowed.aclose()
    refused = InstanceGuard(timeout_s=5)
    with pytest.raises(httpx.ConnectError, match="SSRF guard"):
        await refused.http.get(f"http://pinned.example:{port}/_sim/faults")
    await refused.aclose()


async def test_an_app_is_updated_in_place_however_often(harness: Harness) -> None:
    """Postgres plans a prepared statement generically from its sixth run on: the upsert must still
    find its unique index (instance_url NULL counting as one value) then."""
    h = harness
    org = await h.org()
    ids = set()
    for n in range(12):
        upsert = api.NetworkUpsert(**org.scoped(), platform="x", client_id=f"cid-{n}", client_secret="s")
        ids.add((await apps.upsert(h.ctx, upsert)).id)
    assert len(ids) == 1
    [app] = (await apps.list_networks(h.ctx, api.NetworkList(**org.scoped()))).data
    assert app.client_id == "cid-11"


async def test_a_bluesky_pds_named_at_sign_in(live: Harness, instances: tuple[Simulator, Simulator]) -> None:
    """No app to register: the flow names the PDS, the session is opened there, and the account's
    tokens are renewed there."""
    h = live
    _, pds = instances
    pds_url = f"{pds.base_url}/bluesky"
    org = await h.org()
    pds.add_user("bluesky", username="carol", app_password="carol-app-pass-word")
    request = api.AuthUrlRequest(
        **org.scoped(), platform="bluesky", redirect_uri=CUSTOMER, tenant_id="t1", instance_url=pds_url
    )
    state = (await flows.auth_url(h.ctx, request)).auth_url.split("state=", 1)[1]
    login = api.AppPasswordLogin(state=state, identifier="carol.bsky.social", app_password="carol-app-pass-word")
    account_id = landing(await signin.app_password_login(h.ctx, login))["account_id"]
    assert len(pds.requests(platform="bluesky", endpoint="createSession")) == 1
    token = await credentials.account_token(h.ctx, api.TokenRequest(**org.scoped(), account_id=account_id))
    assert token.instance_url == pds_url and token.extra == {"did": token.network_unique_id}
    assert token.network_unique_id.startswith("did:")
    [row] = await h.rows("SELECT token_expires_at FROM social_accounts WHERE id = :i", i=account_id)
    h.clock.offset += row.token_expires_at - h.clock()  # Crier's clock at the access token's expiry
    renewed = await credentials.account_token(h.ctx, api.TokenRequest(**org.scoped(), account_id=account_id))
    # (Within one second the PDS may sign the very same JWT again: what counts is where it went.)
    assert len(pds.requests(platform="bluesky", endpoint="refreshSession")) == 1 and renewed.instance_url == pds_url
    on_pds = h.ctx.providers.for_mode("bluesky", "live", instance_url=pds_url)
    assert (await on_pds.identity(renewed.access_token)).network_unique_id == token.network_unique_id
