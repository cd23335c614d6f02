"""Where a Bluesky account lives, found from what the user types at sign-in when the flow names
no PDS: handle → DID (the entryway's resolveHandle) → DID document (the did:plc directory, a
setting) → the `#atproto_pds` service; a DID works the same way, an e-mail address signs in at
the entryway, whose answer names the account's PDS. Every PDS found that way passes the SSRF
guard before a password is sent to it. And an account whose PDS has no AppView connects with its
identity read from the PDS itself.

Two simulators on two loopback addresses play the entryway with the PLC directory (one) and the
account's own PDS (two); a small HTTPS site with a certificate only this test trusts plays a
handle that is its own host (its DID at /.well-known/atproto-did, a did:web document). Connect
runs as in production (no stand-in base URL), loopback exempted, with app passwords unless an
organization has an atproto OAuth client, which serves accounts on either PDS."""

from __future__ import annotations

import json
import secrets
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crier.connect.adapters.instances import InstanceGuard
from crier.connect.adapters.providers import Providers
from crier.connect.domain.flows import digest
from crier.connect.handlers import accounts, apps, credentials, flows, signin
from crier.connect.settings import BLUESKY_APP_PASSWORDS
from crier.contracts import connect as api
from crier.kit import ssrf
from crier.kit.errors import Failure
from crier.kit.ssrf import parse_networks
from tests.support.simulator import Simulator, start_simulator
from tests.support.stack import wait_for

from .conftest import CUSTOMER, Harness, Org, landing


@dataclass
class World:
    h: Harness
    entryway: Simulator
    home: Simulator

    def home_pds(self) -> str:
        return f"{self.home.base_url}/bluesky"

    def user(self, **spec: Any) -> tuple[dict[str, Any], str]:
        """A user living on `home`, known to the entryway and the directory by the same DID."""
        password = "-".join(secrets.token_hex(2) for _ in range(4))
        name = f"u{secrets.token_hex(3)}.example.com"
        user = self.home.add_user("bluesky", username=name, app_password=password, **spec)
        self.entryway.add_user("bluesky", username=name, id=user["id"], sign_in=False)
        return user, password


@pytest.fixture(scope="module")
def sims() -> Iterator[tuple[Simulator, Simulator]]:
    entryway, home = start_simulator("127.0.0.1"), start_simulator("127.0.0.2")
    yield entryway, home
    entryway.stop()
    home.stop()


@pytest.fixture
async def world(harness: Harness, sims: tuple[Simulator, Simulator]) -> AsyncIterator[World]:
    entryway, home = sims
    entryway.configure("bluesky", pds_endpoint=f"{home.base_url}/bluesky")
    async with httpx.AsyncClient(timeout=5) as http:
        guard = InstanceGuard(parse_networks(["127.0.0.0/8"]), timeout_s=5)
        providers = Providers(
            http,
            public_url=harness.ctx.settings.public_url,
            instances=guard,
            bluesky_plc_url=f"{entryway.base_url}/bluesky/plc",
            bluesky_entryway_url=f"{entryway.base_url}/bluesky",
        )
        settings = replace(
            harness.ctx.settings,
            platform_base_url="",
            instance_allowed_networks=("127.0.0.0/8",),
            managed_bluesky_client_id=BLUESKY_APP_PASSWORDS,
        )
        world = World(
            replace(harness, ctx=replace(harness.ctx, providers=providers, settings=settings)), entryway, home
        )
        yield world
        await guard.aclose()
    # The accounts renew their tokens at these servers, which stop with this module: disconnected,
    # they are no one's to refresh (the refresher tests sweep every account that is due).
    for sim in (entryway, home):
        for row in await harness.rows(
            "SELECT id, org_id FROM social_accounts WHERE instance_url LIKE :p AND deleted_at IS NULL",
            p=f"{sim.base_url}%",
        ):
            await accounts.delete(harness.ctx, api.AccountRef(org_id=row.org_id, mode="live", id=row.id))
    for sim in (entryway, home):
        sim.clear_settings()
        sim.clear_faults()


async def _state(h: Harness, org: Org, instance_url: str | None = None) -> str:
    request = api.AuthUrlRequest(
        **org.scoped(), platform="bluesky", redirect_uri=CUSTOMER, tenant_id="t1", instance_url=instance_url
    )
    return (await flows.auth_url(h.ctx, request)).auth_url.split("state=", 1)[1]


async def _sign_in(h: Harness, state: str, identifier: str, password: str) -> str:
    login = api.AppPasswordLogin(state=state, identifier=identifier, app_password=password)
    return landing(await signin.app_password_login(h.ctx, login))["account_id"]


