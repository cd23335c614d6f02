"""One attempt in-process against the loopback receiver: address pinning against DNS rebinding,
redirects, response capping, and the signature as receivers verify it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from crier.kit import ssrf
from crier.kit.embedded import free_port
from crier.kit.ssrf import parse_networks
from crier.webhooks.adapters import guard
from crier.webhooks.adapters.sender import EXCERPT_BYTES, Sender
from crier.webhooks.domain.endpoint import new_signing_secret, parse_url
from tests.support.tls import tls_pair
from tests.webhooks.support import Receiver, Reply

POLICY = guard.Policy(allow_http=True, exempt=parse_networks(["127.0.0.1/32"]))


@pytest.fixture
def own_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
async def sender() -> Sender:
    sender = Sender(POLICY, timeout_s=2)
    yield sender  # type: ignore[misc]
    await sender.close()


async def test_dns_rebinding_after_creation_is_blocked(
    monkeypatch: pytest.MonkeyPatch, own_receiver: Receiver, sender: Sender
) -> None:
    answers = {"hooks.customer.test": ["127.0.0.1"]}
    monkeypatch.setattr(ssrf, "getaddrinfo", lambda host, port: answers[host])
    path = own_receiver.new_path()
    url = f"http://hooks.customer.test:{own_receiver.port}{path}"
    await guard.check(parse_url(url), POLICY)  # what creating the endpoint does
    secret = new_signing_secret()

    outcome = await sender.send("wh_1", url, "msg_1", b'{"a":1}', [secret])
    assert outcome.succeeded
    [request] = own_receiver.received(path)
    # Connected to the vetted address while the request still names the endpoint's host.
    assert request.headers["host"] == f"hooks.customer.test:{own_receiver.port}"
    Webhook(secret).verify(request.body, request.headers)

    answers["hooks.customer.test"] = ["10.0.0.7"]
    outcome = await sender.send("wh_1", url, "msg_2", b'{"a":2}', [secret])
    assert outcome.error == "blocked_address" and not outcome.retryable
    assert outcome.http_status is None and "10.0.0.7" in (outcome.response_excerpt or "")
    assert len(own_receiver.received(path)) == 1


async def test_an_unresolvable_host_is_retried(monkeypatch: pytest.MonkeyPatch, sender: Sender) -> None:
    def fail(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    monkeypatch.setattr(ssrf, "getaddrinfo", fail)
    outcome = await sender.send("wh_1", "http://gone.customer.test/x", "msg_1", b"{}", [new_signing_secret()])
    assert outcome.error == "dns_error" and outcome.retryable


async def test_redirects_are_not_followed(own_receiver: Receiver, sender: Sender) -> None:
    elsewhere = own_receiver.new_path()
    path = own_receiver.new_path(Reply(302, headers={"location": own_receiver.url(elsewhere)}))
    outcome = await sender.send("wh_1", own_receiver.url(path), "msg_1", b"{}", [new_signing_secret()])
    assert outcome.http_status == 302 and outcome.error == "http_302" and not outcome.retryable
    assert own_receiver.received(elsewhere) == []


async def test_response_is_capped_and_excerpted(own_receiver: Receiver, sender: Sender) -> None:
    path = own_receiver.new_path(Reply(200, body=b"x" * 300_000))
    outcome = await sender.send("wh_1", own_receiver.url(path), "msg_1", b"{}", [new_signing_secret()])
    assert outcome.succeeded and outcome.response_excerpt == "x" * EXCERPT_BYTES


async def test_classifies_statuses_and_connection_failures(own_receiver: Receiver, sender: Sender) -> None:
    cases = {429: True, 408: True, 409: True, 425: True, 500: True, 502: True, 400: False, 404: False, 410: False}
    for status, retryable in cases.items():
        path = own_receiver.new_path(Reply(status, headers={"retry-after": "7"}))
        outcome = await sender.send("wh_1", own_receiver.url(path), "m", b"{}", [new_signing_secret()])
        assert (outcome.http_status, outcome.retryable, outcome.retry_after_s) == (status, retryable, 7.0)
    outcome = await sender.send("wh_1", f"http://127.0.0.1:{free_port()}/x", "m", b"{}", [new_signing_secret()])
    assert outcome.error == "connection_error" and outcome.retryable


async def test_timeout_is_retryable(own_receiver: Receiver) -> None:
    sender = Sender(POLICY, timeout_s=0.3)
    try:
        path = own_receiver.new_path(Reply(delay_s=5))
        outcome = await sender.send("wh_1", own_receiver.url(path), "m", b"{}", [new_signing_secret()])
    finally:
        await sender.close()
    assert outcome.error == "timeout" and outcome.retryable and outcome.http_status is None


async def test_https_connects_to_the_vetted_address_and_checks_the_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server_tls, client_tls = tls_pair(tmp_path, "hooks.customer.test")
    receiver = Receiver(tls=server_tls)
    monkeypatch.setattr(ssrf, "getaddrinfo", lambda host, port: ["127.0.0.1"])
    sender = Sender(
        guard.Policy(allow_http=False, exempt=parse_networks(["127.0.0.1/32"])), timeout_s=2, verify=client_tls
    )
    try:
        path = receiver.new_path()
        outcome = await sender.send(
            "wh_1", f"https://hooks.customer.test:{receiver.port}{path}", "m1", b"{}", [new_signing_secret()]
        )
        assert outcome.succeeded, outcome
        assert receiver.received(path)[0].headers["host"] == f"hooks.customer.test:{receiver.port}"
        # Same address, a name the certificate does not cover: refused, not served over the first
        # name's pooled connection.
        outcome = await sender.send(
            "wh_1", f"https://impostor.customer.test:{receiver.port}{path}", "m2", b"{}", [new_signing_secret()]
        )
        assert outcome.error == "connection_error" and "CERTIFICATE_VERIFY_FAILED" in (outcome.response_excerpt or "")
        assert len(receiver.received(path)) == 1
    finally:
        await sender.close()
        receiver.close()
