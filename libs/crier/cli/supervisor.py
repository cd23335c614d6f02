"""Starts each service as its own OS process, watches them, and stops them cleanly.

Used by `crier up` and by the end-to-end tests, so the tests run exactly what users run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class ServiceProcess:
    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path | None = None
    proc: subprocess.Popen | None = None
    restarts: int = 0

    def start(self) -> None:
        # The child inherits the handle; the file stays open as long as the child writes to it.
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crier.cli", "serve", *self.args],
            env={**os.environ, **self.env},
            stdout=out,
            stderr=subprocess.STDOUT if self.log_path else subprocess.DEVNULL,
            start_new_session=True,
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
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def add_defaults(self) -> None:
        from crier.cli.services import SERVICES

        for name in SERVICES:
            args = [name, "--platform", self.publisher_platform] if name == "publisher" else [name]
            self.add(name, args)

    def add(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> ServiceProcess:
        log_path = self.log_dir / f"{name}.log" if self.log_dir else None
        process = ServiceProcess(name, args, {**self.env, **(extra_env or {})}, log_path)
        self.processes[name] = process
        return process

    def start_all(self) -> None:
        for process in self.processes.values():
            process.start()

    def restart(self, name: str) -> None:
        process = self.processes[name]
        process.terminate()
        process.start()

    def restart_crashed(self) -> list[str]:
        crashed = [p.name for p in self.processes.values() if p.proc is not None and not p.alive]
        for name in crashed:
            self.processes[name].restarts += 1
            self.processes[name].start()
        return crashed

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