def _count(sim: Simulator, endpoint: str) -> int:
    return len(sim.requests(platform="bluesky", endpoint=endpoint))


@pytest.mark.parametrize("by", ["handle", "did"])
async def test_a_handle_or_did_leads_to_the_accounts_own_pds(world: World, by: str) -> None:
    h = world.h
    org = await h.org()
    user, password = world.user()
    sessions_before = (_count(world.entryway, "createSession"), _count(world.home, "createSession"))
    identifier = user["username"] if by == "handle" else user["id"]
    account_id = await _sign_in(h, await _state(h, org), identifier, password)
    # the directory was asked, and the password went to the account's PDS alone
    assert _count(world.entryway, "createSession") == sessions_before[0]
    assert _count(world.home, "createSession") == sessions_before[1] + 1
    assert world.entryway.requests(platform="bluesky", endpoint="plc")[-1]["path"] == f"/bluesky/plc/{user['id']}"
    if by == "handle":
        assert world.entryway.requests(platform="bluesky", endpoint="resolveHandle")[-1]["query"] == {
            "handle": user["username"]
        }
    token = await credentials.account_token(h.ctx, api.TokenRequest(**org.scoped(), account_id=account_id))
    assert token.instance_url == world.home_pds() and token.network_unique_id == user["id"]


async def test_a_handle_nobody_has_is_refused_and_the_form_stays_usable(world: World) -> None:
    h = world.h
    org = await h.org()
    user, password = world.user()
    state = await _state(h, org)
    with pytest.raises(Failure) as refused:
        await _sign_in(h, state, "nobody.example.com", password)
    assert refused.value.code == "invalid_credentials"
    assert await _sign_in(h, state, user["username"], password)


async def test_an_email_signs_in_at_the_entryway_whose_answer_names_the_pds(world: World) -> None:
    """The entryway opens the session and its DID document says where the account lives: here the
    same server under another name, which every later call of the account goes to."""
    h = world.h
    org = await h.org()
    password = "pass-word-pass-word"
    port = httpx.URL(world.entryway.base_url).port
    elsewhere = f"http://localhost:{port}/bluesky"
    world.entryway.configure("bluesky", pds_endpoint=elsewhere)
    user = world.entryway.add_user(
        "bluesky", username="mail.example.com", email=f"{secrets.token_hex(3)}@x.org", app_password=password
    )
    account_id = await _sign_in(h, await _state(h, org), user["email"], password)
    token = await credentials.account_token(h.ctx, api.TokenRequest(**org.scoped(), account_id=account_id))
    assert token.instance_url == elsewhere


async def test_a_pds_crier_may_not_call_is_refused_before_the_password_goes_there(world: World) -> None:
    h = world.h
    org = await h.org()
    user, password = world.user()
    world.entryway.configure("bluesky", pds_endpoint="https://169.254.169.254")
    with pytest.raises(Failure) as refused:
        await _sign_in(h, await _state(h, org), user["username"], password)
    assert refused.value.kind == "invalid"
    assert [(f["field"], f["code"]) for f in refused.value.details["fields"]] == [("instance_url", "blocked_address")]


async def test_a_pds_given_at_sign_in_is_used_as_is(world: World) -> None:
    h = world.h
    org = await h.org()
    user, password = world.user()
    before = _count(world.entryway, "plc")
    account_id = await _sign_in(h, await _state(h, org, world.home_pds()), user["username"], password)
    assert _count(world.entryway, "plc") == before  # nothing to look up
    token = await credentials.account_token(h.ctx, api.TokenRequest(**org.scoped(), account_id=account_id))
    assert token.instance_url == world.home_pds()


async def test_a_pds_without_an_appview_connects_with_the_profile_record(world: World) -> None:
    h = world.h
    org = await h.org()
    user, password = world.user(display_name="Ada Lovelace")
    world.home.configure("bluesky", appview=False)
    account_id = await _sign_in(h, await _state(h, org, world.home_pds()), user["username"], password)
    [row] = await h.rows("SELECT * FROM social_accounts WHERE id = :i", i=account_id)
    assert (row.username, row.display_name, row.network_unique_id) == (user["username"], "Ada Lovelace", user["id"])
    assert row.profile_image_url.startswith(f"{world.home_pds()}/xrpc/com.atproto.sync.getBlob?did={user['id']}&cid=b")
    profile_reads = world.home.requests(platform="bluesky", endpoint="getRecord")
    assert profile_reads[-1]["query"] == {"repo": user["id"], "collection": "app.bsky.actor.profile", "rkey": "self"}
    assert not world.home.requests(platform="bluesky", endpoint="getProfile")


