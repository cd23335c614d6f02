"""The ports `crier up` draws for the services' operations endpoints: each once, never the API's; and
the API's own port, checked before anything starts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from crier.cli.up import EXIT_API_ADDRESS_UNAVAILABLE, distinct_free_ports
from crier.kit.embedded import free_port


def test_a_port_drawn_twice_or_the_apis_own_is_drawn_again() -> None:
    # As the system may hand them out: nothing listens on any of them while they are drawn.
    drawn = iter([41000, 41000, 39953, 41001, 39953, 41002])
    assert distinct_free_ports(3, avoid={39953}, draw=lambda: next(drawn)) == [41000, 41001, 41002]


def test_real_ports_are_distinct_and_avoid_the_apis() -> None:
    api = free_port()
    ports = distinct_free_ports(8, avoid={api})
    assert len(set(ports)) == 8 and api not in ports


def test_crier_up_on_a_taken_api_port_says_so_in_one_line_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRIER_")}
        command = [sys.executable, "-m", "crier.cli", "up", "--data-dir", str(tmp_path), "--port", str(port)]
        for extra in ([], ["--gateway-processes", "2"]):
            refused = subprocess.run([*command, *extra], env=env, capture_output=True, text=True, timeout=60)
            assert refused.returncode == EXIT_API_ADDRESS_UNAVAILABLE, refused.stderr
            assert refused.stderr.strip().splitlines() == [
                f"crier up: cannot listen on 127.0.0.1:{port} for the API: Address already in use"
            ]
    # Neither embedded server was started.
    assert not (tmp_path / "nats").exists() and not (tmp_path / "postgres").exists()
