"""The SSRF rule over whole address ranges (hypothesis), and the guard's resolution step."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crier.kit import ssrf
from crier.kit.ssrf import is_allowed, parse_networks, refusal
from crier.webhooks.adapters import guard
from crier.webhooks.domain.endpoint import parse_url

FORBIDDEN_V4 = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/29",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
]
FORBIDDEN_V6 = ["::1/128", "::/128", "fc00::/7", "fe80::/10", "ff00::/8", "2001:db8::/32"]


def _in(network: str) -> st.SearchStrategy[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    net = ipaddress.ip_network(network)
    return st.integers(0, net.num_addresses - 1).map(lambda i: net[i])


forbidden_v4 = st.one_of(*[_in(n) for n in FORBIDDEN_V4])
forbidden_v6 = st.one_of(*[_in(n) for n in FORBIDDEN_V6])
# Ordinary public unicast: 1.0.0.0–9.255.255.255 and 11.0.0.0–99.255.255.255 hold no special range.
public_v4 = st.one_of(
    _in("1.0.0.0/8"), _in("8.0.0.0/7"), st.integers(11 << 24, (100 << 24) - 1).map(ipaddress.IPv4Address)
)
public_v6 = _in("2600::/12")


@given(forbidden_v4)
def test_refuses_every_special_purpose_ipv4_address(ip: ipaddress.IPv4Address) -> None:
    assert refusal(ip) is not None and not is_allowed(ip)


@given(forbidden_v6)
def test_refuses_every_special_purpose_ipv6_address(ip: ipaddress.IPv6Address) -> None:
    assert not is_allowed(ip)


@given(forbidden_v4)
def test_refuses_private_ipv4_wrapped_in_ipv6(ip: ipaddress.IPv4Address) -> None:
    n = int(ip)
    for wrapped in (
        ipaddress.IPv6Address((0xFFFF << 32) | n),  # ::ffff:a.b.c.d
        ipaddress.IPv6Address((0x2002 << 112) | (n << 80)),  # 6to4
        ipaddress.IPv6Address((0x64FF9B << 96) | n),  # NAT64
    ):
        assert not is_allowed(wrapped), wrapped


@given(public_v4)
def test_allows_public_ipv4(ip: ipaddress.IPv4Address) -> None:
    assert is_allowed(ip), refusal(ip)


@given(public_v6)
def test_allows_public_ipv6(ip: ipaddress.IPv6Address) -> None:
    assert is_allowed(ip), refusal(ip)


@given(_in("10.20.0.0/16"), forbidden_v4)
def test_exempt_networks_open_exactly_themselves(inside: ipaddress.IPv4Address, other: ipaddress.IPv4Address) -> None:
    exempt = parse_networks(["10.20.0.0/16", "::1"])
    assert is_allowed(inside, exempt)
    assert is_allowed(ipaddress.ip_address("::1"), exempt)
    assert is_allowed(other, exempt) == (other in exempt[0])


def test_metadata_address_is_link_local() -> None:
    assert refusal(ipaddress.ip_address("169.254.169.254")) == "link_local"
    assert refusal(ipaddress.ip_address("100.100.100.200")) == "cgnat"


async def test_guard_refuses_a_name_if_any_answer_is_private(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "getaddrinfo", lambda host, port: ["93.184.216.34", "10.0.0.8"])
    policy = guard.Policy(allow_http=False)
    with pytest.raises(ssrf.Refused) as refused:
        await guard.check(parse_url("https://hooks.example.com/x"), policy)
    assert refused.value.reason == "blocked_address"
    monkeypatch.setattr(ssrf, "getaddrinfo", lambda host, port: ["93.184.216.34", "2606:2800:220:1::1"])
    destination = await guard.check(parse_url("https://hooks.example.com/x"), policy)
    assert str(destination.address) == "93.184.216.34"


async def test_guard_refuses_plain_http_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "getaddrinfo", lambda host, port: ["93.184.216.34"])
    with pytest.raises(ssrf.Refused) as refused:
        await guard.check(parse_url("http://hooks.example.com/x"), guard.Policy(allow_http=False))
    assert refused.value.reason == "scheme_not_allowed"
    await guard.check(parse_url("http://hooks.example.com/x"), guard.Policy(allow_http=True))