async def test_an_account_without_a_profile_record_is_named_by_its_handle(world: World) -> None:
    h = world.h
    org = await h.org()
    user, password = world.user()
    missing = {"error": "RecordNotFound", "message": "Could not locate record"}
    world.home.fault("bluesky", "getRecord", "status", status=400, body=missing)
    account_id = await _sign_in(h, await _state(h, org, world.home_pds()), user["username"], password)
    [row] = await h.rows("SELECT * FROM social_accounts WHERE id = :i", i=account_id)
    assert (row.display_name, row.profile_image_url) == (user["username"], None)


async def _oauth_app_on_home(world: World, org: Org) -> str:
    """An OAuth client registered for the home PDS (its own authorization server)."""
    client_id = f"https://crier.test/oauth/client-{secrets.token_hex(3)}.json"
    world.home.add_app("bluesky", client_id=client_id, redirect_uris=[world.h.ctx.settings.callback_url])
    upsert = api.NetworkUpsert(**org.scoped(), platform="bluesky", client_id=client_id, instance_url=world.home_pds())
    await apps.upsert(world.h.ctx, upsert)
    return client_id


async def test_oauth_on_a_self_hosted_pds_checks_the_issuer_speaks_for_the_account(world: World) -> None:
    h = world.h
    org = await h.org()
    await _oauth_app_on_home(world, org)
    user, _ = world.user(display_name="Self Hosted")
    auth_url = await _start_oauth(h, org, world.home_pds())
    assert auth_url.startswith(f"{world.home_pds()}/oauth/authorize?")
    account_id = landing(await flows.callback(h.ctx, await h.authorize(auth_url)))["account_id"]
    # the directory was asked where the DID lives: there, whose authorization server issued the tokens
    assert world.entryway.requests(platform="bluesky", endpoint="plc")[-1]["path"] == f"/bluesky/plc/{user['id']}"
    token = await credentials.account_token(h.ctx, api.TokenRequest(**org.scoped(), account_id=account_id))
    assert token.instance_url == world.home_pds() and token.network_unique_id == user["id"]


async def test_tokens_from_a_server_that_does_not_host_the_account_are_refused(world: World) -> None:
    h = world.h
    org = await h.org()
    await _oauth_app_on_home(world, org)
    world.user()
    # the account's DID document says it lives on the entryway, whose authorization server is another
    world.entryway.configure("bluesky", pds_endpoint=f"{world.entryway.base_url}/bluesky")
    auth_url = await _start_oauth(h, org, world.home_pds())
    outcome = landing(await flows.callback(h.ctx, await h.authorize(auth_url)))
    assert (outcome["status"], outcome["error_code"]) == ("error", "exchange_failed")


async def test_one_client_connects_accounts_on_any_pds(world: World) -> None:
    """An OAuth client is no one PDS's: registered with the home PDS, it connects an account there
    and one on the other server too, each flow pushed to the authorization server of the PDS it
    names, each account kept (and renewed) where its grant says."""
    h = world.h
    org = await h.org()
    client_id = await _oauth_app_on_home(world, org)
    world.entryway.add_app("bluesky", client_id=client_id, redirect_uris=[h.ctx.settings.callback_url])
    [network] = (await apps.list_networks(h.ctx, api.NetworkList(**org.scoped()))).data
    assert network.instance_url == world.home_pds()
    # a flow that names no PDS starts on the one the client was registered with
    assert (await _start_oauth(h, org, None)).startswith(f"{world.home_pds()}/oauth/authorize?")

    at_home, _ = world.user(display_name="At Home")
    home_url = await _start_oauth(h, org, world.home_pds())
    home_id = landing(await flows.callback(h.ctx, await h.authorize(home_url)))["account_id"]

    elsewhere = f"{world.entryway.base_url}/bluesky"
    world.entryway.configure("bluesky", pds_endpoint=elsewhere)  # its DID documents name itself now
    away = world.entryway.add_user("bluesky", username=f"u{secrets.token_hex(3)}.example.org", display_name="Away")
    away_url = await _start_oauth(h, org, elsewhere)
    assert away_url.startswith(f"{elsewhere}/oauth/authorize?client_id=")
    away_id = landing(await flows.callback(h.ctx, await h.authorize(away_url)))["account_id"]

    for account_id, user, pds, server in (
        (home_id, at_home, world.home_pds(), world.home),
        (away_id, away, elsewhere, world.entryway),
    ):
        [row] = await h.rows("SELECT * FROM social_accounts WHERE id = :i", i=account_id)
        assert (row.network_unique_id, row.social_network_id, row.instance_url) == (user["id"], network.id, pds)
        token = await credentials.account_token(h.ctx, api.TokenRequest(**org.scoped(), account_id=account_id))
        renewals = len(server.requests("bluesky", "token"))
        refused = api.TokenRequest(**org.scoped(), account_id=account_id, rejected_sha256=digest(token.access_token))
        renewed = await credentials.account_token(h.ctx, refused)
        assert renewed.instance_url == pds and renewed.access_token != token.access_token
        assert [r["form"]["grant_type"] for r in server.requests("bluesky", "token")[renewals:]][-1] == "refresh_token"


