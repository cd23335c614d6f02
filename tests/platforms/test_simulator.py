"""The simulator itself: run as a process (module and `crier simulator`), the control API, the
request log, and its refusals of malformed authorization requests."""

from __future__ import annotations

import httpx
import pytest

from crier.platforms import provider
from crier.platforms.oauth import AppCredentials, OAuthUnavailable
from tests.support.simulator import Simulator, start_simulator, start_simulator_process

from .conftest import CALLBACK, Flow


@pytest.mark.parametrize("via_cli", [False, True])
async def test_runs_as_its_own_process(via_cli: bool) -> None:
    with start_simulator_process(via_cli=via_cli) as sim:
        sim.add_app("pinterest", client_id="pin", client_secret="s", redirect_uris=[CALLBACK])
        sim.add_user("pinterest", username="hank")
        pin = provider("pinterest", sim.base_url)
        app = AppCredentials("pin", "s", CALLBACK)
        async with httpx.AsyncClient() as http:
            resp = await http.get(pin.authorization_url(app, state="st", code_challenge=None, scopes=()))
            code = resp.headers["location"].split("code=")[1].split("&")[0]
            tokens = await pin.exchange_code(http, app, code=code, code_verifier=None)
            assert (await pin.identity(http, tokens.access_token)).username == "hank"


def test_control_api_validation_and_state(platform_simulator: Simulator) -> None:
    sim = platform_simulator
    with httpx.Client(base_url=f"{sim.base_url}/_sim") as http:
        assert http.post("/myspace/users", json={}).status_code == 404
        assert http.post("/faults", json={"platform": "x", "kind": "meteor"}).status_code == 400
        assert http.post("/x/consent", json={"decision": "maybe"}).status_code == 400
        assert http.post("/x/session", json={"user_id": "nobody"}).status_code == 404
    user = sim.add_user("threads", username="ivy", sign_in=False)
    state = sim.state("threads")
    assert any(u["id"] == user["id"] for u in state["users"]) and state["signed_in"] != user["id"]
    sim.sign_in("threads", user["id"])
    assert sim.state("threads")["signed_in"] == user["id"]
    fault = sim.fault("threads", "me", "server_error", times=3)
    assert [f["id"] for f in sim.state("threads")["faults"]] == [fault["id"]]
    sim.clear_faults()
    assert sim.state("threads")["faults"] == []


async def test_authorize_refusals(flow: Flow) -> None:
    app = flow.app("tiktok")
    base = f"{flow.sim.base_url}/tiktok/v2/auth/authorize/"
    good = {
        "client_key": app.client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "user.info.basic",
        "state": "st",
    }
    flow.sim.add_user("tiktok")
    for change, error in [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": ""}, "invalid_scope"),
        ({"code_challenge": "abc", "code_challenge_method": "plain"}, "invalid_request"),
    ]:
        resp = await flow.http.get(base, params={**good, **change})
        assert resp.status_code == 302 and f"error={error}" in resp.headers["location"]
    no_state = await flow.http.get(base, params={k: v for k, v in good.items() if k != "state"})
    assert "error=invalid_request" in no_state.headers["location"]


async def test_nobody_signed_in(http: httpx.AsyncClient) -> None:
    with start_simulator() as sim:  # a world of its own: nobody has signed in to anything
        sim.add_app("x", client_id="c", client_secret="s", redirect_uris=[CALLBACK])
        url = provider("x", sim.base_url).authorization_url(
            AppCredentials("c", "s", CALLBACK), state="s", code_challenge="c" * 43, scopes=()
        )
        resp = await http.get(url)
        assert resp.status_code == 400 and "signed in" in resp.text


async def test_request_log_records_forms_and_faults(flow: Flow) -> None:
    conn = await flow.connect("linkedin")
    flow.sim.fault("linkedin", "userinfo", "unavailable")
    with pytest.raises(OAuthUnavailable):
        await conn.provider.identity(flow.http, conn.tokens.access_token)
    token_call = flow.sim.requests("linkedin", "token")[-1]
    assert (
        token_call["form"]["client_id"] == conn.app.client_id
        and token_call["form"]["grant_type"] == "authorization_code"
    )
    assert flow.sim.requests("linkedin", "userinfo")[-1]["fault"] == "unavailable"


async def test_meta_redirect_carries_its_fragment(flow: Flow) -> None:
    fb = flow.provider("facebook")
    app = flow.app("facebook")
    flow.sim.add_user("facebook")
    resp = await flow.http.get(fb.authorization_url(app, state="s", code_challenge=None, scopes=()))
    assert resp.headers["location"].endswith("#_=_")
