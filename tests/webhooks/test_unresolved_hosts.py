"""An endpoint whose host does not resolve yet is accepted (its DNS may exist only inside the
deployment, or later); creation refuses what it can judge without DNS, and every delivery resolves
and guards again."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from crier.contracts import webhooks as api
from crier.kit import ssrf
from crier.kit.bus import Bus
from crier.kit.bus.rpc import RpcFailure
from crier.kit.ssrf import parse_networks
from crier.webhooks.adapters import guard
from crier.webhooks.adapters.sender import Sender
from crier.webhooks.domain.endpoint import new_signing_secret, parse_url
from tests.webhooks.support import call, deliveries_of, new_org

POLICY = guard.Policy(allow_http=False, exempt=parse_networks(["127.0.0.1/32"]))


def _no_answer(host: str, port: int) -> list[str]:
    raise OSError("Name or service not known")


async def test_a_name_without_an_answer_yet_is_admitted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "getaddrinfo", _no_answer)
    await guard.admit(parse_url("https://hooks.internal.customer.test/x"), POLICY)


async def test_a_resolver_too_slow_to_answer_does_not_hold_creation(monkeypatch: pytest.MonkeyPatch) -> None:
    released = threading.Event()

    def hang(host: str, port: int) -> list[str]:
        released.wait(10)
        return ["10.0.0.1"]

    monkeypatch.setattr(ssrf, "getaddrinfo", hang)
    monkeypatch.setattr(guard, "ADMIT_RESOLVE_TIMEOUT_S", 0.2)
    started = time.monotonic()
    try:
        await guard.admit(parse_url("https://slow-dns.customer.test/x"), POLICY)
    finally:
        released.set()
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.customer.test/x", "scheme_not_allowed"),
        ("https://10.1.2.3/x", "blocked_address"),
        ("https://169.254.169.254/latest/meta-data", "blocked_address"),
        ("https://[fd00:ec2::254]/x", "blocked_address"),
        ("https://[::ffff:192.168.0.1]/x", "blocked_address"),
        ("https://127.0.0.2/x", "blocked_address"),  # loopback outside the exempt 127.0.0.1/32
        ("https://metadata.google.internal/computeMetadata/v1/", "blocked_address"),
        ("https://hooks.invalid/x", "reserved_name"),
    ],
)
async def test_what_needs_no_dns_is_judged_without_it(monkeypatch: pytest.MonkeyPatch, url: str, reason: str) -> None:
    def no_lookups(host: str, port: int) -> list[str]:
        raise AssertionError(f"looked up {host}")

    monkeypatch.setattr(ssrf, "getaddrinfo", no_lookups)
    with pytest.raises(ssrf.Refused) as refused:
        await guard.admit(parse_url(url), POLICY)
    assert refused.value.reason == reason


async def test_localhost_names_are_loopback_without_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "getaddrinfo", lambda host, port: ["93.184.216.34"])  # a lying resolver
    with pytest.raises(ssrf.Refused):
        await guard.admit(parse_url("https://app.localhost/x"), guard.Policy(allow_http=False))
    await guard.admit(parse_url("https://localhost./x"), POLICY)  # 127.0.0.1 is exempt here


async def test_a_name_that_resolves_into_a_private_network_is_refused_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "getaddrinfo", lambda host, port: ["93.184.216.34", "10.0.0.8"])
    with pytest.raises(ssrf.Refused) as refused:
        await guard.admit(parse_url("https://hooks.customer.test/x"), POLICY)
    assert refused.value.reason == "blocked_address"


async def test_admitted_unresolved_then_private_at_delivery_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    answers: dict[str, list[str]] = {}

    def resolver(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("Name or service not known")
        return answers[host]

    monkeypatch.setattr(ssrf, "getaddrinfo", resolver)
    url = "https://hooks.later.customer.test/x"
    await guard.admit(parse_url(url), POLICY)
    sender = Sender(POLICY, timeout_s=2)
    try:
        not_yet = await sender.send("wh_1", url, "msg_1", b"{}", [new_signing_secret()])
        assert not_yet.error == "dns_error" and not_yet.retryable
        answers["hooks.later.customer.test"] = ["192.168.7.7"]
        refused = await sender.send("wh_1", url, "msg_2", b"{}", [new_signing_secret()])
        assert refused.error == "blocked_address" and not refused.retryable
        assert "192.168.7.7" in (refused.response_excerpt or "")
    finally:
        await sender.close()


@pytest.fixture
def no_dns_name() -> Iterator[str]:
    # `.test` is reserved (RFC 2606): no resolver the service can reach answers for it.
    yield f"hooks-{new_org()[4:]}.crier.test"


async def test_the_service_accepts_an_unresolved_host_and_records_each_delivery_failing(
    bus: Bus, no_dns_name: str
) -> None:
    org = new_org()
    url = f"https://{no_dns_name}/hook"
    created = await call(
        bus,
        api.WEBHOOKS_CREATE,
        api.EndpointCreate(org_id=org, mode="live", url=url, events=["*"]),
        api.EndpointCreated,
    )
    assert created.url == url
    # A literal private address is still refused at creation.
    with pytest.raises(RpcFailure) as failure:
        await call(
            bus,
            api.WEBHOOKS_CREATE,
            api.EndpointCreate(org_id=org, mode="live", url="https://10.9.8.7/hook", events=["*"]),
            dict,
        )
    assert failure.value.error.code == "url_not_allowed"
    assert failure.value.error.details["reason"] == "blocked_address"
    await call(bus, api.WEBHOOKS_TEST, api.EndpointRef(org_id=org, mode="live", id=created.id), api.Delivery)
    deadline = time.monotonic() + 20
    while True:
        [delivery] = await deliveries_of(bus, org, created.id)
        if delivery.attempts:
            break
        assert time.monotonic() < deadline, "no attempt recorded"
        await asyncio.sleep(0.05)
    attempt = delivery.attempts[0]
    assert attempt.error == "dns_error" and attempt.http_status is None
    assert no_dns_name in (attempt.response_excerpt or "")
    assert delivery.status in ("pending", "retrying", "failed")
