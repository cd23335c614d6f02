"""The ports `crier up` draws for the services' operations endpoints: each once, never the API's."""

from __future__ import annotations

from crier.cli.up import distinct_free_ports
from crier.kit.embedded import free_port


def test_a_port_drawn_twice_or_the_apis_own_is_drawn_again() -> None:
    # As the system may hand them out: nothing listens on any of them while they are drawn.
    drawn = iter([41000, 41000, 39953, 41001, 39953, 41002])
    assert distinct_free_ports(3, avoid={39953}, draw=lambda: next(drawn)) == [41000, 41001, 41002]


def test_real_ports_are_distinct_and_avoid_the_apis() -> None:
    api = free_port()
    ports = distinct_free_ports(8, avoid={api})
    assert len(set(ports)) == 8 and api not in ports
