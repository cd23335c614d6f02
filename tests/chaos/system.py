"""The system under test: `crier up` as a process of its own, with its embedded NATS and PostgreSQL,
and the processes it runs.

`crier up` writes `DIR/processes.json` after every (re)start: its own pid, the API's URL, the NATS
server's and the postmaster's pids, each service's pid and how often each was restarted. Where the
file is missing (an older `crier up`), the same pids are read from /proc: the services are the
children running `crier.cli serve NAME`, NATS the child running `nats-server`, and the postmaster
the pid PostgreSQL itself writes into `postmaster.pid`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from crier.kit.embedded import free_port

SERVICES = ("gateway", "connect", "scheduler", "publisher", "webhooks")
SERVERS = ("nats", "postgres")


@dataclass
class Crier:
    data_dir: Path
    api_url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def processes(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.data_dir / "processes.json").read_text())  # type: ignore[no-any-return]
        except (OSError, ValueError):
            return None

    def pids(self) -> dict[str, int | None]:
        """Every service and embedded server by name, with the pid it runs as now (None: none)."""
        found = self.processes()
        if found is not None:
            servers = {name: (found.get(name) or {}).get("pid") for name in SERVERS}
            return {**{name: found["services"].get(name) for name in SERVICES}, **servers}
        children = _children(self.proc.pid)
        pids: dict[str, int | None] = {name: None for name in (*SERVICES, *SERVERS)}
        for pid, argv in children:
            if Path(argv[0]).name == "nats-server":
                pids["nats"] = pid
            elif "serve" in argv and argv.index("serve") + 1 < len(argv):
                pids[argv[argv.index("serve") + 1]] = pid
        pids["postgres"] = _postmaster(self.data_dir)
        return pids

    def restarts(self) -> dict[str, int]:
        found = self.processes()
        return dict(found.get("restarts", {})) if found else {}

    def database_url(self) -> str:
        found = self.processes()
        port = (found.get("postgres") or {}).get("port") if found else None
        if port is None:
            match = re.search(r"embedded PostgreSQL on 127\.0\.0\.1:(\d+)", self.log_path.read_text(errors="replace"))
            assert match, f"no embedded PostgreSQL in crier up's output:\n{self.log()}"
            port = int(match.group(1))
        return f"postgresql://postgres@127.0.0.1:{port}/crier"

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"crier up exited with {self.proc.returncode}:\n{self.log()}")
        try:
            return httpx.get(f"{self.api_url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C would; what is still running a minute later is killed by its pid."""
        left = [pid for pid in self.pids().values() if pid]
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in left:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def start_crier(root: Path, extra_env: dict[str, str]) -> Crier:
    """`crier up` on a fresh data directory and a free port, with no CRIER_* variable of ours but
    `extra_env`, so it runs its embedded NATS and PostgreSQL."""
    data_dir, port, log_path = root / "data", free_port(), root / "crier-up.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRIER_")} | extra_env
    proc = subprocess.Popen(
        [sys.executable, "-m", "crier.cli", "up", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=open(log_path, "ab"),  # noqa: SIM115 - crier up keeps writing to it
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Crier(data_dir, f"http://127.0.0.1:{port}", proc, log_path)


def alive(pid: int) -> bool:
    """Running, and not a zombie its parent has yet to reap."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(parent: int) -> list[tuple[int, list[str]]]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z" and argv[0]:
            found.append((int(entry), [a.decode(errors="replace") for a in argv if a]))
    return found


def _postmaster(data_dir: Path) -> int | None:
    try:
        pid = int((data_dir / "postgres" / "pgdata" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if alive(pid) else None
