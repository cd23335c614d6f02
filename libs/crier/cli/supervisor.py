"""Starts each service as its own OS process, watches them, and stops them cleanly.

Used by `crier up` and by the end-to-end tests, so the tests run exactly what users run.
`crier up` also asks for services that die with it (`die_with_parent`) and for their output
through a reader (`output_for`, which rotates the logs); the tests' stacks, started from helper
threads at times, write plain log files and outlive the thread that started them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from crier.kit.child_process import Output, die_with_parent
from crier.kit.shared_listener import SharedListener

# The variable that hands a gateway process the shared API socket (`GatewaySettings.gateway_socket_fd`).
SOCKET_FD_ENV = "CRIER_GATEWAY_SOCKET_FD"


@dataclass
class ServiceProcess:
    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    die_with_parent: bool = False
    # Where the output goes instead of `log_path`: a reader of the pipe it is written to.
    output: Output | None = None
    # A listening socket the process serves, shared with other processes of its service.
    listener: SharedListener | None = None

    def start(self) -> None:
        if self.output is not None:
            self.proc = self._popen(subprocess.PIPE)
            assert self.proc.stdout is not None
            self.output(self.proc.stdout)
        elif self.log_path is not None:
            with open(self.log_path, "ab") as log:  # the child has its own copy of the handle
                self.proc = self._popen(log)
        else:
            self.proc = self._popen(subprocess.DEVNULL, subprocess.DEVNULL)

    def _popen(self, out: int | IO[bytes], err: int = subprocess.STDOUT) -> subprocess.Popen[bytes]:
        env = {**os.environ, **self.env}
        fds: tuple[int, ...] = ()
        if self.listener is not None:
            fds = (self.listener.fileno(),)
            env[SOCKET_FD_ENV] = str(fds[0])
        return subprocess.Popen(
            [sys.executable, "-m", "crier.cli", "serve", *self.args],
            env=env,
            stdout=out,
            stderr=err,
            pass_fds=fds,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM) if self.die_with_parent else None,
        )

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout: float = 15) -> None:
        if not self.alive:
            return
        assert self.proc
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        if self.alive:
            assert self.proc
            self.proc.kill()
            self.proc.wait()


@dataclass
class Supervisor:
    env: dict[str, str]
    log_dir: Path | None = None
    publisher_platform: str = "all"
    # Gateway processes serving the API's port together (`gateway`, `gateway-2`, …); with more
    # than one, the supervisor binds the port and hands the socket to each (`kit.shared_listener`).
    gateway_processes: int = 1
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    # Only for a supervisor whose starting thread lives as long as it (see the module docstring).
    die_with_parent: bool = False
    output_for: Callable[[str], Output] | None = None
    _api_listener: SharedListener | None = field(default=None, init=False, repr=False)

    def add_defaults(self) -> None:
        from crier.cli.services import SERVICES

        for name in SERVICES:
            if name == "gateway" and self.gateway_processes > 1:
                self._add_gateways()
                continue
            args = [name, "--platform", self.publisher_platform] if name == "publisher" else [name]
            self.add(name, args)

    def _add_gateways(self) -> None:
        env = {**os.environ, **self.env}
        self._api_listener = SharedListener(
            env.get("CRIER_GATEWAY_HOST", "127.0.0.1"), int(env.get("CRIER_GATEWAY_PORT", "8080"))
        )
        for n in range(1, self.gateway_processes + 1):
            self.add(gateway_process_name(n), ["gateway"]).listener = self._api_listener

    def add(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> ServiceProcess:
        log_path = self.log_dir / f"{name}.log" if self.log_dir else None
        output = self.output_for(name) if self.output_for else None
        env = {**self.env, **(extra_env or {})}
        process = ServiceProcess(name, args, env, log_path, die_with_parent=self.die_with_parent, output=output)
        self.processes[name] = process
        return process

    def start_all(self) -> None:
        for process in self.processes.values():
            process.start()

    def restart(self, name: str) -> None:
        process = self.processes[name]
        process.terminate()
        process.start()

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.alive:
                assert process.proc
                process.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            if process.proc is None:
                continue
            try:
                process.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        if self._api_listener is not None:
            self._api_listener.close()

    def wait_ready(self, api_url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for p in self.processes.values():
                if p.proc is not None and p.proc.poll() is not None:
                    raise RuntimeError(f"service {p.name} exited with code {p.proc.returncode} during start-up")
            try:
                r = httpx.get(f"{api_url}/readyz", timeout=2)
                if r.status_code == 200:
                    return
                last = r.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise TimeoutError(f"stack not ready after {timeout}s: {last}")


def gateway_process_name(n: int) -> str:
    """The n-th gateway process (from 1): `gateway`, then `gateway-2`, `gateway-3`, …"""
    return "gateway" if n == 1 else f"gateway-{n}"