async def _start_oauth(h: Harness, org: Org, pds: str | None) -> str:
    request = api.AuthUrlRequest(
        **org.scoped(), platform="bluesky", redirect_uri=CUSTOMER, tenant_id="t1", instance_url=pds
    )
    return (await flows.auth_url(h.ctx, request)).auth_url


# -- a handle that is its own host: HTTPS well-known and did:web --------------------------------

WEB_HANDLE = "alice.example.net"
WEB_ADDRESS = "127.0.0.3"


def _certificate(directory: Path, name: str) -> Path:
    """A self-signed certificate for `name`, which the test's client trusts (and no one else)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = directory / "web.pem"
    pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return pem


@dataclass
class WebHost:
    """`https://alice.example.net`: the handle's own site, serving its DID and did:web document."""

    pem: Path
    served: list[str]
    pds: str = ""


@pytest.fixture(scope="module")
def web_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebHost]:
    host = WebHost(_certificate(tmp_path_factory.mktemp("tls"), WEB_HANDLE), [])
    did = f"did:web:{WEB_HANDLE}"

    async def site(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        host.served.append(scope["path"])
        if scope["path"] == "/.well-known/atproto-did":
            body, kind = did.encode(), b"text/plain"
        elif scope["path"] == "/.well-known/did.json":
            doc = {
                "id": did,
                "alsoKnownAs": [f"at://{WEB_HANDLE}"],
                "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": host.pds}],
            }
            body, kind = json.dumps(doc).encode(), b"application/json"
        else:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", kind)]})
        await send({"type": "http.response.body", "body": body})

    config = uvicorn.Config(
        site, host=WEB_ADDRESS, port=443, ssl_certfile=str(host.pem), ssl_keyfile=str(host.pem), log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, timeout=15, what="the HTTPS site")
    except AssertionError:
        pytest.skip(f"cannot listen on {WEB_ADDRESS}:443 here")
    yield host
    server.should_exit = True
    thread.join(10)


async def test_a_handle_that_is_its_own_host_and_a_did_web(
    world: World, web_host: WebHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handle's own HTTPS site names its DID; a did:web's document is on the same host."""
    real = ssrf.getaddrinfo
    monkeypatch.setattr(ssrf, "getaddrinfo", lambda h, p: [WEB_ADDRESS] if h == WEB_HANDLE else real(h, p))
    web_host.pds = world.home_pds()
    password = "web-pass-word-1234"
    world.home.add_user("bluesky", id=f"did:web:{WEB_HANDLE}", username=WEB_HANDLE, app_password=password)
    trust = ssl.create_default_context(cafile=web_host.pem)
    trusting = InstanceGuard(parse_networks(["127.0.0.0/8"]), timeout_s=5, verify=trust)
    async with httpx.AsyncClient(timeout=5) as http:
        providers = Providers(
            http,
            public_url=world.h.ctx.settings.public_url,
            instances=trusting,
            bluesky_plc_url=f"{world.entryway.base_url}/bluesky/plc",
            bluesky_entryway_url=f"{world.entryway.base_url}/bluesky",
        )
        h = replace(world.h, ctx=replace(world.h.ctx, providers=providers))
        org = await h.org()
        resolved = _count(world.entryway, "resolveHandle")
        account_id = await _sign_in(h, await _state(h, org), WEB_HANDLE, password)
        assert web_host.served[-2:] == ["/.well-known/atproto-did", "/.well-known/did.json"]
        assert _count(world.entryway, "resolveHandle") == resolved  # the handle answered for itself
        token = await credentials.account_token(h.ctx, api.TokenRequest(**org.scoped(), account_id=account_id))
    assert token.network_unique_id == f"did:web:{WEB_HANDLE}" and token.instance_url == world.home_pds()
    await trusting.aclose()
